/* Shared helpers for the dashboard pages. Data from the server is only ever set with
   textContent (never innerHTML), so document names, answers and quotes stay text. */
(function () {
  "use strict";

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // Builds an element; `text` is set with textContent so it can never become markup.
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([name, value]) => {
      if (value === null || value === undefined || value === false) return;
      if (name === "className") node.className = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function errorMessage(body, status) {
    if (body && body.error && body.error.message) return body.error.message;
    if (status === 0) return "The server could not be reached. Check your connection and try again.";
    return "Something went wrong (HTTP " + status + "). Try again.";
  }

  // fetch() against our own API with the session cookie and the CSRF header.
  async function api(path, options) {
    const opts = Object.assign({ method: "GET", headers: {} }, options || {});
    opts.credentials = "same-origin";
    opts.headers = Object.assign({ Accept: "application/json" }, opts.headers);
    if (opts.method !== "GET") opts.headers["X-CSRFToken"] = csrfToken();
    if (opts.json !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(opts.json);
      delete opts.json;
    }
    let response;
    try {
      response = await fetch(path, opts);
    } catch (err) {
      return { ok: false, status: 0, body: null, message: errorMessage(null, 0) };
    }
    let body = null;
    if (response.status !== 204) {
      try { body = await response.json(); } catch (err) { body = null; }
    }
    return { ok: response.ok, status: response.status, body: body,
             message: response.ok ? "" : errorMessage(body, response.status) };
  }

  function formatBytes(count) {
    if (count === null || count === undefined) return "-";
    const units = ["bytes", "KB", "MB", "GB", "TB"];
    let value = Number(count);
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return unit === 0 ? value + " bytes" : value.toFixed(1) + " " + units[unit];
  }

  // One date format on every page: "2026-11-29 14:05" in the browser's time zone.
  function formatDate(iso) {
    if (!iso) return "-";
    const date = new Date(iso);
    if (isNaN(date.getTime())) return "-";
    const pad = (n) => String(n).padStart(2, "0");
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) + " " +
      pad(date.getHours()) + ":" + pad(date.getMinutes());
  }

  // Server-rendered times say UTC until this turns them into the browser's time, as above.
  function localizeTimes() {
    document.querySelectorAll("time[data-local][datetime]").forEach((time) => {
      const local = formatDate(time.getAttribute("datetime"));
      if (local !== "-") time.textContent = local;
    });
  }

  // Asks for confirmation in an accessible <dialog>; resolves true when confirmed.
  function confirmDialog(message, confirmLabel) {
    const dialog = document.getElementById("confirm-dialog");
    if (!dialog || typeof dialog.showModal !== "function") {
      return Promise.resolve(window.confirm(message));
    }
    dialog.querySelector("[data-confirm-message]").textContent = message;
    const ok = dialog.querySelector("[data-confirm-ok]");
    ok.textContent = confirmLabel || "Confirm";
    return new Promise((resolve) => {
      function finish() {
        dialog.removeEventListener("close", finish);
        resolve(dialog.returnValue === "confirm");
      }
      dialog.returnValue = "";
      dialog.addEventListener("close", finish);
      dialog.showModal();
    });
  }

  function setupCopyButtons() {
    document.querySelectorAll("[data-copy-target]").forEach((button) => {
      button.addEventListener("click", async () => {
        const target = document.getElementById(button.getAttribute("data-copy-target"));
        if (!target) return;
        const text = target.textContent.trim();
        try {
          await navigator.clipboard.writeText(text);
        } catch (err) {
          // Clipboard API needs a secure context; fall back to selecting the text.
          const range = document.createRange();
          range.selectNodeContents(target);
          const selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
          document.execCommand("copy");
        }
        button.textContent = "Copied";
        setTimeout(() => { button.textContent = "Copy"; }, 2000);
      });
    });
  }

  // Server-rendered forms that need a confirmation first (revoke, deactivate).
  function setupConfirmForms() {
    document.querySelectorAll("form[data-confirm]").forEach((form) => {
      form.addEventListener("submit", async (event) => {
        if (form.dataset.confirmed === "1") return;
        event.preventDefault();
        const yes = await confirmDialog(form.getAttribute("data-confirm"), form.getAttribute("data-confirm-label"));
        if (yes) { form.dataset.confirmed = "1"; form.requestSubmit(); }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    setupCopyButtons();
    setupConfirmForms();
    localizeTimes();
  });

  window.DI = { api, el, csrfToken, errorMessage, formatBytes, formatDate, confirmDialog };
})();

/* Documents page: upload with per-file progress, delete, reindex. The rows and the refresh
   that keeps them current are in documents_rows.js and documents_sync.js (DI.docs). */
(function () {
  "use strict";
  const DI = window.DI;
  const table = document.getElementById("documents-table");
  if (!table) return;
  const docs = DI.docs;
  const API = docs.view.api;
  const body = docs.body;
  const announce = docs.announce;
  const cell = docs.cell;

  // --- delete and reindex ------------------------------------------------------------------
  body.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button || button.getAttribute("data-action") === "move") return;  // documents_collections.js
    const row = button.closest("tr");
    const id = row.getAttribute("data-id");
    const name = cell(row, "name").textContent;
    if (button.getAttribute("data-action") === "delete") {
      const yes = await DI.confirmDialog("Delete \u201c" + name + "\u201d? Its file, chunks and search entries are removed for everyone.", "Delete");
      if (!yes) return;
      button.disabled = true;
      // The refresh leaves this row to us: its going is no news from elsewhere.
      row.setAttribute("data-deleting", "");
      const result = await DI.api(API + id + "/", { method: "DELETE" });
      // 404: deleted elsewhere meanwhile; the row goes all the same.
      if (result.ok || result.status === 404) { docs.removeRows([row], { row: row, action: "delete" }); announce(name + " was deleted."); }
      else { row.removeAttribute("data-deleting"); button.disabled = false; announce(result.message); window.alert(result.message); }
    } else {
      button.disabled = true;
      const result = await DI.api(API + id + "/reindex/", { method: "POST" });
      button.disabled = false;
      if (result.ok) { docs.updateRow(row, result.body); docs.startRefresh(); announce(name + " is queued for reindexing."); }
      else { announce(result.message); window.alert(result.message); }
    }
  });

  // --- upload ------------------------------------------------------------------------------
  const input = document.getElementById("file-input");
  const dropzone = document.getElementById("dropzone");
  const list = document.getElementById("upload-list");
  let inFlight = 0;  // upload batches still sending

  function duplicateMessage(error) {
    const existing = error.existing_filename ? " as \u201c" + error.existing_filename + "\u201d" : "";
    return "This file was already uploaded" + existing + ".";
  }

  // --- each uploaded file's line follows its document to ready or failed ---------------------
  const FOLLOW_MS = 1500;
  let following = null;

  function followed() { return Array.from(list.querySelectorAll("li[data-doc-id][data-following]")); }

  // The upload's own line (and where the row went) stays; the outcome is said beside it.
  function showOutcome(item, doc) {
    const bar = item.querySelector("progress");
    const status = item.querySelector(".upload-status");
    let outcome = item.querySelector(".upload-outcome");
    if (!outcome) {
      outcome = DI.el("span", { className: "upload-outcome" });
      item.appendChild(outcome);
    }
    if (doc.status === "ready") {
      item.removeAttribute("data-following");
      if (bar) bar.value = 100;
      outcome.className = "upload-outcome upload-ok";
      outcome.textContent = "Ready: " + doc.chunk_count + (doc.chunk_count === 1 ? " passage" : " passages") + " to search.";
    } else if (doc.status === "failed") {
      item.removeAttribute("data-following");
      if (bar) { bar.value = 0; bar.classList.add("bar-failed"); }
      status.className = "upload-status";  // no longer green: the file did not make it
      outcome.className = "upload-outcome upload-error";
      outcome.setAttribute("role", "alert");
      outcome.textContent = "Failed: " + (doc.error || "no reason was given.");
    } else {
      if (bar && doc.status === "processing") bar.value = doc.progress || 0;
      outcome.className = "upload-outcome";
      outcome.textContent = doc.status === "processing" ? "Processing\u2026 " + (doc.progress || 0) + "%" : "Waiting for a worker\u2026";
    }
  }

  async function follow() {
    following = null;
    const items = followed();
    if (!items.length) return;
    const ids = items.map((item) => item.getAttribute("data-doc-id"));
    const params = new URLSearchParams({ id: ids.join(","), page_size: String(ids.length) });
    const result = await DI.api(API + "?" + params.toString());
    if (result.ok && result.body && Array.isArray(result.body.results)) {
      const byId = new Map(result.body.results.map((doc) => [String(doc.id), doc]));
      items.forEach((item) => {
        const doc = byId.get(item.getAttribute("data-doc-id"));
        if (doc) showOutcome(item, doc);
        else { item.removeAttribute("data-following"); showOutcome(item, { status: "failed", error: "it was deleted." }); }
      });
    }
    if (followed().length) following = setTimeout(follow, FOLLOW_MS);
  }

  function startFollowing() { if (following === null) following = setTimeout(follow, FOLLOW_MS); }

  list.addEventListener("click", (event) => {
    const dismiss = event.target.closest("button[data-dismiss]");
    if (dismiss) dismiss.closest("li").remove();
  });

  function uploadOne(file, item, allowDuplicate) {
    const bar = item.querySelector("progress");
    const status = item.querySelector(".upload-status");
    status.className = "upload-status";
    status.textContent = "Uploading\u2026";
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", API + (allowDuplicate ? "?allow_duplicate=1" : ""));
      xhr.setRequestHeader("X-CSRFToken", DI.csrfToken());
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) bar.value = Math.round((event.loaded / event.total) * 100);
      });
      xhr.addEventListener("load", () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch (err) { data = null; }
        if (xhr.status === 202 && data) {
          bar.value = 100;
          status.className = "upload-status upload-ok";
          status.textContent = "Uploaded; processing in the background.";
          // Placed where the filter, sort and page put it, or the line says where it went.
          docs.placeUpload(data, status);
          // Then the line follows the document until it is ready or failed, with the reason.
          if (data.id !== undefined && data.status !== "ready" && data.status !== "failed") {
            item.setAttribute("data-doc-id", String(data.id));
            item.setAttribute("data-following", "");
            startFollowing();
          } else if (data.id !== undefined) showOutcome(item, data);
        } else {
          // Refused: nothing was stored, so the bar is empty rather than full.
          bar.value = 0;
          bar.classList.add("bar-failed");
          status.className = "upload-status upload-error";
          status.setAttribute("role", "alert");
          status.textContent = DI.errorMessage(data, xhr.status);
          if (data && data.error && data.error.code === "duplicate") {
            // The API's message tells API clients about ?allow_duplicate=1; here the button does it.
            status.textContent = duplicateMessage(data.error);
            const again = DI.el("button", { type: "button", className: "btn-link" }, "Upload it anyway");
            again.addEventListener("click", () => { again.remove(); status.removeAttribute("role"); inFlight += 1; uploadOne(file, item, true).finally(() => { inFlight -= 1; }); });
            status.appendChild(document.createTextNode(" "));
            status.appendChild(again);
          }
        }
        resolve();
      });
      xhr.addEventListener("error", () => {
        status.className = "upload-status upload-error";
        status.textContent = DI.errorMessage(null, 0);
        resolve();
      });
      const form = new FormData();
      form.append("file", file, file.name);
      const into = document.getElementById("upload-collection");
      if (into) form.append("collection_ids", into.value);
      xhr.send(form);
    });
  }

  async function uploadAll(files) {
    const items = Array.from(files).map((file) => {
      const item = DI.el("li", { "data-file": file.name });
      item.appendChild(DI.el("bdi", {}, file.name));
      item.appendChild(DI.el("span", {}, " (" + DI.formatBytes(file.size) + ")"));
      item.appendChild(DI.el("progress", { max: 100, value: 0, "aria-label": "Upload of " + file.name }));
      item.appendChild(DI.el("button", { type: "button", className: "btn-link upload-dismiss", "data-dismiss": "", "aria-label": "Dismiss " + file.name }, "\u00d7"));
      item.appendChild(DI.el("span", { className: "upload-status" }, "Waiting\u2026"));
      list.prepend(item);
      return [file, item];
    });
    // One request per file: each gets its own progress bar and its own error message.
    inFlight += 1;
    try {
      for (const [file, item] of items) {
        await uploadOne(file, item, false);
      }
    } finally {
      inFlight -= 1;
    }
  }

  // Leaving the page aborts the uploads still being sent (nothing of them is stored): ask first.
  window.addEventListener("beforeunload", (event) => {
    if (inFlight > 0) { event.preventDefault(); event.returnValue = ""; }
  });

  const choose = document.getElementById("choose-files");
  if (input && choose) choose.addEventListener("click", () => input.click());

  if (input && dropzone) {
    input.addEventListener("change", () => { if (input.files.length) uploadAll(input.files); input.value = ""; });
    ["dragenter", "dragover"].forEach((name) => dropzone.addEventListener(name, (event) => {
      event.preventDefault();
      dropzone.classList.add("dragover");
    }));
    ["dragleave", "drop"].forEach((name) => dropzone.addEventListener(name, () => dropzone.classList.remove("dragover")));
    dropzone.addEventListener("drop", (event) => {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) uploadAll(event.dataTransfer.files);
    });
  }

})();

/* Documents page: upload with per-file progress, live status while processing, delete, reindex. */
(function () {
  "use strict";
  const DI = window.DI;
  const table = document.getElementById("documents-table");
  if (!table) return;
  const API = table.getAttribute("data-api");
  const body = document.getElementById("documents-body");
  const userId = table.getAttribute("data-user-id");
  const isAdmin = table.getAttribute("data-is-admin") === "1";
  const canWrite = table.getAttribute("data-can-write") === "1";
  const typeLabels = JSON.parse(document.getElementById("type-labels").textContent);
  const liveStatus = document.getElementById("table-status");
  const POLL_MS = 1500;
  const ACTIVE = ["pending", "processing"];
  const STATUS_LABELS = { pending: "Pending", processing: "Processing", ready: "Ready", failed: "Failed" };

  function announce(text) { if (liveStatus) liveStatus.textContent = text; }

  function cell(row, name) { return row.querySelector('[data-col="' + name + '"]'); }

  function renderStatus(td, doc) {
    td.replaceChildren(DI.el("span", { className: "badge badge-" + doc.status }, STATUS_LABELS[doc.status] || doc.status));
    if (ACTIVE.includes(doc.status)) {
      const bar = DI.el("progress", { max: 100, value: doc.progress || 0, "aria-label": "Processing " + doc.filename });
      bar.textContent = (doc.progress || 0) + "%";
      td.appendChild(bar);
    }
    if (doc.status === "failed" && doc.error) td.appendChild(DI.el("div", { className: "error-reason" }, doc.error));
  }

  function updateRow(row, doc) {
    const before = row.getAttribute("data-status");
    row.setAttribute("data-status", doc.status);
    cell(row, "pages").textContent = doc.page_count === null ? "-" : doc.page_count;
    cell(row, "chunks").textContent = doc.chunk_count;
    renderStatus(cell(row, "status"), doc);
    if (before !== doc.status && !ACTIVE.includes(doc.status)) {
      // A screen reader hears why a file failed, not only that it did.
      if (doc.status === "failed") announce(doc.filename + " failed: " + (doc.error || "no reason was given."));
      else announce(doc.filename + " is " + (STATUS_LABELS[doc.status] || doc.status).toLowerCase() + ".");
    }
  }

  function canManage(doc) {
    return canWrite && (isAdmin || (doc.owner_id !== undefined && String(doc.owner_id) === userId));
  }

  function buildRow(doc) {
    const row = DI.el("tr", { "data-id": doc.id, "data-status": doc.status });
    // dir=auto: a Hebrew or Arabic name is laid out right to left, on its own.
    row.appendChild(DI.el("td", { "data-col": "name", dir: "auto" }, doc.filename));
    row.appendChild(DI.el("td", { "data-col": "type" }, typeLabels[doc.content_type] || doc.content_type));
    row.appendChild(DI.el("td", { "data-col": "size", className: "num" }, DI.formatBytes(doc.size)));
    row.appendChild(DI.el("td", { "data-col": "pages", className: "num" }, doc.page_count === null ? "-" : doc.page_count));
    row.appendChild(DI.el("td", { "data-col": "chunks", className: "num" }, doc.chunk_count));
    const status = DI.el("td", { "data-col": "status" });
    renderStatus(status, doc);
    row.appendChild(status);
    const uploaded = DI.el("td", { "data-col": "uploaded" });
    uploaded.appendChild(DI.el("span", {}, doc.uploaded_by || "-"));
    uploaded.appendChild(DI.el("br"));
    uploaded.appendChild(DI.el("span", { className: "muted small" }, DI.formatDate(doc.created_at)));
    row.appendChild(uploaded);
    const actions = DI.el("td", { "data-col": "actions", className: "actions" });
    if (canManage(doc)) {
      actions.appendChild(DI.el("button", { type: "button", className: "btn btn-secondary btn-small", "data-action": "reindex", "aria-label": "Reindex " + doc.filename }, "Reindex"));
      actions.appendChild(document.createTextNode(" "));
      actions.appendChild(DI.el("button", { type: "button", className: "btn btn-danger btn-small", "data-action": "delete", "aria-label": "Delete " + doc.filename }, "Delete"));
    }
    row.appendChild(actions);
    return row;
  }

  // --- live status ---------------------------------------------------------------------
  let polling = false;
  async function poll() {
    const rows = Array.from(body.querySelectorAll("tr[data-id]")).filter((row) => ACTIVE.includes(row.getAttribute("data-status")));
    if (!rows.length) { polling = false; return; }
    await Promise.all(rows.map(async (row) => {
      const result = await DI.api(API + row.getAttribute("data-id") + "/");
      if (result.ok) updateRow(row, result.body);
      else if (result.status === 404) row.remove();
    }));
    setTimeout(poll, POLL_MS);
  }
  function startPolling() {
    if (polling) return;
    polling = true;
    setTimeout(poll, POLL_MS);
  }

  // --- delete and reindex ------------------------------------------------------------------
  body.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const row = button.closest("tr");
    const id = row.getAttribute("data-id");
    const name = cell(row, "name").textContent;
    if (button.getAttribute("data-action") === "delete") {
      const yes = await DI.confirmDialog("Delete \u201c" + name + "\u201d? Its file, chunks and search entries are removed for everyone.", "Delete");
      if (!yes) return;
      button.disabled = true;
      const result = await DI.api(API + id + "/", { method: "DELETE" });
      if (result.ok) { row.remove(); announce(name + " was deleted."); }
      else { button.disabled = false; announce(result.message); window.alert(result.message); }
    } else {
      button.disabled = true;
      const result = await DI.api(API + id + "/reindex/", { method: "POST" });
      button.disabled = false;
      if (result.ok) { updateRow(row, result.body); startPolling(); announce(name + " is queued for reindexing."); }
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
          data.owner_id = userId;
          const empty = document.getElementById("documents-empty");
          if (empty) empty.remove();
          body.prepend(buildRow(data));
          startPolling();
        } else {
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
      xhr.send(form);
    });
  }

  async function uploadAll(files) {
    const items = Array.from(files).map((file) => {
      const item = DI.el("li", { "data-file": file.name });
      item.appendChild(DI.el("bdi", {}, file.name));
      item.appendChild(DI.el("span", {}, " (" + DI.formatBytes(file.size) + ")"));
      item.appendChild(DI.el("progress", { max: 100, value: 0, "aria-label": "Upload of " + file.name }));
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

  startPolling();
})();

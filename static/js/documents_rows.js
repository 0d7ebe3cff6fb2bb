/* Documents page, the table's rows: build, update, insert and remove them, and the notices
   that say what changed in the list. Shared with documents_sync.js and documents.js as
   DI.docs. */
(function () {
  "use strict";
  const DI = window.DI;
  const table = document.getElementById("documents-table");
  if (!table) return;
  const body = document.getElementById("documents-body");
  const userId = table.getAttribute("data-user-id");
  const isAdmin = table.getAttribute("data-is-admin") === "1";
  const canWrite = table.getAttribute("data-can-write") === "1";
  // The Collections column (when the person reads more than one) and its Move button (owners, admins).
  const showCollections = table.getAttribute("data-show-collections") === "1";
  const canMove = table.getAttribute("data-can-move") === "1";
  const choices = JSON.parse(document.getElementById("collection-choices").textContent);
  const typeLabels = JSON.parse(document.getElementById("type-labels").textContent);
  const liveStatus = document.getElementById("table-status");
  const notices = document.getElementById("list-notices");
  const ACTIVE = ["pending", "processing"];
  const STATUS_LABELS = { pending: "Pending", processing: "Processing", ready: "Ready", failed: "Failed" };
  const MAX_NOTICES = 3;

  // The list as the server rendered it: the API is asked with the same filter, sort and page.
  const view = {
    api: table.getAttribute("data-api"),
    sort: table.getAttribute("data-sort") || "-created",
    status: table.getAttribute("data-filter-status") || "",
    search: table.getAttribute("data-filter-search") || "",
    collection: table.getAttribute("data-filter-collection") || "",
    page: table.getAttribute("data-page") || "1",
    pageSize: table.getAttribute("data-page-size") || "25",
    clearFilterHref: table.getAttribute("data-clear-filter") || window.location.pathname,
  };

  const SORT_LABELS = {
    name: "name (A to Z)", "-name": "name (Z to A)",
    size: "size (smallest first)", "-size": "size (largest first)",
    status: "status (A to Z)", "-status": "status (Z to A)",
    created: "upload time (oldest first)", "-created": "upload time (newest first)",
  };
  function sortLabel() { return SORT_LABELS[view.sort] || "the chosen column"; }

  // For screen readers only: a row's status changing (ready, failed with its reason).
  function announce(text) { if (liveStatus) liveStatus.textContent = text; }

  // Visible and read out politely: the list changed under the user (rows deleted elsewhere).
  // `parts` are strings and {name} objects; names go in <bdi> so right-to-left ones keep their order.
  function notify(parts) {
    const line = DI.el("p", { className: "alert alert-info" });
    parts.forEach((part) => {
      line.appendChild(typeof part === "string" ? document.createTextNode(part) : DI.el("bdi", {}, part.name));
    });
    notices.appendChild(line);
    while (notices.children.length > MAX_NOTICES) notices.firstElementChild.remove();
  }

  function cell(row, name) { return row.querySelector('[data-col="' + name + '"]'); }
  function rows() { return Array.from(body.querySelectorAll("tr[data-id]")); }
  function isActive(row) { return ACTIVE.includes(row.getAttribute("data-status")); }

  function renderStatus(td, doc) {
    td.replaceChildren(DI.el("span", { className: "badge badge-" + doc.status }, STATUS_LABELS[doc.status] || doc.status));
    if (ACTIVE.includes(doc.status)) {
      const bar = DI.el("progress", { max: 100, value: doc.progress || 0, "aria-label": "Processing " + doc.filename });
      bar.textContent = (doc.progress || 0) + "%";
      td.appendChild(bar);
    }
    if (doc.status === "failed" && doc.error) td.appendChild(DI.el("div", { className: "error-reason" }, doc.error));
  }

  // A document's collections as the API gives them (collection_ids), in the pickers' order.
  function collectionIds(doc) {
    const ids = new Set((doc.collection_ids || []).map(String));
    return choices.filter((choice) => ids.has(String(choice.id))).map((choice) => String(choice.id));
  }
  function collectionNames(ids) {
    return ids.map((id) => (choices.find((choice) => String(choice.id) === id) || {}).name).filter(Boolean).join(", ");
  }
  function renderCollections(row, doc) {
    if (!Array.isArray(doc.collection_ids)) return;
    const ids = collectionIds(doc);
    row.setAttribute("data-collections", ids.join(","));
    const td = cell(row, "collections");
    if (td) td.textContent = collectionNames(ids);
  }

  function updateRow(row, doc) {
    renderCollections(row, doc);
    const before = row.getAttribute("data-status");
    const progress = cell(row, "status").querySelector("progress");
    if (before === doc.status && (!progress || Number(progress.value) === (doc.progress || 0))) return;
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
    // The name downloads the original (GET documents/<id>/file/, an attachment).
    const name = DI.el("td", { "data-col": "name", dir: "auto" });
    name.appendChild(DI.el("a", { href: view.api + doc.id + "/file/", download: "", title: "Download the original" }, doc.filename));
    row.appendChild(name);
    row.appendChild(DI.el("td", { "data-col": "type" }, typeLabels[doc.content_type] || doc.content_type));
    if (showCollections) row.appendChild(DI.el("td", { "data-col": "collections" }));
    renderCollections(row, doc);
    row.appendChild(DI.el("td", { "data-col": "size", className: "num", "data-bytes": doc.size }, DI.formatBytes(doc.size)));
    row.appendChild(DI.el("td", { "data-col": "pages", className: "num" }, doc.page_count === null ? "-" : doc.page_count));
    row.appendChild(DI.el("td", { "data-col": "chunks", className: "num" }, doc.chunk_count));
    const status = DI.el("td", { "data-col": "status" });
    renderStatus(status, doc);
    row.appendChild(status);
    const uploaded = DI.el("td", { "data-col": "uploaded" });
    uploaded.appendChild(DI.el("span", {}, doc.uploaded_by || "-"));
    uploaded.appendChild(DI.el("br"));
    uploaded.appendChild(DI.el("time", { className: "muted small", datetime: doc.created_at }, DI.formatDate(doc.created_at)));
    row.appendChild(uploaded);
    const actions = DI.el("td", { "data-col": "actions", className: "actions" });
    if (canMove) {
      actions.appendChild(DI.el("button", { type: "button", className: "btn btn-secondary btn-small", "data-action": "move", "aria-label": "Move " + doc.filename + " to other collections" }, "Move"));
      actions.appendChild(document.createTextNode(" "));
    }
    if (canManage(doc)) {
      actions.appendChild(DI.el("button", { type: "button", className: "btn btn-secondary btn-small", "data-action": "reindex", "aria-label": "Reindex " + doc.filename }, "Reindex"));
      actions.appendChild(document.createTextNode(" "));
      actions.appendChild(DI.el("button", { type: "button", className: "btn btn-danger btn-small", "data-action": "delete", "aria-label": "Delete " + doc.filename }, "Delete"));
    }
    row.appendChild(actions);
    return row;
  }

  // Puts a new row where the server's order (`orderedIds`, this page) puts it.
  function insertRow(row, orderedIds) {
    const empty = document.getElementById("documents-empty");
    if (empty) empty.remove();
    const at = orderedIds.indexOf(String(row.getAttribute("data-id")));
    const onScreen = (id) => body.querySelector('tr[data-id="' + id + '"]');
    for (const id of orderedIds.slice(at + 1)) {
      const next = onScreen(id);
      if (next) { next.before(row); return; }
    }
    for (const id of orderedIds.slice(0, at).reverse()) {
      const previous = onScreen(id);
      if (previous) { previous.after(row); return; }
    }
    body.appendChild(row);
  }

  // Where focus goes when its row leaves: the same button in the nearest remaining row
  // (below first, then above), else the notices, which say what happened.
  function focusTarget(row, action, leaving) {
    const pick = (candidate) => {
      if (!candidate || leaving.includes(candidate)) return null;
      return candidate.querySelector('button[data-action="' + action + '"]') || candidate.querySelector("button");
    };
    for (let next = row.nextElementSibling; next; next = next.nextElementSibling) {
      const found = pick(next);
      if (found) return found;
    }
    for (let previous = row.previousElementSibling; previous; previous = previous.previousElementSibling) {
      const found = pick(previous);
      if (found) return found;
    }
    return notices;
  }

  // `focused`: the row and button that had focus, when the page itself disabled that button
  // (a disabled button loses focus, so document.activeElement no longer tells).
  function removeRows(leaving, focused) {
    let from = focused || null;
    const holder = leaving.find((row) => row.contains(document.activeElement));
    if (holder) from = { row: holder, action: document.activeElement.getAttribute("data-action") };
    const target = from ? focusTarget(from.row, from.action, leaving) : null;
    leaving.forEach((row) => row.remove());
    if (!rows().length && !document.getElementById("documents-empty")) {
      const empty = DI.el("div", { className: "empty", id: "documents-empty" });
      empty.appendChild(DI.el("strong", {}, "No documents are left on this page."));
      empty.appendChild(DI.el("a", { href: window.location.href }, "Reload the list"));
      empty.appendChild(document.createTextNode(" to see the current one."));
      table.closest(".table-wrap").after(empty);
    }
    if (target) target.focus();
  }

  function nameOf(row) { return cell(row, "name").textContent; }

  // Rows the refresh found deleted: gone from the list, and the user is told which.
  function removeDeletedElsewhere(leaving) {
    if (!leaving.length) return;
    const names = leaving.map(nameOf);
    removeRows(leaving);
    const who = " by someone else or in another tab";
    if (names.length === 1) { notify([{ name: "\u201c" + names[0] + "\u201d" }, " was deleted" + who + "."]); return; }
    const shown = names.slice(0, 3);
    const parts = [names.length + " documents were deleted" + who + ": "];
    shown.forEach((name, index) => {
      if (index > 0) parts.push(index === shown.length - 1 && names.length === shown.length ? " and " : ", ");
      parts.push({ name: "\u201c" + name + "\u201d" });
    });
    if (names.length > shown.length) parts.push(" and " + (names.length - shown.length) + " more");
    parts.push(".");
    notify(parts);
  }

  DI.docs = {
    view, body, userId, announce, notify, cell, rows, isActive, nameOf, sortLabel,
    updateRow, buildRow, insertRow, removeRows, removeDeletedElsewhere,
    renderCollections, collectionNames,
  };
})();

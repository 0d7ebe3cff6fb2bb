/* Documents page, keeping the list honest: a refresh asks the API which shown rows still
   exist (and their status), and an upload is placed where the current filter, sort and page
   put it, or the user is told where it went. Uses DI.docs from documents_rows.js. */
(function () {
  "use strict";
  const DI = window.DI;
  const docs = DI.docs;
  if (!docs) return;
  const view = docs.view;
  const ACTIVE_MS = 1500;  // while a row is pending or processing: its progress moves
  const IDLE_MS = 5000;  // otherwise: only to notice rows deleted elsewhere
  const IDS_PER_REQUEST = 100;

  // --- refresh -------------------------------------------------------------------------------
  let timer = null;
  let running = false;

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(refresh, ms);
  }

  async function existing(ids) {
    const found = new Map();
    for (let start = 0; start < ids.length; start += IDS_PER_REQUEST) {
      const batch = ids.slice(start, start + IDS_PER_REQUEST);
      const params = new URLSearchParams({ id: batch.join(","), page_size: String(batch.length) });
      const result = await DI.api(view.api + "?" + params.toString());
      if (!result.ok || !result.body || !Array.isArray(result.body.results)) return null;
      result.body.results.forEach((doc) => found.set(String(doc.id), doc));
    }
    return found;
  }

  async function refresh() {
    timer = null;
    // A hidden tab does not poll; it catches up when it is shown again.
    if (document.hidden || running) return;
    running = true;
    try {
      const shown = docs.rows().filter((row) => !row.hasAttribute("data-deleting"));
      const found = shown.length ? await existing(shown.map((row) => row.getAttribute("data-id"))) : new Map();
      // No answer (offline, signed out): nothing is taken for deleted; try again later.
      if (found === null) return;
      const gone = [];
      shown.forEach((row) => {
        // Rows this page deleted meanwhile are no news; they are already gone or going.
        if (!row.isConnected || row.hasAttribute("data-deleting")) return;
        const doc = found.get(row.getAttribute("data-id"));
        if (doc) docs.updateRow(row, doc);
        else gone.push(row);
      });
      docs.removeDeletedElsewhere(gone);
    } finally {
      running = false;
      if (!document.hidden) schedule(docs.rows().some(docs.isActive) ? ACTIVE_MS : IDLE_MS);
    }
  }

  // Sooner than the idle pace: after an upload or a reindex, and when the tab is shown again.
  function refreshSoon() { schedule(running ? ACTIVE_MS : 0); }
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refreshSoon(); });

  // --- where an upload goes ------------------------------------------------------------------
  function listParams(extra) {
    const params = new URLSearchParams(extra);
    if (view.status) params.set("status", view.status);
    if (view.search) params.set("search", view.search);
    if (view.collection) params.set("collection", view.collection);
    return params;
  }

  // Appends a sentence (and maybe a link) to an upload's status line.
  function tell(status, sentence, link) {
    status.appendChild(document.createTextNode(" " + sentence));
    if (link) {
      status.appendChild(document.createTextNode(" "));
      status.appendChild(DI.el("a", { href: link.href }, link.text));
      status.appendChild(document.createTextNode("."));
    }
  }

  // The server's own query decides: this page with the page's filter and sort. When the
  // new document is on it, its neighbours there say where the row goes; when it is not,
  // asking for it by id with the filter says whether the filter hides it or it is on
  // another page. `doc` is the upload's 202 answer; `status` its line in the upload list.
  async function placeUpload(doc, status, attempt) {
    const id = String(doc.id);
    const tries = attempt || 0;
    const page = await DI.api(view.api + "?" + listParams({ ordering: view.sort, page: view.page, page_size: view.pageSize }).toString());
    const results = page.ok && page.body && Array.isArray(page.body.results) ? page.body.results : null;
    const here = results ? results.find((item) => String(item.id) === id) : null;
    if (here) {
      if (!docs.body.querySelector('tr[data-id="' + id + '"]')) {
        here.owner_id = docs.userId;
        // Built as uploaded, then brought up to date: a file that already failed (or is ready)
        // by now is announced like any later change, with its reason.
        const row = docs.buildRow(Object.assign({}, here, { status: doc.status, progress: doc.progress, error: "" }));
        docs.insertRow(row, results.map((item) => String(item.id)));
        docs.updateRow(row, here);
      }
      refreshSoon();
      return;
    }
    // 404: this page number no longer exists (documents were deleted); it is elsewhere then.
    if (!results && page.status !== 404) { tell(status, "Reload the page to see it in the list."); return; }
    const check = await DI.api(view.api + "?" + listParams({ id: id }).toString());
    if (!check.ok || !check.body) { tell(status, "Reload the page to see it in the list."); return; }
    const matches = check.body.count > 0;
    // Another page only when this one is full; a page with room that lacks the new document
    // was read a moment too early (or the document was removed since): look again shortly.
    const pageFull = results === null || results.length >= Number(view.pageSize);
    if (matches && !pageFull && tries < 3) {
      setTimeout(() => placeUpload(doc, status, tries + 1), 400 * (tries + 1));
      return;
    }
    if (matches && pageFull) tell(status, "Sorted by " + docs.sortLabel() + ", it is on another page of the list.");
    else if (matches || !(view.status || view.search || view.collection)) tell(status, "Reload the page to see it in the list.");
    else tell(status, "It is not listed below because it does not match the current filter.", { href: view.clearFilterHref, text: "Clear filter" });
  }

  DI.docs.startRefresh = refreshSoon;
  DI.docs.placeUpload = placeUpload;
  schedule(docs.rows().some(docs.isActive) ? ACTIVE_MS : IDLE_MS);
})();

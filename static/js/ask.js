/* Ask page: streams the answer (server-sent events over fetch), cited passages, search, feedback. */
(function () {
  "use strict";
  const DI = window.DI;
  const form = document.getElementById("ask-form");
  if (!form) return;
  const ASK = form.getAttribute("data-ask-api");
  const SEARCH = form.getAttribute("data-search-api");
  const QUERIES = form.getAttribute("data-queries-api");
  const CHUNKS = form.getAttribute("data-chunks-api");
  const DOCUMENTS = form.getAttribute("data-documents-api");
  const $ = (id) => document.getElementById(id);
  const question = $("question");
  const askButton = $("ask-button");
  const searchButton = $("search-button");
  const KINDS = { ask: "Question", search: "Search" };
  const FIELDS = { question: "Question", query: "Search text", document_ids: "Documents", collection_ids: "Collections", comment: "Comment" };
  let currentQueryId = null;
  let lastTrigger = null;
  let running = null; // the AbortController of the ask or search on screen

  // Only the latest ask or search may draw: starting one cancels the one before.
  function begin() {
    if (running) running.abort();
    running = new AbortController();
    return running;
  }
  const stale = (run) => run !== running;

  // The API's error body, whether it came as JSON or as one `event: error` (streaming asks).
  function errorText(body, status) {
    const fields = body && body.error && body.error.fields;
    if (fields && typeof fields === "object") {
      const problems = Object.entries(fields).flatMap(([name, messages]) =>
        [].concat(messages).filter((m) => typeof m === "string").map((m) => (FIELDS[name] || name) + ": " + m));
      if (problems.length) return problems.join(" ");
    }
    return DI.errorMessage(body, status);
  }

  async function errorOf(response) {
    let text = "";
    try { text = await response.text(); } catch (err) { text = ""; }
    let body = null;
    if ((response.headers.get("Content-Type") || "").includes("text/event-stream")) body = parseEvent(text.split("\n\n")[0]).payload;
    else { try { body = JSON.parse(text); } catch (err) { body = null; } }
    return errorText(body, response.status);
  }

  // --- the cited passage panel --------------------------------------------------------------
  // The quote is shown at once; the whole passage (GET chunks/<id>/) replaces it when it
  // arrives, with each quoted sentence marked where it stands. A quote joins sentences with
  // " … " and reads line breaks as spaces; a sentence that runs on into the next passage (or
  // began in the previous one) is marked for the words this passage holds. Text only: never
  // parsed as HTML.
  const escapeWord = (word) => word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  function findWords(text, words) {
    const match = new RegExp(words.map(escapeWord).join("\\s+")).exec(text);
    return match ? [match.index, match.index + match[0].length] : null;
  }
  function findPiece(text, piece) {
    const words = piece.split(/\s+/).filter(Boolean);
    const whole = findWords(text, words);
    if (whole) return whole;
    for (let keep = words.length - 1; keep >= 4; keep -= 1) {
      const found = findWords(text, words.slice(0, keep)) || findWords(text, words.slice(words.length - keep));
      if (found) return found;
    }
    return null;
  }
  function quotedRanges(text, quote) {
    const pieces = (quote || "").split(" \u2026 ").map((p) => p.replace(/^\u2026|\u2026$/g, "").trim()).filter(Boolean);
    const ranges = pieces.map((piece) => findPiece(text, piece)).filter(Boolean).sort((a, b) => a[0] - b[0]);
    const merged = [];
    ranges.forEach((range) => {
      const last = merged[merged.length - 1];
      if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
      else merged.push(range.slice());
    });
    return merged;
  }
  function passageText(text, quote) {
    const box = $("passage-text");
    box.replaceChildren();
    const ranges = quote ? quotedRanges(text, quote) : [];
    if (!ranges.length) {
      if (quote) box.appendChild(DI.el("mark", {}, quote));
      if (text && text !== quote) box.appendChild(quote ? DI.el("p", { className: "small" }, text) : document.createTextNode(text));
      return;
    }
    let at = 0;
    ranges.forEach(([start, end]) => {
      box.appendChild(document.createTextNode(text.slice(at, start)));
      box.appendChild(DI.el("mark", {}, text.slice(start, end)));
      at = end;
    });
    box.appendChild(document.createTextNode(text.slice(at)));
  }

  let passageRequest = 0;
  async function openPassage(source, trigger) {
    $("passage-document").textContent = source.document_name;
    $("passage-page").textContent = source.page ? "Page " + source.page : "";
    $("passage-file").hidden = true;
    $("passage-open").hidden = true;
    passageText(source.text || source.quote || "", source.quote || "");
    const panel = $("passage");
    panel.hidden = false;
    document.querySelectorAll(".cite[aria-expanded]").forEach((b) => b.setAttribute("aria-expanded", "false"));
    if (trigger && trigger.classList.contains("cite")) trigger.setAttribute("aria-expanded", "true");
    lastTrigger = trigger || null;
    panel.focus();
    if (!source.chunk_id) return;
    const request = ++passageRequest;
    const result = await DI.api(CHUNKS + source.chunk_id + "/");
    if (request !== passageRequest || !result.ok) return; // another passage was opened, or it is gone
    const file = $("passage-file");
    file.href = DOCUMENTS + result.body.document_id + "/file/";
    file.setAttribute("aria-label", "Download the original of " + result.body.document_name);
    file.hidden = false;
    // A PDF opens in the browser's own viewer at the passage's page (#page=N); other formats
    // only download.
    const open = $("passage-open");
    if (result.body.document_content_type === "application/pdf") {
      const page = result.body.page || source.page;
      open.href = DOCUMENTS + result.body.document_id + "/file/?inline=1" + (page ? "#page=" + page : "");
      open.textContent = page ? "Open the PDF at page " + page : "Open the PDF";
      open.hidden = false;
    }
    if (result.body.section) $("passage-page").textContent = [source.page ? "Page " + source.page : "", result.body.section].filter(Boolean).join(" \u00b7 ");
    passageText(result.body.text || "", source.quote || "");
  }
  function closePassage() {
    if ($("passage").hidden) return;
    $("passage").hidden = true;
    if (lastTrigger) { lastTrigger.setAttribute("aria-expanded", "false"); lastTrigger.focus(); }
  }
  $("passage-close").addEventListener("click", closePassage);
  $("passage").addEventListener("keydown", (event) => { if (event.key === "Escape") closePassage(); });

  // --- rendering the answer -----------------------------------------------------------------
  // Plain text with "[n]" markers turned into buttons; never parsed as HTML. A cited sentence
  // its passages do not bear out (support "partial" or "unsupported") is marked, with a
  // title and a screen-reader note saying so.
  const DOUBT = {
    partial: "Only partly found in the cited passage",
    unsupported: "Not found in the cited passage",
  };
  function appendWithMarkers(parent, text, byMarker) {
    text.split(/(\[\d+\])/).forEach((part) => {
      const match = part.match(/^\[(\d+)\]$/);
      const citation = match && byMarker.get(match[1]);
      if (citation) {
        const label = "Source " + match[1] + ": " + citation.document_name + (citation.page ? ", page " + citation.page : "");
        const button = DI.el("button", { type: "button", className: "cite", "aria-label": label, "aria-expanded": "false", "data-marker": match[1] }, "[" + match[1] + "]");
        button.addEventListener("click", () => openPassage(citation, button));
        parent.appendChild(button);
      } else if (part) {
        parent.appendChild(document.createTextNode(part));
      }
    });
  }
  function renderAnswer(text, citations, claims) {
    const byMarker = new Map(citations.map((c) => [String(c.marker), c]));
    const answer = $("answer");
    answer.replaceChildren();
    let at = 0;
    (claims || []).filter((c) => DOUBT[c.support] && c.start >= at && c.end <= text.length).forEach((claim) => {
      appendWithMarkers(answer, text.slice(at, claim.start), byMarker);
      const span = DI.el("span", { className: "claim-" + claim.support, title: DOUBT[claim.support] });
      appendWithMarkers(span, text.slice(claim.start, claim.end), byMarker);
      span.appendChild(DI.el("span", { className: "visually-hidden" }, " (" + DOUBT[claim.support].toLowerCase() + ")"));
      answer.appendChild(span);
      at = claim.end;
    });
    appendWithMarkers(answer, text.slice(at), byMarker);
  }

  function renderSources(citations) {
    const list = $("sources");
    list.replaceChildren();
    citations.forEach((citation) => {
      const item = DI.el("li");
      const link = DI.el("button", { type: "button", className: "btn-link", "data-marker": citation.marker },
        "[" + citation.marker + "] " + citation.document_name + (citation.page ? ", page " + citation.page : "") + (citation.section ? " \u00b7 " + citation.section : ""));
      link.addEventListener("click", () => openPassage(citation, link));
      item.appendChild(link);
      // Two passages of one document read alike in the list; the quote's start tells them apart.
      const quote = (citation.quote || "").replace(/\s+/g, " ").trim();
      if (quote) item.appendChild(DI.el("span", { className: "muted small source-quote", dir: "auto" }, quote.length > 90 ? quote.slice(0, 90).trimEnd() + "\u2026" : quote));
      list.appendChild(item);
    });
    $("sources-box").hidden = citations.length === 0;
  }

  function resetAnswer() {
    $("answer-section").hidden = false;
    $("results-section").hidden = true;
    $("passage").hidden = true;
    $("answer").replaceChildren();
    $("answer-hint").hidden = true;
    $("sources-box").hidden = true;
    $("feedback").hidden = true;
    $("feedback-status").textContent = "";
    $("feedback-comment").hidden = true;
    $("feedback-text").value = "";
    $("feedback").querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", "false"));
    currentQueryId = null;
  }

  function finish(done) {
    const citations = done.citations || [];
    renderAnswer(done.answer || "", citations, (done.support || {}).claims);
    renderSources(citations);
    const notes = [];
    if (done.cached) notes.push("from cache");
    if (done.degraded) notes.push("the answer service was unavailable, so this is a simpler extractive answer");
    const took = Math.round(done.took_ms || 0) + " ms";
    $("answer-status").textContent = (citations.length ? "Answered in " + took : "Nothing in your documents answers this (" + took + ")") +
      (notes.length ? " (" + notes.join("; ") + ")" : "") + ".";
    if (done.hint) { $("answer-hint").textContent = done.hint; $("answer-hint").hidden = false; }
    currentQueryId = done.query_id || null;
    $("feedback").hidden = !currentQueryId;
  }

  // A partial answer stays on screen, with what went wrong below it.
  function fail(message) {
    $("answer-status").textContent = "";
    $("answer").querySelectorAll("[role=alert]").forEach((old) => old.remove());
    $("answer").appendChild(DI.el("p", { className: "alert alert-error", role: "alert" }, message));
  }

  // --- streaming ask ---------------------------------------------------------------------------
  function parseEvent(block) {
    let name = "message";
    const data = [];
    block.split("\n").forEach((line) => {
      if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    });
    let payload = null;
    try { payload = data.length ? JSON.parse(data.join("\n")) : null; } catch (err) { payload = null; }
    return { name, payload };
  }

  // The collection picker's ticked collections (none ticked: every collection one reads).
  function chosenCollections() {
    return [...form.querySelectorAll('input[name="collection"]:checked')].map((box) => Number(box.value));
  }

  function filters() {
    const select = $("document-filter");
    const chosen = select && select.value ? { document_ids: [Number(select.value)] } : {};
    const collections = chosenCollections();
    if (collections.length) chosen.collection_ids = collections;
    return chosen;
  }

  // Back / forward to this page shows the last answer or results again without asking anew.
  function remember(text, view) {
    const state = { text: text, document: ($("document-filter") || {}).value || "", collections: chosenCollections() };
    history.replaceState({ askPage: Object.assign(state, view) }, "");
  }

  // A busy button is aria-disabled, not disabled: a disabled button loses keyboard focus (it
  // falls back to the page start), while this one keeps it and ignores presses until done.
  function setBusy(button, busy) {
    if (busy) button.setAttribute("aria-disabled", "true");
    else button.removeAttribute("aria-disabled");
  }
  function isBusy(button) { return button.getAttribute("aria-disabled") === "true"; }

  async function ask(text) {
    const run = begin();
    resetAnswer();
    setBusy(askButton, true);
    $("answer").setAttribute("aria-busy", "true");
    $("answer-status").textContent = "Thinking\u2026";
    let streamed = "";
    try {
      const response = await fetch(ASK, {
        method: "POST",
        credentials: "same-origin",
        signal: run.signal,
        headers: { "Content-Type": "application/json", Accept: "text/event-stream", "X-CSRFToken": DI.csrfToken() },
        body: JSON.stringify(Object.assign({ question: text, stream: true }, filters())),
      });
      const type = response.headers.get("Content-Type") || "";
      if (!response.ok || !type.includes("text/event-stream") || !response.body) {
        const message = await errorOf(response);
        if (!stale(run)) fail(message);
        return;
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      let finished = false;
      $("answer-status").textContent = "Answering\u2026";
      while (!finished) {
        const { value, done } = await reader.read();
        if (done || stale(run)) break;
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
        let cut;
        while (!finished && (cut = buffer.indexOf("\n\n")) !== -1) {
          const event = parseEvent(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
          if (event.name === "delta" && event.payload) {
            streamed += event.payload.text || "";
            $("answer").textContent = streamed;
          } else if (event.name === "done" && event.payload) {
            finish(event.payload);
            remember(text, { done: event.payload });
            loadRecent();
            finished = true;
          } else if (event.name === "error") {
            fail(errorText(event.payload, 500));
            finished = true;
          }
        }
      }
      if (!finished && !stale(run)) fail("The answer stopped before it was complete. Try again.");
    } catch (err) {
      if (stale(run)) return;
      fail(streamed ? "The connection was interrupted while answering. Try again." : DI.errorMessage(null, 0));
    } finally {
      if (!stale(run)) {
        setBusy(askButton, false);
        $("answer").removeAttribute("aria-busy");
        running = null;
      }
    }
  }

  // --- search ----------------------------------------------------------------------------------
  // The API marks matched words with «…»; turn them into <mark> elements, the rest stays text.
  function highlighted(text) {
    const fragment = document.createDocumentFragment();
    text.split(/(«[^»]*»)/).forEach((part) => {
      if (part.startsWith("«") && part.endsWith("»")) fragment.appendChild(DI.el("mark", {}, part.slice(1, -1)));
      else if (part) fragment.appendChild(document.createTextNode(part));
    });
    return fragment;
  }

  function showResults(body) {
    const hits = body.results || [];
    $("results").replaceChildren();
    $("results-status").textContent = hits.length
      ? (hits.length === 1 ? "1 passage" : hits.length + " passages") + " in " + Math.round(body.took_ms || 0) + " ms."
      : (body.hint || "Nothing matched.");
    hits.forEach((hit) => {
      const item = DI.el("li");
      const title = DI.el("button", { type: "button", className: "btn-link" }, hit.document_name + (hit.page ? ", page " + hit.page : ""));
      title.addEventListener("click", () => openPassage({ chunk_id: hit.chunk_id, document_name: hit.document_name, page: hit.page, text: hit.text, quote: "" }, title));
      item.appendChild(title);
      const snippet = DI.el("p", { className: "small", dir: "auto" });
      snippet.appendChild(highlighted(hit.highlight || hit.text || ""));
      item.appendChild(snippet);
      $("results").appendChild(item);
    });
  }

  async function search(text) {
    const run = begin();
    const mode = (form.querySelector('input[name="mode"]:checked') || {}).value || "hybrid";
    $("answer-section").hidden = true;
    $("results-section").hidden = false;
    $("passage").hidden = true;
    $("results").replaceChildren();
    $("results-status").textContent = "Searching\u2026";
    setBusy(askButton, false);
    setBusy(searchButton, true);
    const result = await DI.api(SEARCH, { method: "POST", signal: run.signal, json: Object.assign({ query: text, mode: mode }, filters()) });
    if (stale(run)) return;
    running = null;
    setBusy(searchButton, false);
    if (!result.ok) { $("results-status").textContent = errorText(result.body, result.status); return; }
    showResults(result.body);
    remember(text, { results: result.body });
    loadRecent();
  }

  // --- feedback and recent questions -----------------------------------------------------------
  $("feedback").addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-helpful]");
    if (!button || !currentQueryId) return;
    const helpful = button.getAttribute("data-helpful") === "true";
    const result = await DI.api(QUERIES + currentQueryId + "/feedback/", { method: "POST", json: { helpful: helpful } });
    $("feedback-status").textContent = result.ok ? "Thanks for the feedback." : result.message;
    $("feedback").querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", String(b === button && result.ok)));
    $("feedback-comment").hidden = !(result.ok && !helpful);
  });
  $("feedback-comment").addEventListener("submit", async (event) => {
    event.preventDefault();
    const comment = $("feedback-text").value.trim();
    if (!currentQueryId || !comment) { $("feedback-text").focus(); return; }
    const result = await DI.api(QUERIES + currentQueryId + "/feedback/", { method: "POST", json: { helpful: false, comment: comment } });
    $("feedback-status").textContent = result.ok ? "Thanks, your comment was sent." : errorText(result.body, result.status);
    if (result.ok) $("feedback-comment").hidden = true;
  });

  async function loadRecent() {
    const result = await DI.api(QUERIES + "?page_size=10");
    const list = $("recent");
    list.replaceChildren();
    const items = result.ok ? (result.body.results || []) : [];
    const seen = new Set();
    items.forEach((query) => {
      if (seen.has(query.text)) return;
      seen.add(query.text);
      const item = DI.el("li");
      const again = DI.el("button", { type: "button", className: "btn-link", dir: "auto" }, query.text);
      again.addEventListener("click", () => { question.value = query.text; updateCount(); question.focus(); });
      item.appendChild(again);
      const meta = DI.el("span", { className: "muted small recent-meta" }, (KINDS[query.kind] || query.kind) + " \u00b7 ");
      meta.appendChild(DI.el("time", { datetime: query.created_at }, DI.formatDate(query.created_at)));
      item.appendChild(meta);
      list.appendChild(item);
    });
    $("recent-error").hidden = result.ok;
    $("recent-empty").hidden = !result.ok || items.length > 0;
  }

  // Typing or pasting past the limit is cut silently by the browser; say so before it happens.
  const LIMIT = Number(question.getAttribute("maxlength")) || 2000;
  function updateCount() {
    const used = question.value.length;
    $("question-count").textContent = used >= LIMIT * 0.9
      ? used.toLocaleString("en") + " of " + LIMIT.toLocaleString("en") + " characters" + (used >= LIMIT ? ": the limit; anything longer was cut." : ".")
      : "";
  }
  question.addEventListener("input", updateCount);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = question.value.trim();
    if (event.submitter === askButton && isBusy(askButton)) return; // pressed again while busy
    if (text) ask(text);
    else { begin(); resetAnswer(); setBusy(askButton, false); fail("The question is empty; type what you want to know."); question.focus(); }
  });
  question.addEventListener("keydown", (event) => {
    // Enter asks (or searches, while "Search only" is open), Shift+Enter adds a line: what
    // people expect from a chat box.
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    if ($("search-only").open) searchButton.click();
    else form.requestSubmit();
  });
  searchButton.addEventListener("click", () => {
    if (isBusy(searchButton)) return;
    const text = question.value.trim();
    if (text) search(text); else question.focus();
  });

  function restore(saved) {
    question.value = saved.text || "";
    const select = $("document-filter");
    if (select && [...select.options].some((o) => o.value === saved.document)) select.value = saved.document;
    const ticked = (saved.collections || []).map(String);
    form.querySelectorAll('input[name="collection"]').forEach((box) => { box.checked = ticked.includes(box.value); });
    if (saved.done) { resetAnswer(); finish(saved.done); }
    else if (saved.results) { $("answer-section").hidden = true; $("results-section").hidden = false; showResults(saved.results); }
    updateCount();
  }
  if (history.state && history.state.askPage) restore(history.state.askPage);
  loadRecent();
})();

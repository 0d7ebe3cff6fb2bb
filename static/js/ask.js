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
  const $ = (id) => document.getElementById(id);
  const question = $("question");
  const askButton = $("ask-button");
  const searchButton = $("search-button");
  let currentQueryId = null;
  let lastTrigger = null;

  // --- the cited passage panel --------------------------------------------------------------
  // The quote is shown at once; the whole passage (GET chunks/<id>/) replaces it when it
  // arrives, with the quoted words marked. Text only: never parsed as HTML.
  function passageText(text, quote) {
    const box = $("passage-text");
    box.replaceChildren();
    const core = (quote || "").replace(/^\u2026|\u2026$/g, "").trim();
    if (!core) { box.appendChild(document.createTextNode(text)); return; }
    const at = text.indexOf(core);
    if (at < 0) {
      box.appendChild(DI.el("mark", {}, quote));
      if (text && text !== quote) box.appendChild(DI.el("p", { className: "small" }, text));
      return;
    }
    box.appendChild(document.createTextNode(text.slice(0, at)));
    box.appendChild(DI.el("mark", {}, core));
    box.appendChild(document.createTextNode(text.slice(at + core.length)));
  }

  let passageRequest = 0;
  async function openPassage(source, trigger) {
    $("passage-document").textContent = source.document_name;
    $("passage-page").textContent = source.page ? "Page " + source.page : "";
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
    if (result.body.section) $("passage-page").textContent = [source.page ? "Page " + source.page : "", result.body.section].filter(Boolean).join(" \u00b7 ");
    passageText(result.body.text || "", source.quote || "");
  }
  $("passage-close").addEventListener("click", () => {
    $("passage").hidden = true;
    if (lastTrigger) { lastTrigger.setAttribute("aria-expanded", "false"); lastTrigger.focus(); }
  });

  // --- rendering the answer -----------------------------------------------------------------
  // Plain text with "[n]" markers turned into buttons; never parsed as HTML.
  function renderAnswer(text, citations) {
    const byMarker = new Map(citations.map((c) => [String(c.marker), c]));
    const answer = $("answer");
    answer.replaceChildren();
    const parts = text.split(/(\[\d+\])/);
    parts.forEach((part) => {
      const match = part.match(/^\[(\d+)\]$/);
      const citation = match && byMarker.get(match[1]);
      if (citation) {
        const label = "Source " + match[1] + ": " + citation.document_name + (citation.page ? ", page " + citation.page : "");
        const button = DI.el("button", { type: "button", className: "cite", "aria-label": label, "aria-expanded": "false", "data-marker": match[1] }, "[" + match[1] + "]");
        button.addEventListener("click", () => openPassage(citation, button));
        answer.appendChild(button);
      } else if (part) {
        answer.appendChild(document.createTextNode(part));
      }
    });
  }

  function renderSources(citations) {
    const list = $("sources");
    list.replaceChildren();
    citations.forEach((citation) => {
      const item = DI.el("li");
      const link = DI.el("button", { type: "button", className: "btn-link", "data-marker": citation.marker },
        "[" + citation.marker + "] " + citation.document_name + (citation.page ? ", page " + citation.page : ""));
      link.addEventListener("click", () => openPassage(citation, link));
      item.appendChild(link);
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
    currentQueryId = null;
  }

  function finish(done) {
    renderAnswer(done.answer || "", done.citations || []);
    renderSources(done.citations || []);
    const notes = [];
    if (done.cached) notes.push("from cache");
    if (done.degraded) notes.push("the answer service was unavailable, so this is a simpler extractive answer");
    $("answer-status").textContent = "Answered in " + Math.round(done.took_ms || 0) + " ms" + (notes.length ? " (" + notes.join("; ") + ")" : "") + ".";
    if (done.hint) { $("answer-hint").textContent = done.hint; $("answer-hint").hidden = false; }
    currentQueryId = done.query_id || null;
    $("feedback").hidden = !currentQueryId;
    loadRecent();
  }

  function fail(message) {
    $("answer-status").textContent = "";
    const alert = DI.el("p", { className: "alert alert-error", role: "alert" }, message);
    $("answer").replaceChildren(alert);
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

  async function ask(text) {
    resetAnswer();
    askButton.disabled = true;
    $("answer-status").textContent = "Thinking\u2026";
    let response;
    try {
      response = await fetch(ASK, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream", "X-CSRFToken": DI.csrfToken() },
        body: JSON.stringify({ question: text, stream: true }),
      });
    } catch (err) {
      askButton.disabled = false;
      fail(DI.errorMessage(null, 0));
      return;
    }
    const type = response.headers.get("Content-Type") || "";
    if (!response.ok || !type.includes("text/event-stream")) {
      let body = null;
      try { body = await response.json(); } catch (err) { body = null; }
      askButton.disabled = false;
      fail(DI.errorMessage(body, response.status));
      return;
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let streamed = "";
    let finished = false;
    $("answer-status").textContent = "Answering\u2026";
    try {
      while (!finished) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
        let cut;
        while ((cut = buffer.indexOf("\n\n")) !== -1) {
          const event = parseEvent(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
          if (event.name === "delta" && event.payload) {
            streamed += event.payload.text || "";
            $("answer").textContent = streamed;
          } else if (event.name === "done" && event.payload) {
            finish(event.payload);
            finished = true;
          } else if (event.name === "error") {
            fail(DI.errorMessage(event.payload, 500));
            finished = true;
          }
        }
      }
      if (!finished) fail("The answer stopped before it was complete. Try again.");
    } catch (err) {
      fail("The connection was interrupted while answering. Try again.");
    } finally {
      askButton.disabled = false;
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

  async function search(text) {
    const mode = (form.querySelector('input[name="mode"]:checked') || {}).value || "hybrid";
    $("answer-section").hidden = true;
    $("results-section").hidden = false;
    $("results").replaceChildren();
    $("results-status").textContent = "Searching\u2026";
    searchButton.disabled = true;
    const result = await DI.api(SEARCH, { method: "POST", json: { query: text, mode: mode } });
    searchButton.disabled = false;
    if (!result.ok) { $("results-status").textContent = result.message; return; }
    const hits = result.body.results || [];
    $("results-status").textContent = hits.length
      ? hits.length + " passages in " + Math.round(result.body.took_ms || 0) + " ms."
      : (result.body.hint || "Nothing matched.");
    hits.forEach((hit) => {
      const item = DI.el("li");
      const title = DI.el("button", { type: "button", className: "btn-link" }, hit.document_name + (hit.page ? ", page " + hit.page : ""));
      title.addEventListener("click", () => openPassage({ chunk_id: hit.chunk_id, document_name: hit.document_name, page: hit.page, text: hit.text, quote: "" }, title));
      item.appendChild(title);
      const snippet = DI.el("p", { className: "small" });
      snippet.appendChild(highlighted(hit.highlight || hit.text || ""));
      item.appendChild(snippet);
      $("results").appendChild(item);
    });
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
      const again = DI.el("button", { type: "button", className: "btn-link" }, query.text);
      again.addEventListener("click", () => { question.value = query.text; question.focus(); });
      item.appendChild(again);
      item.appendChild(DI.el("span", { className: "muted small" }, " \u00b7 " + query.kind + " \u00b7 " + DI.formatDate(query.created_at)));
      list.appendChild(item);
    });
    $("recent-empty").hidden = items.length > 0;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = question.value.trim();
    if (text) ask(text);
    else { resetAnswer(); fail("The question is empty; type what you want to know."); question.focus(); }
  });
  question.addEventListener("keydown", (event) => {
    // Enter asks, Shift+Enter adds a line: what people expect from a chat box.
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });
  searchButton.addEventListener("click", () => {
    const text = question.value.trim();
    if (text) search(text); else question.focus();
  });
  loadRecent();
})();

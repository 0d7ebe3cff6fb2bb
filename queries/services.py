"""Search and ask for the current tenant: retrieve, answer, cache, log. Views stay thin.

Every call writes one `Query` row (also when served from the cache) with the latency
breakdown, tokens and an estimated cost (queries/querylog.py): before returning, or, when
the caller passes an `after_response` list, through a callable appended to it that the
caller runs once its response is sent (the API does; a fresh search result is then also put
in the cache after the response). Raises `EmptyQuery` for blank text
and lets `search.index.IndexMismatchError` through (the API answers 503 with its sentence).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings

from config.errors import AppError
from documents.embedder_choice import backend_for_current_tenant
from documents.models import IndexState
from documents.selectors import readable_document_ids
from queries import budget, cache, hints, querylog
from queries.answerer_config import answerer
from queries.answerers import Answer, Answerer, Source, support
from queries.models import QueryKind
from queries.querylog import Caller, Entry, PendingWrite, elapsed_ms
from search import bm25, index
from search.hits import ChunkHit, hydrate, neighbour_context
from search.retrieval import normalize_query, retrieve

__all__ = [
    "Caller",
    "EmptyQuery",
    "PendingWrite",
    "answerer",
    "ask",
    "ask_events",
    "search",
]


class EmptyQuery(AppError):
    """The query is empty or only whitespace."""

    status = 400
    code = "empty_query"


EMPTY_SEARCH = "The search is empty; type a few words to search for."
EMPTY_QUESTION = "The question is empty; type what you want to know."


def _require_text(text: str, message: str) -> str:
    if not text or not text.strip():
        raise EmptyQuery(message)
    return text.strip()


def _state_and_log_id(
    after_response: list[PendingWrite] | None, lexemes_of: str | None = None
) -> tuple[IndexState, int | None, list[str] | None]:
    """The index state, and a reserved query id when the row is written after the response.

    With `lexemes_of`, the API path also reads that text's lexemes in the same statement (one
    round trip less for lexical scoring); None means retrieval reads them itself.
    """
    if after_response is None:
        return index.state(), None, None
    if lexemes_of is None:
        state, query_id, _values = querylog.state_and_reserved_id()
        return state, query_id, None
    state, query_id, (lexemes,) = querylog.state_and_reserved_id(
        [bm25.QUERY_LEXEMES_SQL], [lexemes_of]
    )
    return state, query_id, list(lexemes or [])


def _log(entry: Entry, after_response: list[PendingWrite] | None) -> int:
    query_id = entry.reserved_id
    if query_id is None or after_response is None:
        return querylog.write(entry)
    after_response.append(querylog.write_later(entry, query_id))
    return query_id


def _ids(document_ids: Sequence[int] | None) -> list[int] | None:
    return sorted(set(document_ids)) if document_ids is not None else None


@dataclass(frozen=True)
class _Scope:
    """What one search may read: the caller's filter within what their collections allow."""

    wanted: list[int] | None  # the request's document_ids
    readable: list[int] | None  # every document the caller may read; None: all
    searched: list[int] | None  # what retrieval filters on: both of the above
    chosen: tuple[int, ...] | None = None  # the request's collection_ids

    def hint(self, found: int) -> str | None:
        return hints.hint_for(found, self.wanted, self.readable, chosen=self.chosen)


def _scope(caller: Caller, document_ids: Sequence[int] | None) -> _Scope:
    """The document filter applied inside retrieval (readable documents -> allowed ids), so
    a caller who reads only some collections still gets top_k results they may read."""
    wanted = _ids(document_ids)
    readable = readable_document_ids(caller.collection_ids)
    if readable is None:
        return _Scope(wanted, None, wanted)
    searched = readable if wanted is None else sorted(set(wanted).intersection(readable))
    return _Scope(wanted, readable, searched, caller.chosen_collection_ids)


def _access_params(caller: Caller) -> dict[str, Any]:
    """The caller's readable collections as the cache key holds them (None: all), and the
    collections they chose when they did (the hint of an empty answer says which it was)."""
    readable = sorted(caller.collection_ids) if caller.collection_ids is not None else None
    if caller.chosen_collection_ids is None:
        return {"collections": readable}
    return {"collections": readable, "chosen": list(caller.chosen_collection_ids)}


# --- search -------------------------------------------------------------------------------


def _search_body(
    log: Entry, text: str, mode: str, top_k: int, document_ids: Sequence[int] | None,
    use_cache: bool, after_response: list[PendingWrite] | None,
) -> dict[str, Any]:  # fmt: skip
    """The results (and hint) of one search, from the cache or retrieved."""
    state, log.reserved_id, lexemes = _state_and_log_id(
        after_response, text if mode != "dense" else None
    )
    params = {
        "q": normalize_query(text),
        "mode": mode,
        "top_k": top_k,
        "document_ids": _ids(document_ids),
        **_access_params(log.caller),
        "embedder": backend_for_current_tenant(),
    }
    key = cache.response_key("search", state, params)
    body = cache.get(key) if use_cache else None
    if body is not None:
        log.cached = True
    else:
        scope = _scope(log.caller, document_ids)
        retrieval = retrieve(
            text, mode=mode, top_k=top_k, document_ids=scope.searched, state=state,
            lexemes=lexemes,
        )  # fmt: skip
        log.timings, log.embedder = retrieval.timings, retrieval.embedder
        log.usage["embedding_tokens"] = retrieval.embedding_tokens
        results = [hit.as_dict() for hit in hydrate(retrieval.hits, text)]
        body = {"results": results}
        hint = scope.hint(len(results))
        if hint:
            body["hint"] = hint
        if use_cache and after_response is not None:
            after_response.append(partial(cache.put, key, body))  # after the answer is sent
        elif use_cache:
            cache.put(key, body)
    return body


def search(
    *,
    text: str,
    caller: Caller,
    mode: str = "hybrid",
    top_k: int = 10,
    document_ids: Sequence[int] | None = None,
    use_cache: bool = True,
    after_response: list[PendingWrite] | None = None,
) -> dict[str, Any]:
    """The search response body: results, took_ms, cached, query_id (and a hint if empty)."""
    started = time.perf_counter()
    text = _require_text(text, EMPTY_SEARCH)
    budget.check(embeds_query=mode != "lexical")
    log = Entry(QueryKind.SEARCH, text, mode, started, caller)
    with querylog.failures_logged(log):
        body = _search_body(log, text, mode, top_k, document_ids, use_cache, after_response)
    log.result_count = len(body["results"])
    query_id = _log(log, after_response)
    return {**body, "took_ms": elapsed_ms(started), "cached": log.cached, "query_id": query_id}


# --- ask ---------------------------------------------------------------------------------


def _sources(hits: list[ChunkHit]) -> list[Source]:
    context = neighbour_context([hit.chunk_id for hit in hits])
    return [
        Source(
            chunk_id=hit.chunk_id,
            document_id=hit.document_id,
            document_name=hit.document_name,
            page=hit.page,
            section=hit.section,
            text=hit.text,
            before=context.get(hit.chunk_id, ("", ""))[0],
            after=context.get(hit.chunk_id, ("", ""))[1],
        )
        for hit in hits
    ]


def _answer_body(answer: Answer) -> dict[str, Any]:
    body: dict[str, Any] = {
        "answer": answer.text,
        "citations": [
            {
                "marker": c.marker,
                "chunk_id": c.chunk_id,
                "document_id": c.document_id,
                "document_name": c.document_name,
                "page": c.page,
                "section": c.section,
                "quote": c.quote,
                "support": c.support,
            }
            for c in answer.citations
        ],
        "backend": answer.backend,
        "degraded": answer.degraded,
        "support": {
            "supported_share": support.supported_share(answer.claims),
            "claims": [
                {"start": c.start, "end": c.end, "markers": list(c.markers), "support": c.support}
                for c in answer.claims
            ],
        },
    }
    if answer.usage:
        body["usage"] = answer.usage
    return body


@dataclass
class _Prepared:
    log: Entry
    key: str
    cached_body: dict[str, Any] | None
    sources: list[Source]
    answerer: Answerer
    after_response: list[PendingWrite] | None = None
    scope: _Scope | None = None


def _prepare_ask(
    question: str, caller: Caller, top_k: int | None, document_ids: Sequence[int] | None,
    use_cache: bool, after_response: list[PendingWrite] | None = None,
) -> _Prepared:  # fmt: skip
    started = time.perf_counter()
    question = _require_text(question, EMPTY_QUESTION)
    chosen = answerer()
    budget.check(embeds_query=True, answerer=chosen.name)
    log = Entry(QueryKind.ASK, question, "hybrid", started, caller, backend=chosen.name)
    with querylog.failures_logged(log):
        state, log.reserved_id, lexemes = _state_and_log_id(after_response, question)
        top_k = top_k or int(settings.ANSWER_SOURCES)
        params = {
            "q": normalize_query(question),
            "top_k": top_k,
            "document_ids": _ids(document_ids),
            **_access_params(caller),
            "embedder": backend_for_current_tenant(),
            "answerer": chosen.name,
            "model": str(settings.OPENAI_CHAT_MODEL) if chosen.name == "openai" else "",
        }
        key = cache.response_key("ask", state, params)
        cached_body = cache.get(key) if use_cache else None
        sources: list[Source] = []
        scope: _Scope | None = None
        if cached_body is not None:
            log.cached = True
            log.result_count = len(cached_body.get("citations", []))
        else:
            scope = _scope(caller, document_ids)
            retrieval = retrieve(
                question, mode="hybrid", top_k=top_k, document_ids=scope.searched, state=state,
                lexemes=lexemes,
            )  # fmt: skip
            log.timings, log.embedder = retrieval.timings, retrieval.embedder
            log.usage["embedding_tokens"] = retrieval.embedding_tokens
            sources = _sources(hydrate(retrieval.hits, question, highlight=False))
    return _Prepared(
        log, key if use_cache else "", cached_body, sources, chosen, after_response, scope
    )  # fmt: skip


def _finish_ask(prepared: _Prepared, answer: Answer, answer_started: float) -> dict[str, Any]:
    log = prepared.log
    log.timings["answer_ms"] = elapsed_ms(answer_started)
    log.degraded = answer.degraded
    log.backend = answer.backend if not answer.degraded else prepared.answerer.name
    for name in ("prompt_tokens", "completion_tokens"):
        log.usage[name] = int((answer.usage or {}).get(name, 0))
    # The openai answerer checks its own citations; the extractive one's are checked here.
    checked = answer if answer.claims else support.verify(answer, prepared.sources)
    body = _answer_body(checked)
    # An ask's result count is its citations, cached or not: an answer that cites nothing
    # found nothing, whatever retrieval returned (the analytics' content gaps count it).
    log.result_count = len(body.get("citations", []))
    if not body["citations"]:
        # As search says it (the answer itself says nothing was found), unless the only
        # reason is that the question found no words in common.
        hint = prepared.scope.hint(0) if prepared.scope is not None else None
        if hint and hint != hints.NO_MATCH_HINT:
            body["hint"] = hint
    if prepared.key and not answer.degraded:
        # A degraded answer is not cached, so the next question retries the provider.
        cache.put(prepared.key, body)
    return body


def _respond(prepared: _Prepared, body: dict[str, Any]) -> dict[str, Any]:
    query_id = _log(prepared.log, prepared.after_response)
    return {
        **body,
        "took_ms": elapsed_ms(prepared.log.started),
        "cached": prepared.log.cached,
        "query_id": query_id,
    }


def ask(
    *,
    question: str,
    caller: Caller,
    top_k: int | None = None,
    document_ids: Sequence[int] | None = None,
    use_cache: bool = True,
    after_response: list[PendingWrite] | None = None,
) -> dict[str, Any]:
    """The ask response body: answer, citations, backend, degraded, took_ms, cached, query_id."""
    prepared = _prepare_ask(question, caller, top_k, document_ids, use_cache, after_response)
    if prepared.cached_body is not None:
        return _respond(prepared, prepared.cached_body)
    started = time.perf_counter()
    with querylog.failures_logged(prepared.log):
        answer = prepared.answerer.answer(prepared.log.text, prepared.sources)
        body = _finish_ask(prepared, answer, started)
    return _respond(prepared, body)


def ask_events(
    *,
    question: str,
    caller: Caller,
    top_k: int | None = None,
    document_ids: Sequence[int] | None = None,
    use_cache: bool = True,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Validate and retrieve now (errors raise before streaming), then stream the answer.

    Returns an iterator of ("delta", {"text"}) events and a final ("done", body); the query
    row is written when the stream ends, before "done" is sent.
    """
    prepared = _prepare_ask(question, caller, top_k, document_ids, use_cache)

    def events() -> Iterator[tuple[str, dict[str, Any]]]:
        # The row is written before "done" is sent; a stream that fails or is closed by the
        # server (the client went away) before that writes its row as failed or cancelled.
        answered = False
        try:
            if prepared.cached_body is not None:
                yield ("delta", {"text": prepared.cached_body["answer"]})
                body = _respond(prepared, prepared.cached_body)
                answered = True
                yield ("done", body)
                return
            started = time.perf_counter()
            for kind, payload in prepared.answerer.stream(prepared.log.text, prepared.sources):
                if kind == "delta":
                    yield ("delta", {"text": payload})
                else:
                    assert isinstance(payload, Answer)
                    body = _respond(prepared, _finish_ask(prepared, payload, started))
                    answered = True
                    yield ("done", body)
        except (Exception, GeneratorExit) as exc:
            if not answered:
                querylog.write_failed(prepared.log, querylog.error_of(exc))
            raise

    return events()

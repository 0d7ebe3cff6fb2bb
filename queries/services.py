"""Search and ask for the current tenant: retrieve, answer, cache, log. Views stay thin.

Every call writes one `Query` row (also when served from the cache) with the latency
breakdown, tokens and an estimated cost. Raises `EmptyQuery` for blank text and lets
`documents.index.IndexMismatchError` through (the API answers 503 with its sentence).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.conf import settings

from accounts.models import User
from documents import index
from documents.embedder_choice import backend_for_current_tenant
from documents.models import Document, DocumentStatus
from queries import cache
from queries.answerers import Answer, Answerer, Source, get_answerer
from queries.metrics import QUERY_RESPONSE_SECONDS
from queries.models import Query, QueryFeedback, QueryKind
from queries.retrieval import ChunkHit, hydrate, normalize_query, retrieve

NO_DOCUMENTS_HINT = (
    "This workspace has no searchable documents yet. Upload some, and search again once "
    "they show as ready."
)
NO_MATCH_HINT = "Nothing matched. Try other words, or the 'hybrid' mode if you used another."


class EmptyQuery(ValueError):
    """The query is empty or only whitespace."""


@dataclass(frozen=True)
class Caller:
    """Who asked: a person, or an API key (which acts as its creator)."""

    user: User | None = None
    api_key_prefix: str = ""


@dataclass
class _Log:
    kind: str
    text: str
    mode: str
    started: float
    caller: Caller
    backend: str = ""
    embedder: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    result_count: int = 0
    usage: dict[str, int] = field(default_factory=dict)
    cached: bool = False
    degraded: bool = False


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _require_text(text: str, what: str) -> str:
    if not text or not text.strip():
        raise EmptyQuery(f"The {what} is empty; type a few words to {what} for.")
    return text.strip()


def _cost(usage: dict[str, int]) -> Decimal:
    dollars = (
        usage.get("prompt_tokens", 0) * float(settings.PRICE_PROMPT_PER_MTOK)
        + usage.get("completion_tokens", 0) * float(settings.PRICE_COMPLETION_PER_MTOK)
        + usage.get("embedding_tokens", 0) * float(settings.PRICE_EMBEDDING_PER_MTOK)
    ) / 1_000_000
    return Decimal(f"{dollars:.6f}")


def _write_log(log: _Log) -> Query:
    total = _elapsed_ms(log.started)
    QUERY_RESPONSE_SECONDS.labels(mode=log.mode, backend=log.backend or "none").observe(
        total / 1000
    )
    return Query.objects.create(
        kind=log.kind,
        text=log.text,
        normalized_hash=hashlib.sha256(normalize_query(log.text).encode("utf-8")).hexdigest(),
        mode=log.mode,
        backend=log.backend,
        embedder=log.embedder,
        result_count=log.result_count,
        embed_ms=log.timings.get("embed_ms", 0),
        dense_ms=log.timings.get("dense_ms", 0),
        lexical_ms=log.timings.get("lexical_ms", 0),
        fusion_ms=log.timings.get("fusion_ms", 0),
        answer_ms=log.timings.get("answer_ms", 0),
        total_ms=total,
        prompt_tokens=log.usage.get("prompt_tokens", 0),
        completion_tokens=log.usage.get("completion_tokens", 0),
        embedding_tokens=log.usage.get("embedding_tokens", 0),
        estimated_cost_usd=_cost(log.usage),
        user=log.caller.user,
        api_key_prefix=log.caller.api_key_prefix,
        cached=log.cached,
        degraded=log.degraded,
    )


def _ids(document_ids: Sequence[int] | None) -> list[int] | None:
    return sorted(set(document_ids)) if document_ids is not None else None


def _hint(found: int) -> str | None:
    if found:
        return None
    if not Document.objects.filter(status=DocumentStatus.READY).exists():
        return NO_DOCUMENTS_HINT
    return NO_MATCH_HINT


# --- search -------------------------------------------------------------------------------


def search(
    *,
    text: str,
    caller: Caller,
    mode: str = "hybrid",
    top_k: int = 10,
    document_ids: Sequence[int] | None = None,
    use_cache: bool = True,
) -> dict[str, Any]:
    """The search response body: results, took_ms, cached, query_id (and a hint if empty)."""
    started = time.perf_counter()
    text = _require_text(text, "search")
    log = _Log(QueryKind.SEARCH, text, mode, started, caller)
    state = index.state()
    params = {
        "q": normalize_query(text),
        "mode": mode,
        "top_k": top_k,
        "document_ids": _ids(document_ids),
        "embedder": backend_for_current_tenant(),
    }
    key = cache.response_key("search", state, params)
    body = cache.get(key) if use_cache else None
    if body is not None:
        log.cached = True
    else:
        retrieval = retrieve(
            text, mode=mode, top_k=top_k, document_ids=_ids(document_ids), state=state
        )
        log.timings, log.embedder = retrieval.timings, retrieval.embedder
        log.usage["embedding_tokens"] = retrieval.embedding_tokens
        results = [hit.as_dict() for hit in hydrate(retrieval.hits, text)]
        body = {"results": results}
        hint = _hint(len(results))
        if hint:
            body["hint"] = hint
        if use_cache:
            cache.put(key, body)
    log.result_count = len(body["results"])
    query = _write_log(log)
    return {**body, "took_ms": _elapsed_ms(started), "cached": log.cached, "query_id": query.pk}


# --- ask ---------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _build_answerer(backend: str, model: str, base_url: str, api_key: str) -> Answerer:
    options: dict[str, Any] = {}
    if backend == "openai":
        options = {
            "model": model,
            "base_url": base_url or None,
            "api_key": api_key or None,
            "timeout": float(settings.ANSWER_TIMEOUT_SECONDS),
            "max_retries": int(settings.ANSWER_MAX_RETRIES),
        }
    return get_answerer(backend, **options)


def answerer() -> Answerer:
    """The configured answer backend (built once per configuration and process)."""
    return _build_answerer(
        str(settings.ANSWER_BACKEND).strip().lower(),
        str(settings.OPENAI_CHAT_MODEL),
        str(settings.OPENAI_BASE_URL or ""),
        str(settings.OPENAI_API_KEY or ""),
    )


def _sources(hits: list[ChunkHit]) -> list[Source]:
    return [
        Source(
            chunk_id=hit.chunk_id,
            document_id=hit.document_id,
            document_name=hit.document_name,
            page=hit.page,
            section=hit.section,
            text=hit.text,
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
                "quote": c.quote,
            }
            for c in answer.citations
        ],
        "backend": answer.backend,
        "degraded": answer.degraded,
    }
    if answer.usage:
        body["usage"] = answer.usage
    return body


@dataclass
class _Prepared:
    log: _Log
    key: str
    cached_body: dict[str, Any] | None
    sources: list[Source]
    answerer: Answerer


def _prepare_ask(
    question: str, caller: Caller, top_k: int | None, document_ids: Sequence[int] | None,
    use_cache: bool,
) -> _Prepared:  # fmt: skip
    started = time.perf_counter()
    question = _require_text(question, "question")
    chosen = answerer()
    log = _Log(QueryKind.ASK, question, "hybrid", started, caller, backend=chosen.name)
    top_k = top_k or int(settings.ANSWER_SOURCES)
    params = {
        "q": normalize_query(question),
        "top_k": top_k,
        "document_ids": _ids(document_ids),
        "embedder": backend_for_current_tenant(),
        "answerer": chosen.name,
        "model": str(settings.OPENAI_CHAT_MODEL) if chosen.name == "openai" else "",
    }
    key = cache.response_key("ask", index.state(), params)
    cached_body = cache.get(key) if use_cache else None
    sources: list[Source] = []
    if cached_body is not None:
        log.cached = True
        log.result_count = len(cached_body.get("citations", []))
    else:
        retrieval = retrieve(question, mode="hybrid", top_k=top_k, document_ids=_ids(document_ids))
        log.timings, log.embedder = retrieval.timings, retrieval.embedder
        log.usage["embedding_tokens"] = retrieval.embedding_tokens
        sources = _sources(hydrate(retrieval.hits, question, highlight=False))
        log.result_count = len(sources)
    return _Prepared(log, key if use_cache else "", cached_body, sources, chosen)


def _finish_ask(prepared: _Prepared, answer: Answer, answer_started: float) -> dict[str, Any]:
    log = prepared.log
    log.timings["answer_ms"] = _elapsed_ms(answer_started)
    log.degraded = answer.degraded
    log.backend = answer.backend if not answer.degraded else prepared.answerer.name
    for name in ("prompt_tokens", "completion_tokens"):
        log.usage[name] = int((answer.usage or {}).get(name, 0))
    body = _answer_body(answer)
    if prepared.key and not answer.degraded:
        # A degraded answer is not cached, so the next question retries the provider.
        cache.put(prepared.key, body)
    return body


def _respond(prepared: _Prepared, body: dict[str, Any]) -> dict[str, Any]:
    query = _write_log(prepared.log)
    return {
        **body,
        "took_ms": _elapsed_ms(prepared.log.started),
        "cached": prepared.log.cached,
        "query_id": query.pk,
    }


def ask(
    *,
    question: str,
    caller: Caller,
    top_k: int | None = None,
    document_ids: Sequence[int] | None = None,
    use_cache: bool = True,
) -> dict[str, Any]:
    """The ask response body: answer, citations, backend, degraded, took_ms, cached, query_id."""
    prepared = _prepare_ask(question, caller, top_k, document_ids, use_cache)
    if prepared.cached_body is not None:
        return _respond(prepared, prepared.cached_body)
    started = time.perf_counter()
    answer = prepared.answerer.answer(prepared.log.text, prepared.sources)
    return _respond(prepared, _finish_ask(prepared, answer, started))


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
        if prepared.cached_body is not None:
            yield ("delta", {"text": prepared.cached_body["answer"]})
            yield ("done", _respond(prepared, prepared.cached_body))
            return
        started = time.perf_counter()
        for kind, payload in prepared.answerer.stream(prepared.log.text, prepared.sources):
            if kind == "delta":
                yield ("delta", {"text": payload})
            else:
                assert isinstance(payload, Answer)
                yield ("done", _respond(prepared, _finish_ask(prepared, payload, started)))

    return events()


# --- feedback ------------------------------------------------------------------------------


def record_feedback(
    *, query: Query, helpful: bool, comment: str = "", user: User | None
) -> QueryFeedback:
    """Store (or replace) the caller's verdict on one of their queries."""
    feedback, _created = QueryFeedback.objects.update_or_create(
        query=query, defaults={"helpful": helpful, "comment": comment.strip(), "user": user}
    )
    return feedback

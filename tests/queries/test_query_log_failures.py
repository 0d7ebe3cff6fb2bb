"""Searches and asks that fail after they were accepted still write their query-log row."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from django_tenants.utils import schema_context
from prometheus_client import REGISTRY

from documents.models import IndexState
from queries import services
from queries.models import Query, QueryError
from search import index
from tenants.db import use_public_schema
from tenants.models import Tenant
from tenants.services import delete_tenant
from tests.conftest import TenantHandle, _provision
from tests.factories import ApiKeyFactory
from tests.queries.helpers import add_corpus
from tests.queries.test_ask_api import parse_sse
from tests.queries.test_query_log import _close
from tests.wsgi import wsgi_read_then_close

SEARCH = "/api/v1/search/"
ASK = "/api/v1/ask/"
JSON = "application/json"


@pytest.fixture
def tenant(make_tenant: Any) -> Iterator[TenantHandle]:
    handle = make_tenant("failing")
    with schema_context(handle.schema):
        add_corpus()
        yield handle


def _failures(kind: str, error: str) -> float:
    labels = {"kind": kind, "error": error}
    return REGISTRY.get_sample_value("query_failures_total", labels) or 0.0


def _history(client: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/queries/")
    assert response.status_code == 200, response.content
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def _break_the_index() -> None:
    """The index says another embedder built it: searches must be refused with a 503."""
    index.compact()
    IndexState.objects.update(embedder="local:all-MiniLM-L6-v2")
    index.snapshot_cache().clear()


def test_a_search_refused_because_the_index_must_be_rebuilt_is_logged(
    tenant: TenantHandle,
) -> None:
    client = tenant.logged_in_client()
    _break_the_index()
    before = _failures("search", "index_unavailable")
    response = client.post(SEARCH, {"query": "shock waves", "mode": "dense"}, content_type=JSON)
    assert response.status_code == 503, response.content
    row = Query.objects.get()
    assert (row.kind, row.text, row.mode) == ("search", "shock waves", "dense")
    assert row.error == QueryError.INDEX_UNAVAILABLE
    assert row.result_count == 0
    assert row.total_ms > 0
    assert _failures("search", "index_unavailable") == before + 1
    # The caller sees it in their history, marked as failed.
    [entry] = _history(client)
    assert (entry["id"], entry["error"]) == (row.pk, "index_unavailable")


def test_an_answer_that_fails_is_logged_and_answered_successes_carry_no_error(
    tenant: TenantHandle,
) -> None:
    client = tenant.logged_in_client()
    ok = client.post(ASK, {"question": "What protects the nose cone?"}, content_type=JSON)
    assert ok.status_code == 200, ok.content
    assert Query.objects.get(pk=ok.json()["query_id"]).error == ""

    def broken(self: Any, question: str, sources: Any) -> Any:
        raise RuntimeError("answerer bug")

    before = _failures("ask", "server_error")
    client.raise_request_exception = False  # answer as the server does: a 500
    with mock.patch.object(type(services.answerer()), "answer", broken):
        failed = client.post(
            ASK, {"question": "What cools the nose cone?", "no_cache": True}, content_type=JSON
        )
    assert failed.status_code == 500
    row = Query.objects.exclude(pk=ok.json()["query_id"]).get()
    assert (row.kind, row.text, row.error) == ("ask", "What cools the nose cone?", "server_error")
    assert row.embed_ms > 0  # retrieval ran before the answer failed, and its timings are kept
    assert _failures("ask", "server_error") == before + 1
    assert [entry["error"] for entry in _history(client)] == ["server_error", ""]


def test_a_stream_that_fails_midway_logs_its_question_as_failed(tenant: TenantHandle) -> None:
    def failing(self: Any, question: str, sources: Any) -> Iterator[tuple[str, Any]]:
        yield ("delta", "Half an answer ")
        raise RuntimeError("provider went away")

    client = tenant.logged_in_client()
    with mock.patch.object(type(services.answerer()), "stream", failing):
        response: Any = client.post(
            ASK, {"question": "nose cone", "stream": True, "no_cache": True}, content_type=JSON
        )
        events = parse_sse(b"".join(response.streaming_content))
    assert [name for name, _ in events] == ["delta", "error"]
    row = Query.objects.get()
    assert (row.kind, row.text, row.error) == ("ask", "nose cone", "server_error")
    assert row.cached is False


@pytest.fixture
def served_tenant(committed_db: None) -> Iterator[tuple[TenantHandle, str]]:
    """A committed tenant with documents and an API key, for requests through the WSGI handler."""
    use_public_schema()
    handle = _provision("stream_cancel")
    try:
        with schema_context(handle.schema):
            add_corpus()
            raw_key = ApiKeyFactory(name="streams", scopes=["read"]).raw
        yield handle, raw_key
    finally:
        use_public_schema()
        delete_tenant(tenant=Tenant.objects.get(pk=handle.tenant.pk))


def test_a_stream_the_client_stops_reading_is_logged_as_cancelled(
    served_tenant: tuple[TenantHandle, str],
) -> None:
    handle, raw_key = served_tenant

    def two_parts(self: Any, question: str, sources: Any) -> Iterator[tuple[str, Any]]:
        yield ("delta", "The nose cone ")
        yield ("delta", "is protected by ablation.")
        raise AssertionError("the client went away before this point")

    before = _failures("ask", "cancelled")
    body = {"question": "nose cone", "stream": True, "no_cache": True}
    with mock.patch.object(type(services.answerer()), "stream", two_parts):
        read = wsgi_read_then_close(ASK, handle.domain, raw_key, body)
    assert read[0].startswith(b"event: delta")
    with schema_context(handle.schema):
        row = Query.objects.get()
    assert (row.kind, row.text, row.error) == ("ask", "nose cone", "cancelled")
    assert row.api_key_prefix  # the caller is known: it shows in the key's history
    assert _failures("ask", "cancelled") == before + 1


def test_a_stream_closed_after_its_done_event_writes_one_normal_row(
    tenant: TenantHandle,
) -> None:
    client = tenant.logged_in_client()
    response: Any = client.post(
        ASK, {"question": "What protects the nose cone?", "stream": True}, content_type=JSON
    )
    events = parse_sse(b"".join(response.streaming_content))
    _close(response)
    assert events[-1][0] == "done"
    row = Query.objects.get()
    assert (row.pk, row.error) == (events[-1][1]["query_id"], "")

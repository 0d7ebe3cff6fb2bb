"""Search, ask and feedback against hostile and careless clients: bodies, media types, SSE."""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from django_tenants.utils import schema_context

from documents.models import Document
from documents.services import delete_document
from queries import services
from queries.api_inputs import AskInput, SearchInput
from queries.models import Query
from tests.conftest import TenantHandle
from tests.queries.helpers import add_corpus
from tests.queries.test_ask_api import parse_sse

SEARCH = "/api/v1/search/"
ASK = "/api/v1/ask/"
JSON = "application/json"


@pytest.fixture
def tenant(make_tenant: Any) -> Iterator[TenantHandle]:
    handle = make_tenant("hardened")
    with schema_context(handle.schema):
        add_corpus()
        yield handle


def _error(response: Any) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return error


# --- bodies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "field"), [(SEARCH, "query"), (ASK, "question")])
def test_deeply_nested_json_is_a_400_not_a_500(tenant: TenantHandle, url: str, field: str) -> None:
    body = b'{"%s": "wing", "x": ' % field.encode() + b"[" * 50_000 + b"]" * 50_000 + b"}"
    client = tenant.logged_in_client()
    client.raise_request_exception = False
    response = client.post(url, body, content_type=JSON)
    assert response.status_code == 400
    assert _error(response)["code"] == "parse_error"
    assert "nested too deeply" in _error(response)["message"]


def test_compressed_body_is_415_saying_to_send_it_uncompressed(tenant: TenantHandle) -> None:
    packed = gzip.compress(json.dumps({"query": "wing"}).encode())
    response = tenant.logged_in_client().post(
        SEARCH, packed, content_type=JSON, HTTP_CONTENT_ENCODING="gzip"
    )
    assert response.status_code == 415
    assert "Content-Encoding: gzip" in _error(response)["message"]
    assert "uncompressed" in _error(response)["message"]


@pytest.mark.parametrize(
    ("raw", "named"), [(b'["wing"]', "array"), (b'"wing"', "string"), (b"null", "null")]
)
def test_a_body_that_is_not_an_object_says_what_to_send(
    tenant: TenantHandle, raw: bytes, named: str
) -> None:
    client = tenant.logged_in_client()
    for url, example in ((SEARCH, '"query"'), (ASK, '"question"')):
        response = client.post(url, raw, content_type=JSON)
        assert response.status_code == 400
        message = _error(response)["message"]
        assert "must be a JSON object" in message
        assert example in message
        assert named in message


def test_unknown_fields_are_refused_and_named(tenant: TenantHandle) -> None:
    client = tenant.logged_in_client()
    # `mode` is a search option; ask used to ignore it without a word.
    response = client.post(ASK, {"question": "wing", "mode": "lexical"}, content_type=JSON)
    assert response.status_code == 400
    fields = _error(response)["fields"]
    assert list(fields) == ["mode"]
    assert "question" in fields["mode"][0]
    typo = client.post(SEARCH, {"query": "wing", "topk": 3}, content_type=JSON)
    assert typo.status_code == 400
    assert "topk" in _error(typo)["fields"]
    # A browser form's CSRF token is not a field of ours, and not an error either.
    form = client.post(
        SEARCH, "query=wing&csrfmiddlewaretoken=x", content_type="application/x-www-form-urlencoded"
    )
    assert form.status_code == 200
    # Multipart is read by the upload endpoint only (it streams files with size limits).
    multipart = client.post(SEARCH, {"query": "wing"})
    assert multipart.status_code == 415


def test_search_top_k_null_means_the_default_as_in_ask(tenant: TenantHandle) -> None:
    client = tenant.logged_in_client()
    response = client.post(SEARCH, {"query": "wing", "top_k": None}, content_type=JSON)
    assert response.status_code == 200, response.content
    assert response.json()["results"]
    too_many = client.post(SEARCH, {"query": "wing", "top_k": 101}, content_type=JSON)
    assert _error(too_many)["fields"]["top_k"] == ["top_k can be at most 100."]


def test_search_top_k_cap_is_in_the_schema(tenant: TenantHandle) -> None:
    schema = tenant.client().get("/api/schema/?format=json").json()["components"]["schemas"]
    assert schema["SearchInputRequest"]["properties"]["top_k"]["maximum"] == 100
    feedback = schema["Query"]["properties"]["feedback"]
    # The history's feedback is {helpful, comment} or null, not any object.
    assert feedback["nullable"] is True
    assert feedback["allOf"] == [{"$ref": "#/components/schemas/FeedbackSummary"}]
    assert set(schema["FeedbackSummary"]["required"]) == {"helpful", "comment"}
    assert SearchInput().fields["top_k"].max_value == 100  # type: ignore[attr-defined]
    assert AskInput().fields["top_k"].max_value == 20  # type: ignore[attr-defined]


# --- document filters ------------------------------------------------------------------------


def test_an_empty_document_filter_says_it_searched_nothing(tenant: TenantHandle) -> None:
    client = tenant.logged_in_client()
    body = client.post(SEARCH, {"query": "wing", "document_ids": []}, content_type=JSON).json()
    assert body["results"] == []
    assert "empty list" in body["hint"]
    answer = client.post(ASK, {"question": "wing", "document_ids": []}, content_type=JSON)
    assert "empty list" in answer.json()["hint"]


def test_a_filter_of_deleted_or_unknown_documents_says_so(tenant: TenantHandle) -> None:
    with schema_context(tenant.schema):
        heat = Document.objects.get(filename="heat.txt")
        delete_document(document=heat)
    client = tenant.logged_in_client()
    ids = [heat.pk, 987654]
    body = client.post(SEARCH, {"query": "nose cone", "document_ids": ids}, content_type=JSON)
    hint = body.json()["hint"]
    assert f"({heat.pk}, 987654)" in hint
    assert "deleted" in hint
    answer = client.post(ASK, {"question": "nose cone", "document_ids": ids}, content_type=JSON)
    assert "deleted" in answer.json()["hint"]
    # A filter naming a live document that simply does not match keeps the usual hint.
    with schema_context(tenant.schema):
        wings = Document.objects.get(filename="wings.txt").pk
    plain = client.post(SEARCH, {"query": "nose cone", "document_ids": [wings]}, content_type=JSON)
    assert plain.json()["hint"].startswith("Nothing matched")


# --- ask: Accept, stream flag, SSE -----------------------------------------------------------


def _ask(client: Any, accept: str | None, **body: Any) -> Any:
    extra = {"HTTP_ACCEPT": accept} if accept is not None else {}
    return client.post(ASK, body, content_type=JSON, **extra)


def _is_stream(response: Any) -> bool:
    return str(response["Content-Type"]).startswith("text/event-stream")


@pytest.mark.parametrize(
    ("accept", "streams"),
    [
        (None, False),
        ("*/*", False),
        ("application/json;q=0.5", False),
        ("application/json, text/event-stream;q=0.5", False),
        ("application/json;q=0.5, text/event-stream", True),
        ("text/event-stream", True),
        ("text/*", True),
    ],
)
def test_accept_q_values_choose_the_media_type_of_answers_and_errors_alike(
    tenant: TenantHandle, accept: str | None, streams: bool
) -> None:
    client = tenant.logged_in_client()
    answer = _ask(client, accept, question="nose cone")
    error = _ask(client, accept, question="  ")
    assert answer.status_code == 200
    assert error.status_code == 400
    assert _is_stream(answer) is streams
    assert _is_stream(error) is streams


def test_an_accept_header_refusing_both_types_is_406_naming_them(tenant: TenantHandle) -> None:
    client = tenant.logged_in_client()
    for accept in ("text/event-stream;q=0", "text/html"):
        response = _ask(client, accept, question="nose cone")
        assert response.status_code == 406
        message = _error(response)["message"]
        assert "application/json or text/event-stream" in message
    search = client.post(SEARCH, {"query": "wing"}, content_type=JSON, HTTP_ACCEPT="text/html")
    assert search.status_code == 406
    assert "Accept: application/json" in _error(search)["message"]


def test_errors_of_a_streamed_ask_are_events_without_an_accept_header(
    tenant: TenantHandle,
) -> None:
    client = tenant.logged_in_client()
    bodies = ({"question": "nose", "stream": True, "top_k": 99}, {"question": "", "stream": True})
    for body in bodies:
        response = _ask(client, None, **body)
        assert response.status_code == 400
        assert _is_stream(response)
        [(name, payload)] = parse_sse(response.content)
        assert name == "error"
        assert payload["error"]["message"]


def test_streamed_done_event_matches_the_json_answer(tenant: TenantHandle) -> None:
    client = tenant.logged_in_client()
    plain = _ask(client, None, question="nose cone protection", no_cache=True).json()
    streamed = _ask(client, "text/event-stream", question="nose cone protection", no_cache=True)
    events = parse_sse(b"".join(streamed.streaming_content))
    done = events[-1][1]
    varying = {"took_ms", "query_id"}
    assert {k: v for k, v in done.items() if k not in varying} == {
        k: v for k, v in plain.items() if k not in varying
    }
    row = Query.objects.get(pk=done["query_id"])
    assert (row.kind, row.cached, row.result_count) == ("ask", False, len(done["citations"]))
    assert row.answer_ms > 0
    assert row.total_ms >= row.answer_ms


def test_a_failure_mid_stream_ends_the_stream_with_one_error_event(
    tenant: TenantHandle, caplog: pytest.LogCaptureFixture
) -> None:
    def failing(self: Any, question: str, sources: Any) -> Iterator[tuple[str, Any]]:
        yield ("delta", "Half an answer ")
        raise RuntimeError("provider went away")

    client = tenant.logged_in_client()
    with (
        mock.patch.object(type(services.answerer()), "stream", failing),
        caplog.at_level(logging.ERROR, logger="queries.api"),
    ):
        response = _ask(client, None, question="nose cone", stream=True, no_cache=True)
        raw = b"".join(response.streaming_content)  # used to raise here: the server aborted
    events = parse_sse(raw)
    assert [name for name, _ in events] == ["delta", "error"]
    assert events[-1][1]["error"]["code"] == "server_error"
    assert "Ask again" in events[-1][1]["error"]["message"]
    assert "provider went away" in caplog.text


# --- feedback --------------------------------------------------------------------------------


def test_feedback_body_is_read_strictly(tenant: TenantHandle) -> None:
    client = tenant.logged_in_client()
    query_id = client.post(SEARCH, {"query": "wing"}, content_type=JSON).json()["query_id"]
    url = f"/api/v1/queries/{query_id}/feedback/"
    not_object = client.post(url, b"[true]", content_type=JSON)
    assert "must be a JSON object" in _error(not_object)["message"]
    unknown = client.post(url, {"helpful": True, "rating": 5}, content_type=JSON)
    assert "rating" in _error(unknown)["fields"]
    assert client.post(url, {"helpful": "false"}, content_type=JSON).json()["helpful"] is False

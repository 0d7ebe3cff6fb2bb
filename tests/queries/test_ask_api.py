"""POST /api/v1/ask/ (JSON and SSE, extractive and OpenAI), history and feedback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings
from django_tenants.utils import schema_context
from pytest_httpserver import HTTPServer

from accounts.models import Role
from documents.models import Chunk
from queries.models import Query, QueryFeedback
from tests.conftest import PASSWORD, TenantHandle
from tests.factories import ApiKeyFactory, DocumentFactory, UserFactory
from tests.queries.helpers import add_corpus
from tests.queries.test_openai_answerer import PATH, USAGE, _completion, _sse

URL = "/api/v1/ask/"


@pytest.fixture
def tenant(make_tenant: Any) -> Iterator[TenantHandle]:
    handle = make_tenant("asking")
    with schema_context(handle.schema):
        add_corpus()
        yield handle


def ask(client: Any, **body: Any) -> Any:
    return client.post(URL, body, content_type="application/json")


def parse_sse(raw: bytes) -> list[tuple[str, Any]]:
    events = []
    for block in raw.decode("utf-8").split("\n\n"):
        if not block.strip():
            continue
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_extractive_answer_cites_real_chunk_text(tenant: TenantHandle) -> None:
    response = ask(tenant.logged_in_client(), question="What protects the nose cone on re-entry?")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["backend"] == "extractive"
    assert body["degraded"] is False
    assert "[1]" in body["answer"]
    assert body["citations"]
    for citation in body["citations"]:
        chunk = Chunk.objects.get(pk=citation["chunk_id"])
        assert citation["document_id"] == chunk.document_id
        assert citation["quote"].rstrip("…").strip() in chunk.text
        assert citation["section"] == chunk.section  # the Sources list shows where it is
    row = Query.objects.get(pk=body["query_id"])
    assert row.kind == "ask"
    assert row.backend == "extractive"
    assert row.answer_ms > 0
    assert row.result_count == len(body["citations"])
    # The same question again comes from the cache and is logged with the same count.
    again = ask(
        tenant.logged_in_client(), question="What protects the nose cone on re-entry?"
    ).json()
    assert again["cached"] is True
    assert Query.objects.get(pk=again["query_id"]).result_count == row.result_count


def test_a_citation_names_the_section_of_its_passage(tenant: TenantHandle) -> None:
    DocumentFactory(
        filename="manual.txt",
        chunks=["Set connect-timeout to the seconds a connection attempt may take."],
        chunks__section="Options > Timeouts",
    )
    body = ask(tenant.logged_in_client(), question="How do I set the connect timeout?").json()
    cited = [c for c in body["citations"] if c["document_name"] == "manual.txt"]
    assert cited
    assert cited[0]["section"] == "Options > Timeouts"


def test_extractive_says_plainly_when_nothing_matches(tenant: TenantHandle) -> None:
    body = ask(tenant.logged_in_client(), question="quarterly revenue of the bakery").json()
    assert body["citations"] == []
    assert "couldn't find" in body["answer"]
    # Logged as finding nothing (the analytics' content gaps), whatever retrieval returned.
    assert Query.objects.get(pk=body["query_id"]).result_count == 0


def test_stream_is_well_formed_sse_and_logs_the_query(tenant: TenantHandle) -> None:
    client = tenant.logged_in_client()
    response = ask(client, question="What protects the nose cone?", stream=True)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    events = parse_sse(b"".join(response.streaming_content))
    names = [name for name, _ in events]
    assert names[-1] == "done"
    assert set(names[:-1]) == {"delta"}
    done = events[-1][1]
    assert "".join(payload["text"] for name, payload in events[:-1]) == done["answer"]
    assert done["citations"]
    assert Query.objects.filter(pk=done["query_id"], kind="ask").exists()


def test_accept_header_asks_for_a_stream_and_errors_are_events(tenant: TenantHandle) -> None:
    client = tenant.logged_in_client()
    response: Any = client.post(
        URL, {"question": "nose cone"}, content_type="application/json",
        HTTP_ACCEPT="text/event-stream",
    )  # fmt: skip
    assert parse_sse(b"".join(response.streaming_content))[-1][0] == "done"
    bad: Any = client.post(
        URL, {"question": " "}, content_type="application/json", HTTP_ACCEPT="text/event-stream"
    )
    assert bad.status_code == 400
    assert parse_sse(bad.content) == [("error", bad.data)]


def _openai_settings(server: HTTPServer) -> Any:
    return override_settings(
        ANSWER_BACKEND="openai",
        OPENAI_API_KEY="test-key",
        OPENAI_BASE_URL=server.url_for("/v1"),
        ANSWER_MAX_RETRIES=0,
        ANSWER_TIMEOUT_SECONDS=5,
    )


def test_openai_answer_through_the_api(tenant: TenantHandle, httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, method="POST").respond_with_json(
        _completion("Ablation cooling protects it [1]. Also [7].")
    )
    with _openai_settings(httpserver):
        body = ask(tenant.logged_in_client(), question="What protects the nose cone?").json()
    assert body["backend"] == "openai"
    assert body["degraded"] is False
    assert "[7]" not in body["answer"]
    assert [c["marker"] for c in body["citations"]] == [1]
    assert body["usage"]["prompt_tokens"] == USAGE["prompt_tokens"]
    request = json.loads(httpserver.log[0][0].get_data())
    prompt = request["messages"][-1]["content"]
    # Only retrieved chunks are sent, as numbered sources.
    assert "Ablation cooling protects the nose cone" in prompt
    assert "<source" in prompt
    row = Query.objects.get(pk=body["query_id"])
    assert (row.prompt_tokens, row.completion_tokens) == (120, 30)
    assert row.estimated_cost_usd > 0


def test_openai_stream_through_the_api(tenant: TenantHandle, httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, method="POST").respond_with_data(
        _sse(["Ablation ", "cooling [1]", "."]), content_type="text/event-stream"
    )
    with _openai_settings(httpserver):
        response = ask(tenant.logged_in_client(), question="nose cone protection?", stream=True)
        events = parse_sse(b"".join(response.streaming_content))
    done = events[-1]
    assert done[0] == "done"
    assert done[1]["answer"] == "Ablation cooling [1]."
    assert "".join(p["text"] for n, p in events if n == "delta") == done[1]["answer"]


def test_openai_failure_falls_back_degraded(tenant: TenantHandle, httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, method="POST").respond_with_data("boom", status=500)
    with _openai_settings(httpserver):
        client = tenant.logged_in_client()
        body = ask(client, question="What protects the nose cone?").json()
        again = ask(client, question="What protects the nose cone?").json()
    assert body["degraded"] is True
    assert body["backend"] == "extractive"
    assert body["citations"]
    assert again["cached"] is False  # degraded answers are never cached
    assert Query.objects.get(pk=body["query_id"]).degraded is True


def test_history_lists_only_the_callers_queries(tenant: TenantHandle) -> None:
    owner = tenant.logged_in_client()
    ask(owner, question="nose cone")
    other = UserFactory(role=Role.VIEWER)
    viewer = tenant.client()
    assert viewer.login(username=other.email, password=PASSWORD)
    ask(viewer, question="shell buckling")
    by_key = tenant.client(HTTP_X_API_KEY=ApiKeyFactory(name="script", scopes=["read"]).raw)
    ask(by_key, question="swept wing")
    assert [q["text"] for q in owner.get("/api/v1/queries/").json()["results"]] == ["nose cone"]
    assert [q["text"] for q in viewer.get("/api/v1/queries/").json()["results"]] == [
        "shell buckling"
    ]
    listed = by_key.get("/api/v1/queries/?page_size=1").json()
    assert listed["count"] == 1
    assert listed["results"][0]["text"] == "swept wing"


def test_feedback_on_own_query_only(tenant: TenantHandle) -> None:
    owner = tenant.logged_in_client()
    query_id = ask(owner, question="nose cone").json()["query_id"]
    url = f"/api/v1/queries/{query_id}/feedback/"
    response = owner.post(url, {"helpful": False, "comment": "too short"}, "application/json")
    assert response.status_code == 200
    assert response.json()["helpful"] is False
    owner.post(url, {"helpful": True}, "application/json")
    feedback = QueryFeedback.objects.get(query_id=query_id)
    assert feedback.helpful is True
    assert feedback.comment == ""
    other = UserFactory(role=Role.MEMBER)
    stranger = tenant.client()
    assert stranger.login(username=other.email, password=PASSWORD)
    assert stranger.post(url, {"helpful": True}, "application/json").status_code == 404
    assert owner.post(url, {}, "application/json").status_code == 400


def test_asking_an_empty_workspace_gives_the_same_hint_as_search(make_tenant: Any) -> None:
    empty = make_tenant("asking_empty")
    client = empty.logged_in_client()
    for stream in (False, True):
        response = ask(client, question="How long is parental leave?", stream=stream)
        assert response.status_code == 200
        if stream:
            events = parse_sse(b"".join(response.streaming_content))
            body = next(data for name, data in events if name == "done")
        else:
            body = response.json()
        assert body["citations"] == []
        assert "no searchable documents" in body["hint"]
    with schema_context(empty.schema):
        add_corpus()
    found = ask(client, question="What protects the nose cone?", no_cache=True).json()
    assert found["citations"]
    assert "hint" not in found

"""API answers are per caller: `Cache-Control: private, no-store` and `Vary: Authorization, Cookie`.

A shared cache (CDN, corporate proxy) must neither keep one caller's documents nor hand
them to another; the public OpenAPI schema and docs stay cacheable.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from tests.accounts.helpers import bearer, key_header, owner_of
from tests.conftest import TenantHandle
from tests.factories import ApiKeyFactory
from tests.queries.helpers import add_corpus

pytestmark = pytest.mark.django_db


def assert_per_caller(response: Any) -> None:
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= directives, response["Cache-Control"]
    assert "public" not in directives
    varies = {part.strip().lower() for part in response["Vary"].split(",")}
    assert {"authorization", "cookie"} <= varies, response["Vary"]


@pytest.fixture
def tenant(make_tenant: Any) -> TenantHandle:
    handle = make_tenant("cache_hdr")
    with schema_context(handle.schema):
        add_corpus()
    return handle


def test_a_search_by_bearer_token_is_private(tenant: TenantHandle) -> None:
    headers: dict[str, Any] = bearer(tenant, owner_of(tenant))
    response = tenant.client().post(
        "/api/v1/search/",
        {"query": "shock waves on a swept wing"},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 200, response.content
    assert_per_caller(response)


def test_a_document_list_by_api_key_and_by_session_is_private(tenant: TenantHandle) -> None:
    headers: dict[str, Any] = key_header(ApiKeyFactory(tenant=tenant, scopes=["read"]).raw)
    by_key = tenant.client().get("/api/v1/documents/", **headers)
    assert by_key.status_code == 200, by_key.content
    assert_per_caller(by_key)
    by_session = tenant.logged_in_client().get("/api/v1/documents/")
    assert by_session.status_code == 200, by_session.content
    assert_per_caller(by_session)


def test_the_ask_stream_is_private_and_still_streams(tenant: TenantHandle) -> None:
    response: Any = tenant.logged_in_client().post(
        "/api/v1/ask/",
        {"question": "What protects the nose cone?", "stream": True},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/event-stream")
    assert_per_caller(response)
    body = b"".join(response.streaming_content).decode()
    assert "event: done" in body


def test_refusals_are_private_too(tenant: TenantHandle) -> None:
    unauthenticated = tenant.client().get("/api/v1/documents/")
    assert unauthenticated.status_code == 401
    assert_per_caller(unauthenticated)
    unknown_host = Client(HTTP_HOST="nobody.localhost").get("/api/v1/documents/")
    assert unknown_host.status_code == 404
    assert_per_caller(unknown_host)


def test_the_public_schema_and_docs_are_left_alone(tenant: TenantHandle) -> None:
    for path in ("/api/schema/", "/api/docs/"):
        response = tenant.client().get(path)
        assert response.status_code == 200, path
        assert "no-store" not in response.get("Cache-Control", ""), path

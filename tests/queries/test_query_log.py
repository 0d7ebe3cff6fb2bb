"""The query log row: written after the API's response is sent, before in-process calls return."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import psycopg.sql
import pytest
from django.core.signals import request_finished
from django.db import close_old_connections, connection, transaction
from django_tenants.utils import schema_context
from rest_framework.test import APIRequestFactory, force_authenticate

from accounts.models import User
from config import sqlrows
from queries import services
from queries.api import AskView, SearchView
from queries.models import Query
from tests.conftest import TenantHandle, libpq_params
from tests.queries.helpers import add_corpus


@pytest.fixture
def tenant(make_tenant: Any) -> Iterator[TenantHandle]:
    handle = make_tenant("logging")
    with schema_context(handle.schema):
        add_corpus()
        yield handle


@contextmanager
def _server_closing() -> Iterator[None]:
    # As Django's test client does: the test's transaction must outlive "the request".
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_finished.connect(close_old_connections)


def _close(response: Any) -> None:
    with _server_closing():
        response.close()


def _call(view: Any, handle: TenantHandle, path: str, body: dict[str, Any]) -> Any:
    request = APIRequestFactory().post(path, body, format="json")
    request.tenant = handle.tenant
    force_authenticate(request, user=User.objects.get(email=handle.admin_email))
    response = view.as_view()(request)
    response.render()
    assert response.status_code == 200, response.content
    return response


@pytest.mark.parametrize(
    ("view", "path", "body", "kind"),
    [
        (SearchView, "/api/v1/search/", {"query": "swept wing shock", "no_cache": True}, "search"),
        (AskView, "/api/v1/ask/", {"question": "What cools the nose cone?"}, "ask"),
    ],
)
def test_the_row_is_written_when_the_response_is_closed(
    tenant: TenantHandle, view: Any, path: str, body: dict[str, Any], kind: str
) -> None:
    response = _call(view, tenant, path, body)
    query_id = response.data["query_id"]
    # The id is reserved and in the body, but nothing was written while answering ...
    assert not Query.objects.filter(pk=query_id).exists()
    _close(response)  # ... the server closes the response after sending it.
    row = Query.objects.get(pk=query_id)
    assert row.kind == kind
    assert row.user is not None
    assert row.user.email == tenant.admin_email
    assert row.total_ms > 0
    assert row.result_count > 0
    if kind == "search":
        assert row.lexical_ms > 0
        assert row.dense_ms > 0
        assert row.total_ms <= response.data["took_ms"] + 1  # the write is not counted in it
    _close(response)  # closing twice writes once
    assert Query.objects.filter(pk=query_id).count() == 1


def test_reserved_ids_are_distinct_and_rows_keep_them(tenant: TenantHandle) -> None:
    responses = [
        _call(SearchView, tenant, "/api/v1/search/", {"query": f"wing {n}", "no_cache": True})
        for n in range(3)
    ]
    ids = [response.data["query_id"] for response in responses]
    assert len(set(ids)) == 3
    for response in reversed(responses):
        _close(response)
    assert sorted(Query.objects.values_list("id", flat=True)) == sorted(ids)


def test_a_failed_write_is_logged_not_raised(
    tenant: TenantHandle, caplog: pytest.LogCaptureFixture
) -> None:
    response = _call(SearchView, tenant, "/api/v1/search/", {"query": "wing"})
    query_id = response.data["query_id"]
    # The INSERT fails in the database (a constraint made up for the test, rolled back).
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE queries_query ADD CONSTRAINT no_wing CHECK (text <> 'wing')")
    with caplog.at_level(logging.ERROR, logger="queries.querylog"):
        _close(response)  # does not raise
    assert f"query log row {query_id} of {tenant.schema} could not be written" in caplog.text


def test_in_process_calls_write_before_returning(tenant: TenantHandle) -> None:
    caller = services.Caller(user=User.objects.get(email=tenant.admin_email))
    searched = services.search(text="swept wing", caller=caller)
    asked = services.ask(question="What cools the nose cone?", caller=caller)
    assert Query.objects.get(pk=searched["query_id"]).kind == "search"
    assert Query.objects.get(pk=asked["query_id"]).kind == "ask"


def _synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return str(cursor.fetchone()[0])


def test_log_rows_commit_without_waiting_for_the_disk_and_nothing_else_does(
    committed_db: None, committed_tenants: tuple[TenantHandle, TenantHandle]
) -> None:
    alpha, _beta = committed_tenants
    with schema_context(alpha.schema):
        row = Query(kind="search", text="relaxed commit", normalized_hash="1" * 64)
        query_id = sqlrows.insert(row, wait_for_flush=False)
        try:
            # Committed at once: another connection sees the row.
            with psycopg.connect(**libpq_params(), autocommit=True) as other:
                other.execute(
                    psycopg.sql.SQL("SET search_path TO {}").format(
                        psycopg.sql.Identifier(alpha.schema)
                    )
                )
                found = other.execute(
                    "SELECT text FROM queries_query WHERE id = %s", [query_id]
                ).fetchone()
            assert found == ("relaxed commit",)
            assert _synchronous_commit() == "on"  # the relaxation ended with the statement
            with transaction.atomic():
                # Inside a transaction the row is written normally: the relaxation would
                # apply to everything else the transaction commits.
                sqlrows.insert(
                    Query(kind="search", text="in a transaction", normalized_hash="2" * 64),
                    wait_for_flush=False,
                )
                assert _synchronous_commit() == "on"
        finally:
            Query.objects.filter(normalized_hash__in=["1" * 64, "2" * 64]).delete()

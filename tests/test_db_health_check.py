"""The connection health check: no round trip for a healthy connection, a dropped one replaced."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import DatabaseError, connection, connections
from django_tenants.utils import schema_context

from config.dbbackend.base import HEALTH_CHECK_IDLE_SECONDS, has_pending_input
from tests.conftest import TenantHandle, libpq_params
from tests.factories import ApiKeyFactory
from tests.wsgi import wsgi_request


@pytest.fixture
def observer(committed_db: None) -> Iterator[psycopg.Connection[Any]]:
    """A connection of its own, to watch and end the one under test."""
    with psycopg.connect(**libpq_params(), autocommit=True) as other:
        yield other


@pytest.fixture
def wrapper(committed_db: None) -> Iterator[Any]:
    """A second Django connection, in autocommit, as a web worker holds one."""
    opened = connections.create_connection("default")
    opened.connect()
    yield opened
    opened.close()


def _last_statement(observer: psycopg.Connection[Any], pid: int) -> str:
    row = observer.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
    return str(row[0]) if row else ""


def _backend_pid(wrapper: Any) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid() /* marker */")
        return int(cursor.fetchone()[0])


def test_a_healthy_connection_is_checked_without_a_query(
    wrapper: Any, observer: psycopg.Connection[Any]
) -> None:
    pid = _backend_pid(wrapper)
    assert wrapper.is_usable()
    assert "marker" in _last_statement(observer, pid)  # no SELECT 1 reached the server


def test_a_connection_idle_for_long_is_checked_by_the_server(
    wrapper: Any, observer: psycopg.Connection[Any]
) -> None:
    pid = _backend_pid(wrapper)
    wrapper._checked_at -= HEALTH_CHECK_IDLE_SECONDS + 1
    assert wrapper.is_usable()
    assert _last_statement(observer, pid) == "SELECT 1"


def _terminate(observer: psycopg.Connection[Any], pid: int, raw: Any) -> None:
    observer.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while not has_pending_input(raw) and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_connection_the_server_ended_is_not_usable(
    wrapper: Any, observer: psycopg.Connection[Any]
) -> None:
    pid = _backend_pid(wrapper)
    _terminate(observer, pid, wrapper.connection)
    assert not wrapper.is_usable()
    wrapper.close_if_unusable_or_obsolete()  # what Django does when a request starts
    wrapper.close_if_health_check_failed()  # ... and before its first query
    assert wrapper.connection is None  # dropped; the next query opens a new one
    assert _backend_pid(wrapper) != pid


def test_a_request_after_the_server_dropped_the_connection_succeeds(
    committed_db: None,
    committed_tenants: tuple[TenantHandle, TenantHandle],
    observer: psycopg.Connection[Any],
) -> None:
    alpha, _beta = committed_tenants
    key = ApiKeyFactory(tenant=alpha, name="health check", scopes=["read"])
    raw_key = key.raw
    try:
        assert wsgi_request("GET", "/api/v1/documents/", alpha.domain, raw_key).status == 200
        pid = _backend_pid(connection)
        _terminate(observer, pid, connection.connection)
        response = wsgi_request("GET", "/api/v1/documents/", alpha.domain, raw_key)
        assert response.status == 200, response.body
        assert _backend_pid(connection) != pid
    finally:
        with schema_context(alpha.schema):
            key.delete()


def test_a_connection_left_in_a_failed_transaction_is_not_usable(wrapper: Any) -> None:
    wrapper.set_autocommit(False)
    with pytest.raises(DatabaseError), wrapper.cursor() as cursor:
        cursor.execute("SELECT 1 / 0")
    assert not wrapper.is_usable()  # every statement would fail until a rollback
    wrapper.rollback()
    assert wrapper.is_usable()

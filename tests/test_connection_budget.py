"""PostgreSQL connections as the processes hold them, on real PostgreSQL, gunicorn and Celery.

Each web thread and each Celery pool process keeps one persistent connection
(DB_CONN_MAX_AGE), which serves one tenant after another: schema routing sets the
connection's `search_path` for each request. These tests count the connections a process
type opens (the budget in docs/scaling.md) and check that a connection which served one
tenant never shows that tenant's rows to the next request. Each server process is told
apart in `pg_stat_activity` by its own `application_name` (libpq's PGAPPNAME).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from documents.models import Document
from tests.accounts.helpers import key_header
from tests.conftest import TenantHandle, WorkerProcess
from tests.factories import ApiKeyFactory, DocumentFactory
from tests.live_servers import Gunicorn, PgBouncer, application_name, backends, pgbouncer_binary

pytestmark = [pytest.mark.slow]
MARK = "connection-budget-"  # this module's documents: connection-budget-<schema>.txt
SEARCHED = "turbine blade report"


@pytest.fixture
def two_tenants(
    committed_db: None, committed_tenants: tuple[TenantHandle, TenantHandle]
) -> Iterator[list[tuple[TenantHandle, dict[str, str], str]]]:
    """(tenant, API key header, the name of its one document) for both committed tenants;
    what other tests left in them stays, and what this made goes afterwards."""
    tenants, made = [], []
    for handle in committed_tenants:
        name = f"{MARK}{handle.schema}.txt"
        with schema_context(handle.schema):
            document = DocumentFactory(filename=name, chunks=[f"{SEARCHED} of {handle.schema}"])
            key = ApiKeyFactory(tenant=handle, scopes=["read"])
        made.append((handle.schema, document, key))
        header = {"Authorization": key_header(key.raw)["HTTP_AUTHORIZATION"]}
        tenants.append((handle, header, name))
    yield tenants
    for schema, document, key in made:
        with schema_context(schema):
            Document.objects.filter(pk=document.pk).delete()
            key.delete()


@pytest.fixture
def start_gunicorn(tmp_path: Path) -> Iterator[Callable[..., Gunicorn]]:
    servers: list[Gunicorn] = []

    def start(**kwargs: Any) -> Gunicorn:
        servers.append(Gunicorn(log=tmp_path / f"gunicorn{len(servers)}.log", **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def _documents_seen(server: Gunicorn, tenant: tuple[TenantHandle, dict[str, str], str]):
    """The names of this test's documents the tenant's API lists (both tenants' are named
    with MARK; each should list its own only)."""
    handle, header, _name = tenant
    status, body = server.call(handle.domain, f"/api/v1/documents/?search={MARK}", header)
    assert status == 200, body
    return sorted(row["filename"] for row in body["results"])


def _found(server: Gunicorn, tenant: tuple[TenantHandle, dict[str, str], str]) -> set[str]:
    """This test's documents among the tenant's search hits for SEARCHED."""
    handle, header, _name = tenant
    body = json.dumps({"query": SEARCHED}).encode()
    status, answer = server.call(handle.domain, "/api/v1/search/", header, body)
    assert status == 200, answer
    return {hit["document_name"] for hit in answer["results"]} & {
        f"{MARK}{schema}.txt" for schema in ("iso_alpha", "iso_beta")
    }


def test_one_connection_serves_tenant_after_tenant_without_sharing_a_search_path(
    start_gunicorn: Callable[..., Gunicorn], two_tenants: list[Any]
) -> None:
    """One gunicorn worker with one thread: every request below runs on the same persistent
    connection, and each tenant sees its own document only, whatever came before it (the
    other tenant, a routing-cache hit, a health probe in the public schema, an unknown host,
    a search, a refused key)."""
    server = start_gunicorn(workers=1, threads=1)
    alpha, beta = two_tenants
    (_alpha_handle, alpha_key, alpha_doc), (beta_handle, _beta_key, beta_doc) = alpha, beta
    served = []
    for _round in range(3):
        assert _documents_seen(server, alpha) == [alpha_doc]
        assert _documents_seen(server, beta) == [beta_doc]
        assert _found(server, beta) == {beta_doc}
        assert server.call("localhost", "/health/ready", {})[0] == 200
        assert _documents_seen(server, alpha) == [alpha_doc]
        assert server.call("nowhere.localhost", "/api/v1/documents/", alpha_key)[0] == 404
        # Alpha's key on beta's host is refused, and beta's next request is beta's again.
        assert server.call(beta_handle.domain, "/api/v1/documents/", alpha_key)[0] == 401
        assert _documents_seen(server, beta) == [beta_doc]
        assert _found(server, alpha) == {alpha_doc}
        served.append(backends(server.application))
    # The same single backend served every request: one connection, reused, never reopened.
    assert len(served[0]) == 1, served
    assert served[0] == served[1] == served[2]


def test_web_opens_at_most_one_connection_per_thread(
    start_gunicorn: Callable[..., Gunicorn], two_tenants: list[Any]
) -> None:
    """The budget's web row: WEB_CONCURRENCY x GUNICORN_THREADS connections per container,
    however many requests arrive at once (here 3x the threads, searches and lists of both
    tenants), each of which still sees its own tenant's document only."""
    workers, threads = 2, 4
    server = start_gunicorn(workers=workers, threads=threads)
    wrong: list[str] = []
    peak = [0]

    def client(index: int) -> None:
        tenant = two_tenants[index % 2]
        for round_ in range(6):
            try:
                seen = (
                    _found(server, tenant) if round_ % 2 else set(_documents_seen(server, tenant))
                )
            except AssertionError as refused:
                seen = {str(refused)}
            if seen != {tenant[2]}:
                wrong.append(f"{tenant[0].schema}: {seen}")

    def sample(stop: threading.Event) -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], len(backends(server.application)))
            time.sleep(0.02)
        connection.close()  # this thread's own

    stop = threading.Event()
    sampler = threading.Thread(target=sample, args=(stop,))
    sampler.start()
    clients = [threading.Thread(target=client, args=(i,)) for i in range(3 * workers * threads)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    stop.set()
    sampler.join()
    held = len(backends(server.application))
    print(f"\nweb {workers}x{threads}: peak {peak[0]} connections, {held} held after the burst")
    assert not wrong, wrong[:5]
    assert 2 <= held <= peak[0] <= workers * threads


@pytest.mark.celery_worker
def test_a_worker_holds_a_connection_only_while_a_task_runs(
    committed_db: None, committed_tenants: tuple[TenantHandle, TenantHandle], tmp_path: Path
) -> None:
    """The budget's worker row: at most WORKER_CONCURRENCY connections per worker container,
    and none between tasks: Celery's Django fixup closes the connection before and after
    every task (whatever DB_CONN_MAX_AGE says), and the main process opens none."""
    from config.celery import app

    application = application_name("worker")
    prefix = f"budget{time.monotonic_ns() % 10**8}-"
    concurrency = 2
    worker = WorkerProcess(
        tmp_path / "worker.log", concurrency=concurrency, name="budget",
        env={"QUEUE_PREFIX": prefix, "PGAPPNAME": application},
    )  # fmt: skip
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], len(backends(application)))
            time.sleep(0.005)
        connection.close()  # this thread's own

    worker.start()
    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        results = [  # each visits every tenant's schema
            app.send_task("documents.sweep_stuck_documents", queue=f"{prefix}maintenance")
            for _ in range(40)
        ]
        for result in results:
            result.get(timeout=60)
        time.sleep(0.5)
        held = backends(application)
    finally:
        stop.set()
        sampler.join()
        worker.stop()
    print(f"\nworker --concurrency={concurrency}: peak {peak[0]}, {len(held)} held between tasks")
    assert peak[0] <= concurrency
    assert held == []


# --- PgBouncer: session mode keeps tenants apart, transaction mode does not ---------------------


@pytest.fixture
def start_pgbouncer() -> Iterator[Callable[..., PgBouncer]]:
    if pgbouncer_binary() is None:
        if os.environ.get("REQUIRE_PGBOUNCER"):
            pytest.fail("pgbouncer is missing: apt-get install -y pgbouncer")
        pytest.skip("pgbouncer is missing: apt-get update && apt-get install -y pgbouncer")
    bouncers: list[PgBouncer] = []

    def start(mode: str) -> PgBouncer:
        bouncers.append(PgBouncer(mode=mode, alias=f"budget_{mode}"))
        return bouncers[-1]

    yield start
    for bouncer in bouncers:
        bouncer.stop()


def test_pgbouncer_in_session_mode_hands_one_server_connection_from_tenant_to_tenant(
    start_gunicorn: Callable[..., Gunicorn],
    start_pgbouncer: Callable[..., PgBouncer],
    two_tenants: list[Any],
) -> None:
    """The setup docs/scaling.md gives for budgets beyond max_connections: two web servers
    (one per tenant here) through PgBouncer in session mode with DB_CONN_MAX_AGE=0 share a
    single server connection, and each tenant still sees its own document only."""
    bouncer = start_pgbouncer("session")
    environment = bouncer.environment(conn_max_age=0)
    servers = [start_gunicorn(workers=1, threads=1, env=environment) for _ in two_tenants]
    for _round in range(3):
        for server, tenant in zip(servers, two_tenants, strict=True):
            assert _documents_seen(server, tenant) == [tenant[2]]
    assert bouncer.server_connections() == 1


def test_pgbouncer_in_transaction_mode_would_show_a_tenant_another_tenants_rows(
    start_gunicorn: Callable[..., Gunicorn],
    start_pgbouncer: Callable[..., PgBouncer],
    two_tenants: list[Any],
) -> None:
    """Why docs/scaling.md rules transaction mode out: the search path is per connection,
    and routing remembers the one it set. Behind one pooled server connection, alpha's
    server sets alpha's path, beta's server then sets beta's on the same server connection,
    and alpha's next request, sure its path is still set, runs in beta's schema."""
    bouncer = start_pgbouncer("transaction")
    environment = bouncer.environment(conn_max_age=60)
    alpha_server, beta_server = (
        start_gunicorn(workers=1, threads=1, env=environment) for _ in two_tenants
    )
    alpha, beta = two_tenants
    assert _documents_seen(alpha_server, alpha) == [alpha[2]]
    assert _documents_seen(beta_server, beta) == [beta[2]]
    handle, key, _name = alpha
    status, _body = alpha_server.call(handle.domain, "/api/v1/documents/", key)
    assert status == 401  # alpha's key looked up among beta's keys

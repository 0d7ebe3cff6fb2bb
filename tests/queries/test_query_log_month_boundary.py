"""The query log across a month boundary under load: no search or question is lost or logged
twice, feedback stays linked, whether the new month's partition exists or not, and while the
maintenance task creates it and moves rows out of the DEFAULT partition.

Several threads call the real API (search, ask, feedback) with API keys, each thread on its
own PostgreSQL connection, while the process's clock (`django.utils.timezone.now`, which
stamps `created_at`) is moved to just before a month boundary and runs on at real speed. The
tenant is committed, so every thread's connection sees it; it is deleted afterwards.
"""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import schema_context

from queries import log_partitions
from queries.models import Query, QueryFeedback
from tenants import partitions
from tenants.db import use_public_schema
from tenants.models import Tenant
from tenants.services import delete_tenant, provision_tenant
from tests.conftest import PASSWORD, TenantHandle
from tests.factories import ApiKeyFactory, QueryFactory

TABLE = "queries_query"
ZONE = "Pacific/Kiritimati"  # UTC+14: its month starts ten hours before UTC's previous midnight
THREADS = 4
_real_now = timezone.now


class MovedClock:
    """`timezone.now` moved to a chosen instant, from where it runs on at real speed (or
    stands still when pinned). Only the clock moves; PostgreSQL and Redis are the real ones."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        self.pinned: datetime | None = None

    def move_to(self, instant: datetime, *, pinned: bool = False) -> None:
        self.offset = instant - _real_now()
        self.pinned = instant if pinned else None

    def __call__(self) -> datetime:
        return self.pinned if self.pinned is not None else _real_now() + self.offset


@dataclass
class Logged:
    """What the API answered: query ids with the kind asked, feedback given, failures."""

    queries: dict[int, str] = field(default_factory=dict)
    feedback: dict[int, tuple[bool, str]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def merge(self, other: Logged) -> None:
        self.queries.update(other.queries)
        self.feedback.update(other.feedback)
        self.failures += other.failures


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> MovedClock:
    moved = MovedClock()
    monkeypatch.setattr(timezone, "now", moved)
    return moved


@pytest.fixture
def tenant(committed_db: None) -> Iterator[TenantHandle]:
    schema = f"qlog_edge_{uuid.uuid4().hex[:6]}"
    domain = f"{schema.replace('_', '-')}.localhost"
    email = f"owner@{schema.replace('_', '-')}.test"
    result = provision_tenant(
        schema_name=schema,
        name="Month edge",
        domain=domain,
        admin_email=email,
        admin_password=PASSWORD,
        plan="enterprise",  # 3,000 questions a minute: the plan's limit is not what is tested
        time_zone=ZONE,
    )
    handle = TenantHandle(tenant=result.tenant, domain=domain, admin_email=email)
    try:
        with override_settings(RATELIMIT_API="100000/m"):
            yield handle
    finally:
        use_public_schema()
        delete_tenant(tenant=Tenant.objects.get(pk=handle.tenant.pk))


def _ask_and_rate(
    handle: TenantHandle, key: str, clock: MovedClock, until: datetime, tag: str
) -> Logged:
    """One caller: searches and questions until the clock passes `until`, feedback on every
    second one. Runs in its own thread, on its own database connection."""
    logged = Logged()
    client = handle.client(HTTP_AUTHORIZATION=f"Api-Key {key}")
    try:
        n = 0
        while clock() < until:
            n += 1
            kind = "ask" if n % 3 == 0 else "search"
            body = {"question" if kind == "ask" else "query": f"boundary {tag} {n}"}
            response = client.post(f"/api/v1/{kind}/", body, content_type="application/json")
            if response.status_code != 200:
                logged.failures.append(f"{kind} {n}: {response.status_code} {response.content!r}")
                continue
            query_id = int(response.json()["query_id"])
            logged.queries[query_id] = kind
            if n % 2 == 0:
                verdict = (n % 4 == 0, f"{tag} {n}")
                rated = client.post(
                    f"/api/v1/queries/{query_id}/feedback/",
                    {"helpful": verdict[0], "comment": verdict[1]},
                    content_type="application/json",
                )
                if rated.status_code == 200:
                    logged.feedback[query_id] = verdict
                else:
                    logged.failures.append(f"feedback {query_id}: {rated.status_code}")
    finally:
        connection.close()
    return logged


def _in_thread(
    results: list[Any], job: Callable[[], Any], *, after: Callable[[], bool] | None = None
) -> threading.Thread:
    def run() -> None:
        try:
            while after is not None and not after():
                time.sleep(0.005)
            results.append(job())
        except Exception as exc:  # the test reports it
            results.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _burst(
    handle: TenantHandle,
    keys: list[str],
    clock: MovedClock,
    boundary: datetime,
    *,
    maintenance_at: timedelta | None = None,
) -> Logged:
    """THREADS callers from a second before `boundary` to 1.5 s after it; with
    `maintenance_at`, the maintenance task runs that long after the boundary, among them."""
    clock.move_to(boundary - timedelta(seconds=1))
    until = boundary + timedelta(seconds=1.5)
    results: list[Any] = []
    maintained: list[Any] = []
    threads = [
        _in_thread(results, functools.partial(_ask_and_rate, handle, key, clock, until, tag))
        for key, tag in ((k, f"{boundary:%Y%m%d%H%M}-{n}") for n, k in enumerate(keys))
    ]
    if maintenance_at is not None:
        threads.append(
            _in_thread(
                maintained,
                lambda: _maintain(handle, clock()),
                after=lambda: clock() >= boundary + maintenance_at,
            )
        )
    for thread in threads:
        thread.join(timeout=120)
    logged = Logged()
    for outcome in results:
        assert isinstance(outcome, Logged), outcome
        logged.merge(outcome)
    for outcome in maintained:
        assert not isinstance(outcome, Exception), f"the maintenance task failed: {outcome!r}"
    assert not logged.failures, logged.failures[:5]
    return logged


def _maintain(handle: TenantHandle, now: datetime) -> list[str]:
    """What the beat task (queries.maintain_query_log_partitions) does in this tenant."""
    with schema_context(handle.schema):
        return log_partitions.maintain(now=now)


def _where(handle: TenantHandle, ids: list[int]) -> dict[int, list[tuple[str, datetime]]]:
    """Each id's rows: (partition, created_at) — a row logged twice shows up twice."""
    found: dict[int, list[tuple[str, datetime]]] = {}
    with schema_context(handle.schema), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, tableoid::regclass::text, created_at FROM {TABLE} "  # noqa: S608
            "WHERE id = ANY(%s)",
            [ids],
        )
        for query_id, partition, created_at in cursor.fetchall():
            found.setdefault(query_id, []).append((partition.split(".")[-1], created_at))
    return found


def _month_partition(moment: datetime) -> str:
    return partitions.partition_name(TABLE, partitions.month_start(moment))


def _assert_each_once_in_its_month(handle: TenantHandle, logged: Logged) -> None:
    where = _where(handle, list(logged.queries))
    assert set(where) == set(logged.queries), "logged queries are missing"
    twice = {query_id: rows for query_id, rows in where.items() if len(rows) > 1}
    assert not twice, f"logged twice: {twice}"
    misplaced = {
        query_id: rows[0]
        for query_id, rows in where.items()
        if rows[0][0] != _month_partition(rows[0][1])
    }
    assert not misplaced, f"rows outside their month's partition: {misplaced}"
    with schema_context(handle.schema):
        stored = {
            row.query_id: (row.helpful, row.comment)
            for row in QueryFeedback.objects.filter(query_id__in=list(logged.feedback))
        }
        assert stored == logged.feedback
        sample = list(logged.feedback)[:: max(1, len(logged.feedback) // 20)]
        for query_id in sample:  # the ORM's way from a query to its feedback
            assert Query.objects.get(id=query_id).feedback.comment == logged.feedback[query_id][1]


def _both_sides(handle: TenantHandle, logged: Logged, boundary: datetime) -> tuple[int, int]:
    stamps = [rows[0][1] for rows in _where(handle, list(logged.queries)).values()]
    before = sum(1 for at in stamps if at < boundary)
    return before, len(stamps) - before


def _last_and_first_instant(
    handle: TenantHandle, key: str, clock: MovedClock, boundary: datetime
) -> dict[str, int]:
    """A search stamped 23:59:59.999999 before the boundary and one stamped at 00:00:00."""
    client = handle.client(HTTP_AUTHORIZATION=f"Api-Key {key}")
    made = {}
    for name, at in (("last", boundary - timedelta(microseconds=1)), ("first", boundary)):
        clock.move_to(at, pinned=True)
        response = client.post(
            "/api/v1/search/", {"query": f"{name} instant"}, content_type="application/json"
        )
        assert response.status_code == 200, response.content
        made[name] = int(response.json()["query_id"])
    return made


def _preload_default(handle: TenantHandle, month: datetime, rows: int) -> list[int]:
    """`rows` queries stamped through `month`, which has no partition: the DEFAULT partition
    holds them, as after months without maintenance. Returns their ids."""
    with schema_context(handle.schema):
        template = QueryFactory(text="logged while maintenance was down", created_at=month)
        columns = [
            str(f.column)
            for f in Query._meta.concrete_fields
            if f.column not in ("id", "created_at")
        ]
        names = ", ".join(columns)
        end = partitions.add_months(month, 1)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {TABLE} ({names}, created_at) "  # noqa: S608
                f"SELECT {names}, %s + (%s - %s) * (n / %s::float) "
                f"FROM {TABLE}, generate_series(1, %s) AS n WHERE id = %s RETURNING id",
                [month, end, month, rows + 1, rows, template.id],
            )
            return [template.id, *(row[0] for row in cursor.fetchall())]


def test_a_month_boundary_under_load_loses_no_query_and_no_feedback_link(
    tenant: TenantHandle, clock: MovedClock
) -> None:
    started = time.monotonic()
    keys = [ApiKeyFactory(tenant=tenant, name=f"caller {n}").raw for n in range(THREADS)]
    this_month = partitions.month_start(_real_now())
    everything = Logged()

    # 1. The workspace's own month boundary (midnight in Kiritimati, 10:00 UTC the day
    #    before): an ordinary instant for the partitions, which are cut at UTC midnight.
    next_month = partitions.add_months(this_month, 1)
    local_boundary = datetime(next_month.year, next_month.month, 1, tzinfo=ZoneInfo(ZONE))
    assert local_boundary.astimezone(UTC) < next_month
    logged = _burst(tenant, keys, clock, local_boundary.astimezone(UTC))
    assert min(_both_sides(tenant, logged, local_boundary)) > 0
    everything.merge(logged)

    # 2. UTC's month boundary where the new month has no partition yet: the rows after
    #    midnight land in DEFAULT, and the maintenance task moves them into their month.
    boundary = partitions.add_months(this_month, 6)
    with schema_context(tenant.schema):
        partitions.ensure_month(TABLE, "created_at", partitions.add_months(boundary, -1))
    edge = _last_and_first_instant(tenant, keys[0], clock, boundary)
    logged = _burst(tenant, keys, clock, boundary)
    with schema_context(tenant.schema):
        assert Query.objects.filter(id__in=list(edge.values())).count() == 2
    where = _where(tenant, [*logged.queries, *edge.values()])
    assert where[edge["last"]][0][0] == _month_partition(boundary - timedelta(days=1))
    assert where[edge["first"]][0][0] == "queries_query_default"
    after = [rows[0][0] for rows in where.values() if rows[0][1] >= boundary]
    assert after
    assert set(after) == {"queries_query_default"}
    assert min(_both_sides(tenant, logged, boundary)) > 0
    _maintain(tenant, boundary + timedelta(seconds=2))
    for query_id in edge.values():
        logged.queries[query_id] = "search"
    everything.merge(logged)

    # 3. The same, with the maintenance task running among the inserts, half a second after
    #    midnight, while DEFAULT holds a month of rows it has not moved (20,000).
    boundary = partitions.add_months(this_month, 12)
    waiting = _preload_default(tenant, partitions.add_months(boundary, -1), 20_000)
    logged = _burst(tenant, keys, clock, boundary, maintenance_at=timedelta(seconds=0.5))
    assert min(_both_sides(tenant, logged, boundary)) > 0
    for query_id in waiting:
        logged.queries[query_id] = "search"
    everything.merge(logged)

    clock.move_to(_real_now())
    _maintain(tenant, _real_now())
    _assert_each_once_in_its_month(tenant, everything)
    with schema_context(tenant.schema), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM queries_query_default")
        assert cursor.fetchone()[0] == 0
    # docs/reliability.md quotes this line.
    print(
        f"\nquery-log month boundaries: {len(everything.queries):,} queries "
        f"({len(everything.queries) - len(waiting):,} through the API, "
        f"{len(everything.feedback):,} with feedback) each logged once, "
        f"in {time.monotonic() - started:.1f} s"
    )

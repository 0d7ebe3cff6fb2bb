"""The query log is partitioned by month: conversion, routing, partitions ahead, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django_tenants.utils import schema_context

from analytics.query_stats import Window, queries_in
from queries import log_partitions
from queries.models import Query, QueryFeedback
from queries.tasks import maintain_query_log_partitions
from tenants.db import use_public_schema
from tenants.partitions import add_months, month_start, partitions
from tests.factories import QueryFactory, QueryFeedbackFactory

pytestmark = pytest.mark.django_db
THIS_MONTH = month_start(timezone.now())


def _partition_of(query_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM queries_query WHERE id = %s", [query_id]
        )
        return str(cursor.fetchone()[0]).split(".")[-1]


def _relkind(table: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relkind FROM pg_class c WHERE c.relname = %s "
            "AND c.relnamespace = current_schema()::regnamespace",
            [table],
        )
        row = cursor.fetchone()
    return None if row is None else str(row[0])


def _migrate(target: str) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([("queries", target)])


def _feedback_at(target: str, query: Query, **fields: Any) -> None:
    """Feedback written as the code at migration `target` would (its columns only)."""
    state = MigrationExecutor(connection).loader.project_state(("queries", target))
    state.apps.get_model("queries", "QueryFeedback").objects.create(query_id=query.id, **fields)


def test_the_conversion_keeps_every_row_and_feedback_link(make_tenant: Any) -> None:
    handle = make_tenant("part_convert")
    moments = [
        datetime(2025, 3, 15, 12, tzinfo=UTC),
        datetime(2025, 11, 30, 23, 59, 59, tzinfo=UTC),
        datetime(2025, 12, 1, tzinfo=UTC),
        timezone.now(),
    ]
    with schema_context(handle.schema):
        _migrate("0002_query_error")
        assert _relkind("queries_query") == "r"
        made = [QueryFactory(text=f"question {n}", created_at=at) for n, at in enumerate(moments)]
        _feedback_at("0002_query_error", made[1], helpful=True, comment="right policy")
        _feedback_at("0002_query_error", made[3], helpful=False)
        before = sorted(Query.objects.values_list("id", "text", "created_at"))
        with connection.cursor() as cursor:  # as at a commit: the deferred key checks run
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED")

        _migrate("0003_partition_query_log")
        assert _relkind("queries_query") == "p"
        _migrate("0004_query_slots")  # and on: feedback learns its query's time

        assert sorted(Query.objects.values_list("id", "text", "created_at")) == before
        links = dict(QueryFeedback.objects.values_list("query_id", "helpful"))
        assert links == {made[1].id: True, made[3].id: False}
        assert Query.objects.get(id=made[1].id).feedback.comment == "right policy"
        feedback_times = dict(QueryFeedback.objects.values_list("query_id", "query_created_at"))
        assert feedback_times == {made[1].id: moments[1], made[3].id: moments[3]}
        assert _partition_of(made[0].id) == "queries_query_y2025m03"
        assert _partition_of(made[1].id) == "queries_query_y2025m11"
        assert _partition_of(made[2].id) == "queries_query_y2025m12"
        assert _partition_of(made[3].id) == f"queries_query_y{THIS_MONTH:%Y}m{THIS_MONTH:%m}"
        # New rows continue after the old ids.
        assert QueryFactory(text="after the conversion").id > max(q.id for q in made)


def test_a_new_tenant_has_this_and_next_months_partitions(make_tenant: Any) -> None:
    handle = make_tenant("part_new")
    with schema_context(handle.schema):
        names = {p.name for p in partitions("queries_query")}
        assert _relkind("queries_query") == "p"
    upcoming = [add_months(THIS_MONTH, n) for n in (0, 1)]
    assert {f"queries_query_y{m:%Y}m{m:%m}" for m in upcoming} <= names
    assert "queries_query_default" in names


def test_a_query_at_a_month_boundary_lands_in_its_month(make_tenant: Any) -> None:
    handle = make_tenant("part_edge")
    next_month = add_months(THIS_MONTH, 1)
    last_instant = QueryFactory(tenant=handle, created_at=next_month - timedelta(microseconds=1))
    first_instant = QueryFactory(tenant=handle, created_at=next_month)
    with schema_context(handle.schema):
        assert _partition_of(last_instant.id) == f"queries_query_y{THIS_MONTH:%Y}m{THIS_MONTH:%m}"
        assert _partition_of(first_instant.id) == f"queries_query_y{next_month:%Y}m{next_month:%m}"


def test_a_month_without_partition_goes_to_default_until_the_beat_task_moves_it(
    make_tenant: Any,
) -> None:
    handle = make_tenant("part_default")
    far = datetime(2021, 6, 10, 8, tzinfo=UTC)
    stray = QueryFactory(tenant=handle, text="from long ago", created_at=far)
    QueryFeedbackFactory(tenant=handle, query=stray, helpful=True)
    with schema_context(handle.schema):
        assert _partition_of(stray.id) == "queries_query_default"
    use_public_schema()

    outcome = maintain_query_log_partitions()

    assert outcome["created"] >= 2  # the month after next, and June 2021
    with schema_context(handle.schema):
        assert _partition_of(stray.id) == "queries_query_y2021m06"
        assert Query.objects.get(id=stray.id).feedback.helpful is True
        names = {p.name for p in partitions("queries_query")}
        ahead = [add_months(THIS_MONTH, n) for n in range(3)]
        assert {f"queries_query_y{m:%Y}m{m:%m}" for m in ahead} <= names
        # A second run has nothing to do.
        assert log_partitions.maintain(now=timezone.now()) == []


def test_retention_drops_whole_old_months_and_trims_the_month_of_the_cutoff(
    make_tenant: Any,
) -> None:
    handle, other = make_tenant("part_retain"), make_tenant("part_other")
    cutoff = add_months(THIS_MONTH, -2) + timedelta(days=10)
    old_month = add_months(THIS_MONTH, -4)
    ancient = QueryFactory(tenant=handle, text="ancient", created_at=old_month + timedelta(days=3))
    QueryFeedbackFactory(tenant=handle, query=ancient)
    stale = QueryFactory(tenant=handle, text="stale", created_at=cutoff - timedelta(days=1))
    QueryFeedbackFactory(tenant=handle, query=stale)
    kept = QueryFactory(tenant=handle, text="kept", created_at=cutoff + timedelta(days=1))
    QueryFeedbackFactory(tenant=handle, query=kept, comment="still here")
    QueryFactory(tenant=handle, text="recent")
    QueryFactory(tenant=other, text="other tenant's old", created_at=old_month)

    with schema_context(handle.schema):
        log_partitions.maintain(now=timezone.now())  # the old months' rows get partitions
        old_partition = f"queries_query_y{old_month:%Y}m{old_month:%m}"
        assert _relkind(old_partition) == "r"
        purged = log_partitions.purge_before(cutoff)

        assert purged.rows == 2
        assert purged.partitions_dropped >= 1
        assert _relkind(old_partition) is None  # detached and dropped, not emptied
        assert sorted(Query.objects.values_list("text", flat=True)) == ["kept", "recent"]
        assert list(QueryFeedback.objects.values_list("comment", flat=True)) == ["still here"]
    with schema_context(other.schema):
        assert Query.objects.filter(text="other tenant's old").exists()


def test_a_time_bounded_analytics_query_reads_only_its_months_partitions(
    make_tenant: Any,
) -> None:
    handle = make_tenant("part_prune")
    old_month = add_months(THIS_MONTH, -5)
    QueryFactory(tenant=handle, created_at=old_month + timedelta(days=2))
    QueryFactory(tenant=handle)
    with schema_context(handle.schema):
        log_partitions.maintain(now=timezone.now())
        plan = queries_in(Window.ending(days=7)).explain()
    assert f"queries_query_y{old_month:%Y}m{old_month:%m}" in {
        p.name for p in _partitions_of(handle.schema)
    }
    assert f"queries_query_y{old_month:%Y}m{old_month:%m}" not in plan
    assert f"queries_query_y{THIS_MONTH:%Y}m{THIS_MONTH:%m}" in plan


def _partitions_of(schema: str) -> list[Any]:
    with schema_context(schema):
        return partitions("queries_query")


def test_deleting_a_query_deletes_its_feedback_without_a_database_key(make_tenant: Any) -> None:
    handle = make_tenant("part_feedback")
    gone = QueryFactory(tenant=handle, text="deleted by its asker")
    QueryFeedbackFactory(tenant=handle, query=gone, comment="about the deleted one")
    stays = QueryFeedbackFactory(tenant=handle, comment="about another")
    with schema_context(handle.schema):
        Query.objects.filter(id=gone.id).delete()
        assert list(QueryFeedback.objects.values_list("comment", flat=True)) == ["about another"]
        assert QueryFeedback.objects.get().query_id == stays.query_id

"""Two analytics reports at once, in two connections: each query is counted in one slot."""

from __future__ import annotations

import threading

from django.db import connections
from django_tenants.utils import schema_context

from analytics import query_summary
from queries.models import Query, QueryRollupState, QuerySlot
from tests.analytics.test_query_slots import DAY, _fill_a_day


def test_two_reports_at_once_count_each_query_once(alpha):
    # Committed rows in a committed tenant: each thread has a connection of its own.
    results: list[int] = []
    start = threading.Barrier(2)

    def report() -> None:
        try:
            with schema_context(alpha.schema):
                start.wait()
                results.append(query_summary.totals(DAY).queries)
        finally:
            connections.close_all()

    with schema_context(alpha.schema):
        person = _fill_a_day(40)
    try:
        threads = [threading.Thread(target=report) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with schema_context(alpha.schema):
            counted = sum(QuerySlot.objects.values_list("queries", flat=True))
    finally:
        with schema_context(alpha.schema):
            Query.objects.filter(created_at__gte=DAY.start, created_at__lt=DAY.end).delete()
            QuerySlot.objects.all().delete()
            QueryRollupState.objects.all().delete()
            person.delete()

    assert results == [40, 40]
    assert counted == 40

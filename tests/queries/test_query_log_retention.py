"""Query-log retention: old rows go, recent ones and other tenants' recent ones stay."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import schema_context

from queries.models import Query, QueryFeedback
from queries.tasks import purge_query_log
from tenants.db import use_public_schema
from tests.factories import QueryFactory, QueryFeedbackFactory


def _days_ago(days: float) -> datetime:
    return timezone.now() - timedelta(days=days)


def test_rows_past_the_retention_are_purged_in_every_tenant(make_tenant: Any) -> None:
    one, two = make_tenant("retain_one"), make_tenant("retain_two")
    old = QueryFactory(tenant=one, text="parking rules", created_at=_days_ago(40))
    QueryFeedbackFactory(tenant=one, query=old, helpful=False, comment="outdated")
    QueryFactory(tenant=one, text="holiday allowance", created_at=_days_ago(5))
    QueryFactory(tenant=two, text="expense policy", created_at=_days_ago(31))
    QueryFactory(tenant=two, text="travel booking", created_at=_days_ago(29))
    use_public_schema()

    with override_settings(QUERY_LOG_RETENTION_DAYS=30):
        totals = purge_query_log()

    assert totals["deleted"] == 2
    assert totals["tenants"] >= 2
    with schema_context(one.schema):
        assert list(Query.objects.values_list("text", flat=True)) == ["holiday allowance"]
        assert not QueryFeedback.objects.exists()
    with schema_context(two.schema):
        assert list(Query.objects.values_list("text", flat=True)) == ["travel booking"]
    schedule = settings.CELERY_BEAT_SCHEDULE["queries-purge-query-log"]
    assert schedule["task"] == "queries.purge_query_log"


def test_zero_days_keeps_everything(make_tenant: Any) -> None:
    handle = make_tenant("retain_all")
    QueryFactory(tenant=handle, text="very old question", created_at=_days_ago(5000))
    use_public_schema()
    with override_settings(QUERY_LOG_RETENTION_DAYS=0):
        assert purge_query_log() == {"tenants": 0, "deleted": 0, "partitions_dropped": 0}
    with schema_context(handle.schema):
        assert Query.objects.count() == 1

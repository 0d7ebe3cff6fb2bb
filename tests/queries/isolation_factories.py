"""Tenant-B objects for the query routes, for the isolation suite (tests/test_isolation.py)."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from tests.factories import QueryFactory
from tests.isolation_registry import route_objects


@route_objects("query-feedback")
def a_query(owner: User) -> dict[str, Any]:
    query = QueryFactory(text="tenant B's question", user=owner)
    return {"pk": query.pk}

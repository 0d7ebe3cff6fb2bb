"""Tenant-B objects for the account routes, for the isolation suite (tests/test_isolation.py)."""

from __future__ import annotations

from typing import Any

from accounts.models import Role, User
from tests.factories import ApiKeyFactory, UserFactory
from tests.isolation_registry import route_objects


@route_objects(
    "api-member", "api-member-deactivate", "api-member-reactivate", "api-member-invite-link"
)
def a_member(owner: User) -> dict[str, Any]:
    member = UserFactory(email="isolated-member@b.test", role=Role.MEMBER)
    return {"pk": member.pk}


@route_objects("api-key")
def an_api_key(owner: User) -> dict[str, Any]:
    api_key = ApiKeyFactory(name="tenant B's key", scopes=["read"], created_by=owner)
    return {"pk": api_key.pk}

"""Helpers for API tests: signed-in clients, the owner, tokens and auth headers (people and
API keys themselves come from tests/factories.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import Client
from django_redis import get_redis_connection
from django_tenants.utils import schema_context

from accounts.models import Role, User
from accounts.tokens import issue_tokens
from tests.conftest import PASSWORD, TenantHandle
from tests.factories import UserFactory


def signed_in(handle: TenantHandle, role: str) -> Client:
    """A dashboard client signed in as the owner, or as a new person of another role."""
    client = handle.client()
    if role == Role.OWNER:
        email = handle.admin_email
    else:
        email = UserFactory(tenant=handle, role=role).email
    with schema_context(handle.schema):
        assert client.login(username=email, password=PASSWORD)
    return client


def owner_of(handle: TenantHandle) -> User:
    with schema_context(handle.schema):
        return User.objects.get(email=handle.admin_email)


def tokens_for(handle: TenantHandle, user: User) -> dict[str, str]:
    with schema_context(handle.schema):
        return issue_tokens(user=user, schema=handle.schema)


def bearer(handle: TenantHandle, user: User) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {tokens_for(handle, user)['access']}"}


def key_header(raw_key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Api-Key {raw_key}"}


def role_users(handle: TenantHandle) -> dict[str, User]:
    """The provisioned owner plus one admin, member and viewer."""
    users = {Role.OWNER.value: owner_of(handle)}
    for role in (Role.ADMIN, Role.MEMBER, Role.VIEWER):
        users[role.value] = UserFactory(tenant=handle, role=role.value)
    return users


@pytest.fixture
def fresh_rate_limits() -> Iterator[None]:
    """Forget this run's rate-limit counters (tenant schema names repeat across tests)."""
    yield
    redis = get_redis_connection("default")
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    pattern = f"*:{prefix}:*:{getattr(settings, 'RATELIMIT_CACHE_PREFIX', 'rl:')}*"
    keys = list(redis.scan_iter(match=pattern, count=1000))
    if keys:
        redis.delete(*keys)

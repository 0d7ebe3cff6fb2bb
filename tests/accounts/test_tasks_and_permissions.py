"""The token-flush schedule, and how API-key scopes map onto the shared permission classes."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.permissions import CanRead, CanWrite, IsPerson, IsTenantAdmin
from accounts.tasks import flush_expired_tokens
from tenants.db import use_public_schema
from tests.accounts.helpers import owner_of, tokens_for

pytestmark = pytest.mark.django_db


def test_flush_expired_tokens_runs_in_every_tenant_schema(make_tenant):
    acme = make_tenant("flush_a")
    globex = make_tenant("flush_b")
    for handle in (acme, globex):
        tokens_for(handle, owner_of(handle))
        tokens_for(handle, owner_of(handle))
        with schema_context(handle.schema):
            first = OutstandingToken.objects.order_by("pk").first()
            assert first is not None
            OutstandingToken.objects.filter(pk=first.pk).update(
                expires_at=timezone.now() - timedelta(days=1)
            )
    use_public_schema()
    assert flush_expired_tokens() >= 2
    for handle in (acme, globex):
        with schema_context(handle.schema):
            assert OutstandingToken.objects.count() == 1
    schedule = settings.CELERY_BEAT_SCHEDULE["accounts-flush-expired-tokens"]
    assert schedule["task"] == "accounts.flush_expired_tokens"


def _request(method: str, *, role: str | None = None, scopes: list[str] | None = None):
    user = SimpleNamespace(is_authenticated=role is not None, is_active=True, role=role, pk=1)
    auth = SimpleNamespace(scopes=scopes) if scopes is not None else None
    return SimpleNamespace(method=method, user=user, auth=auth)


@pytest.mark.parametrize(
    ("caller", "get", "post", "admin", "person"),
    [
        ({"role": "owner"}, True, True, True, True),
        ({"role": "admin"}, True, True, True, True),
        ({"role": "member"}, True, True, False, True),
        ({"role": "viewer"}, True, False, False, True),
        ({"role": "admin", "scopes": ["read"]}, True, False, False, False),
        ({"role": "admin", "scopes": ["write"]}, True, True, False, False),
        ({"role": "admin", "scopes": []}, False, False, False, False),
        # A key never does more than its creator's current role allows.
        ({"role": "member", "scopes": ["read", "write"]}, True, True, False, False),
        ({"role": "viewer", "scopes": ["read", "write"]}, True, False, False, False),
        ({"role": "viewer", "scopes": ["write"]}, True, False, False, False),
        ({}, False, False, False, False),
    ],
)
def test_permission_classes_read_roles_and_key_scopes(caller, get, post, admin, person):
    def allowed(permission, method):
        return permission().has_permission(_request(method, **caller), None)

    assert (allowed(CanRead, "GET"), allowed(CanWrite, "GET")) == (get, get)
    assert allowed(CanWrite, "POST") == post
    assert allowed(IsTenantAdmin, "GET") == admin
    assert allowed(IsPerson, "GET") == person


@pytest.mark.parametrize(
    ("caller", "own", "others"),
    [
        ({"role": "owner"}, True, True),
        ({"role": "admin"}, True, True),
        ({"role": "member"}, True, False),
        ({"role": "viewer"}, False, False),
        ({"role": "admin", "scopes": ["read", "write"]}, True, True),
        ({"role": "member", "scopes": ["read", "write"]}, True, False),
        ({"role": "viewer", "scopes": ["read", "write"]}, False, False),
        ({"role": "admin", "scopes": ["read"]}, False, False),
    ],
)
def test_object_changes_follow_the_role_of_the_person_or_the_keys_creator(caller, own, others):
    request, view = _request("DELETE", **caller), cast("Any", None)
    permission = CanWrite()
    mine, theirs = SimpleNamespace(uploaded_by_id=1), SimpleNamespace(uploaded_by_id=2)
    assert permission.has_object_permission(request, view, mine) == own
    assert permission.has_object_permission(request, view, theirs) == others
    assert permission.has_object_permission(_request("GET", **caller), view, theirs)

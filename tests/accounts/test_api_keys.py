"""API keys: created by admins, shown once, stored hashed, scoped, expiring, revocable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import ApiKey, User
from tests.accounts.helpers import bearer, key_header, owner_of
from tests.factories import ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_admin_creates_a_key_that_is_shown_once_and_stored_hashed(make_tenant):
    acme = make_tenant("keys_a")
    headers = bearer(acme, owner_of(acme))
    created = acme.client().post(
        "/api/v1/api-keys/",
        {"name": "CI uploader", "scopes": ["write", "read"]},
        content_type="application/json",
        **headers,
    )
    assert created.status_code == 201
    body = created.json()
    raw = body["key"]
    assert raw.startswith(body["prefix"] + "_")
    assert body["scopes"] == ["read", "write"]
    assert body["created_by"] == acme.admin_email

    with schema_context(acme.schema):
        stored = ApiKey.objects.get(pk=body["id"])
    assert raw not in {stored.key_hash, stored.prefix}
    listed = acme.client().get("/api/v1/api-keys/", **headers).json()
    assert listed["count"] == 1
    assert "key" not in listed["results"][0]
    assert "key" not in acme.client().get(f"/api/v1/api-keys/{body['id']}/", **headers).json()


@pytest.mark.parametrize("style", ["authorization", "x-api-key"])
def test_a_key_authenticates_as_its_creator_with_its_scopes(make_tenant, style):
    acme = make_tenant("keys_b")
    raw = ApiKeyFactory(tenant=acme, scopes=["read"]).raw
    headers = key_header(raw) if style == "authorization" else {"HTTP_X_API_KEY": raw}
    response = acme.client().get("/api/v1/tenant/", **headers)
    assert response.status_code == 200
    assert response.json()["email"] == acme.admin_email
    with schema_context(acme.schema):
        assert ApiKey.objects.get().last_used_at is not None


def test_last_used_at_is_written_at_most_once_a_minute(make_tenant):
    acme = make_tenant("keys_c")
    raw = ApiKeyFactory(tenant=acme, scopes=["read"]).raw
    acme.client().get("/api/v1/tenant/", **key_header(raw))
    with schema_context(acme.schema):
        first = ApiKey.objects.get().last_used_at
    assert first is not None
    acme.client().get("/api/v1/tenant/", **key_header(raw))
    with schema_context(acme.schema):
        assert ApiKey.objects.get().last_used_at == first
        ApiKey.objects.update(last_used_at=timezone.now() - timedelta(minutes=2))
    acme.client().get("/api/v1/tenant/", **key_header(raw))
    with schema_context(acme.schema):
        latest = ApiKey.objects.get().last_used_at
    assert latest is not None
    assert latest > first


def test_revoked_expired_wrong_and_orphaned_keys_are_401(make_tenant):
    acme = make_tenant("keys_d")
    admin = UserFactory(tenant=acme, role="admin")
    revoked = ApiKeyFactory(tenant=acme, scopes=["read"]).raw
    expired = ApiKeyFactory(tenant=acme, scopes=["read"]).raw
    orphaned = ApiKeyFactory(tenant=acme, scopes=["read"], created_by=admin).raw
    owner_headers = bearer(acme, owner_of(acme))
    with schema_context(acme.schema):
        revoked_id = ApiKey.objects.get(prefix=revoked.split("_")[1]).pk
        ApiKey.objects.filter(prefix=expired.split("_")[1]).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        User.objects.filter(pk=admin.pk).update(is_active=False)
    deleted = acme.client().delete(f"/api/v1/api-keys/{revoked_id}/", **owner_headers)
    assert deleted.status_code == 204

    cases = {
        revoked: "api_key_revoked",
        expired: "api_key_expired",
        orphaned: "api_key_owner_inactive",
        revoked[:-4] + "AAAA": "api_key_invalid",
        "di_000000000000_nothing": "api_key_invalid",
        "not-a-key": "api_key_invalid",
    }
    for raw, code in cases.items():
        response = acme.client().get("/api/v1/tenant/", **key_header(raw))
        assert response.status_code == 401, raw
        assert response.json()["error"]["code"] == code


def test_read_keys_cannot_manage_keys_or_members(make_tenant):
    acme = make_tenant("keys_e")
    headers = key_header(ApiKeyFactory(tenant=acme, scopes=["read", "write"]).raw)
    assert acme.client().get("/api/v1/api-keys/", **headers).status_code == 403
    assert acme.client().get("/api/v1/members/", **headers).status_code == 403
    # An API key has no personal profile.
    assert acme.client().get("/api/v1/auth/me/", **headers).status_code == 403


def test_create_validates_scopes_and_expiry(make_tenant):
    acme = make_tenant("keys_f")
    headers = bearer(acme, owner_of(acme))
    past = (timezone.now() - timedelta(days=1)).isoformat()
    response = acme.client().post(
        "/api/v1/api-keys/",
        {"name": "x", "scopes": ["admin"], "expires_at": past},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"scopes", "expires_at"}
    empty = acme.client().post(
        "/api/v1/api-keys/", {"name": "x", "scopes": []}, content_type="application/json", **headers
    )
    assert empty.status_code == 400

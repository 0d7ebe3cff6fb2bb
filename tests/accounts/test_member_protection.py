"""Owners are protected from admins on every change, and turning someone's access off ends
every token and session they had, also once they are let back in."""

from __future__ import annotations

import time

import pytest
from django_tenants.utils import schema_context

from accounts.models import Role, User
from tests.accounts.helpers import bearer, owner_of, tokens_for
from tests.conftest import PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _patch(handle, actor, target, body):
    return handle.client().patch(
        f"/api/v1/members/{target.pk}/", body, content_type="application/json",
        **bearer(handle, actor),
    )  # fmt: skip


def test_an_admin_cannot_rename_an_owner(make_tenant):
    acme = make_tenant("prot_name")
    owner, admin = owner_of(acme), UserFactory(tenant=acme, role=Role.ADMIN)
    member = UserFactory(tenant=acme, role=Role.MEMBER)
    refused = _patch(acme, admin, owner, {"full_name": "Renamed by an admin"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "owner_protected"
    with schema_context(acme.schema):
        assert User.objects.get(pk=owner.pk).full_name == owner.full_name
    assert _patch(acme, admin, member, {"full_name": "Ada"}).json()["full_name"] == "Ada"
    assert _patch(acme, owner, owner, {"full_name": "Grace"}).json()["full_name"] == "Grace"


def test_a_refused_role_change_does_not_rename_either(make_tenant):
    acme = make_tenant("prot_both")
    owner = owner_of(acme)  # the last owner: demoting is refused, so nothing changes
    response = _patch(acme, owner, owner, {"role": "admin", "full_name": "Half done"})
    assert response.status_code == 409
    with schema_context(acme.schema):
        assert User.objects.get(pk=owner.pk).full_name == owner.full_name


def test_tokens_and_sessions_from_before_a_deactivation_stay_dead_after_reactivation(
    make_tenant,
):
    acme = make_tenant("prot_react")
    owner = owner_of(acme)
    member = UserFactory(tenant=acme, role=Role.MEMBER)
    old_tokens = tokens_for(acme, member)
    old_access = {"HTTP_AUTHORIZATION": f"Bearer {old_tokens['access']}"}
    session = acme.client()
    with schema_context(acme.schema):
        assert session.login(username=member.email, password=PASSWORD)
    assert session.get("/api/v1/auth/me/").status_code == 200

    admin_client = acme.client()
    path = f"/api/v1/members/{member.pk}"
    assert admin_client.post(f"{path}/deactivate/", **bearer(acme, owner)).status_code == 200
    assert admin_client.post(f"{path}/reactivate/", **bearer(acme, owner)).status_code == 200

    refused = acme.client().get("/api/v1/auth/me/", **old_access)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "token_revoked"
    refresh = acme.client().post(
        "/api/v1/auth/token/refresh/", {"refresh": old_tokens["refresh"]},
        content_type="application/json",
    )  # fmt: skip
    assert refresh.status_code == 401
    assert session.get("/api/v1/auth/me/").status_code in (401, 403)  # signed out
    # Signing in again works as usual (token times are whole seconds: one issued in the
    # second of the deactivation counts as issued before it).
    time.sleep(1.05 - time.time() % 1)
    fresh = acme.client().post(
        "/api/v1/auth/token/", {"email": member.email, "password": PASSWORD},
        content_type="application/json",
    )  # fmt: skip
    assert fresh.status_code == 200
    me = acme.client().get(
        "/api/v1/auth/me/", HTTP_AUTHORIZATION=f"Bearer {fresh.json()['access']}"
    )
    assert me.status_code == 200

"""Members: invite with a one-time password link, change roles, deactivate; owner rules."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from accounts.models import User
from tests.accounts.helpers import bearer, owner_of, tokens_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _post(handle, path, data=None, **headers):
    return handle.client().post(path, data or {}, content_type="application/json", **headers)


def _patch(handle, path, data, **headers):
    return handle.client().patch(path, data, content_type="application/json", **headers)


def test_invited_member_sets_a_password_with_the_link_and_signs_in(make_tenant, caplog):
    acme = make_tenant("mem_a")
    response = _post(
        acme,
        "/api/v1/members/",
        {"email": "New.Person@Example.com", "role": "viewer"},
        **bearer(acme, owner_of(acme)),
    )
    assert response.status_code == 201
    invited = response.json()
    assert invited["email"] == "new.person@example.com"
    assert invited["role"] == "viewer"
    assert invited["has_password"] is False
    link = invited["password_set_url"]
    assert link.startswith("http://mem-a.localhost/password/set/")
    assert "invited new.person@example.com" in caplog.text
    assert link not in caplog.text  # the default delivery never writes the secret link to logs

    browser = acme.client()
    form = browser.get(link.removeprefix("http://mem-a.localhost"), follow=True)
    assert form.status_code == 200
    assert b"Choose a password" in form.content
    done = browser.post(
        form.redirect_chain[-1][0],
        {"new_password1": "Quiet-lake-morning-7", "new_password2": "Quiet-lake-morning-7"},
    )
    assert done.status_code == 302
    signin = _post(
        acme,
        "/api/v1/auth/token/",
        {"email": "new.person@example.com", "password": "Quiet-lake-morning-7"},
    )
    assert signin.status_code == 200

    reused = acme.client().get(link.removeprefix("http://mem-a.localhost"), follow=True)
    assert b"This link no longer works" in reused.content


def test_inviting_an_existing_email_is_a_409(make_tenant):
    acme = make_tenant("mem_b")
    response = _post(
        acme,
        "/api/v1/members/",
        {"email": acme.admin_email.upper(), "role": "member"},
        **bearer(acme, owner_of(acme)),
    )
    assert response.status_code == 409
    assert "already a member" in response.json()["error"]["message"]


def test_owner_changes_roles_but_admins_cannot_touch_owners(make_tenant):
    acme = make_tenant("mem_c")
    owner = owner_of(acme)
    admin = UserFactory(tenant=acme, role="admin")
    member = UserFactory(tenant=acme, role="member")
    as_admin = bearer(acme, admin)

    promoted = _patch(acme, f"/api/v1/members/{member.pk}/", {"role": "viewer"}, **as_admin)
    assert promoted.status_code == 200
    assert promoted.json()["role"] == "viewer"

    demote_owner = _patch(acme, f"/api/v1/members/{owner.pk}/", {"role": "admin"}, **as_admin)
    assert demote_owner.status_code == 403
    assert demote_owner.json()["error"]["code"] == "owner_protected"
    make_owner = _patch(acme, f"/api/v1/members/{member.pk}/", {"role": "owner"}, **as_admin)
    assert make_owner.status_code == 403
    invite_owner = _post(
        acme, "/api/v1/members/", {"email": "boss@x.test", "role": "owner"}, **as_admin
    )
    assert invite_owner.status_code == 403

    by_owner = _patch(
        acme, f"/api/v1/members/{member.pk}/", {"role": "owner"}, **bearer(acme, owner)
    )
    assert by_owner.status_code == 200


def test_the_last_owner_cannot_be_demoted_or_deactivated(make_tenant):
    acme = make_tenant("mem_d")
    owner = owner_of(acme)
    headers = bearer(acme, owner)
    demote = _patch(acme, f"/api/v1/members/{owner.pk}/", {"role": "admin"}, **headers)
    assert demote.status_code == 409
    assert demote.json()["error"]["code"] == "last_owner"
    assert "last owner" in demote.json()["error"]["message"]
    second = UserFactory(tenant=acme, role="owner", email="second@mem-d.test")
    second_headers = bearer(acme, second)
    assert (
        _post(acme, f"/api/v1/members/{owner.pk}/deactivate/", **second_headers).status_code == 200
    )
    last = _post(acme, f"/api/v1/members/{second.pk}/deactivate/", **second_headers)
    assert last.status_code == 409


def test_deactivation_cuts_tokens_keys_and_sessions_and_reactivation_restores(make_tenant):
    acme = make_tenant("mem_e")
    member = UserFactory(tenant=acme, role="member")
    admin_headers = bearer(acme, owner_of(acme))
    member_tokens = tokens_for(acme, member)
    session = acme.client()
    with schema_context(acme.schema):
        assert session.login(username=member.email, password="Correct-horse-42")

    response = _post(acme, f"/api/v1/members/{member.pk}/deactivate/", **admin_headers)
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    access = acme.client().get(
        "/api/v1/auth/me/", HTTP_AUTHORIZATION=f"Bearer {member_tokens['access']}"
    )
    assert access.status_code == 401
    assert session.get("/api/v1/auth/me/").status_code == 401

    assert (
        _post(acme, f"/api/v1/members/{member.pk}/reactivate/", **admin_headers).status_code == 200
    )
    # Refresh tokens were blacklisted at deactivation: the member signs in again.
    refresh = _post(acme, "/api/v1/auth/token/refresh/", {"refresh": member_tokens["refresh"]})
    assert refresh.status_code == 401
    with schema_context(acme.schema):
        assert User.objects.get(pk=member.pk).is_active


def test_nobody_deactivates_themselves(make_tenant):
    acme = make_tenant("mem_f")
    admin = UserFactory(tenant=acme, role="admin")
    response = _post(acme, f"/api/v1/members/{admin.pk}/deactivate/", **bearer(acme, admin))
    assert response.status_code == 409
    assert "yourself" in response.json()["error"]["message"]


def test_member_list_is_paginated(make_tenant):
    acme = make_tenant("mem_g")
    for index in range(3):
        UserFactory(tenant=acme, role="viewer", email=f"v{index}@mem-g.test")
    page = acme.client().get("/api/v1/members/?page_size=2", **bearer(acme, owner_of(acme)))
    assert page.status_code == 200
    body = page.json()
    assert body["count"] == 4
    assert len(body["results"]) == 2
    assert body["next"].endswith("page=2&page_size=2")


def test_a_lost_invitation_link_is_issued_again_through_the_api(make_tenant):
    acme = make_tenant("mem_relink")
    headers = bearer(acme, owner_of(acme))
    invited = _post(acme, "/api/v1/members/", {"email": "late@x.test", "role": "member"}, **headers)
    member_id = invited.json()["id"]
    again = _post(acme, f"/api/v1/members/{member_id}/invite-link/", **headers)
    assert again.status_code == 200
    link = again.json()["password_set_url"]
    assert link.startswith("http://mem-relink.localhost/password/set/")
    browser = acme.client()
    form = browser.get(link.removeprefix("http://mem-relink.localhost"), follow=True)
    done = browser.post(
        form.redirect_chain[-1][0],
        {"new_password1": "Quiet-lake-morning-7", "new_password2": "Quiet-lake-morning-7"},
    )
    assert done.status_code == 302
    joined = _post(acme, f"/api/v1/members/{member_id}/invite-link/", **headers)
    assert joined.status_code == 409
    assert joined.json()["error"]["code"] == "already_joined"
    viewer = UserFactory(tenant=acme, role="viewer")
    refused = _post(acme, f"/api/v1/members/{member_id}/invite-link/", **bearer(acme, viewer))
    assert refused.status_code == 403

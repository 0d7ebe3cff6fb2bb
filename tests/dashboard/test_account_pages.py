"""Sign-in, forgotten password, API keys and members pages."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from django_tenants.utils import schema_context

from accounts.models import ApiKey, Role, User
from tests.accounts.helpers import owner_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SENT: list[tuple[str, str]] = []


def capture_reset(*, user, link):
    SENT.append((user.email, link))


def test_login_page_signs_in_and_links_forgot_password(make_tenant):
    handle = make_tenant("acc_login")
    client = handle.client()
    page = client.get("/login/").content.decode()
    assert 'href="/password/forgot/"' in page
    response = client.post("/login/", {"username": handle.admin_email, "password": handle.password})
    assert response.status_code == 302
    assert client.get("/login/").status_code == 302  # already signed in
    wrong = handle.client().post("/login/", {"username": handle.admin_email, "password": "no"})
    assert "didn't match" in wrong.content.decode()
    empty = handle.client().post("/login/", {"username": "", "password": ""}).content.decode()
    assert "Enter your email and your password" in empty
    assert "didn't match" not in empty
    assert 'rel="icon"' in page  # no console error for a missing /favicon.ico


def test_logout_by_get_asks_to_confirm_and_post_logs_out(make_tenant):
    handle = make_tenant("acc_logout")
    client = handle.logged_in_client()
    asked = client.get("/logout/")
    assert asked.status_code == 200
    assert "Log out of" in asked.content.decode()
    assert client.get("/documents/").status_code == 200  # a GET logged no one out
    assert client.post("/logout/").status_code == 302
    assert client.get("/documents/").status_code == 302  # to the login page
    assert "You are logged out" in client.get("/logout/").content.decode()


@override_settings(PASSWORD_RESET_DELIVERY="tests.dashboard.test_account_pages.capture_reset")
def test_forgot_password_answers_the_same_and_the_link_sets_a_password(make_tenant):
    SENT.clear()
    handle = make_tenant("acc_forgot")
    client = handle.client()
    unknown = client.post("/password/forgot/", {"email": "nobody@nowhere.test"})
    known = client.post("/password/forgot/", {"email": handle.admin_email.upper()})
    assert unknown.status_code == known.status_code == 302
    assert unknown["Location"] == known["Location"] == "/password/forgot/sent/"
    assert "If the email belongs" in client.get("/password/forgot/sent/").content.decode()
    assert [email for email, _ in SENT] == [handle.admin_email]

    path = SENT[0][1].removeprefix(f"http://{handle.domain}")
    form = client.get(path, follow=True)
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "Fresh-river-stone-9", "new_password2": "Fresh-river-stone-9"},
    )
    assert done.status_code == 302
    assert done["Location"] == "/login/"
    with schema_context(handle.schema):
        assert User.objects.get(email=handle.admin_email).check_password("Fresh-river-stone-9")
    assert "no longer works" in client.get(path, follow=True).content.decode()


@override_settings(PASSWORD_RESET_DELIVERY="tests.dashboard.test_account_pages.capture_reset")
def test_forgot_password_ignores_deactivated_people(make_tenant):
    SENT.clear()
    handle = make_tenant("acc_forgot_off")
    user = UserFactory(tenant=handle, role=Role.MEMBER)
    with schema_context(handle.schema):
        User.objects.filter(pk=user.pk).update(is_active=False)
    assert handle.client().post("/password/forgot/", {"email": user.email}).status_code == 302
    assert SENT == []


def test_api_key_is_shown_once_and_can_be_revoked(make_tenant):
    handle = make_tenant("acc_keys")
    client = handle.logged_in_client()
    assert "No API keys yet" in client.get("/settings/api-keys/").content.decode()
    response = client.post(
        "/settings/api-keys/", {"name": "nightly <import>", "scopes": ["read"]}, follow=True
    )
    html = response.content.decode()
    assert response["Cache-Control"] == "no-store"
    with schema_context(handle.schema):
        key = ApiKey.objects.get()
    assert f"di_{key.prefix}_" in html  # the full key, once
    assert "nightly &lt;import&gt;" in html
    again = client.get("/settings/api-keys/").content.decode()
    assert f"di_{key.prefix}_" not in again.replace(f"di_{key.prefix}</code>", "")
    missing = client.post("/settings/api-keys/", {"name": "x"}).content.decode()
    assert "Choose at least one scope." in missing
    revoke = client.post(f"/settings/api-keys/{key.pk}/revoke/")
    assert revoke.status_code == 302
    with schema_context(handle.schema):
        key.refresh_from_db()
        assert key.revoked_at is not None
    assert client.get(f"/settings/api-keys/{key.pk}/revoke/").status_code == 405


def test_invite_shows_the_one_time_link_and_roles_can_change(make_tenant):
    handle = make_tenant("acc_members")
    client = handle.logged_in_client()
    response = client.post(
        "/settings/members/", {"email": "new@acc-members.test", "full_name": "", "role": "viewer"}
    )
    assert response.status_code == 302  # then GET: a reload does not post the invite again
    html = client.get(response["Location"]).content.decode()
    assert "new@acc-members.test is invited" in html
    assert f"http://{handle.domain}/password/set/" in html
    again = client.get("/settings/members/").content.decode()
    assert "/password/set/" not in again  # the one-time link is shown once
    with schema_context(handle.schema):
        invited = User.objects.get(email="new@acc-members.test")
    assert invited.role == Role.VIEWER
    duplicate = client.post(
        "/settings/members/", {"email": "new@acc-members.test", "role": "member"}
    )
    assert "already a member" in duplicate.content.decode()

    client.post(f"/settings/members/{invited.pk}/role/", {"role": "member"})
    client.post(f"/settings/members/{invited.pk}/deactivate/")
    with schema_context(handle.schema):
        invited.refresh_from_db()
    assert invited.role == Role.MEMBER
    assert not invited.is_active
    client.post(f"/settings/members/{invited.pk}/reactivate/")
    with schema_context(handle.schema):
        invited.refresh_from_db()
    assert invited.is_active


def test_member_rules_hold_on_the_page(make_tenant):
    handle = make_tenant("acc_rules")
    owner = owner_of(handle)
    client = handle.logged_in_client()
    refused = client.post(f"/settings/members/{owner.pk}/deactivate/", follow=True)
    assert "cannot deactivate yourself" in refused.content.decode()
    demote = client.post(f"/settings/members/{owner.pk}/role/", {"role": "admin"}, follow=True)
    assert "last owner" in demote.content.decode()

    admin = UserFactory(tenant=handle, role=Role.ADMIN)
    admin_client = handle.client()
    with schema_context(handle.schema):
        assert admin_client.login(username=admin.email, password=handle.password)
    page = admin_client.get("/settings/members/").content.decode()
    assert '<option value="owner"' not in page.split('id="id_role"')[1].split("</select>")[0]
    touch_owner = admin_client.post(f"/settings/members/{owner.pk}/deactivate/", follow=True)
    assert "Only an owner" in touch_owner.content.decode()


def test_a_lost_invitation_link_can_be_issued_again(make_tenant):
    handle = make_tenant("acc_reinvite")
    client = handle.logged_in_client()
    client.post("/settings/members/", {"email": "late@acc-reinvite.test", "role": "member"})
    client.get("/settings/members/")  # shows the link once; then it is lost
    with schema_context(handle.schema):
        invited = User.objects.get(email="late@acc-reinvite.test")
    page = client.get("/settings/members/").content.decode()
    assert "New invite link for late@acc-reinvite.test" in page
    assert "/password/set/" not in page

    response = client.post(f"/settings/members/{invited.pk}/invite-link/")
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert "late@acc-reinvite.test is invited" in html
    found = re.search(r'id="invite-link">([^<]+)<', html)
    assert found is not None
    link = found.group(1)
    assert link.startswith(f"http://{handle.domain}/password/set/")
    # The new link works: the person chooses a password with it and can sign in.
    path = link.split(handle.domain, 1)[1]
    visitor = handle.client()
    form = visitor.get(path, follow=True)
    assert form.status_code == 200
    chosen = "a long enough passphrase 7"
    visitor.post(form.redirect_chain[-1][0] if form.redirect_chain else path,
                 {"new_password1": chosen, "new_password2": chosen})  # fmt: skip
    with schema_context(handle.schema):
        invited.refresh_from_db()
        assert invited.check_password(chosen)

    # Once they joined, there is nothing to re-issue: the page says what to do instead.
    refused = client.post(f"/settings/members/{invited.pk}/invite-link/", follow=True)
    assert "has already chosen a password" in refused.content.decode()

"""/settings/account/: a person changes their own name and password on the dashboard."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from django_tenants.utils import schema_context
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import Role, User
from tests.accounts.helpers import signed_in, tokens_for
from tests.conftest import PASSWORD, TenantHandle

NEW = "a brand new passphrase 93"


@pytest.fixture
def tenant(make_tenant: Any) -> TenantHandle:  # rate limits are forgotten by conftest.py
    return make_tenant("accountpage")


def _member(handle: TenantHandle) -> User:
    with schema_context(handle.schema):
        return User.objects.get(role=Role.VIEWER)


def test_every_role_reaches_it_from_the_top_bar_and_saves_a_name(tenant: TenantHandle) -> None:
    client = signed_in(tenant, Role.VIEWER)
    documents = client.get("/documents/")
    assert 'href="/settings/account/"' in documents.content.decode()
    page = client.get("/settings/account/")
    assert page.status_code == 200
    assert "Your account" in page.content.decode()
    saved = client.post("/settings/account/", {"form": "name", "full_name": "Ada Lovelace"})
    assert saved.status_code == 302
    assert "Your name is saved." in client.get("/settings/account/").content.decode()
    assert _member(tenant).full_name == "Ada Lovelace"


def test_a_wrong_current_password_changes_nothing(tenant: TenantHandle) -> None:
    client = signed_in(tenant, Role.VIEWER)
    response = client.post(
        "/settings/account/",
        {"form": "password", "old_password": "wrong", "new_password1": NEW, "new_password2": NEW},
    )
    assert response.status_code == 400
    assert "Your old password was entered incorrectly" in response.content.decode()
    assert _member(tenant).check_password(PASSWORD)


def test_the_password_changes_this_browser_stays_signed_in_and_tokens_die(
    tenant: TenantHandle,
) -> None:
    client = signed_in(tenant, Role.VIEWER)
    member = _member(tenant)
    with schema_context(tenant.schema):
        tokens_for(tenant, member)  # an app signed in elsewhere
    response = client.post(
        "/settings/account/",
        {"form": "password", "old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
    )
    assert response.status_code == 302
    assert client.get("/settings/account/").status_code == 200  # still signed in here
    assert _member(tenant).check_password(NEW)
    with schema_context(tenant.schema):
        outstanding = OutstandingToken.objects.filter(user=member)
        assert outstanding.exists()
        assert all(hasattr(token, "blacklistedtoken") for token in outstanding)


@override_settings(RATELIMIT_LOGIN="3/m")
def test_guessing_the_current_password_is_limited(tenant: TenantHandle) -> None:
    client = signed_in(tenant, Role.VIEWER)
    wrong = {"form": "password", "old_password": "guess"}
    wrong |= {"new_password1": NEW, "new_password2": NEW}
    for _ in range(3):
        client.post("/settings/account/", wrong)
    right = {**wrong, "old_password": PASSWORD}
    response = client.post("/settings/account/", right)
    assert response.status_code == 400
    assert "Too many password attempts" in response.content.decode()
    assert _member(tenant).check_password(PASSWORD)

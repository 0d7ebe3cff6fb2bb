"""Sign-in tokens: obtain, refresh (rotation), logout, me, password change, tenant binding."""

from __future__ import annotations

import jwt
import pytest
from django.conf import settings
from django_tenants.utils import schema_context

from accounts.models import User
from tests.accounts.helpers import bearer, owner_of, tokens_for
from tests.conftest import PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _login(handle, email=None, password=PASSWORD, **extra):
    return handle.client().post(
        "/api/v1/auth/token/",
        {"email": email or handle.admin_email, "password": password},
        content_type="application/json",
        **extra,
    )


def _refresh(handle, refresh):
    return handle.client().post(
        "/api/v1/auth/token/refresh/", {"refresh": refresh}, content_type="application/json"
    )


def test_sign_in_returns_tokens_that_open_the_api(make_tenant):
    acme = make_tenant("auth_a")
    response = _login(acme)
    assert response.status_code == 200
    tokens = response.json()
    assert set(tokens) == {"access", "refresh"}

    me = acme.client().get("/api/v1/auth/me/", HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert me.status_code == 200
    assert me.json()["email"] == acme.admin_email
    assert me.json()["role"] == "owner"

    claims = jwt.decode(tokens["access"], options={"verify_signature": False})
    assert claims["tenant"] == "auth_a"
    assert claims["exp"] - claims["iat"] == 15 * 60
    with schema_context(acme.schema):  # API sign-ins count as sign-ins (the members page)
        assert User.objects.get(email=acme.admin_email).last_login is not None


def test_wrong_password_and_unknown_email_get_the_same_401(make_tenant):
    acme = make_tenant("auth_b")
    wrong = _login(acme, password="nope-nope-nope")
    unknown = _login(acme, email="ghost@auth-b.test")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["message"] == "The email or password is incorrect."


def test_missing_fields_are_a_400_listing_them(make_tenant):
    acme = make_tenant("auth_c")
    response = acme.client().post("/api/v1/auth/token/", {}, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"email", "password"}


def test_inactive_user_cannot_sign_in_nor_use_or_refresh_tokens(make_tenant):
    acme = make_tenant("auth_d")
    member = UserFactory(tenant=acme, role="member")
    tokens = tokens_for(acme, member)
    with schema_context(acme.schema):
        User.objects.filter(pk=member.pk).update(is_active=False)

    assert _login(acme, email=member.email).status_code == 401
    me = acme.client().get("/api/v1/auth/me/", HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert me.status_code == 401
    assert "no longer has access" in me.json()["error"]["message"]
    assert _refresh(acme, tokens["refresh"]).status_code == 401


def test_refresh_rotates_and_reusing_a_spent_token_ends_its_whole_family(make_tenant):
    acme = make_tenant("auth_e")
    first = tokens_for(acme, owner_of(acme))
    elsewhere = tokens_for(acme, owner_of(acme))  # another sign-in: another family
    rotated = _refresh(acme, first["refresh"])
    assert rotated.status_code == 200
    assert rotated.json()["refresh"] != first["refresh"]
    again = _refresh(acme, rotated.json()["refresh"])
    assert again.status_code == 200

    # The spent first token shows up again: it was copied. Its family ends, others live on.
    reused = _refresh(acme, first["refresh"])
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "token_reused"
    assert "every session of that sign-in was ended" in reused.json()["error"]["message"]
    assert _refresh(acme, again.json()["refresh"]).status_code == 401
    assert _refresh(acme, elsewhere["refresh"]).status_code == 200


def test_logout_blacklists_the_refresh_token(make_tenant):
    acme = make_tenant("auth_f")
    tokens = tokens_for(acme, owner_of(acme))
    response = acme.client().post(
        "/api/v1/auth/logout/", {"refresh": tokens["refresh"]}, content_type="application/json"
    )
    assert response.status_code == 204
    assert _refresh(acme, tokens["refresh"]).status_code == 401


def test_a_token_from_another_workspace_is_refused_everywhere(make_tenant):
    acme = make_tenant("auth_g")
    globex = make_tenant("auth_h")
    acme_tokens = tokens_for(acme, owner_of(acme))

    # Same user id (1) exists in both schemas: only the tenant claim tells them apart.
    response = globex.client().get(
        "/api/v1/auth/me/", HTTP_AUTHORIZATION=f"Bearer {acme_tokens['access']}"
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_wrong_tenant"
    assert "another workspace" in response.json()["error"]["message"]

    refresh = _refresh(globex, acme_tokens["refresh"])
    assert refresh.status_code == 401
    assert refresh.json()["error"]["code"] == "token_wrong_tenant"
    logout = globex.client().post(
        "/api/v1/auth/logout/", {"refresh": acme_tokens["refresh"]}, content_type="application/json"
    )
    assert logout.status_code == 401
    # ...and it still works at home.
    assert _refresh(acme, acme_tokens["refresh"]).status_code == 200


def test_forged_and_expired_tokens_are_401(make_tenant):
    acme = make_tenant("auth_i")
    claims = jwt.decode(
        tokens_for(acme, owner_of(acme))["access"], options={"verify_signature": False}
    )
    forged = jwt.encode(claims, "not-the-secret-key-" * 3, algorithm="HS256")
    expired = jwt.encode({**claims, "exp": claims["iat"] - 10}, settings.SECRET_KEY, "HS256")
    for token in (forged, expired, "garbage"):
        response = acme.client().get("/api/v1/auth/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 401, token
        assert response.json()["error"]["code"] == "token_not_valid"


def test_password_change_revokes_every_earlier_token(make_tenant):
    acme = make_tenant("auth_j")
    owner = owner_of(acme)
    old = tokens_for(acme, owner)
    response = acme.client().post(
        "/api/v1/auth/password/",
        {"current_password": PASSWORD, "new_password": "A-much-better-passphrase-9"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {old['access']}",
    )
    assert response.status_code == 200
    new = response.json()

    stale = acme.client().get("/api/v1/auth/me/", HTTP_AUTHORIZATION=f"Bearer {old['access']}")
    assert stale.status_code == 401
    assert stale.json()["error"]["code"] == "token_revoked"
    assert _refresh(acme, old["refresh"]).status_code == 401
    fresh = acme.client().get("/api/v1/auth/me/", HTTP_AUTHORIZATION=f"Bearer {new['access']}")
    assert fresh.status_code == 200


def test_password_change_checks_the_current_password_and_strength(make_tenant):
    acme = make_tenant("auth_k")
    headers = bearer(acme, owner_of(acme))
    wrong = acme.client().post(
        "/api/v1/auth/password/",
        {"current_password": "wrong", "new_password": "A-much-better-passphrase-9"},
        content_type="application/json",
        **headers,
    )
    assert wrong.status_code == 400
    assert "current_password" in wrong.json()["error"]["fields"]
    weak = acme.client().post(
        "/api/v1/auth/password/",
        {"current_password": PASSWORD, "new_password": "123"},
        content_type="application/json",
        **headers,
    )
    assert weak.status_code == 400
    assert "new_password" in weak.json()["error"]["fields"]


def test_me_can_be_renamed_but_not_promoted(make_tenant):
    acme = make_tenant("auth_l")
    member = UserFactory(tenant=acme, role="member")
    response = acme.client().patch(
        "/api/v1/auth/me/",
        {"full_name": "Ada Lovelace", "role": "owner"},
        content_type="application/json",
        **bearer(acme, member),
    )
    assert response.status_code == 200
    assert response.json()["full_name"] == "Ada Lovelace"
    assert response.json()["role"] == "member"


def test_session_auth_works_for_reads_and_enforces_csrf_for_writes(make_tenant):
    acme = make_tenant("auth_m")
    client = acme.logged_in_client()
    client.handler.enforce_csrf_checks = True
    assert client.get("/api/v1/auth/me/").status_code == 200
    response = client.patch("/api/v1/auth/me/", {"full_name": "X"}, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]


def test_no_credentials_is_401_with_a_www_authenticate_header(make_tenant):
    acme = make_tenant("auth_n")
    response = acme.client().get("/api/v1/auth/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "not_authenticated"

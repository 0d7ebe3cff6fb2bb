"""Every role (and API key) against every account endpoint: who may do what."""

from __future__ import annotations

import pytest

from tests.accounts.helpers import bearer, key_header, role_users
from tests.factories import ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db

ADMIN_ONLY = {"owner": True, "admin": True, "member": False, "viewer": False, "key": False}
EVERYONE = {"owner": True, "admin": True, "member": True, "viewer": True, "key": True}
PEOPLE = {**EVERYONE, "key": False}

# (method, path template, body, who is allowed, success status)
ENDPOINTS = [
    ("get", "/api/v1/tenant/", None, EVERYONE, 200),
    ("get", "/api/v1/auth/me/", None, PEOPLE, 200),
    ("patch", "/api/v1/auth/me/", {"full_name": "Renamed"}, PEOPLE, 200),
    ("get", "/api/v1/members/", None, ADMIN_ONLY, 200),
    (
        "post",
        "/api/v1/members/",
        {"email": "{who}-invite@x.test", "role": "viewer"},
        ADMIN_ONLY,
        201,
    ),
    ("get", "/api/v1/members/{target}/", None, ADMIN_ONLY, 200),
    ("patch", "/api/v1/members/{target}/", {"role": "viewer"}, ADMIN_ONLY, 200),
    ("post", "/api/v1/members/{target}/deactivate/", None, ADMIN_ONLY, 200),
    ("post", "/api/v1/members/{target}/reactivate/", None, ADMIN_ONLY, 200),
    ("get", "/api/v1/api-keys/", None, ADMIN_ONLY, 200),
    ("post", "/api/v1/api-keys/", {"name": "k", "scopes": ["read"]}, ADMIN_ONLY, 201),
    ("get", "/api/v1/api-keys/{key}/", None, ADMIN_ONLY, 200),
    ("delete", "/api/v1/api-keys/{key}/", None, ADMIN_ONLY, 204),
]


WHO = ["owner", "admin", "member", "viewer", "key"]


def test_role_matrix(make_tenant):
    """One workspace; each caller acts on its own target member and key. Compared as a whole
    so a failure prints the full who x endpoint table."""
    acme = make_tenant("roles")
    users = role_users(acme)
    owner = users["owner"]
    seen: dict[str, dict[str, int]] = {}
    expected: dict[str, dict[str, int]] = {}
    for who in WHO:
        if who == "key":
            headers = key_header(ApiKeyFactory(tenant=acme, scopes=["read", "write"]).raw)
        else:
            headers = bearer(acme, users[who])
        target = UserFactory(tenant=acme, role="member", email=f"target-{who}@roles.test")
        seen[who], expected[who] = {}, {}
        for method, template, body, allowed, success in ENDPOINTS:
            key = ApiKeyFactory(tenant=acme, name="target", created_by=owner)
            path = template.format(target=target.pk, key=key.pk)
            data = {
                k: v.format(who=who) if isinstance(v, str) else v for k, v in (body or {}).items()
            }
            response = getattr(acme.client(), method)(
                path, data, content_type="application/json", **headers
            )
            label = f"{method.upper()} {template}"
            seen[who][label] = response.status_code
            expected[who][label] = success if allowed[who] else 403
            if response.status_code == 403:
                assert response.json()["error"]["code"] == "permission_denied"
    assert seen == expected

"""Mailed links (invitations, password resets) point at the tenant's primary domain.

They are built from the Domain table and PUBLIC_URL_SCHEME / PUBLIC_URL_PORT, never from the
request's Host (its port, an alias) or X-Forwarded-Proto, which a caller controls.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from django.test import Client, override_settings
from django_tenants.utils import schema_context

from accounts.models import Role, User
from tenants.models import Domain
from tests.accounts.helpers import bearer, owner_of
from tests.conftest import PASSWORD, ROOT, TenantHandle
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SENT: list[str] = []
# What a hostile caller sends: another port, and a scheme the platform does not serve.
HOSTILE: dict[str, Any] = {
    "HTTP_X_FORWARDED_PROTO": "http",
    "HTTP_X_FORWARDED_HOST": "evil.example:666",
}
BEHIND_A_PROXY = {
    "PUBLIC_URL_SCHEME": "https",
    "PUBLIC_URL_PORT": "",
    "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
}


def capture_reset(*, user: User, link: str) -> None:
    SENT.append(link)


def _invite_by_api(handle: TenantHandle, host: str) -> str:
    headers: dict[str, Any] = {**HOSTILE, **bearer(handle, owner_of(handle))}
    response = Client(HTTP_HOST=host).post(
        "/api/v1/members/",
        {"email": "invited@example.com", "role": "viewer"},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 201, response.content
    return str(response.json()["password_set_url"])


@override_settings(**BEHIND_A_PROXY)
def test_an_api_invitation_ignores_the_requests_port_and_forwarded_headers(make_tenant):
    handle = make_tenant("link_api")
    link = _invite_by_api(handle, "link-api.localhost:666")
    assert link.startswith("https://link-api.localhost/password/set/"), link


@override_settings(**BEHIND_A_PROXY)
def test_a_link_requested_on_an_alias_points_at_the_primary_domain(make_tenant):
    handle = make_tenant("link_alias")
    Domain.objects.create(domain="alias-of-link.localhost", tenant=handle.tenant, is_primary=False)
    link = _invite_by_api(handle, "alias-of-link.localhost")
    assert link.startswith("https://link-alias.localhost/password/set/"), link


@override_settings(PUBLIC_URL_SCHEME="https", PUBLIC_URL_PORT="8443")
def test_the_configured_port_is_part_of_the_link(make_tenant):
    handle = make_tenant("link_port")
    link = _invite_by_api(handle, "link-port.localhost:666")
    assert link.startswith("https://link-port.localhost:8443/password/set/"), link


@override_settings(
    **BEHIND_A_PROXY, PASSWORD_RESET_DELIVERY="tests.accounts.test_link_origin.capture_reset"
)
def test_a_password_reset_link_ignores_the_requests_host(make_tenant):
    SENT.clear()
    handle = make_tenant("link_reset")
    client = Client(HTTP_HOST="link-reset.localhost:666", **HOSTILE)
    response = client.post("/password/forgot/", {"email": handle.admin_email})
    assert response.status_code == 302
    assert len(SENT) == 1
    assert SENT[0].startswith("https://link-reset.localhost/password/set/"), SENT[0]


@override_settings(**BEHIND_A_PROXY)
def test_a_dashboard_invitation_ignores_the_requests_host(make_tenant):
    handle = make_tenant("link_page")
    admin = UserFactory(tenant=handle, role=Role.ADMIN)
    client = Client(HTTP_HOST="link-page.localhost:666", **HOSTILE)
    with schema_context(handle.schema):
        assert client.login(username=admin.email, password=PASSWORD)
    response = client.post(
        "/settings/members/", {"email": "new@link-page.test", "full_name": "", "role": "viewer"}
    )
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert "https://link-page.localhost/password/set/" in html
    assert ":666" not in html


def _link_settings(**environment: str) -> str:
    """PUBLIC_URL_SCHEME and PUBLIC_URL_PORT as a fresh process reads them, or its error."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PUBLIC_URL_SCHEME", "PUBLIC_URL_PORT", "PORT", "DJANGO_ENV"}
    }
    # Settings only parse these URLs; nothing connects (and no embedded server starts).
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL="postgres://nobody@127.0.0.1:1/nothing",
        REDIS_URL="redis://127.0.0.1:1/0",
        **environment,
    )
    code = "from django.conf import settings as s; print(s.PUBLIC_URL_SCHEME, s.PUBLIC_URL_PORT)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    return result.stdout.strip() if result.returncode == 0 else result.stderr


def test_link_settings_default_to_https_in_production_and_make_runs_port_in_development():
    production = {"DJANGO_ENV": "production", "SECRET_KEY": "x" * 60, "DEBUG": "off"}
    production["ALLOWED_HOSTS"] = ".example.com"
    assert _link_settings(**production) == "https"
    assert _link_settings(**production, PUBLIC_URL_PORT="8443", PORT="8123") == "https 8443"
    assert _link_settings(DI_TESTING="0") == "http 8000"
    assert _link_settings(DI_TESTING="0", PORT="8123") == "http 8123"
    assert _link_settings(DI_TESTING="1", PORT="8123") == "http"  # the test client has no port
    refused = _link_settings(PUBLIC_URL_SCHEME="ftp")
    assert "PUBLIC_URL_SCHEME must be 'http' or 'https'" in refused
    assert "PUBLIC_URL_PORT must be a port number" in _link_settings(PUBLIC_URL_PORT="80a")

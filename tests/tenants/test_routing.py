"""Host-name routing: unknown hosts 404, inactive tenants 403, health on any host."""

from __future__ import annotations

import pytest
from django.test import Client

from tenants.services import set_tenant_active

pytestmark = pytest.mark.django_db


def test_unknown_host_is_404_json_for_the_api():
    response = Client(HTTP_HOST="nobody.localhost").get("/api/v1/tenant/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_host"
    assert "nobody.localhost" in response.json()["error"]["message"]


def test_unknown_host_is_404_page_for_browsers():
    response = Client(HTTP_HOST="nobody.localhost").get("/", HTTP_ACCEPT="text/html")
    assert response.status_code == 404
    assert b"There is no workspace at nobody.localhost" in response.content


def test_inactive_tenant_is_403_with_a_clear_message(make_tenant):
    handle = make_tenant("sleepy")
    set_tenant_active(tenant=handle.tenant, active=False)

    api = handle.client().get("/api/v1/tenant/")
    assert api.status_code == 403
    assert api.json()["error"]["code"] == "tenant_inactive"
    assert "deactivated" in api.json()["error"]["message"]

    page = handle.client().get("/login/", HTTP_ACCEPT="text/html")
    assert page.status_code == 403
    assert b"deactivated" in page.content


def test_active_tenant_serves_its_own_login_page(make_tenant):
    handle = make_tenant("awake")
    response = handle.client().get("/login/")
    assert response.status_code == 200
    assert b"Log in" in response.content


def test_tenant_api_knows_its_tenant_and_user(make_tenant):
    handle = make_tenant("whoami")
    response = handle.logged_in_client().get("/api/v1/tenant/")
    assert response.status_code == 200
    assert response.json()["schema"] == "whoami"
    assert response.json()["email"] == handle.admin_email


def test_public_host_serves_admin_not_the_tenant_api():
    client = Client(HTTP_HOST="localhost")
    assert client.get("/admin/login/").status_code == 200
    assert client.get("/api/v1/tenant/").status_code == 404


@pytest.mark.parametrize("host", ["localhost", "whatever.localhost", "127.0.0.1"])
def test_health_live_answers_on_any_host(host):
    response = Client(HTTP_HOST=host).get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_ready_names_each_check():
    response = Client(HTTP_HOST="localhost").get("/health/ready")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is True

"""Host-name routing: unknown hosts 404, inactive tenants 403, health on any host."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from config import workers
from tenants.middleware import tenant_cache
from tenants.models import Tenant
from tenants.services import delete_tenant, set_tenant_active
from tests.accounts.helpers import bearer, owner_of

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
    assert b'href="/"' not in page.content  # the start page would only refuse again


def test_an_inactive_workspaces_page_is_styled_and_names_whom_to_write_to(make_tenant, settings):
    settings.SUPPORT_EMAIL = "help@platform.example"
    handle = make_tenant("sleepy_styled")
    set_tenant_active(tenant=handle.tenant, active=False)
    page = handle.client().get("/", HTTP_ACCEPT="text/html")
    text = page.content.decode()
    assert page.status_code == 403
    assert "its owner can write to help@platform.example" in text
    assert 'href="mailto:help@platform.example"' in text
    stylesheet = handle.client().get("/static/css/base.css")
    assert stylesheet.status_code == 200
    assert b"".join(stylesheet.streaming_content)


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
    # As if this process were a worker taking every queue.
    workers.announce(workers.queue_name(name) for name in settings.TASK_QUEUE_NAMES)
    try:
        response = Client(HTTP_HOST="localhost").get("/health/ready")
    finally:
        workers.forget()
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {
        "database", "index_storage", "redis", "workers", "embedder", "answers",
    }  # fmt: skip
    for check in body["checks"].values():
        assert check["ok"] is True
        assert check["status"] == "ok"


def test_deactivation_is_refused_at_once_although_the_tenant_was_routed_before(make_tenant):
    handle = make_tenant("cached_off")
    assert handle.client().get("/login/").status_code == 200  # routed, and remembered
    set_tenant_active(tenant=handle.tenant, active=False)
    assert handle.client().get("/api/v1/tenant/").status_code == 403
    set_tenant_active(tenant=handle.tenant, active=True)
    assert handle.client().get("/login/").status_code == 200


def test_deletion_is_a_404_at_once(make_tenant):
    handle = make_tenant("cached_gone")
    assert handle.client().get("/login/").status_code == 200
    delete_tenant(tenant=handle.tenant)
    response = handle.client().get("/api/v1/tenant/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_host"


def test_a_change_made_by_another_process_applies_within_tenant_cache_seconds(make_tenant):
    handle = make_tenant("cached_far")
    with override_settings(TENANT_CACHE_SECONDS=0.3):
        assert handle.client().get("/login/").status_code == 200
        # Another process (an operator's command, another web worker) sends no signal here.
        Tenant.objects.filter(pk=handle.tenant.pk).update(is_active=False)
        assert handle.client().get("/login/").status_code == 200  # still remembered
        time.sleep(0.35)
        assert handle.client().get("/login/").status_code == 403
    with override_settings(TENANT_CACHE_SECONDS=0):
        Tenant.objects.filter(pk=handle.tenant.pk).update(is_active=True)
        assert handle.client().get("/login/").status_code == 200  # no cache: read every time


def test_routed_tenants_are_copies(make_tenant):
    handle = make_tenant("cached_copy")
    first = handle.client().get("/api/v1/tenant/", **bearer(handle, owner_of(handle)))
    assert first.status_code == 200
    cached = tenant_cache.get(handle.domain)
    assert cached is not None
    assert cached.schema_name == handle.schema
    cached.name = "changed by one request"
    again = tenant_cache.get(handle.domain)
    assert again is not None
    assert again.name == handle.tenant.name


def _search_path_sets(handle, **headers):
    with CaptureQueriesContext(connection) as queries:
        assert handle.client().get("/api/v1/tenant/", **headers).status_code == 200
    return [q["sql"] for q in queries.captured_queries if "search_path" in q["sql"]]


def test_the_search_path_is_set_only_when_it_changes(make_tenant):
    alpha, beta = make_tenant("path_a"), make_tenant("path_b")
    a_headers, b_headers = bearer(alpha, owner_of(alpha)), bearer(beta, owner_of(beta))
    _search_path_sets(alpha, **a_headers)  # alpha's host is routed, and remembered
    assert _search_path_sets(alpha, **a_headers) == []  # same tenant, same connection
    assert _search_path_sets(beta, **b_headers) == [  # first visit: looked up in public
        'SET search_path = "public"',
        'SET search_path = "path_b","public"',
    ]
    assert _search_path_sets(beta, **b_headers) == []
    assert len(_search_path_sets(alpha, **a_headers)) == 1  # back to alpha (remembered): set
    # When django-tenants no longer knows the path (it forgets it on rollback and reconnect),
    # routing does not claim it either.
    connection.search_path_set_schemas = None  # type: ignore[attr-defined]
    assert len(_search_path_sets(alpha, **a_headers)) == 1

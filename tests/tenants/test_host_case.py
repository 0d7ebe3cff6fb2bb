"""Host names route case-insensitively (RFC 4343), without port or trailing dot; no `www.` alias."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tenants.middleware import tenant_cache
from tenants.models import Domain
from tenants.services import provision_tenant
from tests.accounts.helpers import bearer, owner_of
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "host", ["CASE-A.LOCALHOST", "Case-A.Localhost", "case-a.localhost.", "CASE-A.localhost:8000"]
)
def test_any_spelling_of_the_host_reaches_the_tenant_api(make_tenant, host):
    handle = make_tenant("case_a")
    headers: dict[str, Any] = bearer(handle, owner_of(handle))
    response = Client(HTTP_HOST=host).get("/api/v1/tenant/", **headers)
    assert response.status_code == 200, response.content
    assert response.json()["schema"] == "case_a"


def test_an_upper_case_host_serves_the_tenants_pages(make_tenant):
    make_tenant("case_page")
    response = Client(HTTP_HOST="CASE-PAGE.LOCALHOST").get("/login/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"Log in" in response.content


def _domain_lookups(host: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert Client(HTTP_HOST=host).get("/login/").status_code == 200
    return sum('"tenants_domain"' in query["sql"] for query in queries.captured_queries)


def test_the_routing_cache_holds_one_entry_per_host_whatever_its_case(make_tenant):
    make_tenant("case_cache")
    tenant_cache.clear()
    assert _domain_lookups("CASE-CACHE.LOCALHOST") == 1
    assert tenant_cache.get("case-cache.localhost") is not None  # stored under the normal form
    assert tenant_cache.get("CASE-CACHE.LOCALHOST") is None
    assert _domain_lookups("case-cache.localhost") == 0  # the same entry serves every spelling
    assert _domain_lookups("Case-Cache.Localhost:8000") == 0


def test_domains_are_stored_lower_case(make_tenant):
    handle = make_tenant("case_store")
    alias = Domain.objects.create(
        domain=" Alias-Store.LOCALHOST. ", tenant=handle.tenant, is_primary=False
    )
    alias.refresh_from_db()
    assert alias.domain == "alias-store.localhost"
    assert Client(HTTP_HOST="alias-store.localhost").get("/login/").status_code == 200


def test_a_mixed_case_domain_is_a_duplicate_of_its_lower_case_form(make_tenant):
    handle = make_tenant("case_dup")
    duplicate = Domain(domain="CASE-DUP.localhost", tenant=handle.tenant)
    with pytest.raises(ValidationError, match="already exists"):
        duplicate.full_clean()


def test_www_is_not_an_alias_of_a_tenants_domain(make_tenant):
    make_tenant("case_www")
    for host in ("www.case-www.localhost", "WWW.case-www.localhost"):
        response = Client(HTTP_HOST=host).get("/api/v1/tenant/")
        assert response.status_code == 404, host
        assert response.json()["error"]["code"] == "unknown_host"


def test_a_registered_www_domain_routes_like_any_other(make_tenant):
    handle = make_tenant("case_www_reg")
    Domain.objects.create(
        domain="www.case-www-reg.localhost", tenant=handle.tenant, is_primary=False
    )
    headers: dict[str, Any] = bearer(handle, owner_of(handle))
    response = Client(HTTP_HOST="WWW.Case-Www-Reg.localhost").get("/api/v1/tenant/", **headers)
    assert response.status_code == 200, response.content
    assert response.json()["schema"] == "case_www_reg"


def test_the_migration_lower_cases_stored_domains_but_keeps_twins(make_tenant):
    handle = make_tenant("case_migrate")
    mixed = Domain.objects.create(domain="mixed.localhost", tenant=handle.tenant, is_primary=False)
    twin = Domain.objects.create(domain="twin.localhost", tenant=handle.tenant, is_primary=False)
    Domain.objects.filter(pk=mixed.pk).update(domain="Mixed.LocalHost.")  # as older code saved
    Domain.objects.filter(pk=twin.pk).update(domain="TWIN.localhost")
    Domain.objects.bulk_create(
        [Domain(domain="twin.localhost", tenant=handle.tenant, is_primary=False)]
    )
    migration = importlib.import_module("tenants.migrations.0006_lowercase_domains")
    migration.lower_case_domains(apps, None)
    assert Domain.objects.get(pk=mixed.pk).domain == "mixed.localhost"
    assert Domain.objects.get(pk=twin.pk).domain == "TWIN.localhost"  # unreachable before too


def test_provisioning_stores_the_domain_in_its_normal_form(db):
    result = provision_tenant(
        schema_name="case_prov",
        name="Case Prov",
        domain=" Case-Prov.LOCALHOST. ",
        admin_email="owner@case-prov.test",
        admin_password=PASSWORD,
    )
    assert result.domain.domain == "case-prov.localhost"
    assert Client(HTTP_HOST="Case-Prov.Localhost").get("/login/").status_code == 200

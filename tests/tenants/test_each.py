"""The one loop over tenants every per-tenant job uses: same rules for inactive tenants and
failures everywhere."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError

from tenants.db import current_schema
from tenants.each import for_each_tenant
from tenants.models import Tenant

pytestmark = pytest.mark.django_db


def test_each_tenant_runs_in_its_own_schema_and_a_failure_stops_no_other(make_tenant: Any):
    first, broken, last = (make_tenant(s) for s in ("each_a", "each_b", "each_c"))
    Tenant.objects.filter(pk=last.tenant.pk).update(is_active=False)

    def job(tenant: Tenant) -> str:
        if tenant.schema_name == broken.schema:
            raise DatabaseError("relation does not exist")
        return current_schema()

    ours = {first.schema, broken.schema, last.schema}
    active = for_each_tenant(job, job_name="test job")
    assert {k: v for k, v in active.results.items() if k in ours} == {first.schema: first.schema}
    assert active.failures[broken.schema] == "DatabaseError: relation does not exist"
    assert current_schema() == "public"  # back where the caller was

    everyone = for_each_tenant(job, job_name="test job", include_inactive=True)
    assert last.schema in everyone.results  # inactive tenants when the job asks for them


def test_errors_outside_the_caught_kinds_are_not_hidden(make_tenant: Any):
    make_tenant("each_bug")

    def job(tenant: Tenant) -> None:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        for_each_tenant(job, job_name="test job")
    assert current_schema() == "public"

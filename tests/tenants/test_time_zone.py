"""A workspace's time zone: set at provisioning (service, command, admin), validated, edited."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_exists

from tenants.models import OperatorAction, Tenant
from tenants.services import ProvisioningError, provision_tenant, set_time_zone
from tenants.time_zones import (
    canonical_time_zone,
    time_zone_names,
    validate_time_zone,
    zone_of,
)

pytestmark = pytest.mark.django_db
PASSWORD = "Correct-horse-42"


def _provision(schema: str, **extra: str) -> Tenant:
    return provision_tenant(
        schema_name=schema,
        name=schema.title(),
        domain=f"{schema.replace('_', '-')}.localhost",
        admin_email=f"boss@{schema.replace('_', '-')}.test",
        admin_password=PASSWORD,
        **extra,
    ).tenant


def test_names_are_the_tz_databases_sorted_and_matched_ignoring_case():
    names = time_zone_names()
    assert names == sorted(names)
    assert {"UTC", "Europe/Berlin", "Asia/Tokyo", "America/Los_Angeles"} <= set(names)
    assert "localtime" not in names  # the host's zone is no place
    assert canonical_time_zone(" europe/BERLIN ") == "Europe/Berlin"
    assert canonical_time_zone("Berlin") is None
    assert canonical_time_zone("../../etc/passwd") is None


def test_the_model_stores_exact_iana_names_only():
    validate_time_zone("Europe/Berlin")
    for bad in ("europe/berlin", "Mars/Base", "", "CEST"):
        with pytest.raises(ValidationError, match="is not a time zone we know"):
            validate_time_zone(bad)
    tenant = Tenant(schema_name="zone_model", name="Z", slug="zone-model", time_zone="Nowhere")
    with pytest.raises(ValidationError) as refused:
        tenant.full_clean()
    assert refused.value.message_dict["time_zone"] == [
        "'Nowhere' is not a time zone we know; use an IANA name such as 'Europe/Berlin', "
        "'America/Los_Angeles' or 'UTC'."
    ]


def test_provisioning_sets_the_zone_or_defaults_to_utc():
    assert _provision("zone_default").time_zone == "UTC"
    berlin = _provision("zone_berlin", time_zone="europe/berlin")
    assert Tenant.objects.get(pk=berlin.pk).time_zone == "Europe/Berlin"
    assert zone_of(berlin).key == "Europe/Berlin"


def test_provisioning_refuses_an_unknown_zone_before_creating_anything():
    with pytest.raises(ProvisioningError, match="'Mars/Base' is not a time zone we know"):
        _provision("zone_mars", time_zone="Mars/Base")
    assert not Tenant.objects.filter(schema_name="zone_mars").exists()
    assert not schema_exists("zone_mars")


def test_create_tenant_takes_an_optional_time_zone(capsys):
    args = ["--name", "Tokyo Co", "--admin-email", "boss@tokyo.test", "--admin-password", PASSWORD]
    call_command("create_tenant", "--schema", "cli_tokyo", "--domain", "cli-tokyo.localhost",
                 "--time-zone", "Asia/Tokyo", *args)  # fmt: skip
    assert "Time zone: Asia/Tokyo" in capsys.readouterr().out
    assert Tenant.objects.get(schema_name="cli_tokyo").time_zone == "Asia/Tokyo"
    with pytest.raises(CommandError, match="'Tokio' is not a time zone we know"):
        call_command("create_tenant", "--schema", "cli_tokio", "--domain", "cli-tokio.localhost",
                     "--time-zone", "Tokio", *args)  # fmt: skip


def test_a_zone_that_left_the_tz_database_falls_back_to_utc(make_tenant):
    handle = make_tenant("zone_gone")
    Tenant.objects.filter(pk=handle.tenant.pk).update(time_zone="Atlantis/Capital")
    assert zone_of(Tenant.objects.get(pk=handle.tenant.pk)).key == "UTC"
    assert zone_of(None).key == "UTC"
    with pytest.raises(ValidationError):
        set_time_zone(tenant=handle.tenant, time_zone="Atlantis/Capital")


def test_operators_set_the_zone_when_creating_and_editing_in_admin(operator):
    form = operator.get("/admin/tenants/tenant/add/").content.decode()
    assert '<select name="time_zone"' in form
    assert '<option value="Asia/Tokyo">Asia/Tokyo</option>' in form
    created = operator.post(
        "/admin/tenants/tenant/add/",
        {
            "schema_name": "op_zone", "name": "Zone Co", "plan": "pro",
            "time_zone": "America/Los_Angeles", "domain": "op-zone.localhost",
            "admin_email": "boss@op-zone.test", "admin_password": "",
        },
    )  # fmt: skip
    assert created.status_code == 302
    tenant = Tenant.objects.get(schema_name="op_zone")
    assert tenant.time_zone == "America/Los_Angeles"

    change = f"/admin/tenants/tenant/{tenant.pk}/change/"
    page = operator.get(change).content.decode()
    assert '<option value="America/Los_Angeles" selected>' in page
    fields = {"name": "Zone Co", "plan": "pro", "is_active": "on", "embedding_backend": "",
              "domains-TOTAL_FORMS": "0", "domains-INITIAL_FORMS": "0"}  # fmt: skip
    refused = operator.post(change, {**fields, "time_zone": "Mars/Base"})
    assert refused.status_code == 200
    assert "&#x27;Mars/Base&#x27; is not a time zone we know" in refused.content.decode()
    assert operator.post(change, {**fields, "time_zone": "Europe/Berlin"}).status_code == 302
    assert Tenant.objects.get(pk=tenant.pk).time_zone == "Europe/Berlin"
    audit = OperatorAction.objects.filter(action="change", tenant_schema="op_zone").get()
    assert "time_zone='Europe/Berlin'" in audit.detail

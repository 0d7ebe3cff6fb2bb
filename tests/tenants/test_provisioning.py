"""Provisioning: schema + domain + admin in one step, validated, all-or-nothing."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from accounts.models import Role, User
from tenants.models import Domain, Tenant
from tenants.services import (
    FIRST_ADMIN_ROLE,
    ProvisioningError,
    provision_tenant,
    set_tenant_active,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_provisioning_creates_schema_domain_and_owner(make_tenant):
    handle = make_tenant("acme")

    assert schema_exists("acme")
    assert Domain.objects.get(domain="acme.localhost").tenant == handle.tenant
    with schema_context("acme"):
        owner = User.objects.get()
        assert owner.email == "owner@acme.test"
        assert owner.role == Role.OWNER
        assert owner.check_password(handle.password)
    # The tenant's admin is not an operator: the public schema has no such user.
    assert not User.objects.filter(email="owner@acme.test").exists()


def test_two_tenants_rows_live_in_separate_schemas(make_tenant):
    north = make_tenant("north")
    make_tenant("south")
    UserFactory(tenant=north, email="only-north@example.com")
    with schema_context("north"):
        assert User.objects.filter(email="only-north@example.com").exists()
    with schema_context("south"):
        assert not User.objects.filter(email="only-north@example.com").exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM north.accounts_user")
        assert cursor.fetchone()[0] == 2
        cursor.execute("SELECT count(*) FROM south.accounts_user")
        assert cursor.fetchone()[0] == 1


@pytest.mark.parametrize(
    ("schema", "fragment"),
    [
        ("public", "reserved"),
        ("tenant_template", "reserved"),
        ("pg_catalog", "reserved"),
        ("Acme", "not valid"),
        ("acme-corp", "not valid"),
        ("1acme", "not valid"),
        ("a", "not valid"),
        ("acme; drop schema public", "not valid"),
    ],
)
def test_bad_schema_names_are_refused_with_a_clear_error(schema, fragment):
    before = Tenant.objects.count()
    with pytest.raises(ProvisioningError, match=fragment):
        provision_tenant(
            schema_name=schema,
            name="X",
            domain="x.localhost",
            admin_email="a@x.test",
            admin_password="Correct-horse-42",
        )
    assert Tenant.objects.count() == before
    assert not Domain.objects.filter(domain="x.localhost").exists()


def test_duplicate_schema_and_domain_are_refused(make_tenant):
    make_tenant("dupe")
    with pytest.raises(ProvisioningError, match="already exists"):
        provision_tenant(
            schema_name="dupe",
            name="X",
            domain="other.localhost",
            admin_email="a@x.test",
            admin_password="Correct-horse-42",
        )
    with pytest.raises(ProvisioningError, match="already used"):
        provision_tenant(
            schema_name="other",
            name="X",
            domain="dupe.localhost",
            admin_email="a@x.test",
            admin_password="Correct-horse-42",
        )


def test_failed_provisioning_leaves_nothing_behind(monkeypatch):
    # The owner cannot be created (invalid email reaches the model): everything rolls back.
    def explode(*args, **kwargs):
        raise RuntimeError("disk full while creating the owner")

    monkeypatch.setattr(User.objects, "create_user", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        provision_tenant(
            schema_name="doomed",
            name="Doomed",
            domain="doomed.localhost",
            admin_email="a@doomed.test",
            admin_password="Correct-horse-42",
        )
    assert not Tenant.objects.filter(schema_name="doomed").exists()
    assert not Domain.objects.filter(domain="doomed.localhost").exists()
    assert not schema_exists("doomed")


def test_weak_admin_password_is_refused():
    with pytest.raises(ProvisioningError, match="too weak"):
        provision_tenant(
            schema_name="weak",
            name="Weak",
            domain="weak.localhost",
            admin_email="a@weak.test",
            admin_password="123",
        )
    assert not schema_exists("weak")


def test_create_tenant_command_provisions_a_working_tenant(capsys):
    call_command(
        "create_tenant",
        "--schema",
        "cli_co",
        "--name",
        "CLI Co",
        "--domain",
        "cli-co.localhost",
        "--admin-email",
        "boss@cli.test",
        "--admin-password",
        "Correct-horse-42",
    )
    out = capsys.readouterr().out
    assert "Tenant 'cli_co' is ready at cli-co.localhost" in out
    assert schema_exists("cli_co")
    with schema_context("cli_co"):
        assert User.objects.filter(email="boss@cli.test", role=Role.OWNER).exists()


def test_create_tenant_command_reports_bad_schema_as_command_error():
    with pytest.raises(CommandError, match="reserved"):
        call_command(
            "create_tenant",
            "--schema",
            "public",
            "--name",
            "x",
            "--domain",
            "x.localhost",
            "--admin-email",
            "a@x.test",
            "--admin-password",
            "Correct-horse-42",
        )


def test_deactivate_and_reactivate(make_tenant):
    handle = make_tenant("toggle")
    set_tenant_active(tenant=handle.tenant, active=False)
    assert not Tenant.objects.get(pk=handle.tenant.pk).is_active
    set_tenant_active(tenant=handle.tenant, active=True)
    assert Tenant.objects.get(pk=handle.tenant.pk).is_active


def test_a_tenant_created_meanwhile_is_refused_with_the_usual_sentence(make_tenant, monkeypatch):
    """Two `create_tenant` at once: the loser gets the sentence, not an IntegrityError."""
    import tenants.services as services

    make_tenant("racer")
    checks = {"calls": 0}
    real_validate = services._validate

    def checks_pass_first(**kwargs):  # as if the other tenant was committed just after
        checks["calls"] += 1
        if checks["calls"] > 1:
            real_validate(**kwargs)

    monkeypatch.setattr(services, "_validate", checks_pass_first)
    with pytest.raises(ProvisioningError, match="schema name 'racer' already exists"):
        provision_tenant(
            schema_name="racer",
            name="Racer again",
            domain="racer-two.localhost",
            admin_email="a@racer.test",
            admin_password="Correct-horse-42",
        )
    assert not Domain.objects.filter(domain="racer-two.localhost").exists()


def test_drop_tenant_command_removes_schema_rows_and_files(make_tenant, settings, tmp_path):
    from pathlib import Path

    settings.MEDIA_ROOT, settings.INDEX_ROOT = str(tmp_path / "media"), str(tmp_path / "index")
    handle = make_tenant("dropme")
    for root in (settings.MEDIA_ROOT, settings.INDEX_ROOT):
        (Path(root) / "dropme").mkdir(parents=True)
        (Path(root) / "dropme" / "file.bin").write_bytes(b"x")
    with pytest.raises(CommandError, match="no tenant with the schema name 'nosuch'"):
        call_command("drop_tenant", "--schema", "nosuch", "--noinput")
    call_command("drop_tenant", "--schema", handle.schema, "--noinput")
    assert not Tenant.objects.filter(schema_name="dropme").exists()
    assert not schema_exists("dropme")
    assert not (Path(settings.MEDIA_ROOT) / "dropme").exists()
    assert not (Path(settings.INDEX_ROOT) / "dropme").exists()
    with pytest.raises(CommandError, match="public schema cannot be deleted"):
        call_command("drop_tenant", "--schema", "public", "--noinput")


def test_the_first_admins_role_is_accounts_owner_role():
    # tenants names the role without importing accounts (it sits below it).
    assert FIRST_ADMIN_ROLE == Role.OWNER

"""`--tenant S` / `--all` handling shared by the documents management commands."""

from __future__ import annotations

from django.core.management.base import CommandError, CommandParser

from tenants.models import Tenant


def add_tenant_arguments(parser: CommandParser, *, allow_all: bool = True) -> None:
    parser.add_argument("--tenant", metavar="SCHEMA", help="the tenant's schema name")
    if allow_all:
        parser.add_argument("--all", action="store_true", help="every active tenant")


def selected_tenants(options: dict[str, object]) -> list[Tenant]:
    schema = options.get("tenant")
    if options.get("all"):
        return list(Tenant.objects.exclude(schema_name="public").filter(is_active=True))
    if not schema:
        raise CommandError("Say which tenant: --tenant SCHEMA (or --all).")
    tenant = Tenant.objects.filter(schema_name=str(schema)).first()
    if tenant is None or tenant.schema_name == "public":
        raise CommandError(f"There is no tenant with the schema name '{schema}'.")
    return [tenant]

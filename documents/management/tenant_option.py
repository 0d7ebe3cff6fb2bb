"""`--tenant S` / `--all` handling shared by the documents management commands."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from tenants.models import Tenant


class StrictCommand(BaseCommand):
    """A command whose long options must be spelled out: argparse's prefix matching is off.

    With abbreviations `ingest --all` would silently mean `--allow-duplicate`. It also
    refuses, with a sentence, to run on a database that was never migrated (instead of a
    "relation does not exist" traceback).
    """

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.allow_abbrev = False
        return parser

    def execute(self, *args: Any, **options: Any) -> str | None:
        if Tenant._meta.db_table not in connection.introspection.table_names():
            raise CommandError(
                "The database has no tables yet: run `python manage.py migrate_schemas` (or "
                "`make run` once), then try again."
            )
        return super().execute(*args, **options)


def add_tenant_arguments(parser: CommandParser, *, allow_all: bool = True) -> None:
    parser.add_argument("--tenant", metavar="SCHEMA", help="the tenant's schema name")
    if allow_all:
        parser.add_argument("--all", action="store_true", help="every active tenant")


def selected_tenants(options: dict[str, object], *, allow_all: bool = True) -> list[Tenant]:
    """The tenants `--tenant`/`--all` name; pass allow_all=False if the command has no --all."""
    schema = options.get("tenant")
    if allow_all and options.get("all"):
        if schema:
            raise CommandError("Give either --tenant or --all, not both.")
        return list(Tenant.objects.exclude(schema_name="public").filter(is_active=True))
    if not schema:
        hint = " (or --all)" if allow_all else ""
        raise CommandError(f"Say which tenant: --tenant SCHEMA{hint}.")
    tenant = Tenant.objects.filter(schema_name=str(schema)).first()
    if tenant is None or tenant.schema_name == "public":
        raise CommandError(f"There is no tenant with the schema name '{schema}'.")
    return [tenant]

"""`manage.py drop_tenant --schema S [--noinput]`: delete a tenant for good.

Its schema (every document, chunk, query and member), its domains, and its stored files and
index files under MEDIA_ROOT/<schema> and INDEX_ROOT/<schema> — what django-tenants' own
`delete_tenant` command leaves on disk. Asks to type the schema name unless --noinput.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.models import Tenant
from tenants.services import ProvisioningError, delete_tenant


class Command(BaseCommand):
    help = "Delete a tenant for good: schema, domains, stored files and index files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--schema", required=True, help="the tenant's schema name")
        parser.add_argument(
            "--noinput", "--no-input", action="store_false", dest="interactive",
            help="do not ask for confirmation",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        schema = str(options["schema"]).strip()
        tenant = Tenant.objects.filter(schema_name=schema).first()
        if tenant is None:
            raise CommandError(f"There is no tenant with the schema name '{schema}'.")
        if options["interactive"]:
            answer = input(
                f"This deletes '{tenant.name}' ({schema}) and all its data for good. "
                "Type the schema name to confirm: "
            )
            if answer.strip() != schema:
                raise CommandError("Nothing was deleted: the name typed did not match.")
        try:
            delete_tenant(tenant=tenant)
        except ProvisioningError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Deleted the tenant '{schema}' and its files."))

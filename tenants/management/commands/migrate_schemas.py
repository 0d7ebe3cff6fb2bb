"""django-tenants' migrate_schemas, plus the template schema and the public host's tenant row."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.utils import schema_exists

from tenants.services import ensure_public_tenant, migrate_template, template_schema_name


class Command(MigrateSchemasCommand):
    help = (
        "Migrate the public schema, every tenant schema and the template schema new "
        "tenants are cloned from."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        super().handle(*args, **options)
        if options.get("schema_name") or options.get("migration_name"):
            return
        if self.sync_public:
            ensure_public_tenant(domain=settings.PUBLIC_DOMAIN)
        if self.sync_tenant:
            name = template_schema_name()
            if not schema_exists(name):
                with connection.cursor() as cursor:
                    cursor.execute(f'CREATE SCHEMA "{name}"')
            migrate_template(verbosity=int(options.get("verbosity", 1)))

"""django-tenants' migrate_schemas, plus the template schema and the public host's tenant row.

Migrating every tenant hands the migration executor only the schemas that lack a migration
on disk (tenants/migration_state.py); the others are counted and skipped, so a deploy with no
new migration over a thousand tenants takes seconds instead of minutes. A run that names a
schema, an app or a migration, or asks for a plan, a check, pruning or syncdb, is django-tenants'
own. `--executor=multiprocessing` migrates the schemas that are behind in parallel
(TENANT_MULTIPROCESSING_MAX_PROCESSES; docs/operations.md).
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import connection
from django_tenants.management.commands import SyncCommon
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.migration_executors import get_executor
from django_tenants.utils import get_public_schema_name, get_tenant_model, schema_exists

from tenants.migration_state import expected_tenant_migrations, schemas_behind
from tenants.services import ensure_public_tenant, migrate_template, template_schema_name

# Options that make a run django-tenants' own (each needs Django's per-schema migrate).
_OWN_RUN = ("schema_name", "app_label", "migration_name", "plan", "check_unapplied", "prune")


class Command(MigrateSchemasCommand):
    help = (
        "Migrate the public schema, every tenant schema that is behind and the template "
        "schema new tenants are cloned from."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if any(options.get(name) for name in _OWN_RUN) or options.get("run_syncdb"):
            super().handle(*args, **options)
        else:
            self._migrate_what_is_behind(*args, **options)
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

    def _migrate_what_is_behind(self, *args: Any, **options: Any) -> None:
        SyncCommon.handle(self, *args, **options)
        public = get_public_schema_name()
        executor = get_executor(codename=self.executor)(self.args, self.options)
        if self.sync_public:
            executor.run_migrations(tenants=[public])
        if not self.sync_tenant:
            return
        started = time.monotonic()
        schemas = list(
            get_tenant_model()
            .objects.exclude(schema_name=public)
            .order_by("pk")
            .values_list("schema_name", flat=True)
        )
        behind = schemas_behind(schemas, expected_tenant_migrations())
        if int(options.get("verbosity", 1)) >= 1:
            self.stdout.write(
                f"{len(schemas) - len(behind)} of {len(schemas)} tenant schemas are at the "
                f"latest migration ({time.monotonic() - started:.1f} s to check); "
                f"migrating {len(behind)}."
            )
        if behind:
            executor.run_migrations(tenants=behind)

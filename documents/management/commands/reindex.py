"""`manage.py reindex --tenant S`: run every document through the pipeline again.

Use it after the tenant's embedding model changed: the old vectors are set aside (never
mixed with the new ones) and documents become searchable again as they are re-embedded.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django_tenants.utils import tenant_context

from documents.embedder_choice import backend_for_current_tenant
from documents.management.tenant_option import add_tenant_arguments, selected_tenants
from documents.services import reindex_all


class Command(BaseCommand):
    help = "Queue every document of a tenant for ingestion again (e.g. after a model change)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_tenant_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        for tenant in selected_tenants(options):
            with tenant_context(tenant):
                count = reindex_all()
                backend = backend_for_current_tenant()
            self.stdout.write(
                f"{tenant.schema_name}: queued {count:,} documents for reindexing with the "
                f"'{backend}' embedder; a running worker processes them."
            )

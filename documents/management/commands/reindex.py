"""`manage.py reindex --tenant S`: run every document through the pipeline again.

Use it after the tenant's embedding model changed: the old vectors are set aside (never
mixed with the new ones) and documents become searchable again as they are re-embedded.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django_tenants.utils import tenant_context

from documents.embedder_choice import backend_for_current_tenant
from documents.embeddings import check_backend
from documents.management.tenant_option import (
    StrictCommand,
    add_tenant_arguments,
    selected_tenants,
)
from documents.services import reindex_all
from tenants.models import Tenant


class Command(StrictCommand):
    help = "Queue every document of a tenant for ingestion again (e.g. after a model change)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_tenant_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = selected_tenants(options)
        for tenant in tenants:
            _refuse_unknown_embedder(tenant)
        for tenant in tenants:
            with tenant_context(tenant):
                count = reindex_all()
                backend = backend_for_current_tenant()
            # The workers embed with their own configuration, not this process's.
            if getattr(tenant, "embedding_backend", ""):
                how = f"re-embeds them with the tenant's own '{backend}' backend"
            else:
                how = (
                    "re-embeds them with its own EMBEDDING_BACKEND setting: make sure the "
                    f"workers run with EMBEDDING_BACKEND={backend}"
                )
            self.stdout.write(
                f"{tenant.schema_name}: queued {count:,} documents for reindexing. They wait "
                f"until a Celery worker picks them up; the worker {how}."
            )


def _refuse_unknown_embedder(tenant: Tenant) -> None:
    """Before queueing anything: an embedder name the registry lacks would fail every document."""
    if not tenant.embedding_backend:
        return  # the platform default: each worker's own EMBEDDING_BACKEND
    try:
        check_backend(tenant.embedding_backend)
    except ValueError as exc:
        raise CommandError(
            f"{tenant.schema_name}: {exc} Set the tenant's embedding backend in the operators "
            "admin, then run reindex again."
        ) from None

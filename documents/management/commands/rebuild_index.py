"""`manage.py rebuild_index --tenant S` (or `--all`): rebuild FAISS files from PostgreSQL."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django_tenants.utils import tenant_context
from tqdm import tqdm

from documents import index
from documents.management.tenant_option import add_tenant_arguments, selected_tenants
from documents.models import Chunk


class Command(BaseCommand):
    help = "Rebuild tenants' vector index files from the embeddings stored in PostgreSQL."

    def add_arguments(self, parser: CommandParser) -> None:
        add_tenant_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        for tenant in selected_tenants(options):
            with tenant_context(tenant):
                total = Chunk.objects.count()
                with tqdm(
                    total=total,
                    desc=f"{tenant.schema_name}: reading",
                    unit="vec",
                    disable=options["verbosity"] == 0,
                ) as bar:
                    seen = 0

                    def progress(count: int, bar: Any = bar) -> None:
                        nonlocal seen
                        bar.update(count - seen)
                        seen = count

                    result = index.compact(rebuild=True, progress=progress)
                self.stdout.write(
                    f"{tenant.schema_name}: index v{result.version} with {result.vectors:,} vectors"
                )

"""`manage.py rebuild_index --tenant S` (or `--all`): rebuild FAISS files from PostgreSQL."""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
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
                bars = _Bars(tenant.schema_name, Chunk.objects.count(), options["verbosity"] == 0)
                try:
                    result = index.compact(
                        rebuild=True, progress=bars.reading, link_progress=bars.linking
                    )
                finally:
                    bars.close()
                self.stdout.write(
                    f"{tenant.schema_name}: index v{result.version} with {result.vectors:,} vectors"
                )


class _Bars:
    """Progress of one tenant's rebuild: reading vectors, then finding each one's neighbours."""

    def __init__(self, name: str, total: int, quiet: bool) -> None:
        self.name, self.quiet = name, quiet
        self.read = tqdm(total=total, desc=f"{name}: reading", unit="vec", disable=quiet)
        self.link: Any = None

    def reading(self, count: int) -> None:
        self.read.update(count - self.read.n)

    def linking(self, done: int, of: int) -> None:
        if self.link is None:
            self.read.close()
            self.link = tqdm(
                total=of, desc=f"{self.name}: neighbours", unit="chunk", disable=self.quiet
            )
        self.link.update(done - self.link.n)
        if done >= of and not self.quiet and getattr(settings, "SEARCH_LEXICAL_STORE", True):
            # What the compaction does next has no steps to count (queries/bm25_store.py).
            self.link.close()
            tqdm.write(
                f"{self.name}: building and storing the BM25 matrix for lexical search",
                file=sys.stderr,
            )

    def close(self) -> None:
        self.read.close()
        if self.link is not None:
            self.link.close()

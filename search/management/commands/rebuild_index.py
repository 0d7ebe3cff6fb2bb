"""`manage.py rebuild_index --tenant S` (or `--all`): rebuild FAISS files from PostgreSQL."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django_tenants.utils import tenant_context
from tqdm import tqdm

from documents.embedder_choice import embedder_for_current_tenant
from documents.embeddings import available_backends
from documents.management.tenant_option import (
    StrictCommand,
    add_tenant_arguments,
    selected_tenants,
)
from documents.models import Chunk, IndexState
from search import index
from search.index_io import IndexVolumeFull
from search.settings import search_settings


class Command(StrictCommand):
    help = "Rebuild tenants' vector index files from the embeddings stored in PostgreSQL."

    def add_arguments(self, parser: CommandParser) -> None:
        add_tenant_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = selected_tenants(options)
        skipped: list[str] = []
        for tenant in tenants:
            with tenant_context(tenant):
                refusal = embedder_mismatch(tenant.schema_name)
                if refusal is not None:
                    if not options.get("all"):
                        raise CommandError(refusal)
                    self.stderr.write(f"Skipped {refusal}")
                    skipped.append(tenant.schema_name)
                    continue
                bars = _Bars(tenant.schema_name, Chunk.objects.count(), options["verbosity"] == 0)
                try:
                    result = index.compact(
                        rebuild=True, progress=bars.reading, link_progress=bars.linking
                    )
                except IndexVolumeFull as exc:
                    raise CommandError(str(exc)) from exc
                finally:
                    bars.close()
                self.stdout.write(
                    f"{tenant.schema_name}: index v{result.version} with {result.vectors:,} vectors"
                )
        if skipped:
            raise CommandError(
                f"{len(skipped)} tenant(s) not rebuilt because of an embedder mismatch: "
                f"{', '.join(skipped)}.",
                returncode=1,
            )


def embedder_mismatch(schema: str) -> str | None:
    """Why the current tenant's index must not be rebuilt with the configured embedder.

    A rebuild indexes only the chunks embedded by the configured embedder, so if the stored
    chunks (or the current snapshot) come from another one it would publish an index without
    them and break the tenant's dense search. None when a rebuild is safe.
    """
    configured = embedder_for_current_tenant().name
    stored_by_chunks = set(
        Chunk.objects.values_list("document__embedder", flat=True).distinct().order_by()
    )
    stored_by_index = IndexState.objects.values_list("embedder", flat=True).first() or ""
    if stored_by_index and stored_by_index != configured:
        stored = [stored_by_index]
    elif stored_by_chunks and configured not in stored_by_chunks:
        stored = sorted(name for name in stored_by_chunks if name)
    else:
        return None
    names = " and ".join(f"'{name}'" for name in stored) or "another embedder"
    backends = sorted({_backend_of(name) for name in stored} - {""})
    setting = (
        f"set EMBEDDING_BACKEND={backends[0]} to match"
        if len(backends) == 1
        else "set EMBEDDING_BACKEND to match"
    )
    return (
        f"{schema}: its stored chunks were embedded with {names} but the configured "
        f"embedder is '{configured}', so a rebuild would leave them out of the index; "
        f"{setting}, or run `python manage.py reindex --tenant {schema}` to re-embed "
        "every document with the configured embedder."
    )


def _backend_of(embedder_name: str) -> str:
    """The EMBEDDING_BACKEND value that produces an embedder named like this ('' if unknown)."""
    for backend in available_backends():
        if embedder_name == backend or embedder_name.startswith((f"{backend}:", f"{backend}-")):
            return backend
    return ""


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
        if done >= of and not self.quiet and search_settings().lexical_store:
            # What the compaction does next has no steps to count (search/bm25_store.py).
            self.link.close()
            tqdm.write(
                f"{self.name}: building and storing the BM25 matrix for lexical search",
                file=sys.stderr,
            )

    def close(self) -> None:
        self.read.close()
        if self.link is not None:
            self.link.close()

"""Search latency with collection access filters: 100k chunks spread over 1, 10 and 100
collections, searched by a caller who reads one of them.

    .venv/bin/python bench/collection_filters.py                          # 100k chunks, 100 queries
    .venv/bin/python bench/collection_filters.py --chunks 20000 --queries 50 --no-http

Builds a scratch platform (its own database, folders and cache keys: bench/scratch.py) with
one tenant filled as bench/query.py fills it (documents of 100 chunks of Cranfield
sentences, hashing embedder, compacted). For each layout the documents are dealt round-robin
into N collections besides the empty default one, and the caller reads exactly one of them:
1/N of the chunks. With N = 1 that is every collection, which needs no filter at all (the
path of a workspace that never made a second collection). Each search is uncached
(`no_cache`), in-process (`queries.services.search` with the caller's readable collections)
and, unless `--no-http`, over HTTP to gunicorn (2 workers) with an API key created for that
one collection. The filter is the one search applies to `document_ids`: the readable
documents' chunk ids become a FAISS IDSelectorBatch (search/vectorindex/snapshot.py) and a
column mask of the BM25 matrix (search/bm25.py).
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from itertools import cycle, islice
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import scratch  # noqa: E402

NAME, WORK = scratch.names("bench_collections")
os.environ.update(scratch.environment(NAME, WORK))

import query  # noqa: E402  (sets Django up, with the scratch platform's settings)
from django.db import transaction  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402
from report import markdown_table, write_section  # noqa: E402

from accounts.models import Collection, User  # noqa: E402
from accounts.services import create_api_key  # noqa: E402
from documents.models import Document  # noqa: E402
from queries import services  # noqa: E402
from search.threads import serve_searches  # noqa: E402
from search.warmup import warm_current_tenant  # noqa: E402
from tenants.services import provision_tenant  # noqa: E402

LAYOUTS = (1, 10, 100)
DOMAIN = "collections-bench.localhost"


def deal(documents: list[int], count: int) -> list[int]:
    """Put the documents round-robin into `count` new collections (and out of the default
    one); returns the collections' ids."""
    Collection.objects.filter(is_default=False).delete()
    collections = [Collection.objects.create(name=f"part {n}") for n in range(count)]
    through = Document.collections.through
    with transaction.atomic():
        through.objects.all().delete()
        through.objects.bulk_create(
            through(document_id=document_id, collection_id=collections[i % count].pk)
            for i, document_id in enumerate(documents)
        )
    return [c.pk for c in collections]


def searched(texts: list[str], readable: frozenset[int] | None) -> dict[str, list[float]]:
    caller = services.Caller(collection_ids=readable)
    times: dict[str, list[float]] = {}
    for mode in query.MODES:
        services.search(text="warm up", caller=caller, mode=mode, use_cache=False)
        times[mode] = [
            query.timed(partial(services.search, text=t, caller=caller, mode=mode, use_cache=False))
            for t in texts
        ]
    return times


def layout_rows(
    count: int, collection_ids: list[int], texts: list[str], http: Callable[[], int] | None
) -> list[tuple[str, ...]]:
    """One layout's rows; `http` gives the port of gunicorn, started on first use (after the
    tenant's first logged searches, so its workers warm it before serving, as in production)."""
    chunks_read = f"1/{count}" if count > 1 else "all"
    readable = None if count == 1 else frozenset(collection_ids[:1])
    rows: list[tuple[str, ...]] = [
        (str(count), chunks_read, "in-process", mode, *query.cuts(samples))
        for mode, samples in searched(texts, readable).items()
    ]
    if http is not None:
        port = http()
        owner = User.objects.order_by("pk").first()
        assert owner is not None
        _key, raw = create_api_key(
            name=f"part {count}", scopes=["read"], created_by=owner,
            collection_ids=collection_ids[:1],
        )  # fmt: skip
        for (mode, kind), samples in query.over_http(port, DOMAIN, raw, texts).items():
            if kind == "uncached":
                rows.append((str(count), chunks_read, "http", mode, *query.cuts(samples)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--no-http", dest="http", action="store_false", help="in-process only")
    args = parser.parse_args()
    texts = list(islice(cycle(query.queries()), args.queries))
    scratch.create_database(NAME)
    servers: list[subprocess.Popen[bytes]] = []
    ports: list[int] = []

    def gunicorn_port() -> int:
        if not ports:
            ports.append(query.free_port())
            servers.append(query.start_gunicorn(ports[0], WORK / "gunicorn.log"))
        return ports[0]

    try:
        provisioned = provision_tenant(
            schema_name="collections_bench", name="Collections bench", domain=DOMAIN,
            plan="enterprise", admin_email="bench@collections-bench.invalid",
            admin_password=secrets.token_urlsafe(20),
        )  # fmt: skip
        rows: list[tuple[str, ...]] = []
        with tenant_context(provisioned.tenant):
            query.fill(args.chunks)
            documents = list(Document.objects.order_by("pk").values_list("pk", flat=True))
            serve_searches()
            warm_current_tenant()
            for count in LAYOUTS:
                collection_ids = deal(documents, count)
                http = gunicorn_port if args.http else None
                rows += layout_rows(count, collection_ids, texts, http)
                print(markdown_table(["N", "reads", "where", "mode", "p50", "p95", "p99"], rows))
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        scratch.remove(NAME, WORK)
    report(args, rows)


def report(args: argparse.Namespace, rows: list[tuple[str, ...]]) -> None:
    header = ["collections", "caller reads", "where", "mode", "p50 ms", "p95 ms", "p99 ms"]
    notes = (
        f"{args.chunks:,} chunks of Cranfield sentences in documents of 100 chunks, hashing "
        f"embedder, {args.queries} Cranfield queries per mode, all uncached (`no_cache`); the "
        "documents dealt round-robin into N collections, the caller reading one of them "
        "(`all` for N = 1: no filter). `http` is POST /api/v1/search/ against gunicorn "
        "(2 workers) with an API key created for that collection. The filter is applied "
        "inside retrieval: the readable documents' chunk ids as a FAISS IDSelectorBatch and a "
        "column mask of the BM25 matrix. Goal: HTTP p99 ≤ 100 ms uncached."
    )
    table = markdown_table(header, rows)
    print(f"\n{notes}\n\n{table}")
    write_section("collections", "Search latency with collection filters", table, notes=notes)


if __name__ == "__main__":
    main()

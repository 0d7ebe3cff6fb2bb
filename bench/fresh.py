"""Lexical search on a big tenant between an upload and the next BM25 matrix (bm25_fresh.py).

    .venv/bin/python bench/fresh.py                        # 100k chunks, 20 uploads of 25
    .venv/bin/python bench/fresh.py --chunks 25000 --uploads 5   # a quick run

A tenant of up to 20k chunks (bm25_cache.Bm25Cache.sync_limit) gets a new matrix before its next
search instead, so use more chunks than that.

Builds a scratch tenant as bench/query.py does (Cranfield sentences, hashing embedder,
compacted, BM25 matrix stored), maps its matrix, then uploads documents one at a time
without compacting, as happens in the half minute before a compaction. Each new document
holds a word no other chunk has. After each upload it times the first lexical search (which
reads the chunks the matrix lacks) and then the same 20 Cranfield queries as before the
uploads, and checks that the new word finds its document. Prints p50/p95/max in ms. The
scratch tenant is dropped afterwards. Uses DATABASE_URL / REDIS_URL when set, else the
embedded servers.
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import query as bench
from django_tenants.utils import tenant_context
from report import markdown_table, write_section

from documents import index_changes
from search import bm25_cache, index
from search.retrieval import lexical_search
from tenants.db import current_schema
from tenants.services import delete_tenant, provision_tenant


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.1f} | {p95:.1f} | {ordered[-1]:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--per-upload", type=int, default=25, help="chunks per document")
    args = parser.parse_args()
    texts = bench.queries()  # before provisioning: a missing file leaves no tenant
    pool = bench.sentences()
    schema = f"benchf_{secrets.token_hex(4)}"
    provisioned = provision_tenant(
        schema_name=schema,
        name="Fresh bench",
        domain=f"{schema.replace('_', '-')}.localhost",
        plan="enterprise",
        admin_email=f"bench@{schema.replace('_', '-')}.invalid",
        admin_password=secrets.token_urlsafe(20),
    )
    # No compaction runs here (no worker), and the matrix is never rebuilt in the background.
    bm25_cache.indexes = bm25_cache.Bm25Cache(store_wait=24 * 3600)
    rng = random.Random(11)
    first, steady, stale_seen, found = [], [], 0, 0
    try:
        with tenant_context(provisioned.tenant):
            bench.fill(args.chunks)
            sample = texts[:20]  # the same queries throughout: their matrix pages are warm
            for text in sample:
                lexical_search(text, 100)
            before = [bench.timed(partial(lexical_search, t, 100)) for t in sample * 3]
            matrix_seq = index.state().change_seq
            embedder = bench.embedder_for_current_tenant()
            for n in range(args.uploads):
                word = f"freshword{n}x{secrets.token_hex(3)}"
                chunks = [
                    " ".join(rng.sample(pool, 4)) + (f" {word} ." if i == 0 else "")
                    for i in range(args.per_upload)
                ]
                document = bench.Document.objects.create(
                    filename=f"new-{n}.txt", content_type="text/plain", size=1,
                    sha256=secrets.token_hex(32), status=bench.DocumentStatus.READY,
                    embedder=embedder.name, chunk_count=len(chunks),
                )  # fmt: skip
                vectors = embedder.embed_documents(chunks)
                bench.Chunk.objects.bulk_create(
                    bench.Chunk(document=document, ordinal=i, text=text,
                                embedding=vectors[i].astype("<f4").tobytes())
                    for i, text in enumerate(chunks)
                )  # fmt: skip
                index_changes.chunks_changed()
                first.append(bench.timed(partial(lexical_search, sample[n % len(sample)], 100)))
                steady += [bench.timed(partial(lexical_search, t, 100)) for t in sample]
                hits = lexical_search(word, 10)
                first_chunk = document.chunks.order_by("ordinal").values_list("id", flat=True)[0]
                found += bool(hits) and hits[0][0] == first_chunk
                row = index.state()
                key = f"{current_schema()}:{row.generation}"
                held = bm25_cache.indexes.get(key, row.change_seq)  # what searches used
                stale_seen += held.change_seq == matrix_seq
    finally:
        delete_tenant(tenant=provisioned.tenant)
    new_chunks = args.uploads * args.per_upload
    notes = (
        f"{args.chunks:,} chunks in the matrix, then {args.uploads} uploads of "
        f"{args.per_upload} chunks ({new_chunks} new chunks), lexical search top 100 (ms). "
        f"The matrix stayed the pre-upload one for {stale_seen} of {args.uploads} uploads; "
        f"each upload's unique word found its new chunk first in {found} of {args.uploads}."
    )
    table = markdown_table(
        ["searches", "p50", "p95", "max"],
        [
            ["before any upload (matrix current)", *summary(before).split(" | ")],
            ["first after each upload (reads new chunks)", *summary(first).split(" | ")],
            ["following ones (matrix stale)", *summary(steady).split(" | ")],
        ],
    )
    print(f"\n{notes}\n\n{table}")
    write_section("fresh", "Lexical search right after an upload", table, notes=notes)


if __name__ == "__main__":
    main()

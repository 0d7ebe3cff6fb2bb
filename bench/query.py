"""Search latency benchmark: a tenant with 100k chunks, in-process and over HTTP (gunicorn).

    .venv/bin/python bench/query.py                  # 100k chunks, 200 queries per mode
    .venv/bin/python bench/query.py --chunks 20000 --queries 50   # a quick run

Builds a scratch tenant whose chunks are sampled Cranfield sentences (3-6 per chunk),
embedded with the hashing embedder and bulk-inserted (no extraction), then compacts the
vector index. Measures POST /api/v1/search/ per mode, uncached (`no_cache`) and cached
(the same query again), in-process through `queries.services.search` and over HTTP
against gunicorn with 2 workers (deploy/gunicorn.conf.py) on a free port, authenticated
with an API key. Prints p50/p95/p99 in ms. The scratch tenant is dropped afterwards.
Uses DATABASE_URL / REDIS_URL when set, else the embedded servers.

Settings are production's where they matter for speed: DEBUG off and JSON log lines unless
DEBUG / LOG_FORMAT are set (measurements before 2026-11-29 ran with DEBUG on, which costs
~0.5 ms per request). Warm-up matches what production processes have: in-process, the
tenant's search caches are built as a gunicorn worker builds them (search/warmup.py), then
one search per mode; over HTTP, gunicorn's workers warm the recently active tenants'
search caches before they accept requests (search/warmup.py; the scratch tenant has just
been searched in-process, so it is the most recent), the bench waits until a worker answers
/health/live, then sends six uncached searches per mode on its connection before measuring.
Other tenants in the same database are warmed too (up to SEARCH_WARMUP_TENANTS); use a
database without large ones, or the second worker may still be warming them while the
first is measured.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Measured as production runs: DEBUG off (with it, Django records every SQL statement),
# JSON log lines. Set DEBUG=1 to measure the development settings instead.
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("LOG_FORMAT", "json")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402
from report import markdown_table, write_section  # noqa: E402
from tqdm import tqdm  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.services import create_api_key  # noqa: E402
from documents import index_changes  # noqa: E402
from documents.embedder_choice import embedder_for_current_tenant  # noqa: E402
from documents.models import Chunk, Document, DocumentStatus  # noqa: E402
from queries import services  # noqa: E402
from search import (  # noqa: E402
    bm25,
    bm25_store,
    index,
)
from search.warmup import warm_current_tenant  # noqa: E402
from tenants.db import current_schema  # noqa: E402
from tenants.services import delete_tenant, provision_tenant  # noqa: E402

CRANFIELD = ROOT / "eval" / "cranfield"
MODES = ("lexical", "dense", "hybrid")
CHUNKS_PER_DOCUMENT = 100


def sentences() -> list[str]:
    found = []
    with (CRANFIELD / "corpus.jsonl").open() as lines:
        for line in lines:
            text = json.loads(line)["text"]
            found += [s.strip() + " ." for s in text.split(" . ") if len(s.split()) > 4]
    return found


def queries() -> list[str]:
    with (CRANFIELD / "queries.jsonl").open() as lines:
        return [json.loads(line)["text"] for line in lines]


def fill(total: int, seed: int = 7) -> None:
    pool = sentences()
    rng = random.Random(seed)
    embedder = embedder_for_current_tenant()
    bar = tqdm(total=total, desc="chunks", unit="chunk")
    for start in range(0, total, CHUNKS_PER_DOCUMENT):
        count = min(CHUNKS_PER_DOCUMENT, total - start)
        texts = [" ".join(rng.sample(pool, rng.randint(3, 6))) for _ in range(count)]
        document = Document.objects.create(
            filename=f"report-{start // CHUNKS_PER_DOCUMENT:05d}.txt",
            content_type="text/plain",
            size=sum(map(len, texts)),
            sha256=secrets.token_hex(32),
            status=DocumentStatus.READY,
            embedder=embedder.name,
            chunk_count=count,
        )
        vectors = embedder.embed_documents(texts)
        Chunk.objects.bulk_create(
            Chunk(
                document=document,
                ordinal=i,
                text=text,
                page=1 + i // 5,
                token_count=len(text.split()),
                embedding=vectors[i].astype("<f4").tobytes(),
            )
            for i, text in enumerate(texts)
        )
        bar.update(count)
    bar.close()
    index_changes.chunks_changed()
    started = time.perf_counter()
    result = index.compact(rebuild=True)  # also stores the BM25 matrix (SEARCH_LEXICAL_STORE)
    seconds = time.perf_counter() - started
    print(f"compacted: {result.outcome}, {result.vectors} vectors in {seconds:.1f} s")
    with connection.cursor() as cursor:  # as autovacuum would soon after: the delta is empty
        cursor.execute(f"ANALYZE {connection.ops.quote_name(Chunk._meta.db_table)}")
    row = index.state()
    started = time.perf_counter()
    lexical = bm25.build(row.change_seq)
    seconds = time.perf_counter() - started
    print(
        f"BM25 matrix: {lexical.weights.nnz:,} entries, {lexical.nbytes / 2**20:.0f} MB, "
        f"built in {seconds:.1f} s"
    )
    started = time.perf_counter()
    stored = bm25_store.load(current_schema(), str(row.generation), row.change_seq)
    seconds = time.perf_counter() - started
    if stored is not None:
        print(f"BM25 matrix stored at compaction: mapped in {seconds * 1000:.0f} ms")


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def in_process(texts: list[str]) -> dict[tuple[str, str], list[float]]:
    caller = services.Caller()
    results: dict[tuple[str, str], list[float]] = {}
    warm_current_tenant()  # what a gunicorn worker builds before serving
    for mode in MODES:
        services.search(text="warm up", caller=caller, mode=mode, use_cache=False)
        results[(mode, "uncached")] = [
            timed(partial(services.search, text=t, caller=caller, mode=mode, use_cache=False))
            for t in tqdm(texts, desc=f"in-process {mode}", leave=False)
        ]
        cached = []
        for text in texts:
            services.search(text=text, caller=caller, mode=mode)
            cached.append(timed(partial(services.search, text=text, caller=caller, mode=mode)))
        results[(mode, "cached")] = cached
    return results


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_gunicorn(port: int, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    # The bench sends far more than a person would; lift the per-key API limit for it.
    env.update(
        RATELIMIT_API="1000000/m",
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        INDEX_ROOT=str(settings.INDEX_ROOT),
        DATABASE_NAME=str(connection.settings_dict["NAME"]),
    )
    command = [
        *(sys.executable, "-m", "gunicorn", "config.wsgi:application"),
        *("-c", "deploy/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "--workers", "2"),
        *("--access-logfile", "/dev/null"),
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )
    # Ready when a worker answers: workers warm the recently active tenants' search caches
    # before they accept requests (search/warmup.py), as they do in production.
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited early; see {log}")
        try:
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            probe.request("GET", "/health/live", headers={"Host": "localhost"})
            if probe.getresponse().status == 200:
                probe.close()
                return process
            probe.close()
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"gunicorn did not start; see {log}")


def over_http(
    port: int, host: str, key: str, texts: list[str]
) -> dict[tuple[str, str], list[float]]:
    connection_ = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Host": host, "X-API-Key": key, "Content-Type": "application/json"}

    def post(body: dict[str, object]) -> None:
        connection_.request("POST", "/api/v1/search/", json.dumps(body), headers)
        response = connection_.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"search answered {response.status}: {payload[:300]!r}")

    for mode in MODES:  # each worker loads the FAISS snapshot and builds BM25 once
        for n in range(6):
            post({"query": f"warm up {n}", "mode": mode, "no_cache": True})
    results: dict[tuple[str, str], list[float]] = {}
    for mode in MODES:
        results[(mode, "uncached")] = [
            timed(partial(post, {"query": t, "mode": mode, "no_cache": True}))
            for t in tqdm(texts, desc=f"http {mode}", leave=False)
        ]
        cached = []
        for text in texts:
            post({"query": text, "mode": mode})
            cached.append(timed(partial(post, {"query": text, "mode": mode})))
        results[(mode, "cached")] = cached
    connection_.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    texts = queries()[: args.queries]  # before provisioning: a missing file leaves no tenant
    schema = f"benchq_{secrets.token_hex(4)}"
    domain = f"{schema.replace('_', '-')}.localhost"
    provisioned = provision_tenant(
        schema_name=schema,
        name="Query bench",
        domain=domain,
        plan="enterprise",
        admin_email=f"bench@{schema.replace('_', '-')}.invalid",
        admin_password=secrets.token_urlsafe(20),
    )
    gunicorn: subprocess.Popen[bytes] | None = None
    rows: list[tuple[str, str, str, tuple[float, float, float]]] = []
    try:
        with tenant_context(provisioned.tenant):
            fill(args.chunks)
            owner = User.objects.get(email=provisioned.admin_email)
            _key, raw_key = create_api_key(name="bench", scopes=["read"], created_by=owner)
            for (mode, kind), samples in in_process(texts).items():
                rows.append(("in-process", mode, kind, percentiles(samples)))
        port = free_port()
        gunicorn = start_gunicorn(port, Path("/tmp") / f"{schema}-gunicorn.log")
        for (mode, kind), samples in over_http(port, domain, raw_key, texts).items():
            rows.append(("http", mode, kind, percentiles(samples)))
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
        delete_tenant(tenant=provisioned.tenant)
    table = markdown_table(
        ["where", "mode", "cache", "p50 ms", "p95 ms", "p99 ms"],
        [[w, m, k, f"{p50:.1f}", f"{p95:.1f}", f"{p99:.1f}"] for w, m, k, (p50, p95, p99) in rows],
    )
    notes = (
        f"{args.chunks:,} chunks of Cranfield sentences, hashing embedder, {len(texts)} Cranfield "
        "queries per mode; `http` is POST /api/v1/search/ against gunicorn (2 workers, API key, "
        "DEBUG off), `uncached` sets `no_cache`. Goals: HTTP p50 ≤ 30 ms and p99 ≤ 100 ms "
        "uncached, ≤ 5 ms cached."
    )
    print(f"\n{notes}\n\n{table}")
    write_section("query", "Search latency", table, notes=notes)


if __name__ == "__main__":
    main()

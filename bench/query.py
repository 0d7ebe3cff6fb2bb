"""Search latency benchmark: a tenant with 100k chunks, in-process and over HTTP (gunicorn).

    .venv/bin/python bench/query.py                  # 100k chunks, 200 queries per mode
    .venv/bin/python bench/query.py --chunks 20000 --queries 50   # a quick run
    .venv/bin/python bench/query.py --embedding local --dataset eval/cranfield --dataset eval/cacm

Builds a scratch tenant whose chunks are sampled Cranfield sentences (3-6 per chunk),
embedded with the hashing embedder and bulk-inserted (no extraction), then compacts the
vector index; `--dataset`: a tenant per collection, one chunk per entry, its own queries
(repeated up to `--queries`); `--embedding`: the tenants' embedder (another than hashing
writes its own section, e.g. `query-local`). Measures search per mode, uncached (`no_cache`)
and cached (the same query again), in-process (`queries.services.search`) and, unless
`--no-http`, against gunicorn with 2 workers (deploy/gunicorn.conf.py) and an API key.
Prints p50/p95/p99 in ms and each logged stage of the uncached in-process searches, then
drops the tenants. Uses DATABASE_URL / REDIS_URL when set, else the embedded servers.

Settings are production's where they matter for speed: DEBUG off and JSON log lines unless
DEBUG / LOG_FORMAT are set (measurements before 2026-11-29 ran with DEBUG on, which costs
~0.5 ms per request). Warm-up matches what production processes have: in-process, the
thread pools are set and the tenant's search caches built as a gunicorn worker does
(search/threads.py, search/warmup.py), then one search per mode; over HTTP, gunicorn's
workers warm the recently active tenants' search caches before they accept requests (the
scratch tenant has just been searched in-process, so it is the most recent), the bench waits
until a worker answers /health/live, then sends six uncached searches per mode on its
connection before measuring.
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
from itertools import cycle, islice
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
from queries.models import Query  # noqa: E402
from search import bm25, bm25_store, index  # noqa: E402
from search.threads import serve_searches  # noqa: E402
from search.warmup import warm_current_tenant  # noqa: E402
from tenants.db import current_schema  # noqa: E402
from tenants.models import Tenant  # noqa: E402
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


def collection(dataset: Path) -> tuple[list[str], list[str]]:
    """A BEIR collection's entries (title and text, blank ones left out) and its queries."""
    entries = []
    with (dataset / "corpus.jsonl").open() as lines:
        for line in lines:
            entry = json.loads(line)
            text = f"{entry.get('title', '').strip()}\n\n{entry.get('text', '').strip()}".strip()
            if text:
                entries.append(text)
    with (dataset / "queries.jsonl").open() as lines:
        asked = [json.loads(line)["text"].strip() for line in lines]
    return entries, [text for text in asked if text]


def fill(total: int, seed: int = 7) -> None:
    """`total` chunks of 3-6 sampled Cranfield sentences each."""
    pool = sentences()
    rng = random.Random(seed)
    fill_texts([" ".join(rng.sample(pool, rng.randint(3, 6))) for _ in range(total)])


def fill_texts(chunks: list[str]) -> None:
    """The chunks in documents of CHUNKS_PER_DOCUMENT, embedded and compacted."""
    total = len(chunks)
    embedder = embedder_for_current_tenant()
    bar = tqdm(total=total, desc="chunks", unit="chunk")
    for start in range(0, total, CHUNKS_PER_DOCUMENT):
        count = min(CHUNKS_PER_DOCUMENT, total - start)
        texts = chunks[start : start + count]
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
    serve_searches()  # a gunicorn worker's thread pools (deploy/gunicorn.conf.py)
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


def start_gunicorn(port: int, log: Path, workers: int = 2) -> subprocess.Popen[bytes]:
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
        *("-c", "deploy/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"),
        *("--workers", str(workers)),
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


Row = tuple[str, ...]
STAGES = ("embed_ms", "dense_ms", "lexical_ms", "fusion_ms", "total_ms")


def stage_rows(label: list[str]) -> list[list[str]]:
    """p50 / p99 of each logged stage of the uncached in-process searches, per mode."""
    rows = []
    for mode in MODES:
        uncached = Query.objects.filter(mode=mode, cached=False).exclude(text="warm up")
        logged = uncached.values_list(*STAGES)
        columns = list(zip(*logged, strict=True))
        cells = [
            f"{p50:.1f} / {p99:.1f}"
            for p50, _p95, p99 in (percentiles([float(v) for v in c]) for c in columns)
        ]
        rows.append([*label, mode, *cells])
    return rows


def measure(
    name: str, chunks: list[str] | int, texts: list[str], args: argparse.Namespace
) -> tuple[list[Row], list[list[str]]]:
    """One scratch tenant: filled, searched in-process (and over HTTP), dropped."""
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
    tenant = provisioned.tenant
    if args.embedding:
        Tenant.objects.filter(pk=tenant.pk).update(embedding_backend=args.embedding)
        tenant.refresh_from_db()
    label = [name] if name else []
    gunicorn: subprocess.Popen[bytes] | None = None
    rows: list[Row] = []
    try:
        with tenant_context(tenant):
            fill(chunks) if isinstance(chunks, int) else fill_texts(chunks)
            owner = User.objects.get(email=provisioned.admin_email)
            _key, raw_key = create_api_key(name="bench", scopes=["read"], created_by=owner)
            for (mode, kind), samples in in_process(texts).items():
                rows.append((*label, "in-process", mode, kind, *cuts(samples)))
            stages = stage_rows(label)
        if args.http:
            port = free_port()
            gunicorn = start_gunicorn(port, Path("/tmp") / f"{schema}-gunicorn.log")
            for (mode, kind), samples in over_http(port, domain, raw_key, texts).items():
                rows.append((*label, "http", mode, kind, *cuts(samples)))
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
        delete_tenant(tenant=tenant)
    return rows, stages


def cuts(samples: list[float]) -> tuple[str, str, str]:
    p50, p95, p99 = percentiles(samples)
    return f"{p50:.1f}", f"{p95:.1f}", f"{p99:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--embedding", help="the tenant's embedder (default EMBEDDING_BACKEND)")
    parser.add_argument("--dataset", action="append", type=Path, help="a BEIR collection")
    parser.add_argument("--no-http", dest="http", action="store_false", help="in-process only")
    args = parser.parse_args()
    # Read before provisioning: a missing file leaves no tenant.
    runs: list[tuple[str, list[str] | int, list[str]]] = [("", args.chunks, queries())]
    if args.dataset:
        runs = [(path.name, *collection(path)) for path in args.dataset]
    rows: list[Row] = []
    stages: list[list[str]] = []
    for name, chunks, asked in runs:
        texts = list(islice(cycle(asked), args.queries))
        found, timed_stages = measure(name, chunks, texts, args)
        rows += found
        stages += timed_stages
    write_report(args, runs, rows, stages)


def write_report(
    args: argparse.Namespace,
    runs: list[tuple[str, list[str] | int, list[str]]],
    rows: list[Row],
    stages: list[list[str]],
) -> None:
    first = ["collection"] if args.dataset else []
    table = markdown_table([*first, "where", "mode", "cache", "p50 ms", "p95 ms", "p99 ms"], rows)
    stage_table = markdown_table(
        [*first, "mode", "embed", "dense", "lexical", "fusion", "total"], stages
    )
    embedder = args.embedding or str(settings.EMBEDDING_BACKEND)
    what = f"{args.chunks:,} chunks of Cranfield sentences, {len(runs[0][2])} Cranfield queries"
    if args.dataset:
        what = ", ".join(
            f"{name} ({len(c) if isinstance(c, list) else c:,} entries as chunks, its "
            f"{len(asked)} queries)"
            for name, c, asked in runs
        )
    goals = "HTTP p50 ≤ 30 ms and p99 ≤ 100 ms uncached, ≤ 5 ms cached."
    if embedder != "hashing":
        goals = "hybrid p99 ≤ 50 ms in-process, uncached."
    where = "`http` is POST /api/v1/search/ against gunicorn (2 workers, API key, DEBUG off), "
    notes = (
        f"{what}; {embedder} embedder, {args.queries} searches per mode"
        f"{' and collection' if args.dataset else ''}; "
        f"{where if args.http else 'in-process only; '}`uncached` sets `no_cache`. "
        f"Goals: {goals} The second table "
        "is each stage of the uncached in-process searches as the query log records it, "
        "p50 / p99 ms (lexical scores beside embed and dense in hybrid mode)."
    )
    body = f"{table}\n\n{stage_table}"
    print(f"\n{notes}\n\n{body}")
    section, title = "query", "Search latency"
    if embedder != "hashing":
        section, title = f"query-{embedder}", f"Search latency ({embedder} embedder)"
    write_section(section, title, body, notes=notes)


if __name__ == "__main__":
    main()

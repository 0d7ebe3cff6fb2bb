"""The big-tenant bench's steps (bench/big_tenant.py runs them in order): ingestion with
progress, waiting for the index to catch up, the compactions' times from the worker's log,
sizes on disk, memory and latency of gunicorn serving the tenant, one more upload, a rebuild.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import re
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import cycle, islice
from pathlib import Path

import big_tenant_text as text
import psutil
import query
from django.conf import settings
from django.db import connection

from documents import services
from documents.embedder_choice import embedder_for_current_tenant
from documents.models import Chunk, Document, DocumentStatus
from search import bm25, bm25_store, index, query_idf
from tenants.db import current_schema

ROOT = Path(__file__).resolve().parent.parent
FINAL = (DocumentStatus.READY, DocumentStatus.FAILED)


def deadline(stop_at: str | None) -> float:
    """--stop-at HH:MM (UTC, today or, if past, tomorrow) as a time.time() value; inf if none."""
    if not stop_at:
        return float("inf")
    hours, minutes = (int(part) for part in stop_at.split(":"))
    now = datetime.now(UTC)
    at = now.replace(hour=hours, minute=minutes, second=0, microsecond=0)
    if at <= now:
        at += timedelta(days=1)
    return at.timestamp()


@dataclass
class Results:
    args: argparse.Namespace
    deadline: float = float("inf")
    rows: list[tuple[str, str]] = field(default_factory=list)
    latency: list[tuple[str, ...]] = field(default_factory=list)
    chunks: int = 0
    notes: list[str] = field(default_factory=list)

    def left(self) -> float:
        """Seconds until --stop-at."""
        return self.deadline - time.time()

    def add(self, metric: str, value: str) -> None:
        self.rows.append((metric, value))
        print(f"  {metric}: {value}", file=sys.stderr, flush=True)


def start_worker(concurrency: int, log_path: Path) -> subprocess.Popen[bytes]:
    """A Celery worker on this run's queues, logging at INFO (its compactions' times)."""
    prefix = settings.QUEUE_PREFIX
    queues = ",".join(f"{prefix}{q}" for q in ("ingest", "default", "ingest_bulk", "maintenance"))
    name = f"big-{os.getpid()}@{os.uname().nodename}"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "INFO"),
            *("--concurrency", str(concurrency), "-Q", queues, "-n", name),
            *("--without-gossip", "--without-mingle"),
        ],
        cwd=ROOT, env=dict(os.environ), stdout=log_path.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    from config.celery import app

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"The Celery worker exited; see {log_path}.")
        if app.control.ping(destination=[name], timeout=1):
            return process
    raise SystemExit(f"The Celery worker did not start; see {log_path}.")


def _chunks_done() -> tuple[int, int]:
    """(documents in a final state, chunks of the ready ones), from the documents table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), coalesce(sum(chunk_count) FILTER (WHERE status = %s), 0) "  # noqa: S608
            f"FROM {Document._meta.db_table} WHERE status = ANY(%s)",
            [DocumentStatus.READY, list(FINAL)],
        )
        final, chunks = cursor.fetchone()
    return int(final), int(chunks)


def _progress(started: float, chunks: int, target: int) -> None:
    elapsed = time.perf_counter() - started
    rate = chunks / elapsed if elapsed else 0.0
    eta = (target - chunks) / rate if rate else float("inf")
    print(
        f"  {time.strftime('%H:%M:%S')} {chunks:,}/{target:,} chunks, {elapsed / 60:.1f} min, "
        f"{rate:.0f} chunks/s, ETA {eta / 60:.1f} min",
        file=sys.stderr, flush=True,
    )  # fmt: skip


def ingest(args: argparse.Namespace, results: Results) -> None:
    """Upload documents until about args.chunks chunks are expected, then wait for them."""
    # Calibrated on this corpus: the chunker counts punctuation too, and chunks end at a
    # paragraph break, so about 0.94 x the new tokens a chunk's budget leaves per chunk.
    tokens_per_chunk = settings.CHUNK_TARGET_TOKENS * (1 - settings.CHUNK_OVERLAP_RATIO) * 0.94
    corpus = text.documents(args.seed, tokens_per_chunk)
    started = time.perf_counter()
    stop_at = started + args.max_minutes * 60
    expected = uploaded = nbytes = 0
    last_report = started
    stopped_early = False
    while expected < args.chunks:
        final, chunks = _chunks_done()
        now = time.perf_counter()
        if now - last_report >= 15:
            _progress(started, chunks, args.chunks)
            last_report = now
        if now > stop_at:
            stopped_early = True
            break
        if uploaded - final >= args.in_flight:
            time.sleep(0.5)
            continue
        batch = [next(corpus) for _ in range(args.batch)]
        uploads = [services.Upload(io.BytesIO(d.body), d.name, len(d.body)) for d in batch]
        accepted, rejected = services.create_documents(
            uploads=uploads, uploaded_by=None, allow_duplicate=True
        )
        if rejected:
            raise SystemExit(f"An upload was refused: {rejected[0].error}")
        uploaded += len(accepted)
        expected += sum(d.expected_chunks for d in batch)
        nbytes += sum(len(d.body) for d in batch)
    uploads_done = time.perf_counter() - started
    final, chunks = _chunks_done()
    while final < uploaded:
        if time.perf_counter() - last_report >= 15:
            _progress(started, chunks, args.chunks)
            last_report = time.perf_counter()
        time.sleep(1)
        final, chunks = _chunks_done()
    elapsed = time.perf_counter() - started
    failed = Document.objects.filter(status=DocumentStatus.FAILED).count()
    results.chunks = chunks
    if stopped_early:
        results.notes.append(
            f"Uploading stopped after --max-minutes {args.max_minutes:g} at {chunks:,} chunks."
        )
    results.add("documents", f"{uploaded:,} ({failed:,} failed), {nbytes / 1e9:.2f} GB of text")
    results.add("chunks", f"{chunks:,}")
    results.add(
        "ingestion, first upload until every document is ready",
        f"{elapsed / 60:.1f} min ({uploads_done / 60:.1f} min uploading), "
        f"{chunks / elapsed:.0f} chunks/s",
    )


def settle(results: Results, limit: float = 3600) -> None:
    """Wait until the index has folded every chunk in and stored the final BM25 matrix."""
    started = time.perf_counter()
    limit = min(limit, results.left())
    while time.perf_counter() - started < limit:
        row = index.state()
        key = f"{current_schema()}:{row.generation}"
        behind = Chunk.objects.filter(in_snapshot=False).exists()
        if not behind and bm25_store.has_matrix_for(key, row.change_seq):
            break
        time.sleep(2)
    caught_up = "" if time.perf_counter() - started < limit else ", not within the run's time"
    results.add(
        "index caught up after the last document was ready",
        f"{time.perf_counter() - started:.0f} s (snapshot v{index.state().version}{caught_up})",
    )


_SUCCEEDED = re.compile(r"Task search\.compact_index\[[^\]]+\] succeeded in ([0-9.]+)s")
_STORED = re.compile(
    r"stored the BM25 matrix[^\"]*? of (\d+) chunks in ([0-9.]+) s "
    r"\((every chunk read|\d+ appended)"
)


def compactions_from_log(log: Path, results: Results, since: int = 0) -> list[float]:
    """Compaction task times (s) in the worker's log after byte `since`; adds rows if 0."""
    content = log.read_bytes()[since:].decode(errors="replace")
    times = [float(m.group(1)) for m in _SUCCEEDED.finditer(content)]
    found = list(_STORED.finditer(content))
    stores = [(int(m.group(1)), float(m.group(2))) for m in found]
    full = [float(m.group(2)) for m in found if m.group(3) == "every chunk read"]
    if since == 0 and times:
        ran = [t for t in times if t >= 0.5]  # the others found the index busy or unchanged
        results.add(
            "compactions during ingestion and after (worker log)",
            f"{len(ran)} over 0.5 s, {sum(ran) / 60:.1f} min in all, longest {max(times):.0f} s",
        )
        if stores:
            last_chunks, last_seconds = stores[-1]
            results.add(
                "BM25 matrix + query IDF stored by compactions",
                f"{len(stores)} times, {sum(s for _, s in stores) / 60:.1f} min in all; "
                f"the last, at {last_chunks:,} chunks, {last_seconds:.0f} s",
            )
            appended = [float(m.group(2)) for m in found if m.group(3) != "every chunk read"]
            results.add(
                "of those: every chunk read / new chunks appended (search/bm25_append.py)",
                f"{len(full)}, longest {max(full, default=0):.0f} s / "
                f"{len(appended)}, longest {max(appended, default=0):.0f} s",
            )
    return times


def _timed(call: object) -> tuple[object, float]:
    started = time.perf_counter()
    value = call()  # type: ignore[operator]
    return value, time.perf_counter() - started


def in_process_builds(results: Results) -> None:
    row = index.state()
    built, seconds = _timed(lambda: bm25.build(row.change_seq))
    assert isinstance(built, bm25.Bm25Index)
    peak = _status(os.getpid(), "VmHWM")
    results.add(
        "BM25 matrix build, one process (its peak RSS)",
        f"{seconds:.0f} s ({built.weights.nnz:,} entries, {built.nbytes / 2**20:.0f} MB; "
        f"{peak / 2**30:.1f} GB)",
    )
    del built
    embedder = embedder_for_current_tenant()
    if query_idf.supports_term_weights(embedder):
        _weights, seconds = _timed(lambda: query_idf.build(embedder))
        results.add("query IDF count (hashing features), one process", f"{seconds:.0f} s")


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def sizes(schema: str, results: Results) -> None:
    directory = index.index_directory(schema)
    row = index.state()
    faiss_bytes = (directory / f"index-v{row.version}.faiss").stat().st_size
    matrix = bm25_store.directory(schema, str(row.generation), row.change_seq)
    matrix_bytes = _du(matrix)
    results.add(
        "on disk: FAISS snapshot / BM25 matrix (+ IDF table)",
        f"{faiss_bytes / 2**20:,.0f} MB ({row.snapshot_count:,} vectors) / "
        f"{matrix_bytes / 2**20:,.0f} MB",
    )
    table = Chunk._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_table_size(%s::regclass), pg_indexes_size(%s::regclass), "
            "pg_relation_size(%s::regclass), pg_database_size(current_database())",
            [table, table, "chunk_search_gin", ],
        )  # fmt: skip
        heap, indexes, gin, database = cursor.fetchone()
    results.add(
        "PostgreSQL: chunk table / its indexes (GIN) / database",
        f"{heap / 2**30:.2f} GB / {indexes / 2**30:.2f} GB ({gin / 2**30:.2f}) / "
        f"{database / 2**30:.2f} GB",
    )


def _status(pid: int, field: str) -> int:
    """A /proc/<pid>/status field in bytes (VmRSS, RssAnon, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    return 0


def memory(master_pid: int, results: Results, when: str) -> None:
    """Each gunicorn worker's resident size and the part of it that is its own (anonymous
    memory; the rest are mapped files, such as the BM25 matrix and FAISS lists, whose pages
    every process shares through the page cache)."""
    parts = []
    for worker in psutil.Process(master_pid).children():
        rss, own = _status(worker.pid, "VmRSS"), _status(worker.pid, "RssAnon")
        parts.append(f"{rss / 2**20:,.0f} / {own / 2**20:,.0f}")
    results.add(f"gunicorn workers, RSS / own MB, {when}", "; ".join(parts))


def worker_peak(worker_pid: int, results: Results) -> None:
    """The highest resident size any Celery pool process reached (compactions run there)."""
    peaks = [_status(p.pid, "VmHWM") for p in psutil.Process(worker_pid).children()]
    results.add(
        "Celery worker: peak RSS of a pool process", f"{max(peaks, default=0) / 2**30:.1f} GB"
    )


def serve(
    master_pid: int, port: int, host: str, key: str, args: argparse.Namespace, results: Results
) -> None:
    memory(master_pid, results, "after warm-up")
    asked = list(islice(cycle(text.queries()), args.queries))
    for (mode, kind), samples in query.over_http(port, host, key, asked).items():
        results.latency.append((mode, kind, *query.cuts(samples)))
        print(f"  http {mode} {kind}: {query.cuts(samples)}", file=sys.stderr, flush=True)
    memory(master_pid, results, "after the searches")


def _found(port: int, host: str, key: str, word: str, mode: str, document_id: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Host": host, "X-API-Key": key, "Content-Type": "application/json"}
    body = {"query": word, "mode": mode, "no_cache": True, "top_k": 5}
    conn.request("POST", "/api/v1/search/", json.dumps(body), headers)
    response = json.loads(conn.getresponse().read())
    conn.close()
    return any(hit["document_id"] == document_id for hit in response.get("results", []))


def one_upload(port: int, host: str, key: str, log: Path, results: Results) -> None:
    """Upload one ~40-chunk document with a word of its own; time until search finds it."""
    word = f"zebracorn{secrets.token_hex(3)}"
    document = next(text.documents(secrets.randbits(32), 375))
    paragraphs = document.body.decode().split("\n\n")[: 40 * 375 // 120]
    paragraphs.insert(len(paragraphs) // 2, f"The {word} appears in this document only.")
    body = "\n\n".join(paragraphs).encode()
    mark = log.stat().st_size
    before = index.state().version
    started = time.perf_counter()
    accepted, _ = services.create_documents(
        uploads=[services.Upload(io.BytesIO(body), "one-more.txt", len(body))], uploaded_by=None
    )
    document_id = accepted[0].pk
    found: dict[str, float] = {}
    while len(found) < 2 and time.perf_counter() - started < min(600, results.left()):
        for mode in ("lexical", "hybrid"):
            if mode not in found and _found(port, host, key, word, mode, document_id):
                found[mode] = time.perf_counter() - started
        time.sleep(0.1)
    chunks = Chunk.objects.filter(document_id=document_id).count()
    while index.state().version == before and time.perf_counter() - started < results.left():
        time.sleep(0.5)
    folded = time.perf_counter() - started
    settle(Results(args=results.args, deadline=results.deadline))
    stored = time.perf_counter() - started
    compactions = [t for t in compactions_from_log(log, results, since=mark) if t >= 0.5]
    results.add(
        f"one more upload ({chunks} chunks): searchable, lexical / hybrid",
        " / ".join(f"{found.get(m, float('nan')):.1f} s" for m in ("lexical", "hybrid")),
    )
    results.add(
        "after it: in the vector snapshot / BM25 matrix stored / compactions that ran",
        f"{folded:.0f} s / {stored:.0f} s / "
        f"{', '.join(f'{t:.0f} s' for t in compactions) or 'none over 0.5 s'}",
    )


def rebuild(schema: str, results: Results) -> None:
    """`manage.py rebuild_index` for the tenant: wall time and the command's peak RSS."""
    command = [sys.executable, "manage.py", "rebuild_index", "--tenant", schema, "-v", "0"]
    started = time.perf_counter()
    limit = float("inf") if results.left() == float("inf") else max(1.0, results.left())
    process = subprocess.Popen(command, cwd=ROOT, env=dict(os.environ))
    peak = 0
    while process.poll() is None and time.perf_counter() - started < limit:
        peak = max(peak, _status(process.pid, "VmHWM"))
        time.sleep(1)
    if process.poll() is None:
        process.kill()
        process.wait()
        minutes = (time.perf_counter() - started) / 60
        results.add("manage.py rebuild_index", f"not finished after {minutes:.0f} min (stopped)")
        return
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)
    results.add(
        "manage.py rebuild_index (its peak RSS)",
        f"{(time.perf_counter() - started) / 60:.1f} min ({peak / 2**30:.1f} GB)",
    )


def report(results: Results) -> None:
    from report import markdown_table, write_section

    args = results.args
    table = markdown_table(["metric", "value"], results.rows)
    latency = markdown_table(["mode", "cache", "p50 ms", "p95 ms", "p99 ms"], results.latency)
    notes = (
        f"One tenant of {results.chunks:,} chunks (hashing embedder): documents of 100-300 "
        "chunks recombined from the Cranfield and CACM passages (bench/big_tenant_text.py, "
        f"seed {args.seed}), uploaded through `documents.services.create_documents` "
        f"{args.batch} at a time and ingested by a Celery worker (concurrency {args.workers}) "
        "that also ran the compactions. Searches: POST /api/v1/search/ against gunicorn "
        f"(2 workers, API key), {args.queries} Cranfield and CACM queries per mode; `uncached` "
        "sets `no_cache`. Run under `nice -n 15` on a machine shared with other engineers' "
        "test runs. Goals: ingestion ≤ 1 h for 1,000,000 chunks; HTTP p99 ≤ 100 ms uncached. "
        + " ".join(results.notes)
    )
    body = f"{table}\n\n{latency}"
    print(f"\n{notes}\n\n{body}")
    write_section("big-tenant", "One big tenant", body, notes=notes)

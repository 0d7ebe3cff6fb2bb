"""Ingestion benchmark: a folder through the real pipeline (uploads → Celery workers → ready).

    .venv/bin/python bench/ingest.py              # Cranfield, one file per entry, + a 300-page PDF
    .venv/bin/python bench/ingest.py --folder DIR # any folder
    .venv/bin/python bench/ingest.py --limit 200  # a quick run
    .venv/bin/python bench/ingest.py --embedding local --no-pdf  # the model (make install-ml)

It provisions a scratch tenant, starts real `celery worker` processes (concurrency
--workers) on this run's own queues, uploads every file through
`documents.services.create_document`, waits until each document is ready or failed, and
prints documents/s, chunks/s, MB/s, time per stage and the workers' peak RSS (worker
processes + their extraction sandboxes). The scratch tenant is dropped afterwards.
`--embedding` sets the tenant's embedder; another than hashing writes its own section
(`ingest-local`). `--no-pdf` leaves the generated PDF out of the default set.
Uses DATABASE_URL / REDIS_URL when set, else the embedded servers.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("QUEUE_PREFIX", f"bench{os.getpid()}-")

import django  # noqa: E402

django.setup()

import psutil  # noqa: E402
from django.conf import settings  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402
from report import markdown_table, write_section  # noqa: E402

from documents import services  # noqa: E402
from documents.models import Chunk, Document, DocumentStatus  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.services import delete_tenant, provision_tenant  # noqa: E402

CRANFIELD = ROOT / "eval" / "cranfield" / "corpus.jsonl"


def write_default_corpus(directory: Path, limit: int | None, pdf: bool = True) -> None:
    from tests.documents.samples import make_multipage_pdf

    with CRANFIELD.open() as handle:
        for n, line in enumerate(handle):
            if limit is not None and n >= limit:
                break
            entry = json.loads(line)
            body = f"{entry.get('title', '').strip()}\n\n{entry.get('text', '').strip()}\n"
            (directory / f"cranfield-{entry['_id']}.txt").write_text(body)
    if pdf:
        (directory / "generated-300-pages.pdf").write_bytes(make_multipage_pdf(page_count=300))


class RssSampler(threading.Thread):
    """Samples the summed RSS of a process tree every 100 ms; keeps the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stopped = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                root = psutil.Process(self.pid)
                total = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
                self.peak = max(self.peak, total)
            except psutil.Error:
                pass
            time.sleep(0.1)


def start_worker(concurrency: int, log_path: Path) -> subprocess.Popen[bytes]:
    prefix = settings.QUEUE_PREFIX
    queues = ",".join(f"{prefix}{q}" for q in ("ingest", "default", "ingest_bulk", "maintenance"))
    env = {
        **os.environ,
        "DATABASE_NAME": str(settings.DATABASES["default"]["NAME"]),
        "REDIS_URL": settings.REDIS_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "INDEX_ROOT": str(settings.INDEX_ROOT),
    }
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-l",
            "WARNING",
            "--concurrency",
            str(concurrency),
            "-Q",
            queues,
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"bench-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    time.sleep(1.0)
    # Wait until the worker answers a ping so start-up is not counted as ingestion time.
    from config.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if app.control.ping(destination=[f"bench-{os.getpid()}@{os.uname().nodename}"], timeout=1):
            return process
    raise SystemExit(f"The Celery worker did not start; see {log_path}.")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--folder", type=Path, help="ingest this folder instead of the default set")
    parser.add_argument("--limit", type=int, help="only the first N Cranfield documents")
    parser.add_argument("--workers", type=int, default=2, help="worker concurrency (default 2)")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--embedding", help="the tenant's embedder (default EMBEDDING_BACKEND)")
    parser.add_argument("--no-pdf", dest="pdf", action="store_false", help="text files only")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="di-bench-"))
    folder = args.folder
    if folder is None:
        folder = scratch / "corpus"
        folder.mkdir()
        write_default_corpus(folder, args.limit, args.pdf)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    total_bytes = sum(p.stat().st_size for p in files)
    print(f"{len(files):,} files, {total_bytes / 1e6:.1f} MB from {folder}", flush=True)

    schema = f"bench_{secrets.token_hex(3)}"
    tenant = provision_tenant(
        schema_name=schema,
        name="Benchmark",
        domain=f"{schema.replace('_', '-')}.bench.invalid",
        admin_email="bench@example.com",
        admin_password=secrets.token_urlsafe(16),
        plan="enterprise",
    ).tenant
    if args.embedding:
        Tenant.objects.filter(pk=tenant.pk).update(embedding_backend=args.embedding)
        tenant.refresh_from_db()
    worker = start_worker(args.workers, scratch / "worker.log")
    sampler = RssSampler(worker.pid)
    sampler.start()
    try:
        with tenant_context(tenant):
            started = time.perf_counter()
            ids: list[int] = []
            for start in range(0, len(files), 100):
                batch = files[start : start + 100]
                uploads = [services.Upload(p.open("rb"), p.name, p.stat().st_size) for p in batch]
                accepted, _rejected = services.create_documents(
                    uploads=uploads, uploaded_by=None, allow_duplicate=True
                )
                for upload in uploads:
                    upload.stream.close()
                ids.extend(d.pk for d in accepted)
                print(f"  uploaded {start + len(batch):,}/{len(files):,}", flush=True)
            uploaded = time.perf_counter() - started
            final = [DocumentStatus.READY, DocumentStatus.FAILED]
            deadline = time.monotonic() + args.timeout
            done = 0
            while time.monotonic() < deadline:
                done = Document.objects.filter(status__in=final).count()
                if done >= len(ids):
                    break
                print(f"  processed {done:,}/{len(ids):,}", end="\r", flush=True)
                time.sleep(0.25)
            elapsed = time.perf_counter() - started
            documents = list(Document.objects.values("status", "timings", "error"))
            chunks = Chunk.objects.count()
    finally:
        sampler.stopped.set()
        worker.terminate()
        worker.wait(timeout=60)
        delete_tenant(tenant=tenant)

    ready = sum(d["status"] == DocumentStatus.READY for d in documents)
    failed = [d["error"] for d in documents if d["status"] == DocumentStatus.FAILED]
    rows: list[list[object]] = [
        ["documents", f"{len(ids):,} ({ready:,} ready, {len(failed):,} failed)"],
        ["chunks", f"{chunks:,}"],
        ["wall time", f"{elapsed:.1f} s (uploads {uploaded:.1f} s)"],
        ["documents/s", f"{len(ids) / elapsed:.1f}"],
        ["chunks/s", f"{chunks / elapsed:.1f}"],
        ["MB/s", f"{total_bytes / 1e6 / elapsed:.2f}"],
    ]
    for stage in ("extract", "chunk", "embed", "store"):
        values = [d["timings"].get(f"{stage}_ms", 0.0) for d in documents if d["timings"]]
        if len(values) > 1:
            rows.append(
                [
                    f"{stage} ms (mean / p95 / total s)",
                    f"{statistics.mean(values):.2f} / "
                    f"{statistics.quantiles(values, n=20)[-1]:.2f} / {sum(values) / 1000:.1f}",
                ]
            )
    rows.append(["peak worker RSS", f"{sampler.peak / 1e6:.0f} MB (workers + sandboxes)"])
    table = markdown_table(["metric", "value"], rows)
    embedder = args.embedding or str(settings.EMBEDDING_BACKEND)
    notes = (
        f"{len(files):,} files, {total_bytes / 1e6:.1f} MB, through the real upload path and "
        f"Celery workers (concurrency {args.workers}), {embedder} embedder."
    )
    print(f"\n{table}")
    section, title = "ingest", "Ingestion throughput"
    if embedder != "hashing":
        section, title = f"ingest-{embedder}", f"Ingestion throughput ({embedder} embedder)"
    write_section(section, title, table, notes=notes)
    for reason in failed[:5]:
        print(f"failed: {reason}")
    return 0 if ready == len(ids) else 1


if __name__ == "__main__":
    sys.exit(main())

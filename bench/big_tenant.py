"""One big tenant: a million chunks through the real pipeline, then search, upload, rebuild.

    nice -n 15 .venv/bin/python bench/big_tenant.py                   # 1,000,000 chunks
    nice -n 15 .venv/bin/python bench/big_tenant.py --chunks 100000   # a tenth, to extrapolate

Builds a scratch platform (its own database, folders, cache keys and queues:
bench/scratch.py) with one enterprise tenant and the hashing embedder, and fills it with
documents of 100-300 chunks recombined from the eval collections' passages
(bench/big_tenant_text.py, seed --seed) until about --chunks chunks: each batch of --batch
documents is uploaded through `documents.services.create_documents` (what the upload API
calls) and ingested by a real Celery worker (--workers processes, on the run's own queues,
with compaction on its maintenance queue as in production); at most --in-flight documents
wait at a time. It prints chunks done, rate and ETA every 15 s, stops uploading after
--max-minutes, and then measures:

- ingestion wall time and chunks/s (first upload until every document is ready), and until
  the index has caught up (delta folded in, the BM25 matrix stored for the final state);
- the compactions that ran meanwhile (from the worker's log: count, total and longest time,
  the BM25 matrix stores inside them), the worker's peak memory, and with --measure-build
  one BM25 matrix build and one query IDF count in this process at the final size;
- sizes on disk: the FAISS snapshot, the stored BM25 matrix, the chunk table and its indexes;
- gunicorn (2 workers, deploy/gunicorn.conf.py) serving the tenant: each worker's resident
  size (RSS) and its own part (anonymous memory; the FAISS lists and BM25 matrix are mapped
  files, shared) after warm-up and the searches, and POST /api/v1/search/
  p50/p95/p99 per mode, uncached (`no_cache`) and cached, over --queries Cranfield and CACM
  queries;
- one more upload (a document of about 60 chunks holding a word no other has): time until a
  lexical and a hybrid search over HTTP find it, until its vectors are in the snapshot and
  until the BM25 matrix holding it is stored;
- `manage.py rebuild_index --tenant …`: wall time.

With --stop-at HH:MM (UTC) every wait ends by then and `rebuild_index` is stopped, and the
table says so. Then it writes the "One big tenant" section of docs/benchmarks.md (also after
a failure, with what was measured) and drops the scratch platform (`--keep` leaves it).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import scratch  # noqa: E402

NAME, WORK = scratch.names("bench_big")
os.environ.update(scratch.environment(NAME, WORK))
os.environ.setdefault("LOG_LEVEL", "INFO")

import big_tenant_measure as measure  # noqa: E402  (sets Django up, scratch settings)
import big_tenant_text as text  # noqa: E402
import query  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.services import create_api_key  # noqa: E402
from queries import services  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.services import provision_tenant  # noqa: E402

SCHEMA = "big_tenant"
DOMAIN = "big-tenant.localhost"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=1_000_000, help="about this many chunks")
    parser.add_argument("--seed", type=int, default=22, help="the corpus's random seed")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker concurrency")
    parser.add_argument("--batch", type=int, default=4, help="documents per upload call")
    parser.add_argument("--in-flight", type=int, default=24, help="documents waiting at most")
    parser.add_argument("--queries", type=int, default=200, help="HTTP searches per mode")
    parser.add_argument("--max-minutes", type=float, default=90, help="stop uploading after")
    parser.add_argument("--stop-at", help="HH:MM UTC: skip or cut short what is left then")
    parser.add_argument("--measure-build", action="store_true", help="build BM25 here too")
    parser.add_argument("--keep", action="store_true", help="leave the scratch platform")
    parser.add_argument("--no-rebuild", dest="rebuild", action="store_false")
    return parser.parse_args()


def provision() -> tuple[Tenant, str]:
    provisioned = provision_tenant(
        schema_name=SCHEMA, name="Big tenant", domain=DOMAIN, plan="enterprise",
        admin_email="bench@big-tenant.invalid", admin_password=secrets.token_urlsafe(20),
    )  # fmt: skip
    with tenant_context(provisioned.tenant):
        owner = User.objects.get(email=provisioned.admin_email)
        _key, raw = create_api_key(name="bench", scopes=["read"], created_by=owner)
    return provisioned.tenant, raw


def main() -> int:
    args = arguments()
    scratch.create_database(NAME)
    WORK.mkdir(parents=True, exist_ok=True)
    results = measure.Results(args=args, deadline=measure.deadline(args.stop_at))
    worker = gunicorn = None
    try:
        tenant, key = provision()
        worker = measure.start_worker(args.workers, WORK / "worker.log")
        with tenant_context(tenant):
            measure.ingest(args, results)
            measure.settle(results)
            measure.compactions_from_log(WORK / "worker.log", results)
            measure.worker_peak(worker.pid, results)
            if args.measure_build:
                measure.in_process_builds(results)
            measure.sizes(SCHEMA, results)
            # A logged search: gunicorn's workers warm the recently active tenants first.
            services.search(text=text.queries()[0], caller=services.Caller(), use_cache=False)
        port = query.free_port()
        gunicorn = query.start_gunicorn(port, WORK / "gunicorn.log")
        measure.serve(gunicorn.pid, port, DOMAIN, key, args, results)
        with tenant_context(tenant):
            measure.one_upload(port, DOMAIN, key, WORK / "worker.log", results)
        measure.memory(gunicorn.pid, results, "after the upload's compaction")
        if args.rebuild:
            measure.rebuild(SCHEMA, results)
    except BaseException as exc:
        results.notes.append(f"The run stopped early ({type(exc).__name__}: {exc}).")
        raise
    finally:
        for process in (gunicorn, worker):
            if process is not None:
                process.terminate()
                process.wait(timeout=60)
        if args.keep:
            print(f"kept the scratch platform: database {NAME}, files {WORK}", file=sys.stderr)
        else:
            scratch.remove(NAME, WORK)
        if results.rows:
            measure.report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Sustained load: a workspace's request mix over HTTP against gunicorn and a Celery worker.

    .venv/bin/python bench/load.py                  # steps of 2, 4, 8, 16 users, 75 s each
    .venv/bin/python bench/load.py --web-workers 1  # one web process instead of two
    .venv/bin/python bench/load.py --ci             # ~2 min; exit 1 on a 5xx or memory growth

Builds a platform of its own (bench/scratch.py) with --tenants tenants of --chunks chunks each
(Cranfield sentences, hashing embedder, index compacted, as bench/query.py fills one), an API
key and a signed-in owner each. Starts gunicorn as deployed (deploy/gunicorn.conf.py, DEBUG
off, --web-workers processes) and one Celery worker (concurrency 1) on the run's own queues.
Virtual users are client threads, spread over the tenants, each sending the next request as
soon as the last one is answered (loopback only; every step and the whole run end by
themselves). The mix, by share of requests: searches 55 % (hybrid, lexical and dense, half of
them repeated and so cached), asks 10 % (a third of them streamed), document-list polls 25 %,
chunk reads 5 %, the analytics view 5 %; besides them, each tenant uploads a real file (one of
eval/answers/, a line added so each is new) every 10 seconds, a person's pace whatever the
number of users (at the crowd's pace each tenant would grow by thousands of chunks a minute,
and memory with it).

After a warm-up (--warmup, at least 60 s, then 15-second rounds until no process grew more
than 3 % in a round, at most 4 minutes: each process has reached its working size), each
step reports
requests per second, p50 / p99 per kind of request, responses by status, the most
PostgreSQL connections the platform held (sampled every second) and the resident memory of
every process. At the end, one upload's time from the request to `ready` while users keep
going (its queue latency). The memory goal is growth of at most 10 % from after the warm-up
to the end, in each process's peak resident size (VmHWM); `--ci` runs the warm-up and one
60-second step of 6 users and fails on any 5xx or on growth past that. Writes the table
into docs/benchmarks.md ("Load") unless --ci.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import scratch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "0")
SCRATCH, WORK = scratch.names("bench_load")
os.environ.update(scratch.environment(SCRATCH, WORK))

import django  # noqa: E402

django.setup()

from django.db import connections  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402
from ingest import start_worker  # noqa: E402 - bench/ingest.py's worker
from load_client import Step, Tenant, Uploader, VirtualUser, queue_latency  # noqa: E402
from load_processes import connections_used, resident  # noqa: E402
from query import fill, free_port, start_gunicorn  # noqa: E402
from report import markdown_table, write_section  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.services import create_api_key  # noqa: E402
from accounts.tokens import issue_tokens  # noqa: E402
from tenants.services import provision_tenant  # noqa: E402

MEMORY_GOAL = 0.10  # growth of resident memory from after the warm-up to the end
SEARCH_P99_GOAL_MS = 100.0
WARM_GROWTH = 0.03  # a round of the warm-up that grows no process more than this ends it
WARM_LIMIT = 240.0
# Memory is compared as each process's peak resident size (VmHWM): the RSS of one moment
# swings by a tenth with the requests in flight (an analytics page, an answer being built),
# while a leak raises the peak as surely as the RSS.
PEAK = "VmHWM"


def build(count: int, chunks: int) -> list[Tenant]:
    scratch.create_database(SCRATCH)
    made = []
    for n in range(count):
        schema = f"load{n}"
        host = f"load{n}.localhost"
        provisioned = provision_tenant(
            schema_name=schema,
            name=f"Load {n}",
            domain=host,
            plan="enterprise",
            admin_email=f"owner@load{n}.invalid",
            admin_password=secrets.token_urlsafe(16),
        )
        with tenant_context(provisioned.tenant):
            fill(chunks, seed=n)
            owner = User.objects.get(email=provisioned.admin_email)
            _key, raw = create_api_key(name="load", scopes=["read", "write"], created_by=owner)
            access = issue_tokens(user=owner, schema=schema)["access"]
        made.append(Tenant(host=host, key=raw, access=access))
    connections.close_all()
    return made


def run_step(port: int, tenants: list[Tenant], users: int, seconds: float) -> Step:
    stop = time.monotonic() + seconds
    crowd = [VirtualUser(port, tenants[i % len(tenants)], seed=i) for i in range(users)]
    crowd += [Uploader(port, tenant, seed=1000 + n) for n, tenant in enumerate(tenants)]
    threads = [threading.Thread(target=user.run, args=(stop,)) for user in crowd]
    step = Step(users=users)
    started = time.monotonic()
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        step.connections = max(step.connections, connections_used(SCRATCH))
        time.sleep(1.0)
    step.seconds = time.monotonic() - started
    for user in crowd:
        step.add(user)
    return step


def warm_up(
    port: int, tenants: list[Tenant], users: int, seconds: float, roots: list[int]
) -> dict[str, float]:
    """Load for at least `seconds`, then in rounds of 15 s until no process grows by more
    than WARM_GROWTH in a round (at most WARM_LIMIT seconds in all): each process has reached
    its working size (caches, pools, the allocator's arenas). Its memory then, by process."""
    print(f"warming up for {seconds:.0f} s or more…", file=sys.stderr, flush=True)
    started = time.monotonic()
    run_step(port, tenants, users, seconds)
    last = resident(roots, PEAK)
    while time.monotonic() - started < WARM_LIMIT:
        run_step(port, tenants, users, 15.0)
        now = resident(roots, PEAK)
        grown = max((now.get(k, 0.0) / mb - 1 for k, mb in last.items() if mb), default=0.0)
        last = now
        if grown <= WARM_GROWTH:
            break
    print(f"warm after {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return last


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=3)
    parser.add_argument("--chunks", type=int, default=5_000)
    parser.add_argument("--users", type=int, nargs="+", default=[2, 4, 8, 16])
    parser.add_argument("--seconds", type=float, default=75.0, help="per step")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds before measuring")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--ci", action="store_true", help="a short run; exit 1 on a 5xx or growth")
    args = parser.parse_args()
    if args.ci:
        args.tenants, args.chunks, args.users, args.seconds = 2, 5_000, [6], 60
    WORK.mkdir(parents=True)
    gunicorn = worker = None
    try:
        tenants = build(args.tenants, args.chunks)
        port = free_port()
        os.environ["GUNICORN_WORKERS"] = str(args.web_workers)
        os.environ["RATELIMIT_API"] = "1000000/m"
        gunicorn = start_gunicorn(port, WORK / "gunicorn.log", workers=args.web_workers)
        worker = start_worker(1, WORK / "worker.log")
        before = warm_up(port, tenants, max(args.users), args.warmup, [gunicorn.pid, worker.pid])
        steps = []
        for users in args.users:
            print(f"{users} users for {args.seconds:.0f} s…", file=sys.stderr, flush=True)
            steps.append(run_step(port, tenants, users, args.seconds))
            steps[-1].web_mb = sum(
                mb for name, mb in resident([gunicorn.pid]).items() if "child" in name
            )
        latency = queue_latency(port, tenants[0], lambda: run_step(port, tenants, 4, 10.0))
        after = resident([gunicorn.pid, worker.pid], PEAK)
    finally:
        for process in (gunicorn, worker):
            if process is not None:
                process.terminate()
                process.wait(timeout=60)
        kept = Path(tempfile.gettempdir()) / "bench-load-logs"
        kept.mkdir(exist_ok=True)
        for log in WORK.glob("*.log"):
            shutil.copy(log, kept / log.name)
        print(f"the web and worker logs are in {kept}", file=sys.stderr)
        scratch.remove(SCRATCH, WORK)
    return report(args, steps, before, after, latency)


def report(
    args: argparse.Namespace,
    steps: list[Step],
    before: dict[str, float],
    after: dict[str, float],
    latency: float,
) -> int:
    header = ["users", "requests/s", "request", "count", "p50 ms", "p99 ms", "statuses",
              "PostgreSQL connections (most)", "web workers' RSS after the step (MB)"]  # fmt: skip
    table = markdown_table(header, [row for step in steps for row in step.rows()])
    growth = {name: after.get(name, 0.0) / mb - 1 for name, mb in before.items() if mb}
    memory = markdown_table(
        ["process", "peak RSS after warm-up (MB)", "peak RSS at the end (MB)", "growth"],
        [(name, f"{mb:.0f}", f"{after.get(name, 0.0):.0f}", f"{growth[name] * 100:+.1f} %")
         for name, mb in before.items()],
    )  # fmt: skip
    server_errors = sum(step.server_errors() for step in steps)
    within = [step.rate for step in steps if step.p99("search") <= SEARCH_P99_GOAL_MS]
    best = f"{max(within):.0f} requests/s" if within else "none of the steps"
    worst_growth = max(growth.values(), default=0.0)
    summary = (
        f"Highest rate with search p99 ≤ {SEARCH_P99_GOAL_MS:.0f} ms: {best}. "
        f"5xx (or no answer): {server_errors}. Largest memory growth: "
        f"{worst_growth * 100:+.1f} % (goal ≤ {MEMORY_GOAL * 100:.0f} %). An upload's "
        f"time from the request to ready under load: {latency:.1f} s."
    )
    print(table, memory, summary, sep="\n\n")
    failed = server_errors > 0 or worst_growth > MEMORY_GOAL
    if args.ci:
        if failed:
            print("The short load run failed: a 5xx, or memory growth past the goal.")
        return 1 if failed else 0
    notes = (
        f"{args.tenants} tenants of {args.chunks:,} chunks, gunicorn with {args.web_workers} "
        "web processes and one Celery worker on the same 2 cores as the client threads; "
        "mix and method in the docstring of bench/load.py. " + summary
    )
    write_section(f"load-{args.web_workers}", f"Load ({args.web_workers} web processes)",
                  table + "\n\n" + memory, notes=notes)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A thousand tenants: provisioning, migrations, cold tenants, a web process's memory, beat tasks.

    .venv/bin/python bench/many_tenants.py                    # 1,000 tenants
    .venv/bin/python bench/many_tenants.py --tenants 50       # quick

Builds a platform of its own (bench/scratch.py: a scratch database on the server of
DATABASE_URL, folders in a temporary directory, its own cache keys and queues; all removed at
the end). Provisions --tenants tenants as `create_tenant` does (schema cloned from the
template, domain, first admin), each with an API key, a document of three chunks (hashing
embedder, index compacted) and three logged queries, and measures, each step as an operator
or a user meets it:

- provisioning one tenant, p50 / p95 / total;
- `manage.py migrate_schemas` with nothing to do, as this platform runs it (only schemas
  that are behind go to Django) and as django-tenants alone runs it (Django's migrate in
  every schema), each a process of its own;
- a migration that adds a column to every tenant's documents table, run by `migrate_schemas`
  with the standard executor and then another with `--executor multiprocessing` (each in a
  copy of the code with the migration added; the repository is not touched);
- gunicorn as deployed (deploy/gunicorn.conf.py, 2 workers): one search to every tenant, the
  first since the workers started (a cold tenant: routing, caches, index files), then a
  second round (warm); the resident memory of the web processes before and after;
- the per-tenant beat tasks (query-log retention, usage rollup, stuck-document sweep,
  expired-token flush), each run once over every tenant, in this process.

Writes the table into docs/benchmarks.md ("Many tenants").
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import scratch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "0")
SCRATCH, WORK = scratch.names("bench_tenants")
os.environ.update(scratch.environment(SCRATCH, WORK))

import django  # noqa: E402

django.setup()

from django.db import connections  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402
from query import free_port, start_gunicorn  # noqa: E402 - bench/query.py's helpers
from report import markdown_table, write_section  # noqa: E402
from tqdm import tqdm  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.services import create_api_key  # noqa: E402
from documents import index_changes  # noqa: E402
from documents.embedder_choice import embedder_for_current_tenant  # noqa: E402
from documents.models import Chunk, Document, DocumentStatus  # noqa: E402
from queries.models import Query, QueryKind  # noqa: E402
from search import index  # noqa: E402
from tenants.services import provision_tenant  # noqa: E402

TEXTS = (
    "The leave policy grants thirty days of paid leave each calendar year.",
    "Expense reports are due within thirty days of the purchase.",
    "Laptops are replaced every four years, or sooner after a failure.",
)
COLUMN_MIGRATION = """from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("documents", "{previous}")]
    operations = [
        migrations.AddField("document", "{field}", models.IntegerField(null=True)),
    ]
"""
Row = tuple[str, str, str]


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def provision(count: int) -> tuple[list[tuple[str, str]], list[float]]:
    """(host, API key) of each new tenant, and each one's provisioning seconds."""
    made: list[tuple[str, str]] = []
    seconds: list[float] = []
    embedder_name = ""
    for n in tqdm(range(count), desc="tenants", unit="tenant"):
        schema = f"t{n:04d}_{secrets.token_hex(2)}"
        host = f"{schema.replace('_', '-')}.localhost"
        started = time.perf_counter()
        provisioned = provision_tenant(
            schema_name=schema,
            name=f"Tenant {n}",
            domain=host,
            admin_email=f"admin@{host}.invalid",
            admin_password=secrets.token_urlsafe(16),
        )
        seconds.append(time.perf_counter() - started)
        with tenant_context(provisioned.tenant):
            owner = User.objects.get(email=provisioned.admin_email)
            _key, raw = create_api_key(name="bench", scopes=["read"], created_by=owner)
            embedder = embedder_for_current_tenant()
            embedder_name = embedder.name
            document = Document.objects.create(
                filename="policies.txt",
                content_type="text/plain",
                size=sum(map(len, TEXTS)),
                sha256=secrets.token_hex(32),
                status=DocumentStatus.READY,
                embedder=embedder_name,
                chunk_count=len(TEXTS),
            )
            vectors = embedder.embed_documents(list(TEXTS))
            Chunk.objects.bulk_create(
                Chunk(document=document, ordinal=i, text=text, token_count=len(text.split()),
                      embedding=vectors[i].astype("<f4").tobytes())
                for i, text in enumerate(TEXTS)
            )  # fmt: skip
            index_changes.chunks_changed()
            index.compact(rebuild=True)
            Query.objects.bulk_create(
                Query(
                    kind=QueryKind.SEARCH,
                    text=text,
                    normalized_hash=secrets.token_hex(32),
                    mode="hybrid",
                    result_count=1,
                )
                for text in ("leave policy", "expense deadline", "laptop replacement")
            )
        made.append((host, raw))
    return made, seconds


def manage(*arguments: str, cwd: Path = ROOT) -> float:
    """Seconds a `manage.py` process took; its output goes to stderr, a failure stops."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", *arguments], cwd=cwd, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    print(done.stdout[-600:], file=sys.stderr)
    if done.returncode:
        sys.exit(f"manage.py {' '.join(arguments)} failed:\n{done.stderr[-2000:]}")
    return seconds


def django_tenants_alone() -> float:
    """migrate_schemas as django-tenants runs it: Django's migrate in every schema."""
    script = (
        "import django; django.setup();"
        "from django.core.management import call_command;"
        "from django_tenants.management.commands.migrate_schemas import Command;"
        "call_command(Command(), tenant=True, interactive=False, verbosity=0)"
    )
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True)
    return time.perf_counter() - started


def add_column(executor: str, copy: Path, field: str) -> float:
    """Add a migration that adds `field` to every tenant's documents table, in the copy of
    the code, and time migrate_schemas with `executor`."""
    folder = copy / "documents" / "migrations"
    latest = sorted(p.stem for p in folder.glob("[0-9][0-9][0-9][0-9]_*.py"))[-1]
    number = int(latest[:4]) + 1
    name = f"{number:04d}_bench_{field}.py"
    (folder / name).write_text(COLUMN_MIGRATION.format(previous=latest, field=field))
    return manage("migrate_schemas", "--noinput", "--tenant", f"--executor={executor}", cwd=copy)


def code_copy() -> Path:
    """The committed code (HEAD) in a temporary folder, where the bench adds its migrations;
    work in progress in the checkout stays out of the measurement."""
    copy = Path(tempfile.mkdtemp(prefix="bench-tenants-code-"))
    archive = subprocess.run(
        ["git", "archive", "--format=tar", "HEAD"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(copy)], input=archive, check=True)
    return copy


def resident_mb(process: subprocess.Popen[bytes]) -> float:
    """Resident memory of gunicorn's master and workers together, in MB."""
    pids = [process.pid]
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    if children.exists():
        pids += [int(pid) for pid in children.read_text().split()]
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def search_every_tenant(port: int, tenants: list[tuple[str, str]], label: str) -> list[float]:
    connection_ = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    seconds = []
    for host, key in tqdm(tenants, desc=label, unit="tenant", leave=False):
        headers = {"Host": host, "X-API-Key": key, "Content-Type": "application/json"}
        body = json.dumps({"query": "paid leave days", "mode": "hybrid", "no_cache": True})
        started = time.perf_counter()
        connection_.request("POST", "/api/v1/search/", body, headers)
        response = connection_.getresponse()
        payload = response.read()
        seconds.append(time.perf_counter() - started)
        if response.status != 200 or not json.loads(payload)["results"]:
            raise RuntimeError(f"{host} answered {response.status}: {payload[:300]!r}")
    return seconds


def web_rows(tenants: list[tuple[str, str]], rounds: int = 2) -> list[Row]:
    port = free_port()
    log = WORK / "gunicorn.log"
    # No warm-up of recently active tenants: every tenant's first request is a cold one.
    os.environ["SEARCH_WARMUP_TENANTS"] = "0"
    gunicorn = start_gunicorn(port, log)
    try:
        memory = [resident_mb(gunicorn)]
        times = []
        for number in range(rounds):
            times.append(search_every_tenant(port, tenants, "cold" if not number else "warm"))
            memory.append(resident_mb(gunicorn))
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
    ms = 1000
    cold, warm = times[0], [t for later in times[1:] for t in later]
    rows = [
        ("first search of a cold tenant over HTTP (p50 / p95)",
         f"{statistics.median(cold) * ms:.0f} / {percentile(cold, 0.95) * ms:.0f} ms", ""),
    ]  # fmt: skip
    if warm:
        rows.append(("later searches of each tenant (p50 / p95)",
                     f"{statistics.median(warm) * ms:.0f} / {percentile(warm, 0.95) * ms:.0f} ms",
                     ""))  # fmt: skip
    rows.append((
        "web processes' memory (master + 2 workers): started / after each round over "
        "every tenant",
        " / ".join(f"{mb:.0f}" for mb in memory) + " MB", "",
    ))  # fmt: skip
    return rows


def beat_rows() -> list[Row]:
    from accounts.tasks import flush_expired_tokens
    from documents.tasks import sweep_stuck_documents
    from operators.tasks import rollup_usage
    from queries.tasks import purge_query_log

    jobs: dict[str, Callable[[], object]] = {
        "query-log retention (daily)": purge_query_log,
        "usage rollup (hourly)": rollup_usage,
        "stuck-document sweep (every minute)": sweep_stuck_documents,
        "expired-token flush (daily, public schema)": flush_expired_tokens,
    }
    rows = []
    for label, job in jobs.items():
        started = time.perf_counter()
        job()
        rows.append((f"beat task: {label}", f"{(time.perf_counter() - started) * 1000:.0f} ms", ""))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2, help="searches of every tenant")
    parser.add_argument(
        "--web-only",
        action="store_true",
        help="provision, then only the web rows (section 'Many tenants: web memory')",
    )
    args = parser.parse_args()
    WORK.mkdir(parents=True)
    copy: Path | None = None
    try:
        scratch.create_database(SCRATCH)
        started = time.perf_counter()
        tenants, seconds = provision(args.tenants)
        filled = time.perf_counter() - started
        connections.close_all()
        rows: list[Row] = [
            ("provisioning one tenant (p50 / p95)",
             f"{statistics.median(seconds):.2f} / {percentile(seconds, 0.95):.2f} s", ""),
            (f"{args.tenants} tenants provisioned and filled", f"{filled:.0f} s", ""),
        ]  # fmt: skip
        if args.web_only:
            rows += web_rows(tenants, args.rounds)
            return report(args, rows, web_only=True)
        print("migrate_schemas with nothing to do…", file=sys.stderr, flush=True)
        ours = manage("migrate_schemas", "--noinput")
        rows.append(("`migrate_schemas`, nothing to do", f"{ours:.1f} s", "goal ≤ 60 s"))
        alone = django_tenants_alone()
        rows.append(("the same by django-tenants alone (migrate in every schema)",
                     f"{alone:.1f} s", "before"))  # fmt: skip
        copy = code_copy()
        for executor, field in (("standard", "bench_a"), ("multiprocessing", "bench_b")):
            print(f"a new column, {executor} executor…", file=sys.stderr, flush=True)
            took = add_column(executor, copy, field)
            rows.append((f"a migration adding a column to every tenant ({executor})",
                         f"{took:.1f} s", ""))  # fmt: skip
        rows += web_rows(tenants, args.rounds)
        rows += beat_rows()
    finally:
        if copy is not None:
            shutil.rmtree(copy, ignore_errors=True)
        scratch.remove(SCRATCH, WORK)
    report(args, rows, web_only=False)


def report(args: argparse.Namespace, rows: list[Row], *, web_only: bool) -> None:
    table = markdown_table(["measure", "result", "note"], rows)
    print(table)
    write_section(
        "tenants-web" if web_only else "tenants",
        "Many tenants: web memory" if web_only else "Many tenants",
        table,
        notes=f"{args.tenants} tenants of one document (3 chunks), an API key and 3 logged "
        "queries each, on one PostgreSQL; steps and method: the docstring of "
        "bench/many_tenants.py."
        + (
            f" Provisioning and {args.rounds} rounds of searches only (--web-only)."
            if web_only
            else ""
        ),
    )


if __name__ == "__main__":
    main()

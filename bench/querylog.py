"""A million-row query log: analytics, history, retention and partition pruning.

    .venv/bin/python bench/querylog.py                     # 1,000,000 rows
    .venv/bin/python bench/querylog.py --rows 100000       # quick

Builds a platform of its own (bench/scratch.py: a scratch database on the server of
DATABASE_URL, its own cache keys; all removed at the end) with one tenant whose query log
holds --rows searches and asks spread evenly over the last 13 months (one INSERT … SELECT
over generate_series: 40 people and 4 API keys (names only) asking 1,000 different questions, a few
percent failed, cached or found nothing, 0.5 % with feedback), partitioned by month as
migrations and the beat task leave it. Then measures, in this process through Django's
test client (the whole request: routing, authentication, view, serialisation):

- the first count of the whole log into the quarter-hour slots analytics adds up (once per
  workspace; afterwards only the slots that ended since);
- GET /api/v1/analytics/queries/ (30 days, the default, and 365 days), p50 / p95;
- GET /api/v1/queries/ (one person's history, first page), p50 / p95;
- retention: the purge with its cut-off at the start of the second month (the oldest month
  is detached and dropped), then one day later (a day's rows deleted inside a partition);
- each read the 30-day report makes, timed on its own (where the request's time goes);
- the plan of a 30-day analytics read: how many of the partitions it scans;
- the conversion migration over the whole log, reversed to one plain table and back.

Writes the table into docs/benchmarks.md ("Query log, partitioned").
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import scratch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "0")
SCRATCH, WORK = scratch.names("bench_querylog")
os.environ.update(scratch.environment(SCRATCH, WORK))

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.db.migrations.executor import MigrationExecutor  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402
from report import markdown_table, write_section  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.tokens import issue_tokens  # noqa: E402
from analytics import query_lists, query_stats, query_summary, query_topics, selectors  # noqa: E402
from analytics.query_stats import Window, queries_in  # noqa: E402
from queries import log_partitions, log_rollups  # noqa: E402
from queries.models import QuerySlot  # noqa: E402
from search.retrieval import normalize_query  # noqa: E402
from tenants import partitions  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.services import provision_tenant  # noqa: E402

Row = tuple[str, str, str]
SUBJECTS = (
    "parental leave", "expense reports", "laptop replacement", "remote work", "travel booking",
    "the notice period", "overtime pay", "the pension plan", "sick leave", "the dress code",
    "parking permits", "training budgets", "security badges", "public holidays", "bonuses",
    "the code of conduct", "data retention", "visitor access", "relocation", "mentoring",
)  # fmt: skip
FORMS = (
    "how does {} work", "who approves {}", "what is the policy on {}", "{} deadline",
    "where do I find the form for {}", "does {} apply to contractors", "{} in the handbook",
    "what changed about {} this year", "{} for part-time staff", "limits of {}",
)  # fmt: skip
QUALIFIERS = ("", " for managers", " in Germany", " after probation", " for interns")
TEXTS = [f"{f.format(s)}{q}" for s in SUBJECTS for f in FORMS for q in QUALIFIERS]
PEOPLE, KEYS, DAYS = 40, 4, 395
T = TypeVar("T")


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed(job: Callable[[], T]) -> tuple[T, float]:
    """What `job` returned and how many seconds it took."""
    started = time.perf_counter()
    result = job()
    return result, time.perf_counter() - started


def setup_tenant() -> tuple[Tenant, str, int, int]:
    """The tenant, its host, its owner's id and the id of one person who asks."""
    host = "querylog-bench.localhost"
    provisioned = provision_tenant(
        schema_name="querylog_bench",
        name="Query log bench",
        domain=host,
        admin_email=f"owner@{host}.invalid",
        admin_password=secrets.token_urlsafe(16),
    )
    with tenant_context(provisioned.tenant):
        owner = User.objects.get(email=provisioned.admin_email)
        people = [
            User.objects.create_user(f"person{n}@{host}.invalid", secrets.token_urlsafe(16))
            for n in range(PEOPLE)
        ]
    return provisioned.tenant, host, owner.pk, people[0].pk


def fill(tenant: Tenant, rows: int, person_ids: list[int]) -> float:
    """Insert `rows` query-log rows over the last DAYS days; returns the seconds it took."""
    hashes = [hashlib.sha256(normalize_query(t).encode()).hexdigest() for t in TEXTS]
    keys = [f"dik_bench{n}" for n in range(KEYS)]
    with tenant_context(tenant):
        now = timezone.now()
        partitions.ensure_months(
            "queries_query", "created_at", first=now - timedelta(days=DAYS), count=15
        )
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(FILL_SQL, [TEXTS, hashes, person_ids, keys, now, DAYS, rows])
            cursor.execute(FEEDBACK_SQL)
            cursor.execute("ANALYZE queries_query")
            cursor.execute("ANALYZE queries_queryfeedback")
        return time.perf_counter() - started


FILL_SQL = """
WITH params AS (
    SELECT %s::text[] AS texts, %s::text[] AS hashes, %s::bigint[] AS people,
           %s::text[] AS keys, %s::timestamptz AS now, %s::int AS days, %s::int AS total
)
INSERT INTO queries_query (
    kind, text, normalized_hash, mode, backend, embedder, result_count, embed_ms, dense_ms,
    lexical_ms, fusion_ms, answer_ms, total_ms, prompt_tokens, completion_tokens,
    embedding_tokens, estimated_cost_usd, user_id, api_key_prefix, cached, degraded, error,
    created_at
)
SELECT
    CASE WHEN g %% 4 = 0 THEN 'ask' ELSE 'search' END,
    texts[1 + (g::bigint * 7919) %% cardinality(texts)],
    hashes[1 + (g::bigint * 7919) %% cardinality(texts)],
    'hybrid', CASE WHEN g %% 4 = 0 THEN 'extractive' ELSE '' END, 'hashing-384',
    CASE WHEN g %% 23 = 0 THEN 0 ELSE 1 + g %% 10 END,
    1 + (g %% 5), 2 + (g %% 7), 3 + (g %% 11), 0.2, CASE WHEN g %% 4 = 0 THEN 40 ELSE 0 END,
    20 + (g %% 97) + CASE WHEN g %% 4 = 0 THEN 40 ELSE 0 END,
    0, 0, 12, 0,
    CASE WHEN g %% 10 = 0 THEN NULL ELSE people[1 + g %% cardinality(people)] END,
    CASE WHEN g %% 10 = 0 THEN keys[1 + g %% cardinality(keys)] ELSE '' END,
    g %% 5 = 0, false, CASE WHEN g %% 211 = 0 THEN 'server_error' ELSE '' END,
    now - (total - g) * (days * interval '1 day') / total
FROM params, generate_series(1, (SELECT total FROM params)) AS g
"""
FEEDBACK_SQL = """
INSERT INTO queries_queryfeedback (
    query_id, helpful, comment, user_id, created_at, updated_at, query_created_at
)
SELECT id, id % 3 <> 0, CASE WHEN id % 3 = 0 THEN 'Quoted the wrong policy.' ELSE '' END,
       user_id, created_at, created_at, created_at
FROM queries_query WHERE id % 200 = 0
"""


def latencies(client: Client, path: str, token: str, runs: int) -> list[float]:
    headers = {"Authorization": f"Bearer {token}"}
    client.get(path, headers=headers)  # the first request warms the process's caches
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
    return samples


def request_rows(host: str, owner_token: str, person_token: str, runs: int) -> list[Row]:
    client = Client(HTTP_HOST=host)
    rows: list[Row] = []
    analytics = "/api/v1/analytics/queries/"
    year_runs = max(5, runs // 4)  # each reads the whole log
    for label, path, token, goal, count in (
        ("GET /api/v1/analytics/queries/ (30 days)", analytics, owner_token, "goal p95 ≤ 200 ms",
         runs),
        ("GET /api/v1/analytics/queries/?days=365", f"{analytics}?days=365", owner_token, "",
         year_runs),
        ("GET /api/v1/queries/ (a person's history, first page)", "/api/v1/queries/",
         person_token, "", runs),
    ):  # fmt: skip
        print(f"{label}…", file=sys.stderr, flush=True)
        samples = latencies(client, path, token, count)
        result = f"{statistics.median(samples):.0f} / {percentile(samples, 0.95):.0f} ms"
        rows.append((f"{label}, p50 / p95 of {count}", result, goal))
    return rows


def report_parts_row(tenant: Tenant, runs: int) -> Row:
    """Where a 30-day analytics request spends its time: each read of the report, median."""
    window = Window.ending(30)
    parts: dict[str, Callable[[], object]] = {
        "totals, days and latency by kind (slots)": lambda: query_summary.summarize(window),
        "feedback": lambda: query_stats.feedback_counts(window),
        "content gaps, repeated and API keys": lambda: query_lists.text_lists(window),
        "topics": lambda: query_topics.popular_topics(window),
        "comments": lambda: query_lists.not_helpful_comments(window),
        "document totals": selectors.document_totals,
    }
    medians = {}
    with tenant_context(tenant):
        for name, part in parts.items():
            medians[name] = statistics.median(timed(part)[1] * 1000 for _ in range(runs))
    spent = ", ".join(f"{name} {ms:.0f}" for name, ms in medians.items())
    return ("the 30-day report's reads, median ms each", f"{sum(medians.values()):.0f} ms", spent)


def first_rollup_row(tenant: Tenant, rows: int) -> Row:
    """The first report after the log was filled counts all of it into quarter-hour slots;
    afterwards each report (and the daily upkeep) adds only the slots that ended since."""
    with tenant_context(tenant):
        _until, took = timed(log_rollups.roll_up)
        slots = QuerySlot.objects.count()
        _until, again = timed(log_rollups.roll_up)
    return (
        f"the whole log ({rows:,} rows) counted into {slots:,} quarter-hour slots, once",
        f"{took:.1f} s",
        f"then {again * 1000:.0f} ms when no slot has ended since",
    )


def access_token(tenant: Tenant, person_id: int) -> str:
    with tenant_context(tenant):
        user = User.objects.get(pk=person_id)
        return issue_tokens(user=user, schema=tenant.schema_name)["access"]


def retention_rows(tenant: Tenant) -> list[Row]:
    with tenant_context(tenant):
        months = [p for p in partitions.partitions("queries_query") if not p.is_default]
        oldest = next(p for p in months if _count(p.name))
        cutoff = oldest.end
        assert cutoff is not None
        held = _count(oldest.name)
        dropped, took = timed(lambda: log_partitions.purge_before(cutoff))
        next_day, took_day = timed(lambda: log_partitions.purge_before(cutoff + timedelta(days=1)))
    return [
        (f"retention: the oldest month dropped ({held:,} rows, {dropped.partitions_dropped} "
         "partition)", f"{took * 1000:.0f} ms", "goal ≤ 1 s"),
        (f"retention: the next day ({next_day.rows:,} rows deleted in a partition)",
         f"{took_day * 1000:.0f} ms", ""),
    ]  # fmt: skip


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 - a partition's name
        return int(cursor.fetchone()[0])


def pruning_row(tenant: Tenant) -> Row:
    with tenant_context(tenant):
        plan = queries_in(Window.ending(30)).explain()
        every = {p.name for p in partitions.partitions("queries_query")}
    scanned = sorted(set(re.findall(r"queries_query_(?:y\d{4}m\d{2}|default)", plan)) & every)
    return (
        "EXPLAIN of a 30-day analytics read: partitions scanned",
        f"{len(scanned)} of {len(every)}",
        ", ".join(scanned),
    )


def conversion_rows(tenant: Tenant, rows: int) -> list[Row]:
    with tenant_context(tenant):
        executor = MigrationExecutor(connection)
        _state, back = timed(lambda: executor.migrate([("queries", "0002_query_error")]))
        executor.loader.build_graph()
        _state, forward = timed(lambda: executor.migrate([("queries", "0003_partition_query_log")]))
        left = _count("queries_query")
    return [
        (f"migration 0003 converting {left:,} rows to monthly partitions", f"{forward:.1f} s",
         f"{rows:,} inserted"),
        ("the same migration reversed (one plain table)", f"{back:.1f} s", ""),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=40, help="requests per measure")
    args = parser.parse_args()
    WORK.mkdir(parents=True)
    load_before = os.getloadavg()[1]
    try:
        scratch.create_database(SCRATCH)
        tenant, host, owner_id, person_id = setup_tenant()
        with tenant_context(tenant):
            people = list(
                User.objects.exclude(pk__in=[person_id, owner_id]).values_list("pk", flat=True)
            )
        print(f"inserting {args.rows:,} query-log rows…", file=sys.stderr, flush=True)
        filled = fill(tenant, args.rows, [person_id, *people])
        rows: list[Row] = [
            (f"{args.rows:,} rows over {DAYS} days inserted (one INSERT … SELECT)",
             f"{filled:.1f} s", ""),
        ]  # fmt: skip
        rows.append(first_rollup_row(tenant, args.rows))
        owner_token, person_token = (access_token(tenant, pk) for pk in (owner_id, person_id))
        rows += request_rows(host, owner_token, person_token, args.runs)
        rows.append(report_parts_row(tenant, max(5, args.runs // 4)))
        rows.append(pruning_row(tenant))
        rows += retention_rows(tenant)
        rows += conversion_rows(tenant, args.rows)
    finally:
        scratch.remove(SCRATCH, WORK)
    table = markdown_table(["measure", "result", "note"], rows)
    print(table)
    write_section(
        "querylog",
        "Query log, partitioned",
        table,
        notes=f"One tenant whose query log holds {args.rows:,} rows over {DAYS} days, "
        "partitioned by month; requests through Django's test client in one process; data, "
        "steps and method: the docstring of bench/querylog.py. Load average (5 min) "
        f"{load_before:.1f} at the start and {os.getloadavg()[1]:.1f} at the end, on "
        f"{os.cpu_count()} cores: other work shared the machine.",
    )


if __name__ == "__main__":
    main()

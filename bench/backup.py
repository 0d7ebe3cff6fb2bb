"""Backup and restore times and sizes: the whole platform, and one tenant of 10,000 chunks.

    .venv/bin/python bench/backup.py      # a tenant of 10,000 chunks and 4 of 1,000
    .venv/bin/python bench/backup.py --chunks 2000 --small 2 --small-chunks 200   # quick

Builds a platform of its own: a scratch database on the server of DATABASE_URL (created
here and dropped at the end; the database DATABASE_URL names is never touched) with
MEDIA_ROOT and INDEX_ROOT in a temporary folder. Its tenants are filled as bench/query.py
fills one (Cranfield sentences, hashing embedder, bulk-inserted, index compacted), and the
first --files documents of each get a stored file. Then it runs the commands as an operator
does, each one a `manage.py` process against that database (its progress shows on stderr):
`backup --to DIR` of the whole platform, without and with `--with-indexes`; `restore --from
… --force --noinput` of each over the platform (database replaced, files, migrate_schemas,
indexes rebuilt or unpacked); then `backup --tenant` of the large tenant, `restore --tenant`
over it and `restore --tenant --as` beside it. After every restore each table of every
schema is counted and compared with the counts when the backup ended and with the
manifest's; a difference stops the bench (exit status 1) naming the tables. Writes the table
into docs/benchmarks.md. Uses DATABASE_URL / REDIS_URL when set, else the embedded servers.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import scratch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "0")  # as bench/query.py: production's settings
# The platform under test lives in a database and folders of its own, which the
# whole-platform restores replace; these variables reach the manage.py processes too.
SCRATCH, WORK = scratch.names("bench_backup")  # WORK is made by main()
os.environ.update(scratch.environment(SCRATCH, WORK))

import django  # noqa: E402

django.setup()

from django.core.files.base import ContentFile  # noqa: E402
from django.db import connections  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402
from query import fill  # noqa: E402 - bench/query.py's scratch corpus
from report import markdown_table, write_section  # noqa: E402

from documents.models import Document  # noqa: E402
from operators.backups import manifest  # noqa: E402
from operators.backups.create import connect  # noqa: E402
from tenants.db import use_public_schema  # noqa: E402
from tenants.services import provision_tenant  # noqa: E402

LARGE = "bench_large"
BACKUP_LINE = re.compile(r"^Backed up \S+: .* in ([\d.]+) s to (.+)$")
RESTORE_LINE = re.compile(
    r"^Restored .* in ([\d.]+) s \(the recovery time\)(?:; it answers at .*)?\.$"
)
Census = dict[str, int]  # "schema.table": rows


def build(tenants: list[tuple[str, int]], files: int) -> int:
    """The scratch database migrated, and each (schema, chunks) tenant filled; how many
    stored files they have."""
    scratch.create_database(SCRATCH)  # the restores replace it, and no other
    stored = 0
    for seed, (schema, chunks) in enumerate(tenants):
        print(f"filling {schema}: {chunks:,} chunks", file=sys.stderr)
        provisioned = provision_tenant(
            schema_name=schema,
            name=schema.replace("_", " ").title(),
            domain=f"{schema.replace('_', '-')}.localhost",
            plan="enterprise",
            admin_email=f"bench@{schema.replace('_', '-')}.invalid",
            admin_password=secrets.token_urlsafe(20),
        )
        with tenant_context(provisioned.tenant):
            fill(chunks, seed=7 + seed)
            for document in Document.objects.order_by("pk")[:files]:
                text = "\n\n".join(document.chunks.values_list("text", flat=True))
                document.file.save(document.filename, ContentFile(text.encode()), save=True)
                stored += 1
        use_public_schema()
    connections.close_all()  # the restores replace this database: hold no session on it
    return stored


def manage(*args: str) -> tuple[float, str]:
    """Run `manage.py ARGS` against the scratch platform; its wall-clock seconds (Django's
    start-up included) and its last line. A failure stops the bench."""
    print(f"\n$ manage.py {' '.join(args)}", file=sys.stderr)
    started = time.perf_counter()
    done = subprocess.run(  # stderr (the command's progress) goes straight to the terminal
        [sys.executable, "manage.py", *args],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"manage.py {args[0]} failed (exit status {done.returncode}).")
    last = done.stdout.strip().splitlines()[-1]
    print(last, file=sys.stderr)
    return seconds, last


def backup(tenants: int, *args: str) -> tuple[list[object], Path, Census]:
    """`backup --to FOLDER ARGS`: its table row, its folder, and the platform's rows when it
    ended (what a restore of it must give back)."""
    wall, line = manage("backup", "--to", str(WORK / "backups"), *args)
    match = BACKUP_LINE.match(line)
    if not match:
        raise SystemExit(f"backup printed an unexpected last line: {line}")
    where = Path(match.group(2))
    size = sum(path.stat().st_size for path in where.iterdir())
    step = " ".join(["backup", *args])
    step += " (one tenant)" if "--tenant" in args else " (the whole platform)"
    return [step, tenants, match.group(1), f"{wall:.1f}", f"{size / 1e6:.1f}"], where, census()


def restore(step: str, tenants: int, where: Path, *args: str) -> list[object]:
    """`restore --from WHERE ARGS --noinput`: its table row, without the row counts."""
    wall, line = manage("restore", "--from", str(where), *args, "--noinput")
    match = RESTORE_LINE.match(line)
    if not match:
        raise SystemExit(f"restore printed an unexpected last line: {line}")
    return [step, tenants, match.group(1), f"{wall:.1f}", ""]


def census() -> Census:
    """Rows of every table in every schema of the scratch database."""
    with connect() as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' "
            "AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
        ).fetchall()
        found: Census = {}
        for schema, table in tables:
            counted = conn.execute(f'SELECT count(*) FROM "{schema}"."{table}"')  # noqa: S608
            found[f"{schema}.{table}"] = int(counted.fetchone()[0])  # type: ignore[index]
    return found


def compare(what: str, expected: Census, where: Path, *, rename: tuple[str, str] = ("", "")) -> str:
    """Every table's rows as `expected` (the tables of schema rename[0] also under
    rename[1]) and as the manifest recorded; else the bench stops naming the differences."""
    found = census()
    original, copy = rename
    if copy:
        prefix = f"{original}."
        expected = expected | {
            f"{copy}.{key.removeprefix(prefix)}": rows
            for key, rows in expected.items()
            if key.startswith(prefix)
        }
    wrong = [
        f"{key}: {expected.get(key)} rows when backed up, {found.get(key)} after the restore"
        for key in sorted(set(expected) | set(found))
        if expected.get(key) != found.get(key)
    ]
    for schema, counts in manifest.read(where)["row_counts"].items():
        for table, rows in counts.items():
            if found.get(f"{schema}.{table}") != rows:
                now = found.get(f"{schema}.{table}")
                wrong.append(f"{schema}.{table}: {rows} in the manifest, {now} after the restore")
    if wrong:
        raise SystemExit(f"{what}: row counts differ after the restore:\n  " + "\n  ".join(wrong))
    schemas = len({key.split(".", 1)[0] for key in found})
    return f"equal: {sum(found.values()):,} rows, {len(found)} tables, {schemas} schemas"


def platform_rows(tenants: int) -> tuple[list[list[object]], dict[str, int]]:
    """Both whole-platform backups, each restored over the platform and checked."""
    plain, plain_at, plain_rows = backup(tenants)
    indexed, indexed_at, indexed_rows = backup(tenants, "--with-indexes")
    rows = [[*plain, ""], [*indexed, ""]]
    for source, where, expected, how in (
        ("backup", plain_at, plain_rows, "indexes rebuilt"),
        ("backup --with-indexes", indexed_at, indexed_rows, "indexes unpacked"),
    ):
        step = f"restore --force of `{source}` (database, files, migrations, {how})"
        row = restore(step, tenants, where, "--force")
        rows.append([*row, compare(step, expected, where)])
    parts = {path.name: path.stat().st_size for path in plain_at.iterdir()}
    return rows, parts


def tenant_rows() -> tuple[list[list[object]], dict[str, int]]:
    """The large tenant backed up, restored over itself and beside itself, and checked."""
    made, where, expected = backup(1, "--tenant", LARGE)
    rows = [[*made, ""]]
    step = "restore --tenant (replacing it, index rebuilt)"
    row = restore(step, 1, where, "--tenant", LARGE)
    rows.append([*row, compare(step, expected, where)])
    step = "restore --tenant --as (a new tenant beside it)"
    copy = f"{LARGE}_copy"
    row = restore(step, 1, where, "--tenant", LARGE, "--as", copy)
    for table in ("public.tenants_tenant", "public.tenants_domain"):  # the copy's own rows
        expected[table] += 1
    rows.append([*row, compare(step, expected, where, rename=(LARGE, copy))])
    parts = {path.name: path.stat().st_size for path in where.iterdir()}
    return rows, parts


def cleanup() -> None:
    scratch.remove(SCRATCH, WORK)


def describe(args: argparse.Namespace, stored: int, parts: list[dict[str, int]]) -> str:
    """The notes under the table: what was measured, and what each column means."""
    platform, tenant = (
        ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in sorted(files.items()))
        for files in parts
    )
    total = args.chunks + args.small * args.small_chunks
    return (
        f"A platform of {1 + args.small} tenants, {total:,} chunks (one of {args.chunks:,} and "
        f"{args.small} of {args.small_chunks:,}; Cranfield sentences, hashing embedder) and "
        f"{stored} stored files (the first {args.files} documents of each tenant), in a scratch "
        "database on the same machine's PostgreSQL; backups go to a local folder. Every "
        "command runs as `manage.py` in a process of its own: *seconds* is the time the "
        "command prints (for a restore, the recovery time), *manage.py process s* adds "
        "Django's start-up. After each restore every table of every schema (public, "
        "tenant_template and the tenants') has the rows it had when the backup ended and the "
        "manifest's counts (*row counts*; the bench stops if one differs). The "
        f"whole-platform backup's files: {platform}; the tenant backup's: {tenant}."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=10_000, help="the large tenant's chunks")
    parser.add_argument("--files", type=int, default=100, help="stored files per tenant (at most)")
    parser.add_argument("--small", type=int, default=4, help="how many small tenants")
    parser.add_argument("--small-chunks", type=int, default=1_000, help="each small one's chunks")
    args = parser.parse_args()
    tenants = [(LARGE, args.chunks)]
    tenants += [(f"bench_small_{n}", args.small_chunks) for n in range(1, args.small + 1)]
    WORK.mkdir()
    try:
        stored = build(tenants, args.files)
        platform, platform_parts = platform_rows(len(tenants))
        tenant, tenant_parts = tenant_rows()
    finally:
        cleanup()
    header = ["step", "tenants", "seconds", "manage.py process s", "size MB", "row counts"]
    table = markdown_table(header, platform + tenant)
    notes = describe(args, stored, [platform_parts, tenant_parts])
    print(f"\n{table}\n\n{notes}")
    write_section("backup", "Backup and restore", table, notes=notes)


if __name__ == "__main__":
    main()

"""Making a backup: the whole platform, or one tenant.

One database snapshot serves everything read from the database: a REPEATABLE READ
transaction exports it, `pg_dump --snapshot` dumps exactly that state, and the manifest's
tenants, row counts, migrations and referenced files are read in the same transaction. The
stored files are copied after the dump, so every file the dump references is in the backup
unless its document was deleted in between (listed in the manifest as `missing_files`; a
restore warns). Files added meanwhile are harmless extras. Uploads and questions go on.

Layout: `database.dump` (pg_dump custom format; every schema, or the tenant's schema only),
`files.tar` (MEDIA_ROOT, or MEDIA_ROOT/<schema>), `indexes.tar` with `--with-indexes` (the
index files are rebuildable from the database), and `manifest.json`
(operators/backups/manifest.py), which also holds each tenant's public rows (the tenant and
its domains), so one tenant can be restored alone.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings

from operators.backups import manifest, postgres
from operators.backups.destinations import Destination
from operators.backups.postgres import BackupError

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Made:
    name: str
    where: str
    size: int
    seconds: float
    manifest: dict[str, Any]


def connect(
    isolation: psycopg.IsolationLevel | None = None, *, database: str | None = None
) -> psycopg.Connection[Any]:
    """A psycopg connection of its own to Django's database (not Django's connection), or
    to another database on the same server."""
    libpq = postgres.environment(database)
    connection = psycopg.connect(
        host=libpq.get("PGHOST"),
        port=libpq.get("PGPORT"),
        user=libpq.get("PGUSER"),
        password=libpq.get("PGPASSWORD"),
        dbname=libpq["PGDATABASE"],
        connect_timeout=10,
    )
    if isolation is not None:
        connection.isolation_level = isolation
    return connection


def backup(
    destination: Destination,
    *,
    tenant: str | None = None,
    with_indexes: bool = False,
    progress: Progress = lambda _: None,
) -> Made:
    started = time.monotonic()
    now = datetime.now(tz=UTC)
    name = f"{'platform' if tenant is None else f'tenant-{tenant}'}-{now:%Y%m%dT%H%M%SZ}"
    tools = postgres.tools()
    destination.check()
    staging = Path(tempfile.mkdtemp(prefix="di-backup-", dir=_staging_root()))
    try:
        with _snapshot() as (cursor, snapshot_id):
            facts = _facts(cursor, tenant)
            progress("dumping the database")
            arguments: list[str | Path] = [tools.pg_dump, "--format=custom", "--no-owner"]
            arguments += [f"--snapshot={snapshot_id}", f"--file={staging / 'database.dump'}"]
            if tenant is not None:
                arguments.append(f"--schema={tenant}")
            postgres.run(arguments, what="pg_dump")
        media = Path(settings.MEDIA_ROOT)
        progress("copying the stored files")
        files, missing = _archive(
            media if tenant is None else media / tenant,
            staging / "files.tar",
            base=media,
            referenced=facts.pop("referenced"),
        )
        if with_indexes:
            progress("copying the index files")
            root = Path(settings.INDEX_ROOT)
            _archive(root if tenant is None else root / tenant, staging / "indexes.tar", base=root)
        record = {
            "format": manifest.FORMAT,
            "kind": "platform" if tenant is None else "tenant",
            "tenant": tenant,
            "created_at": now.isoformat(),
            "commit": manifest.commit(),
            "postgres_major": tools.major,
            "with_indexes": with_indexes,
            "files": files,
            "missing_files": missing,
            **facts,
        }
        record["dump_seconds"] = round(time.monotonic() - started, 1)
        manifest.write(staging, record)
        size = sum(path.stat().st_size for path in staging.iterdir())
        where = destination.upload(staging, name, progress)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Made(name, where, size, round(time.monotonic() - started, 1), record)


def _staging_root() -> str | None:
    configured = str(getattr(settings, "BACKUP_STAGING_DIR", "") or "")
    if configured:
        Path(configured).mkdir(parents=True, exist_ok=True)
    return configured or None


@contextmanager
def _snapshot() -> Iterator[tuple[psycopg.Cursor[Any], str]]:
    """A REPEATABLE READ transaction and its exported snapshot, open until the dump ends."""
    with (
        connect(psycopg.IsolationLevel.REPEATABLE_READ) as connection,
        connection.transaction(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT pg_export_snapshot()")
        (snapshot_id,) = cursor.fetchone()  # type: ignore[misc]
        yield cursor, str(snapshot_id)


def _facts(cursor: psycopg.Cursor[Any], tenant: str | None) -> dict[str, Any]:
    """Tenants, migrations, row counts and referenced files, as the snapshot sees them."""
    cursor.execute(
        "SELECT t.schema_name, row_to_json(t)::text, coalesce(json_agg(row_to_json(d)) "
        "FILTER (WHERE d.id IS NOT NULL), '[]')::text FROM public.tenants_tenant t "
        "LEFT JOIN public.tenants_domain d ON d.tenant_id = t.id "
        "WHERE t.schema_name <> 'public' AND (%s::text IS NULL OR t.schema_name = %s) "
        "GROUP BY t.id ORDER BY t.schema_name",
        [tenant, tenant],
    )
    rows = cursor.fetchall()
    if tenant is not None and not rows:
        raise BackupError(f"There is no tenant with the schema name '{tenant}'.")
    tenants = [
        {"schema": schema, "tenant": json.loads(row), "domains": json.loads(domains)}
        for schema, row, domains in rows
    ]
    schemas = [item["schema"] for item in tenants]
    counted = schemas if tenant is not None else ["public", *schemas]
    referenced: list[str] = []
    for schema in schemas:
        cursor.execute(f'SELECT file FROM "{schema}".documents_document')  # noqa: S608
        referenced += [f"{schema}/{path}" for (path,) in cursor.fetchall() if path]
    return {
        "tenants": tenants,
        "migrations": _migrations(cursor, counted),
        "row_counts": {schema: _counts(cursor, schema) for schema in counted},
        "referenced": referenced,
    }


def _migrations(cursor: psycopg.Cursor[Any], schemas: list[str]) -> dict[str, list[str]]:
    found: dict[str, set[str]] = {}
    for schema in schemas:
        cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations')  # noqa: S608
        for app, name in cursor.fetchall():
            found.setdefault(app, set()).add(name)
    return {app: sorted(names) for app, names in sorted(found.items())}


def _counts(cursor: psycopg.Cursor[Any], schema: str) -> dict[str, int]:
    cursor.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
        "AND table_name = ANY(%s)",
        [schema, list(manifest.COUNTED)],
    )
    tables = sorted(name for (name,) in cursor.fetchall())
    counts = {}
    for table in tables:
        cursor.execute(f'SELECT count(*) FROM "{schema}"."{table}"')  # noqa: S608
        counts[table] = int(cursor.fetchone()[0])  # type: ignore[index]
    return counts


def _archive(
    folder: Path, target: Path, *, base: Path, referenced: list[str] | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Tar `folder` (paths relative to `base`); each file's size and SHA-256, and which of
    `referenced` (paths relative to `base`) were not there."""
    listed: list[dict[str, Any]] = []
    with tarfile.open(target, "w") as archive:
        if folder.is_dir():
            for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
                relative = path.relative_to(base).as_posix()
                try:
                    digest, size = manifest.sha256_of(path), path.stat().st_size
                    archive.add(path, arcname=relative, recursive=False)
                except FileNotFoundError:
                    continue  # deleted while the backup ran; its row is gone from later dumps
                listed.append({"path": relative, "size": size, "sha256": digest})
    present = {item["path"] for item in listed}
    return listed, sorted(path for path in referenced or [] if path not in present)


def prune(destination: Destination, retention: str, *, tenant: str | None = None) -> list[str]:
    """Delete the backups of the same kind that `retention` does not keep: a count ("7": the
    newest 7) or an age ("14d": those of the last 14 days); the newest is always kept.
    Returns the names deleted."""
    prefix = "platform-" if tenant is None else f"tenant-{tenant}-"
    mine = [name for name in destination.names() if name.startswith(prefix)]
    if retention.endswith("d"):
        cutoff = datetime.now(tz=UTC) - timedelta(days=int(retention[:-1]))
        doomed = [name for name in mine[:-1] if _made_at(name) < cutoff]
    else:
        doomed = mine[: max(0, len(mine) - max(1, int(retention)))]
    for name in doomed:
        destination.delete(name)
    return doomed


def _made_at(name: str) -> datetime:
    return datetime.strptime(name.rsplit("-", 1)[-1], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)

"""Restoring a backup: the whole platform into an empty database, or one tenant into a
running platform.

Nothing is touched before everything is checked: the manifest, the size and SHA-256 of every
file in the backup and of every stored file inside its archives, the code (a backup whose
database had migrations this code does not know is refused), and for a whole platform an
empty target database (or `--force`).

One tenant is restored without touching any other: its schema is restored into a scratch
database, renamed there, dumped again and restored into the platform's database under a
temporary name; the swap (dropping the tenant's current schema, renaming the restored one)
is one transaction, so the tenant answers from its old data until the moment it answers
from the restored data. A restored schema gets a new index generation, so no process serves
a cached result or index of the schema it replaced; its index is rebuilt from the database.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django_tenants.utils import tenant_context

from operators.backups import destinations, manifest, postgres
from operators.backups.create import _staging_root, connect
from operators.backups.postgres import BackupError
from search import index
from tenants.models import Domain, Tenant, normalise_domain
from tenants.services import default_domain
from tenants.validators import validate_domain, validate_schema_name

Progress = Callable[[str], None]
# Every schema but PostgreSQL's own.
_USER_SCHEMAS = (
    "SELECT nspname FROM pg_namespace "
    "WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'"
)


@dataclass(frozen=True)
class Restored:
    schemas: list[str]
    seconds: float
    missing_files: list[str]


def fetch(source: str, staging: Path, progress: Progress) -> dict[str, Any]:
    """Download the backup into `staging` and check every file; returns its manifest."""
    destination, name = destinations.split_backup(source)
    destination.download(name, staging, progress)
    progress("checking checksums")
    record = manifest.read(staging)
    manifest.verify(staging, record)
    return record


def _extract(archive: Path, into: Path, listed: list[dict[str, Any]] | None) -> None:
    """Unpack a backup archive into `into`, checking each stored file against the manifest."""
    into.mkdir(parents=True, exist_ok=True)
    if not archive.exists():
        return
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")  # refuses absolute paths, links out, devices
    for item in listed or []:
        path = into / item["path"]
        if not path.is_file() or manifest.sha256_of(path) != item["sha256"]:
            raise BackupError(
                f"The stored file {item['path']} in the backup does not match its checksum: "
                "the backup is damaged. Nothing was changed; restore another backup."
            )


def existing_data() -> str | None:
    """What the database already holds (None: nothing), for the non-empty refusal."""
    with connection.cursor() as cursor:
        cursor.execute(_USER_SCHEMAS)
        schemas = sorted(name for (name,) in cursor.fetchall() if name != "public")
        cursor.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
        tables = int(cursor.fetchone()[0])
    if not schemas and not tables:
        return None
    return f"{tables} tables in the public schema and {len(schemas)} other schemas"


def restore_platform(
    source: str, *, force: bool, confirm: Callable[[str], None], progress: Progress
) -> Restored:
    """Restore a platform backup; `confirm(question)` raises to stop before any change."""
    started = time.monotonic()
    with _staged(source, progress) as (tools, staging, record):
        if record["kind"] != "platform":
            raise BackupError(
                f"{source} is a backup of the tenant '{record['tenant']}'; restore it with "
                f"--tenant {record['tenant']}. Nothing was changed."
            )
        held = existing_data()
        if held and not force:
            raise BackupError(
                f"The database is not empty ({held}). Nothing was changed; restore into an "
                "empty database, or add --force to replace everything in it."
            )
        progress("checking the stored files")
        media, indexes = staging / "media", staging / "indexes"
        _extract(staging / "files.tar", media, record["files"])
        _extract(staging / "indexes.tar", indexes, None)
        confirm(
            f"This replaces the platform's database, stored files and indexes with the backup "
            f"of {record['created_at']}."
        )
        progress("replacing the database")
        connection.close()
        _empty_database()
        postgres.run(
            [tools.pg_restore, "--no-owner", "--exit-on-error", "--single-transaction",
             f"--dbname={postgres.environment()['PGDATABASE']}", staging / "database.dump"],
            what="pg_restore",
        )  # fmt: skip
        progress("replacing the stored files")
        _replace_children(Path(settings.MEDIA_ROOT), media)
        _replace_children(Path(settings.INDEX_ROOT), indexes)
        progress("migrating to this code")
        call_command("migrate_schemas", interactive=False, verbosity=0)
        schemas = [item["schema"] for item in record["tenants"]]
        for schema in schemas:
            progress(f"indexing {schema}")
            _reindex(schema, rebuild=not record["with_indexes"])
    return Restored(schemas, round(time.monotonic() - started, 1), record["missing_files"])


def _empty_database() -> None:
    with connect() as conn:
        conn.autocommit = True
        conn.execute("SET lock_timeout = '30s'")
        found = conn.execute(_USER_SCHEMAS)
        names = [name for (name,) in found]
        try:
            for name in names:
                conn.execute(f'DROP SCHEMA "{name}" CASCADE')
            conn.execute("CREATE SCHEMA public")
        except psycopg.errors.LockNotAvailable as exc:
            raise BackupError(
                "Other sessions hold the database (the web processes or workers): stop them, "
                "then restore again."
            ) from exc


def _replace_children(root: Path, source: Path) -> None:
    """Make `root` hold what `source` holds (root itself may be a mount point: kept)."""
    root.mkdir(parents=True, exist_ok=True)
    for child in root.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    if source.is_dir():
        for child in source.iterdir():
            shutil.move(str(child), str(root / child.name))


def _reindex(schema: str, *, rebuild: bool) -> None:
    tenant = Tenant.objects.get(schema_name=schema)
    with tenant_context(tenant):
        index.compact(rebuild=rebuild)


def restore_tenant(
    source: str,
    *,
    tenant: str | None,
    as_schema: str | None,
    domain: str | None,
    confirm: Callable[[str], None],
    progress: Progress,
) -> Restored:
    """Restore one tenant of a backup; `confirm(question)` raises to stop before changes."""
    started = time.monotonic()
    if Tenant._meta.db_table not in connection.introspection.table_names():
        raise BackupError(
            "This database has no platform in it yet: restore a whole-platform backup first "
            "(without --tenant), or run `python manage.py migrate_schemas` and then restore the "
            "tenant."
        )
    with _staged(source, progress) as (tools, staging, record):
        entry = _entry(record, tenant)
        original = entry["schema"]
        target = as_schema or original
        if as_schema:
            _check_new_schema(as_schema)
        current = Tenant.objects.filter(schema_name=target).first()
        if as_schema and current is not None:
            raise BackupError(f"There is already a tenant '{as_schema}'. Nothing was changed.")
        domains = _domains(entry, target, as_schema, domain)
        progress("checking the stored files")
        media = staging / "media"
        files = [f for f in record["files"] if f["path"].startswith(f"{original}/")]
        _extract(staging / "files.tar", media, files)
        if current is not None:
            confirm(
                f"This replaces every document, member and query of '{current.name}' "
                f"({target}) with the backup of {record['created_at']}."
            )
        temporary = f"{target[:40]}_restoring_{uuid.uuid4().hex[:8]}"
        progress("restoring the schema")
        _restore_renamed(tools, staging / "database.dump", original, temporary, staging)
        progress("switching to the restored data")
        _swap(temporary, target, replace=current is not None)
        if current is None:
            _create_rows(entry, target, domains, renamed=as_schema is not None)
        _settle(target, media / original, progress)
    missing = [path for path in record["missing_files"] if path.startswith(f"{original}/")]
    return Restored([target], round(time.monotonic() - started, 1), missing)


@contextmanager
def _staged(
    source: str, progress: Progress
) -> Iterator[tuple[postgres.Tools, Path, dict[str, Any]]]:
    """The client tools, a staging folder holding the checked backup, and its manifest."""
    tools = postgres.tools()
    staging = Path(tempfile.mkdtemp(prefix="di-restore-", dir=_staging_root()))
    try:
        yield tools, staging, fetch(source, staging, progress)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _settle(target: str, files: Path, progress: Progress) -> None:
    """After the swap: the tenant's stored files, its migrations, a rebuilt index."""
    target_media = Path(settings.MEDIA_ROOT) / target
    shutil.rmtree(target_media, ignore_errors=True)
    if files.is_dir():
        shutil.move(str(files), str(target_media))
    shutil.rmtree(Path(settings.INDEX_ROOT) / target, ignore_errors=True)
    progress("migrating to this code")
    call_command("migrate_schemas", schema_name=target, interactive=False, verbosity=0)
    progress(f"indexing {target}")
    _reindex(target, rebuild=True)


def _check_new_schema(name: str) -> None:
    try:
        validate_schema_name(name)
    except ValidationError as exc:
        raise BackupError(f"--as {name}: {' '.join(exc.messages)} Nothing was changed.") from exc


def _entry(record: dict[str, Any], tenant: str | None) -> dict[str, Any]:
    entries = {item["schema"]: item for item in record["tenants"]}
    if record["kind"] == "tenant":
        (entry,) = entries.values()
        if tenant and tenant != entry["schema"]:
            raise BackupError(
                f"This is a backup of '{entry['schema']}', not of '{tenant}'. Nothing was changed."
            )
        return entry
    if not tenant:
        raise BackupError("Name the tenant to restore from this platform backup with --tenant.")
    if tenant not in entries:
        raise BackupError(f"This backup holds no tenant '{tenant}'. Nothing was changed.")
    return entries[tenant]


def _domains(
    entry: dict[str, Any], target: str, as_schema: str | None, domain: str | None
) -> list[str]:
    if as_schema:
        wanted = [normalise_domain(domain) if domain else default_domain(target)]
        try:
            validate_domain(wanted[0])
        except ValidationError as exc:
            raise BackupError(f"{' '.join(exc.messages)} Nothing was changed.") from exc
    else:
        wanted = [normalise_domain(d["domain"]) for d in entry["domains"]]
    taken = Domain.objects.filter(domain__in=wanted).exclude(tenant__schema_name=target)
    if taken.exists():
        raise BackupError(
            f"The domain {taken.first()} belongs to another tenant; give the restored tenant "
            "another one with --domain. Nothing was changed."
        )
    return wanted


def _restore_renamed(
    tools: postgres.Tools, dump: Path, original: str, temporary: str, staging: Path
) -> None:
    """Restore `original` from `dump` into the platform's database as `temporary`."""
    scratch = f"di_restore_{uuid.uuid4().hex[:12]}"
    with connect() as conn:
        conn.autocommit = True
        conn.execute(f'CREATE DATABASE "{scratch}"')
    try:
        # pg_restore --schema restores the objects in the schema, not the schema itself.
        with connect(database=scratch) as conn:
            conn.execute(f'CREATE SCHEMA "{original}"')
        postgres.run(
            [tools.pg_restore, "--no-owner", "--exit-on-error", f"--schema={original}",
             f"--dbname={scratch}", dump],
            database=scratch, what="pg_restore into a scratch database",
        )  # fmt: skip
        with connect(database=scratch) as conn:
            conn.execute(f'ALTER SCHEMA "{original}" RENAME TO "{temporary}"')
        renamed = staging / "renamed.dump"
        postgres.run(
            [tools.pg_dump, "--format=custom", "--no-owner", f"--schema={temporary}",
             f"--file={renamed}"],
            database=scratch, what="pg_dump of the renamed schema",
        )  # fmt: skip
    finally:
        with connect() as conn:
            conn.autocommit = True
            conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    postgres.run(
        [tools.pg_restore, "--no-owner", "--exit-on-error", "--single-transaction",
         f"--dbname={postgres.environment()['PGDATABASE']}", renamed],
        what="pg_restore of the tenant",
    )  # fmt: skip


def _swap(temporary: str, target: str, *, replace: bool) -> None:
    """In one transaction: the old schema out, the restored one in, a new index generation."""
    with connect() as conn, conn.transaction():
        conn.execute("SET LOCAL lock_timeout = '60s'")
        if replace:
            conn.execute(f'DROP SCHEMA "{target}" CASCADE')
        conn.execute(f'ALTER SCHEMA "{temporary}" RENAME TO "{target}"')
        conn.execute(
            f'UPDATE "{target}".documents_indexstate SET generation = %s, version = 0, '  # noqa: S608
            "snapshot_count = 0",
            [uuid.uuid4()],
        )


@transaction.atomic
def _create_rows(entry: dict[str, Any], target: str, domains: list[str], *, renamed: bool) -> None:
    """The tenant's public rows, for a tenant that no longer exists or a copy (`--as`)."""
    row = entry["tenant"]
    fields = {f.name for f in Tenant._meta.concrete_fields} - {"id", "schema_name"}
    values = {key: value for key, value in row.items() if key in fields}
    values.pop("created_at", None)
    values.pop("updated_at", None)
    if renamed:
        values["name"] = f"{row['name']} (restored)"
        values["slug"] = target.replace("_", "-")[:63]
    tenant = Tenant(schema_name=target, **values)
    tenant.save()
    for position, name in enumerate(domains):
        Domain.objects.create(domain=name, tenant=tenant, is_primary=position == 0)

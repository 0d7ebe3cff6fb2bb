"""pg_dump and pg_restore of the server's major version, run against Django's database.

The binaries are looked for in BACKUP_PG_BIN_DIR when set, then beside the embedded
PostgreSQL (pgserver ships its own), then in Debian's /usr/lib/postgresql/<major>/bin, then
on PATH; the first whose major version is the server's wins. A dump made by an older
pg_dump can miss what a newer server has, and an older pg_restore cannot read a newer
archive, so a mismatch is refused with the package to install. The password travels in
PGPASSWORD, never on the command line (other users can read command lines).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from config.errors import AppError

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)")


class BackupError(AppError):
    """A backup or restore cannot go on; the message says why and what to do."""

    code = "backup_failed"


@dataclass(frozen=True)
class Tools:
    pg_dump: Path
    pg_restore: Path
    major: int


def server_major() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        (number,) = cursor.fetchone()
    return int(number) // 10000


def _candidates(major: int) -> list[Path]:
    folders: list[Path] = []
    configured = str(getattr(settings, "BACKUP_PG_BIN_DIR", "") or "")
    if configured:
        folders.append(Path(configured))
    try:
        import pgserver

        folders.append(Path(pgserver.__file__).parent / "pginstall" / "bin")
    except ImportError:
        pass
    folders.append(Path(f"/usr/lib/postgresql/{major}/bin"))
    found = shutil.which("pg_dump")
    if found:
        folders.append(Path(found).resolve().parent)
    return folders


def _major_of(binary: Path) -> int | None:
    try:
        out = subprocess.run(  # noqa: S603 - a fixed binary and argument
            [str(binary), "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except OSError:
        return None
    match = _VERSION.search(out)
    return int(match.group(1)) if match else None


def tools() -> Tools:
    """pg_dump and pg_restore matching the server's major version, or a BackupError."""
    major = server_major()
    seen: list[str] = []
    for folder in _candidates(major):
        dump, restore = folder / "pg_dump", folder / "pg_restore"
        if not (dump.is_file() and restore.is_file()):
            continue
        found = _major_of(dump)
        seen.append(f"{dump} (version {found})")
        if found == major:
            return Tools(dump, restore, major)
    where = f" Found: {'; '.join(seen)}." if seen else ""
    raise BackupError(
        f"Backups need pg_dump and pg_restore of PostgreSQL {major}, the server's version, and "
        f"none was found.{where} Install the package postgresql-client-{major} (Debian, "
        f"Ubuntu) or set BACKUP_PG_BIN_DIR to the folder that holds them."
    )


def environment(database: str | None = None) -> dict[str, str]:
    """libpq variables for Django's database (or another database on the same server)."""
    db: dict[str, Any] = connection.settings_dict
    variables = dict(os.environ)
    variables.update(
        {
            "PGHOST": str(db.get("HOST") or ""),
            "PGPORT": str(db.get("PORT") or ""),
            "PGUSER": str(db.get("USER") or ""),
            "PGDATABASE": database or str(db["NAME"]),
            "PGCONNECT_TIMEOUT": "10",
        }
    )
    if db.get("PASSWORD"):
        variables["PGPASSWORD"] = str(db["PASSWORD"])
    return {key: value for key, value in variables.items() if value != ""}


def run(arguments: Sequence[str | Path], *, database: str | None = None, what: str) -> None:
    """Run a PostgreSQL client; a failure is a BackupError with its last lines."""
    result = subprocess.run(  # noqa: S603 - binaries found above, arguments built here
        [str(part) for part in arguments],
        env=environment(database),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        errors = [line.strip() for line in lines if "error" in line.lower()]
        detail = " ".join((errors or lines)[:2])
        raise BackupError(f"{what} failed: {detail or f'exit status {result.returncode}'}")

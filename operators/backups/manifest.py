"""A backup's manifest: what it holds, from which code, with a checksum for every file.

`manifest.json` records when the backup was made, the code's commit (`GIT_SHA`, else
`git rev-parse` when the code runs from a checkout), every migration the database had (a
restore refuses a backup with migrations the running code lacks: it was made by newer code),
the tenants with their domains, per-schema row counts of the main tables, and the size and
SHA-256 of every file in the backup (and of every stored file inside `files.tar`). `verify`
checks all of it before a restore touches anything.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.migrations.loader import MigrationLoader

from operators.backups.destinations import MANIFEST
from operators.backups.postgres import BackupError

FORMAT = 1
# The tables whose row counts a backup records per schema (tests/operators and
# bench/backup.py compare them after a restore).
COUNTED = (
    "accounts_user",
    "accounts_apikey",
    "documents_document",
    "documents_chunk",
    "queries_query",
)
_CHUNK = 1024 * 1024


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def commit() -> str:
    configured = str(getattr(settings, "GIT_SHA", "") or "").strip()
    if configured:
        return configured
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH, only to label the backup
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


def code_migrations() -> dict[str, list[str]]:
    """Every migration the running code has, per app."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    found: dict[str, list[str]] = {}
    for app, name in loader.disk_migrations:
        found.setdefault(app, []).append(name)
    return {app: sorted(names) for app, names in sorted(found.items())}


def unknown_migrations(recorded: dict[str, list[str]]) -> list[str]:
    """Migrations the backup's database had that the running code does not know."""
    known = code_migrations()
    return [
        f"{app}.{name}"
        for app, names in sorted(recorded.items())
        for name in names
        if name not in set(known.get(app, []))
    ]


def write(staging: Path, manifest: dict[str, Any]) -> None:
    artifacts = {}
    for path in sorted(staging.iterdir()):
        if path.name != MANIFEST:
            artifacts[path.name] = {"size": path.stat().st_size, "sha256": sha256_of(path)}
    manifest["artifacts"] = artifacts
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True), "utf-8")


def read(staging: Path) -> dict[str, Any]:
    path = staging / MANIFEST
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupError(
            f"The backup's {MANIFEST} cannot be read ({exc}); it is damaged or incomplete. "
            "Nothing was changed; restore another backup."
        ) from exc
    required = {"format", "kind", "created_at", "artifacts", "migrations", "tenants"}
    missing = sorted(required - set(manifest)) if isinstance(manifest, dict) else sorted(required)
    if missing:
        raise BackupError(
            f"The backup's {MANIFEST} lacks {', '.join(missing)}; it is damaged or incomplete. "
            "Nothing was changed; restore another backup."
        )
    return manifest


def verify(staging: Path, manifest: dict[str, Any]) -> None:
    """Every file present with its size and checksum, and code that knows every migration."""
    if manifest["format"] > FORMAT:
        raise BackupError(
            f"This backup has format {manifest['format']}, newer than this code reads "
            f"({FORMAT}). Nothing was changed; restore it with the code that made it "
            f"(commit {manifest.get('commit', 'unknown')}) or newer."
        )
    for name, expected in sorted(manifest["artifacts"].items()):
        path = staging / name
        if not path.is_file():
            raise BackupError(f"The backup lacks {name}. Nothing was changed.")
        if path.stat().st_size != expected["size"] or sha256_of(path) != expected["sha256"]:
            raise BackupError(
                f"{name} in the backup does not match its checksum: the backup is damaged. "
                "Nothing was changed; restore another backup."
            )
    newer = unknown_migrations(manifest["migrations"])
    if newer:
        shown = ", ".join(newer[:5]) + (" …" if len(newer) > 5 else "")
        raise BackupError(
            f"This backup was made by newer code than this one (it has migrations this code "
            f"does not know: {shown}). Nothing was changed; deploy commit "
            f"{manifest.get('commit', 'unknown')} or newer, then restore."
        )

"""Snapshot files: ``index-v{N}.faiss`` plus an ``index-v{N}.json`` sidecar, written atomically.

Write order is index file, then sidecar, each via temp file + fsync + rename +
directory fsync. The sidecar is the commit marker: a version without one was
never finished and is not loadable, and its checksum catches an index file
replaced under an old sidecar. A crash at any point therefore leaves every
previously saved version intact and loadable.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .faiss_loader import faiss
from .snapshot import IndexSnapshot

FORMAT = 1
_SIDECAR_RE = re.compile(r"^index-v(\d+)\.json$")
_SNAPSHOT_RE = re.compile(r"^index-v(\d+)\.(faiss|json)$")
_TEMP_RE = re.compile(r"^\.index-v\d+\.(faiss|json)\.[0-9a-f]+\.tmp$")


class SnapshotError(Exception):
    """A snapshot cannot be used; the message says why and what to do."""


class SnapshotNotFound(SnapshotError):
    pass


class SnapshotCorrupt(SnapshotError):
    pass


class EmbedderMismatch(SnapshotError):
    """The snapshot's vectors come from a different embedder or dimension than configured."""


def index_path(directory: Path, version: int) -> Path:
    return Path(directory) / f"index-v{int(version)}.faiss"


def sidecar_path(directory: Path, version: int) -> Path:
    return Path(directory) / f"index-v{int(version)}.json"


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; without it a power cut can forget the new name.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(4 * 1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _temp_path(final: Path) -> Path:
    return final.with_name(f".{final.name}.{secrets.token_hex(6)}.tmp")


def save_snapshot(snapshot: IndexSnapshot, directory: Path) -> Path:
    """Write ``snapshot`` as its version under ``directory``; return the index file's path.

    Re-saving an existing version replaces it atomically (a retried compaction
    that crashed before the database recorded the version must be able to redo it).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    final = index_path(directory, snapshot.version)
    temp = _temp_path(final)
    try:
        faiss.write_index(snapshot.index, str(temp))
        _fsync_file(temp)
        checksum = _sha256(temp)
        size = temp.stat().st_size
        os.replace(temp, final)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_directory(directory)

    meta: dict[str, Any] = {
        "format": FORMAT,
        "version": snapshot.version,
        "embedder_name": snapshot.embedder_name,
        "dimension": snapshot.dimension,
        "count": snapshot.count,
        "kind": snapshot.kind,
        "nprobe": int(getattr(snapshot.index, "nprobe", 0)),
        "index_file": final.name,
        "bytes": size,
        "sha256": checksum,
        "created_at": time.time(),
    }
    side = sidecar_path(directory, snapshot.version)
    side_temp = _temp_path(side)
    try:
        with side_temp.open("w", encoding="utf-8") as handle:
            json.dump(meta, handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(side_temp, side)
    except BaseException:
        side_temp.unlink(missing_ok=True)
        raise
    _fsync_directory(directory)
    return final


def read_sidecar(directory: Path, version: int) -> dict[str, Any]:
    side = sidecar_path(directory, version)
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SnapshotNotFound(
            f"No finished index snapshot version {version} in {directory}."
        ) from exc
    except (OSError, ValueError) as exc:
        raise SnapshotCorrupt(f"The sidecar {side} cannot be read: {exc}.") from exc
    required = {"format", "version", "embedder_name", "dimension", "count", "sha256"}
    if not isinstance(meta, dict) or not required <= meta.keys() or meta["version"] != version:
        raise SnapshotCorrupt(f"The sidecar {side} is incomplete or names another version.")
    return meta


def load_snapshot(
    directory: Path,
    version: int,
    *,
    expected_embedder: str | None = None,
    expected_dimension: int | None = None,
    schema_name: str | None = None,
    verify_checksum: bool = True,
) -> IndexSnapshot:
    """Load and validate version ``version``; refuse vectors from another embedder.

    Raises SnapshotNotFound, SnapshotCorrupt or EmbedderMismatch (all SnapshotError).
    """
    directory = Path(directory)
    meta = read_sidecar(directory, version)
    tenant = schema_name or "<schema>"
    if (expected_embedder is not None and meta["embedder_name"] != expected_embedder) or (
        expected_dimension is not None and meta["dimension"] != expected_dimension
    ):
        raise EmbedderMismatch(
            f"The vector index for tenant {tenant} was built with {meta['embedder_name']} "
            f"({meta['dimension']} dimensions) but the configured embedder is "
            f"{expected_embedder or meta['embedder_name']} "
            f"({expected_dimension or meta['dimension']} dimensions); run "
            f"`python manage.py reindex --tenant {tenant}` to rebuild it."
        )
    path = index_path(directory, version)
    if not path.is_file():
        raise SnapshotCorrupt(f"The index file {path} is missing although its sidecar exists.")
    if verify_checksum and _sha256(path) != meta["sha256"]:
        raise SnapshotCorrupt(
            f"The index file {path} does not match its checksum; rebuild it with "
            f"`python manage.py reindex --tenant {tenant}`."
        )
    index = faiss.read_index(str(path))
    if index.ntotal != meta["count"] or index.d != meta["dimension"]:
        raise SnapshotCorrupt(f"The index file {path} disagrees with its sidecar.")
    return IndexSnapshot(
        index, version=version, embedder_name=meta["embedder_name"], dimension=meta["dimension"]
    )


def list_snapshot_versions(directory: Path) -> list[int]:
    """Finished versions (those with a sidecar), oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = (_SIDECAR_RE.match(entry.name) for entry in directory.iterdir())
    return sorted(int(match.group(1)) for match in found if match)


def prune_snapshots(
    directory: Path, keep_versions: Iterable[int], *, stale_temp_seconds: float = 3600.0
) -> list[Path]:
    """Delete snapshot versions not in ``keep_versions`` and abandoned temp files.

    Sidecars go before index files, so a reader never finds a sidecar whose index
    is gone. Readers that already loaded a version keep it (it lives in memory,
    and POSIX keeps an open file readable after unlink). Temp files younger than
    ``stale_temp_seconds`` may belong to a writer still running and are left alone.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    keep = {int(v) for v in keep_versions}
    doomed: list[Path] = []
    now = time.time()
    for entry in directory.iterdir():
        match = _SNAPSHOT_RE.match(entry.name)
        if match and int(match.group(1)) not in keep:
            doomed.append(entry)
        elif _TEMP_RE.match(entry.name):
            with contextlib.suppress(FileNotFoundError):
                if now - entry.stat().st_mtime >= stale_temp_seconds:
                    doomed.append(entry)
    doomed.sort(key=lambda p: (not p.name.endswith(".json"), p.name))
    removed = []
    for path in doomed:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    return removed

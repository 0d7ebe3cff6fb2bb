"""Snapshot files: ``index-v{N}.faiss`` plus an ``index-v{N}.json`` sidecar, written atomically.

Both files are written to temporary names (and fsynced) first, then renamed into
place, the index file before its sidecar, and the directory fsynced. The sidecar is
the commit marker: a version without one was never finished and is not loadable, and
its checksum catches an index file replaced under an old sidecar. A crash at any point
therefore leaves every previously saved version intact and loadable; a write that fails
(a full disk) removes what it wrote.
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
_MAPPED = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY
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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(4 * 1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _temp_path(final: Path) -> Path:
    return final.with_name(f".{final.name}.{secrets.token_hex(6)}.tmp")


def _write_index(index: Any, path: Path) -> None:
    """Write a FAISS index through a Python file, so a full disk raises.

    faiss.write_index(index, filename) raises a bare RuntimeError when a write fails, and
    reports a failed final flush only on stderr (its FileIOWriter ignores fclose's error):
    on a full disk it could return normally with the file's tail missing, and the checksum
    taken next would have vouched for the truncated file. Here every failed write raises
    OSError (ENOSPC) with the file still a temporary one.
    """
    with path.open("wb") as handle:
        faiss.write_index(index, faiss.PyCallbackIOWriter(handle.write))  # type: ignore[attr-defined]
        handle.flush()
        os.fsync(handle.fileno())


def _write_sidecar(meta: dict[str, Any], path: Path) -> None:
    with path.open("w", encoding="utf-8") as handle:
        json.dump(meta, handle, indent=2, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())


def save_snapshot(snapshot: IndexSnapshot, directory: Path) -> Path:
    """Write ``snapshot`` as its version under ``directory``; return the index file's path.

    Both files are written to temporary names first; only when both are complete are they
    renamed into place, the index before its sidecar. A failure (a full disk) removes what
    this call wrote, so the directory holds what it held before. Re-saving an existing
    version replaces it (a retried compaction that crashed before the database recorded the
    version must be able to redo it); its old sidecar goes first, so the old sidecar never
    vouches for the new file.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    final, side = index_path(directory, snapshot.version), sidecar_path(directory, snapshot.version)
    temp, side_temp = _temp_path(final), _temp_path(side)
    renamed = False
    try:
        _write_index(snapshot.index, temp)
        meta: dict[str, Any] = {
            "format": FORMAT,
            "version": snapshot.version,
            "embedder_name": snapshot.embedder_name,
            "dimension": snapshot.dimension,
            "count": snapshot.count,
            "kind": snapshot.kind,
            "nprobe": int(getattr(snapshot.index, "nprobe", 0)),
            "index_file": final.name,
            "bytes": temp.stat().st_size,
            "sha256": _sha256(temp),
            "created_at": time.time(),
        }
        _write_sidecar(meta, side_temp)
        side.unlink(missing_ok=True)
        os.replace(temp, final)
        renamed = True
        os.replace(side_temp, side)
    except BaseException:
        temp.unlink(missing_ok=True)
        side_temp.unlink(missing_ok=True)
        if renamed:
            final.unlink(missing_ok=True)
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
    mapped: bool = False,
) -> IndexSnapshot:
    """Load and validate version ``version``; refuse vectors from another embedder.

    ``mapped``: an IVF snapshot's inverted lists (its vectors and ids) are mapped from the
    file read-only instead of copied into this process, so every process serving the tenant
    shares one copy in the page cache (1.5 GB per million 384-dimension vectors); such a
    snapshot can be searched but not changed. Flat snapshots (small by construction) are
    read either way.

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
    mapped = mapped and meta.get("kind") == "ivf"
    try:
        index = faiss.read_index(str(path), _MAPPED if mapped else 0)
    except RuntimeError as exc:  # faiss's own errors: a truncated or garbled file
        raise SnapshotCorrupt(
            f"The index file {path} cannot be read ({str(exc).splitlines()[-1][:200]}); rebuild "
            f"it with `python manage.py reindex --tenant {tenant}`."
        ) from exc
    if index.ntotal != meta["count"] or index.d != meta["dimension"]:
        raise SnapshotCorrupt(f"The index file {path} disagrees with its sidecar.")
    return IndexSnapshot(
        index,
        version=version,
        embedder_name=meta["embedder_name"],
        dimension=meta["dimension"],
        mapped=mapped,
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

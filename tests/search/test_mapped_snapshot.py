"""Web processes map a big tenant's IVF snapshot from its file instead of each holding a copy
(search/vectorindex/storage.py `mapped`): the vectors stay in the page cache, shared by every
process, and searches answer exactly as from a copy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from search.vectorindex import IndexSnapshot, build_index, load_snapshot, save_snapshot

DIM = 64
REPO = Path(__file__).resolve().parents[2]


def _vectors(n: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((n, DIM), dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


_MEASURE = """
import sys
import subprocess
import sys
from pathlib import Path
import numpy as np
from search.vectorindex import load_snapshot

def own():  # anonymous resident memory: what no other process can share
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024

folder = Path(sys.argv[1])
queries = np.load(folder / "queries.npy")
before = own()
snapshot = load_snapshot(folder, 3, mapped=sys.argv[2] == "mapped")
for query in queries:  # touches the lists it probes
    snapshot.search(query, 10)
print(own() - before, snapshot.mapped, snapshot.nbytes)
"""


def _grown(folder: Path, how: str) -> tuple[int, bool, int]:
    """What loading the snapshot and searching it added to a fresh process's own memory."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(folder), how],
        cwd=REPO, capture_output=True, text=True, check=True,
    )  # fmt: skip
    grown, mapped, nbytes = done.stdout.split()
    return int(grown), mapped == "True", int(nbytes)


def _saved(tmp_path: Path, n: int, kind: str) -> np.ndarray:
    vectors = _vectors(n)
    index = build_index(np.arange(n, dtype=np.int64) * 2, vectors, kind=kind, nprobe=8)  # type: ignore[arg-type]
    save_snapshot(IndexSnapshot(index, version=3, embedder_name="e", dimension=DIM), tmp_path)
    return vectors


def test_a_mapped_ivf_snapshot_costs_the_process_no_copy_and_answers_the_same(
    tmp_path: Path,
) -> None:
    vectors = _saved(tmp_path, 200_000, "ivf")  # 51 MB of vectors
    np.save(tmp_path / "queries.npy", vectors[:50])
    grown, is_mapped, counted = _grown(tmp_path, "mapped")
    assert is_mapped
    assert grown < 10 * 2**20, f"mapping grew private memory by {grown / 2**20:.0f} MB"
    assert counted < 10 * 2**20  # what the snapshot cache's budget counts
    grown, is_mapped, counted = _grown(tmp_path, "copied")
    assert not is_mapped
    assert grown > 40 * 2**20  # a copy's 51 MB are the process's own
    assert counted > 40 * 2**20

    mapped = load_snapshot(tmp_path, 3, mapped=True)
    copied = load_snapshot(tmp_path, 3)
    assert (mapped.kind, mapped.count) == ("ivf", 200_000)
    allowed = list(range(0, 20_000, 2))
    for query in vectors[100:120]:
        assert mapped.search(query, 10) == copied.search(query, 10)
        assert mapped.search(query, 5, allowed_ids=allowed) == copied.search(
            query, 5, allowed_ids=allowed
        )


def test_a_mapped_snapshot_refuses_changes_and_a_flat_one_is_read(tmp_path: Path) -> None:
    _saved(tmp_path / "ivf", 5_000, "ivf")
    mapped = load_snapshot(tmp_path / "ivf", 3, mapped=True)
    with pytest.raises(RuntimeError, match="mapped read-only"):
        mapped.add(np.asarray([1], dtype=np.int64), _vectors(1))
    with pytest.raises(RuntimeError, match="mapped read-only"):
        mapped.remove(np.asarray([2], dtype=np.int64))
    assert mapped.count == 5_000

    _saved(tmp_path / "flat", 500, "flat")
    flat = load_snapshot(tmp_path / "flat", 3, mapped=True)
    assert not flat.mapped
    assert flat.kind == "flat"
    flat.remove(np.asarray([2], dtype=np.int64))  # small and exact: an ordinary copy
    assert flat.count == 499

"""The file-level per-tenant FAISS snapshot store (no Django, no database)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from search.vectorindex import (
    EmbedderMismatch,
    IndexSnapshot,
    SnapshotCache,
    SnapshotCorrupt,
    SnapshotNotFound,
    build_index,
    exact_search,
    list_snapshot_versions,
    load_snapshot,
    merge_results,
    prune_snapshots,
    save_snapshot,
)
from search.vectorindex.build import calibrate_nprobe, exact_top_k

REPO = Path(__file__).resolve().parents[2]
DIM = 32


def unit_vectors(n: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((n, dim), dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def mixture(n: int, dim: int, *, queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Clustered unit vectors like sentence embeddings: ~n/300 topics, uneven sizes and spread."""
    rng = np.random.default_rng(seed)
    clusters = max(20, n // 300)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    weights = 1.0 / np.arange(1, clusters + 1) ** 0.7
    spread = rng.uniform(0.45, 1.1, size=clusters).astype(np.float32)
    which = rng.choice(clusters, size=n + queries, p=weights / weights.sum())
    noise = rng.standard_normal((n + queries, dim), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = centres[which] + noise * (spread[which, None] / np.sqrt(dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x[:n], x[n:]


def snapshot_of(
    ids: np.ndarray, vectors: np.ndarray, version: int = 1, **kw: object
) -> IndexSnapshot:
    index = build_index(ids, vectors, **kw)  # type: ignore[arg-type]
    return IndexSnapshot(index, version=version, embedder_name="hashing-v1-32", dimension=DIM)


def test_flat_add_search_remove() -> None:
    vectors = unit_vectors(200)
    ids = np.arange(200, dtype=np.int64) * 10 + 7
    snap = snapshot_of(ids, vectors)
    assert snap.kind == "flat"
    assert snap.count == 200
    top = snap.search(vectors[5], 3)
    assert top[0][0] == 57
    assert top[0][1] == pytest.approx(1.0, abs=1e-5)
    assert [h[1] for h in top] == sorted((h[1] for h in top), reverse=True)

    assert snap.remove([57, 99999]) == 1
    assert snap.count == 199
    assert 57 not in [i for i, _ in snap.search(vectors[5], 10)]

    snap.add([57], vectors[5:6])
    snap.add([57], vectors[5:6])  # upsert: no duplicate
    assert snap.count == 200
    assert snap.search(vectors[5], 1)[0][0] == 57
    assert snap.nbytes >= vectors.nbytes


def test_search_edge_cases() -> None:
    snap = snapshot_of(np.arange(5), unit_vectors(5))
    assert len(snap.search(unit_vectors(1)[0], 50)) == 5
    assert snap.search(unit_vectors(1)[0], 0) == []
    assert snap.search(unit_vectors(1)[0], 3, allowed_ids=[]) == []
    with pytest.raises(ValueError, match="dimension"):
        snap.search(np.zeros(DIM + 1, dtype=np.float32), 3)
    with pytest.raises(ValueError, match="unique"):
        build_index([1, 1], unit_vectors(2))


@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_filtered_search_returns_top_k_of_allowed_even_when_they_rank_low(kind: str) -> None:
    vectors, queries = mixture(5_000, DIM, queries=1, seed=3)
    ids = np.arange(5_000, dtype=np.int64)
    snap = snapshot_of(ids, vectors, kind=kind)
    query = queries[0]
    order = np.argsort(-(vectors @ query))
    allowed = {int(i) for i in order[-40:]}  # the 40 *worst* matches
    hits = snap.search(query, 10, allowed_ids=allowed)
    assert len(hits) == 10
    assert {i for i, _ in hits} <= allowed
    expected = exact_search(ids, vectors, query, 10, allowed_ids=allowed)
    assert [i for i, _ in hits] == [i for i, _ in expected]


def test_ivf_remove_is_real() -> None:
    vectors, _ = mixture(3_000, DIM, queries=0, seed=4)
    ids = np.arange(3_000, dtype=np.int64) + 1
    snap = snapshot_of(ids, vectors, kind="ivf")
    assert snap.kind == "ivf"
    assert snap.remove(ids[:100]) == 100
    assert snap.count == 2_900
    assert snap.search(vectors[0], 1)[0][0] != 1


def test_batch_search_matches_single_searches_and_caps_ivf_probes() -> None:
    vectors, _ = mixture(3_000, DIM, queries=0, seed=5)
    ids = np.arange(3_000, dtype=np.int64) + 1
    flat = snapshot_of(ids, vectors, kind="flat")
    scores, found = flat.search_many(vectors[:5], 3, nprobe=1)  # flat ignores nprobe: exact
    for row in range(5):
        assert [int(i) for i in found[row]] == [i for i, _ in flat.search(vectors[row], 3)]
        assert found[row][0] == ids[row]
        assert scores[row][0] == pytest.approx(1.0, abs=1e-5)
    ivf = snapshot_of(ids, vectors, kind="ivf")
    exact = exact_top_k(vectors[:200], vectors, 10)
    _, everywhere = ivf.search_many(vectors[:200], 10)
    _, one_list = ivf.search_many(vectors[:200], 10, nprobe=1)

    def recall(found: np.ndarray) -> float:
        hits = [len(set(ids[exact[r]]) & set(found[r].tolist())) for r in range(200)]
        return sum(hits) / (200 * 10)

    assert recall(one_list) < recall(everywhere)  # fewer lists visited: cheaper, less exact
    assert ivf.search_many(np.zeros((0, DIM)), 3)[1].shape == (0, 0)


def test_nprobe_calibration_reaches_the_target_without_doubling_past_it() -> None:
    # Unclustered vectors (like the hashing embedder's) need many lists, rarely a power of two.
    vectors = unit_vectors(6_000, seed=11)
    ids = np.arange(6_000, dtype=np.int64) + 1
    ivf: Any = build_index(ids, vectors, kind="ivf", nlist=150, nprobe=1)  # faiss.IndexIVF
    chosen = calibrate_nprobe(ivf, ids, vectors, 0.97)
    queries = vectors[::10]
    exact = exact_top_k(queries, vectors, 11)

    def recall(nprobe: int) -> float:
        ivf.nprobe = nprobe
        _, found = ivf.search(queries, 11)
        hits = sum(
            len(set(ids[exact[row]][1:]) & set(found[row][1:].tolist()))
            for row in range(len(queries))
        )
        return hits / (len(queries) * 10)

    assert recall(chosen) >= 0.95  # the target, less what 200 sampled queries can miss
    assert recall(int(chosen * 0.85)) < 0.97  # and not far past it


def test_exact_search_and_merge() -> None:
    vectors = unit_vectors(50, seed=5)
    ids = np.arange(50, dtype=np.int64) + 1000
    hits = exact_search(ids, vectors, vectors[7], 3)
    assert hits[0][0] == 1007
    assert exact_search(ids[:0], vectors[:0], vectors[0], 3) == []
    assert exact_search(ids, vectors, vectors[7], 3, allowed_ids={1001})[0][0] == 1001

    merged = merge_results([(1, 0.9), (2, 0.5)], [(3, 0.7), (2, 0.6)], 3)
    assert merged == [(1, 0.9), (3, 0.7), (2, 0.6)]
    assert merge_results([(1, 0.1)], [], 0) == []


def test_save_load_round_trip_same_top_k(tmp_path: Path) -> None:
    vectors, queries = mixture(2_000, DIM, queries=5, seed=6)
    ids = np.arange(2_000, dtype=np.int64) * 3
    for kind in ("flat", "ivf"):
        snap = snapshot_of(ids, vectors, version=4, kind=kind)
        path = save_snapshot(snap, tmp_path / kind)
        assert path.name == "index-v4.faiss"
        meta = json.loads((tmp_path / kind / "index-v4.json").read_text())
        assert meta["embedder_name"] == "hashing-v1-32"
        assert meta["count"] == 2_000
        loaded = load_snapshot(tmp_path / kind, 4, expected_embedder="hashing-v1-32",
                               expected_dimension=DIM)  # fmt: skip
        assert (loaded.version, loaded.kind, loaded.count) == (4, kind, 2_000)
        for q in queries:
            assert loaded.search(q, 10) == snap.search(q, 10)
    assert list_snapshot_versions(tmp_path / "flat") == [4]


def test_embedder_mismatch_tells_operator_to_reindex(tmp_path: Path) -> None:
    save_snapshot(snapshot_of(np.arange(10), unit_vectors(10)), tmp_path)
    with pytest.raises(EmbedderMismatch, match=r"manage\.py reindex --tenant acme"):
        load_snapshot(tmp_path, 1, expected_embedder="local:all-MiniLM-L6-v2", schema_name="acme")
    with pytest.raises(EmbedderMismatch, match="384 dimensions"):
        load_snapshot(tmp_path, 1, expected_dimension=384)


def test_missing_and_corrupt_snapshots(tmp_path: Path) -> None:
    with pytest.raises(SnapshotNotFound):
        load_snapshot(tmp_path, 1)
    save_snapshot(snapshot_of(np.arange(10), unit_vectors(10)), tmp_path)
    with (tmp_path / "index-v1.faiss").open("r+b") as handle:
        handle.seek(-4, os.SEEK_END)
        handle.write(b"\xff\xff\xff\xff")
    with pytest.raises(SnapshotCorrupt, match="checksum"):
        load_snapshot(tmp_path, 1)


_CRASHING_WRITER = """
import os, sys
import numpy as np
from search.vectorindex import IndexSnapshot, build_index, save_snapshot
from search.vectorindex import storage
ids = np.arange(100, dtype=np.int64)
rng = np.random.default_rng(1)
vectors = rng.standard_normal((100, 32), dtype=np.float32)
snap = IndexSnapshot(build_index(ids, vectors), version=2, embedder_name="e", dimension=32)
def die(*args, **kwargs):
    os.kill(os.getpid(), 9)  # SIGKILL between the temp write and the rename
storage.os.replace = die
save_snapshot(snap, sys.argv[1])
"""


def test_crash_between_temp_write_and_rename_keeps_previous_version(tmp_path: Path) -> None:
    vectors = unit_vectors(50, seed=8)
    old = snapshot_of(np.arange(50), vectors, version=1)
    save_snapshot(old, tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", _CRASHING_WRITER, str(tmp_path)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == -9, result.stderr.decode()
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp"))
    assert len(leftovers) == 2  # both files are written before either is renamed
    assert leftovers[0].startswith(".index-v2.faiss.")
    assert leftovers[1].startswith(".index-v2.json.")
    assert list_snapshot_versions(tmp_path) == [1]
    with pytest.raises(SnapshotNotFound):
        load_snapshot(tmp_path, 2)
    reloaded = load_snapshot(tmp_path, 1, expected_embedder="hashing-v1-32")
    assert reloaded.search(vectors[3], 1)[0][0] == 3

    # A young temp file may be a live writer's: kept. A stale one is cleaned up.
    assert prune_snapshots(tmp_path, keep_versions={1}) == []
    removed = prune_snapshots(tmp_path, keep_versions={1}, stale_temp_seconds=0)
    assert sorted(p.name for p in removed) == leftovers
    assert load_snapshot(tmp_path, 1).count == 50


def test_prune_keeps_requested_versions(tmp_path: Path) -> None:
    vectors = unit_vectors(20)
    for version in (1, 2, 3):
        save_snapshot(snapshot_of(np.arange(20), vectors, version=version), tmp_path)
    removed = prune_snapshots(tmp_path, keep_versions=[3, 2])
    assert sorted(p.name for p in removed) == ["index-v1.faiss", "index-v1.json"]
    assert list_snapshot_versions(tmp_path) == [2, 3]
    assert removed[0].suffix == ".json"  # sidecar first: never a sidecar without its index


def _sized_snapshot(version: int, n: int) -> IndexSnapshot:
    return snapshot_of(np.arange(n), unit_vectors(n, seed=version), version=version)


def test_lru_evicts_by_memory_budget() -> None:
    one = _sized_snapshot(1, 100).nbytes
    cache = SnapshotCache(budget_bytes=int(one * 2.5))
    cache.put("a", _sized_snapshot(1, 100))
    cache.put("b", _sized_snapshot(1, 100))
    assert cache.get("a", 1) is not None  # a is now most recent
    cache.put("c", _sized_snapshot(1, 100))
    assert cache.keys() == [("a", 1), ("c", 1)]  # b was least recently used
    assert cache.stats.evictions == 1
    assert cache.used_bytes <= cache.budget_bytes

    cache.put("a", _sized_snapshot(2, 100))  # new version replaces the old one
    assert cache.keys() == [("c", 1), ("a", 2)]
    assert cache.get("a", 1) is None

    huge = _sized_snapshot(1, 1_000)
    cache.put("big", huge)  # larger than the whole budget: served and kept alone
    assert cache.keys() == [("big", 1)]
    assert cache.get("big", 1) is huge
    cache.invalidate("big")
    assert cache.keys() == []


def test_get_or_load_loads_once_under_concurrency() -> None:
    cache = SnapshotCache(budget_bytes=10**9)
    calls = []

    def loader() -> IndexSnapshot:
        calls.append(1)
        time.sleep(0.05)
        return _sized_snapshot(7, 50)

    results: list[IndexSnapshot] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_load("t", 7, loader)))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert len({id(r) for r in results}) == 1


@pytest.mark.slow
def test_approximate_index_recall_at_10_on_100k() -> None:
    dim = 384  # MiniLM's size; ~30 s on 2 cores
    vectors, queries = mixture(100_000, dim, queries=200, seed=11)
    ids = np.arange(100_000, dtype=np.int64) + 5
    index = build_index(ids, vectors)  # auto: IVF past the 50k threshold
    snap = IndexSnapshot(index, version=1, embedder_name="x", dimension=dim)
    assert snap.kind == "ivf"
    truth = ids[exact_top_k(queries, vectors, 10)]
    found = [[i for i, _ in snap.search(q, 10)] for q in queries]
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
    assert recall >= 0.95
    assert snap.nbytes <= 1.1 * vectors.nbytes

"""Build a tenant's FAISS index: exact while small, IVF-Flat past a threshold.

Why IVF-Flat and not HNSW (numbers in docs/vectors.md): both meet the latency
and recall goals at 1M x 384, but HNSW's graph adds ~20% memory over the raw
vectors (goal: <= 10%), cannot remove vectors, and degrades under restrictive
filters; IVF-Flat costs ~1% over raw, supports ``remove_ids`` and filters by
scanning more lists. IVF with a scalar quantiser would break the recall goal.

``nprobe`` is calibrated at build time on the tenant's own vectors (smallest
value reaching ``target_recall`` against exact search), because recall at a
given nprobe depends heavily on how clustered the embeddings are: hashing
embeddings are far less clustered than neural ones.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt

from .faiss_loader import faiss

IndexKind = Literal["auto", "flat", "ivf", "hnsw"]
IdArray = npt.NDArray[np.int64]
VectorArray = npt.NDArray[np.float32]


def check_inputs(ids: npt.ArrayLike, vectors: npt.ArrayLike) -> tuple[IdArray, VectorArray]:
    """Validate and convert to the contiguous int64 / float32 arrays FAISS needs."""
    id_array = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    if matrix.ndim != 2:
        raise ValueError(f"vectors must be 2-D, got shape {matrix.shape}")
    if matrix.shape[0] != id_array.shape[0]:
        raise ValueError(f"{id_array.shape[0]} ids for {matrix.shape[0]} vectors")
    if id_array.size and np.unique(id_array).size != id_array.size:
        raise ValueError("ids must be unique")
    return id_array, matrix


def default_nlist(n: int) -> int:
    """~4*sqrt(n) inverted lists: a few hundred vectors per list keeps scans short."""
    return max(16, int(4 * math.sqrt(max(n, 1))))


def build_index(
    ids: npt.ArrayLike,
    vectors: npt.ArrayLike,
    *,
    approximate_threshold: int = 50_000,
    kind: IndexKind = "auto",
    nlist: int | None = None,
    nprobe: int | None = None,
    target_recall: float = 0.97,
    train_points_per_list: int = 40,
    hnsw_m: int = 16,
    hnsw_ef_construction: int = 80,
    hnsw_ef_search: int = 64,
    seed: int = 1234,
) -> faiss.Index:
    """An inner-product index over L2-normalised ``vectors`` keyed by ``ids``.

    ``kind="auto"`` picks exact flat search below ``approximate_threshold``
    vectors and IVF-Flat at or above it. ``nprobe=None`` calibrates it (see
    module docstring). ``"hnsw"`` exists for benchmarking only.
    """
    id_array, matrix = check_inputs(ids, vectors)
    n, dim = matrix.shape
    if kind == "auto":
        kind = "ivf" if n >= approximate_threshold else "flat"
    if kind == "flat" or (kind == "ivf" and n < 1_000):
        # IVF on a handful of vectors is all overhead (and cannot train); stay exact.
        index: faiss.Index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        index.add_with_ids(matrix, id_array)
        return index
    if kind == "hnsw":
        hnsw = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = hnsw_ef_construction
        hnsw.hnsw.efSearch = hnsw_ef_search
        index = faiss.IndexIDMap2(hnsw)
        index.add_with_ids(matrix, id_array)
        return index
    lists = nlist or default_nlist(n)
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT)
    # k-means cost is linear in the training set; ~40 points per centroid is FAISS's floor.
    rng = np.random.default_rng(seed)
    sample_size = min(n, max(39, train_points_per_list) * lists)
    sample = matrix[np.sort(rng.choice(n, size=sample_size, replace=False))]
    ivf.cp.seed = seed
    ivf.cp.niter = 10
    ivf.train(sample)
    ivf.add_with_ids(matrix, id_array)
    ivf.nprobe = nprobe or calibrate_nprobe(ivf, id_array, matrix, target_recall, seed=seed)
    return ivf


def calibrate_nprobe(
    ivf: faiss.IndexIVF,
    ids: IdArray,
    vectors: VectorArray,
    target_recall: float,
    *,
    k: int = 10,
    queries: int = 200,
    seed: int = 1234,
) -> int:
    """Smallest nprobe (within 1/16) whose recall@k on stored vectors reaches the target.

    Queries are stored vectors with themselves excluded from both answers, so
    the easy self-match does not inflate the estimate. Powers of two find the
    bracket; bisection then narrows it (recall never falls as probes grow, since
    more lists only add candidates), because hashing vectors often need several
    hundred lists and the next power of two can cost twice the search time.
    """
    rng = np.random.default_rng(seed + 1)
    picks = rng.choice(len(ids), size=min(queries, len(ids)), replace=False)
    query_vectors = vectors[picks]
    truth_rows = exact_top_k(query_vectors, vectors, k + 1)
    self_ids = ids[picks]
    truth = [
        _top_without(ids[row[row >= 0]], me, k)
        for row, me in zip(truth_rows, self_ids, strict=True)
    ]
    total = sum(len(want) for want in truth)
    if total == 0:
        return 1

    def reaches(nprobe: int) -> bool:
        ivf.nprobe = nprobe
        _, found = ivf.search(query_vectors, k + 1)
        hits = sum(
            len(want & _top_without(row[row >= 0], me, k))
            for row, want, me in zip(found, truth, self_ids, strict=True)
        )
        return hits / total >= target_recall

    high = 1
    while high < ivf.nlist and not reaches(high):
        high *= 2
    high = min(high, ivf.nlist)
    low = high // 2  # known to fall short (or 0 when a single list is enough)
    while high - low > max(1, high // 16):
        middle = (low + high) // 2
        if reaches(middle):
            high = middle
        else:
            low = middle
    return high


def _top_without(ranked_ids: IdArray, excluded: int, k: int) -> set[int]:
    return set([i for i in ranked_ids.tolist() if i != excluded][:k])


def exact_top_k(queries: VectorArray, vectors: VectorArray, k: int) -> npt.NDArray[np.int64]:
    """Row positions of the k best inner products per query, best first (numpy BLAS).

    Used for ground truth: numpy's OpenBLAS is several times faster than
    faiss's brute force for a few hundred queries at once on this hardware.
    """
    k = min(k, len(vectors))
    best_scores = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_rows = np.zeros((len(queries), 0), dtype=np.int64)
    for start in range(0, len(vectors), 200_000):
        scores = queries @ vectors[start : start + 200_000].T
        kk = min(k, scores.shape[1])
        part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
        best_scores = np.hstack([best_scores, np.take_along_axis(scores, part, axis=1)])
        best_rows = np.hstack([best_rows, part + start])
        keep = np.argsort(-best_scores, axis=1, kind="stable")[:, :k]
        best_scores = np.take_along_axis(best_scores, keep, axis=1)
        best_rows = np.take_along_axis(best_rows, keep, axis=1)
    return best_rows

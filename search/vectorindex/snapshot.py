"""An immutable-by-convention FAISS index plus the metadata that makes it safe to reuse.

Readers share one ``IndexSnapshot`` per (tenant, version) across threads: FAISS
searches are thread-safe, but ``add``/``remove`` are not, so only the single
writer (the compaction task, under the tenant lock) mutates a snapshot, and
only one it has not published yet.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from .build import IdArray, VectorArray, check_inputs
from .faiss_loader import faiss

Hit = tuple[int, float]


class IndexSnapshot:
    """A tenant's FAISS index at one version, for one embedder and dimension."""

    def __init__(
        self,
        index: faiss.Index,
        *,
        version: int,
        embedder_name: str,
        dimension: int,
        mapped: bool = False,
    ) -> None:
        if index.d != dimension:
            raise ValueError(f"index has dimension {index.d}, metadata says {dimension}")
        # Any: faiss's bundled stubs miss most attributes (hnsw, nprobe, search params).
        self.index: Any = index
        self.version = version
        self.embedder_name = embedder_name
        self.dimension = dimension
        # Inverted lists mapped read-only from the snapshot file (storage.load_snapshot): in
        # the page cache, shared by every process, not in this one's memory; not changeable.
        self.mapped = mapped

    def __repr__(self) -> str:
        return (
            f"IndexSnapshot(v{self.version}, {self.embedder_name}, dim={self.dimension}, "
            f"count={self.count}, kind={self.kind})"
        )

    @property
    def count(self) -> int:
        return int(self.index.ntotal)

    @property
    def kind(self) -> str:
        if isinstance(self.index, faiss.IndexIVF):
            return "ivf"
        inner = faiss.downcast_index(self.index.index) if hasattr(self.index, "index") else None
        return "hnsw" if isinstance(inner, faiss.IndexHNSW) else "flat"

    @property
    def nbytes(self) -> int:
        """Estimated resident size of this process's own, used by the cache's memory budget
        (a mapped snapshot's lists are the page cache's, shared by every process)."""
        n, d = self.count, self.dimension
        if self.mapped:
            return int(self.index.nlist) * (4 * d + 64)
        if isinstance(self.index, faiss.IndexIVF):
            # Codes + ids in the lists, plus the coarse centroids.
            return n * (4 * d + 8) + self.index.nlist * (4 * d + 64)
        if self.kind == "hnsw":
            m = self._hnsw().nb_neighbors(0) // 2
            return n * (4 * d + 8 * m * 1.1 + 64).__ceil__()
        # IndexIDMap2 keeps a reverse hash map (~48 bytes per id) besides the vectors.
        return n * (4 * d + 8 + 48)

    def _hnsw(self) -> Any:
        inner: Any = faiss.downcast_index(self.index.index)
        return inner.hnsw

    def search(
        self, query: npt.ArrayLike, k: int, *, allowed_ids: Iterable[int] | None = None
    ) -> list[Hit]:
        """Top ``k`` (id, cosine) pairs, best first; ``allowed_ids`` restricts the candidates.

        Filtering happens inside FAISS (an ID selector), so the k results are the
        best allowed ones rather than whatever survived a post-filter.
        """
        vector = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        if vector.shape[1] != self.dimension:
            raise ValueError(f"query has dimension {vector.shape[1]}, index has {self.dimension}")
        if k <= 0 or self.count == 0:
            return []
        if allowed_ids is None:
            return self._search(vector, min(k, self.count), None, None)
        allowed = np.fromiter(set(allowed_ids), dtype=np.int64)
        if allowed.size == 0:
            return []
        selector = faiss.IDSelectorBatch(allowed)
        wanted = min(k, allowed.size, self.count)
        # Approximate indexes visit only part of the data; a selective filter needs a wider
        # net, so widen in proportion to how small the allowed share is.
        fraction = min(1.0, allowed.size / self.count)
        hits = self._search(vector, wanted, selector, 1.0 / fraction)
        if len(hits) < wanted and self.kind != "flat":
            hits = self._search(vector, wanted, selector, math.inf)  # exhaustive fallback
        return hits

    def search_many(
        self, queries: npt.ArrayLike, k: int, *, nprobe: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(cosines, ids) of the top ``k`` for each row of ``queries``; id -1 pads short rows.

        ``nprobe`` caps the inverted lists an IVF index visits (cheaper, less exact).
        """
        matrix = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dimension)
        if k <= 0 or self.count == 0 or not len(matrix):
            empty = np.zeros((len(matrix), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        params: Any = None
        if nprobe is not None and isinstance(self.index, faiss.IndexIVF):
            probes = max(1, min(nprobe, self.index.nprobe))
            params = _search_params("SearchParametersIVF", nprobe=probes)
        scores, ids = self.index.search(matrix, min(k, self.count), params=params)
        return scores, ids

    def _search(
        self,
        vector: VectorArray,
        k: int,
        selector: faiss.IDSelector | None,
        widen: float | None,
    ) -> list[Hit]:
        params: Any = None
        if isinstance(self.index, faiss.IndexIVF):
            nprobe = self.index.nprobe
            if widen is not None:
                nprobe = int(min(self.index.nlist, math.ceil(nprobe * widen)))
            params = _search_params("SearchParametersIVF", sel=selector, nprobe=nprobe)
        elif self.kind == "hnsw" and selector is not None:
            ef = self._hnsw().efSearch
            ef = int(min(max(ef, 16 * k) * (widen or 1.0), max(ef, self.count)))
            params = _search_params("SearchParametersHNSW", sel=selector, efSearch=ef)
        elif selector is not None:
            params = _search_params("SearchParameters", sel=selector)
        scores, ids = self.index.search(vector, k, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def vectors(self, ids: Iterable[int]) -> dict[int, np.ndarray]:
        """The stored vectors of those `ids` a flat index holds; other kinds give none back.

        IVF lists would need a direct map (memory on every tenant) to look ids up, so callers
        read what is missing from PostgreSQL instead.
        """
        if self.kind != "flat":
            return {}
        found: dict[int, np.ndarray] = {}
        for chunk_id in ids:
            try:
                found[int(chunk_id)] = self.index.reconstruct(int(chunk_id))
            except RuntimeError:  # not in this snapshot
                continue
        return found

    def add(self, ids: npt.ArrayLike, vectors: npt.ArrayLike) -> None:
        """Upsert: ids already present are replaced, so retried compactions cannot duplicate."""
        self._require_writable()
        id_array, matrix = check_inputs(ids, vectors)
        if matrix.shape[1] != self.dimension:
            raise ValueError(
                f"vectors have dimension {matrix.shape[1]}, index has {self.dimension}"
            )
        if id_array.size == 0:
            return
        self.remove(id_array)
        self.index.add_with_ids(matrix, id_array)

    def remove(self, ids: npt.ArrayLike) -> int:
        """Really delete ``ids`` (``remove_ids``); returns how many were present.

        Flat and IVF-Flat both support removal: IVF scans every list for the ids
        (O(n) per call, so batch deletions). HNSW cannot remove; it is only built
        for benchmarks and raises here.
        """
        self._require_writable()
        id_array = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
        if id_array.size == 0 or self.count == 0:
            return 0
        if self.kind == "hnsw":
            raise NotImplementedError("HNSW cannot remove vectors; rebuild the index instead.")
        return int(self.index.remove_ids(faiss.IDSelectorBatch(id_array)))

    def _require_writable(self) -> None:
        if self.mapped:
            raise RuntimeError(
                f"Snapshot v{self.version} is mapped read-only from its file; load it without "
                "`mapped` to change it."
            )


def _search_params(class_name: str, **fields: Any) -> Any:
    """Build FAISS search parameters by attribute (the stubs reject the keyword form)."""
    params = getattr(faiss, class_name)()
    for name, value in fields.items():
        if value is not None:
            setattr(params, name, value)
    return params


def exact_search(
    ids: npt.ArrayLike,
    vectors: npt.ArrayLike,
    query: npt.ArrayLike,
    k: int,
    allowed_ids: Iterable[int] | None = None,
) -> list[Hit]:
    """Brute-force top-k by inner product, for the small delta not yet in a snapshot."""
    id_array: IdArray = np.asarray(ids, dtype=np.int64).reshape(-1)
    matrix: VectorArray = np.asarray(vectors, dtype=np.float32)
    if id_array.size == 0 or k <= 0:
        return []
    matrix = matrix.reshape(id_array.size, -1)
    if allowed_ids is not None:
        keep = np.isin(id_array, np.fromiter(set(allowed_ids), dtype=np.int64))
        id_array, matrix = id_array[keep], matrix[keep]
        if id_array.size == 0:
            return []
    scores = matrix @ np.asarray(query, dtype=np.float32).reshape(-1)
    k = min(k, scores.size)
    top = np.argpartition(-scores, k - 1)[:k]
    # Ties broken by id so results are stable between runs.
    top = top[np.lexsort((id_array[top], -scores[top]))]
    return [(int(id_array[i]), float(scores[i])) for i in top]


def merge_results(a: Iterable[Hit], b: Iterable[Hit], k: int) -> list[Hit]:
    """Best ``k`` of two ranked lists; an id in both keeps its higher score."""
    best: dict[int, float] = {}
    for chunk_id, score in (*a, *b):
        if chunk_id not in best or score > best[chunk_id]:
            best[chunk_id] = score
    ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))
    return ranked[: max(k, 0)]

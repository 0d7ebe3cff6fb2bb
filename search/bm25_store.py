"""Tenants' BM25 matrices (and query IDF tables) on disk: built once per compaction, mapped.

Without this, every web process rebuilt a tenant's matrix from the stored tsvectors after each
change (~15 s of one core per 100k chunks on a slow machine, per process), and held its own
copy in memory. Now the compaction that publishes a new vector snapshot (search/index.py,
`index_compacted`) also builds the matrix for the state it published and writes it next to
the snapshot, under INDEX_ROOT/<schema>/bm25-<generation>-<change_seq>/ (one .npy file per
array, the vocabulary as JSON, meta.json with the state and the build settings). Processes
that need the matrix for that change_seq load it with `mmap_mode="r"`: milliseconds, and the
pages are shared by every process on the machine. When the files are missing, unreadable,
from another state or built with other settings (QUERY_EXPANSION_*), processes build the
matrix themselves as before, so nothing depends on this beyond speed.

For the hashing embedder the same directory holds the query IDF table (search/query_idf.py:
document frequencies of every hashed feature, ~5 s of one core per 100k chunks to count),
which processes read (not map: 12 bytes per feature) instead of counting.

The label is the change_seq read *before* the chunks are read, so a matrix may hold chunks
newer than its label (then processes build again at the next change_seq), never older ones.
The two newest matrices are kept; older directories are removed (a process still mapping one
keeps its pages until it lets go).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse  # type: ignore[import-untyped]

from documents.embeddings.hashing import FeatureCounts, TermWeights
from search import bm25
from search.index import index_directory
from search.settings import search_settings

logger = logging.getLogger(__name__)

# 2: the terms' IDF and the average chunk length (search/bm25_fresh.py); 3: word pairs;
# 4: the pairs' IDF and average length, the lineage and the query IDF's document frequencies
# (search/bm25_append.py)
FORMAT = 4
PREFIX = "bm25-"
_KEEP = 2
_ARRAYS = ("chunk_ids", "document_ids")
_MATRICES = ("weights", "term_distributions")


def enabled() -> bool:
    return search_settings().lexical_store


def split_key(key: str) -> tuple[str, str]:
    """A cache key `<schema>:<generation>` (search/bm25_cache.py) as its two parts."""
    schema, _, generation = key.partition(":")
    return schema, generation


def matrix_for(key: str, change_seq: int) -> bm25.Bm25Index | None:
    """The matrix the last compaction stored for this cache key and state, if storing is on."""
    return load(*split_key(key), change_seq) if enabled() else None


def has_matrix_for(key: str, change_seq: int) -> bool:
    return enabled() and exists(*split_key(key), change_seq)


def term_weights_for(key: str, change_seq: int, embedder_name: str) -> TermWeights | None:
    """The query IDF table stored with that matrix for this embedder, if storing is on."""
    return load_term_weights(*split_key(key), change_seq, embedder_name) if enabled() else None


def directory(schema: str, generation: str, change_seq: int) -> Path:
    """Where the matrix of this state lives (the schema was validated at provisioning)."""
    return index_directory(schema) / f"{PREFIX}{generation}-{int(change_seq)}"


def save(
    built: bm25.Bm25Index,
    *,
    schema: str,
    generation: str,
    term_weights: tuple[str, FeatureCounts] | None = None,
    build_seconds: float | None = None,
) -> Path:
    """Write atomically (a temporary directory renamed into place); returns the directory.

    `term_weights`: (embedder name, document frequencies) of the hashing embedder's query IDF,
    stored too.
    `build_seconds`: how long building them took, which tells processes how long to wait for
    the next compaction's (CompactionWait).
    """
    target = directory(schema, generation, built.change_seq)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".bm25-", dir=target.parent))
    try:
        for name in _ARRAYS:
            np.save(staging / f"{name}.npy", getattr(built, name))
        for name in _MATRICES:
            matrix = getattr(built, name)
            for part in ("data", "indices", "indptr"):
                np.save(staging / f"{name}.{part}.npy", getattr(matrix, part))
        if built.idf is not None:
            np.save(staging / "term_idf.npy", built.idf)
        pairs = built.pairs if built.pairs is not None else np.zeros(0, dtype=np.uint64)
        np.save(staging / "pairs.npy", pairs)
        if built.pair_idf is not None:
            np.save(staging / "pair_idf.npy", built.pair_idf)
        if term_weights is not None:
            counted = term_weights[1]
            table = counted.weights()
            np.save(staging / "idf.features.npy", table.features)
            np.save(staging / "idf.idf.npy", table.idf)
            np.save(staging / "idf.df.npy", counted.frequencies)
        vocabulary = sorted(built.terms, key=built.terms.__getitem__)  # in row order
        (staging / "terms.json").write_text(
            json.dumps(vocabulary, ensure_ascii=False), encoding="utf-8"
        )
        meta = {
            "format": FORMAT,
            "generation": generation,
            "change_seq": built.change_seq,
            "chunks": int(built.chunk_ids.size),
            "terms": len(vocabulary),
            "pairs": int(pairs.size),
            "entries": {name: int(getattr(built, name).nnz) for name in _MATRICES},
            "settings": bm25.build_settings(),
            "average_length": built.average_length,
            "has_term_idf": built.idf is not None,
            "idf_embedder": term_weights[0] if term_weights is not None else None,
            "idf_documents": term_weights[1].documents if term_weights is not None else 0,
            "has_pair_idf": built.pair_idf is not None,
            "pair_average_length": built.pair_average_length,
            "lineage": dataclasses.asdict(built.lineage),
            "build_seconds": round(float(build_seconds or 0.0), 1),
        }
        (staging / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        staging.chmod(0o755)  # mkdtemp's 0700 would hide it from processes of other users
        try:
            os.rename(staging, target)
        except OSError:
            if not (target / "meta.json").exists():
                raise
            shutil.rmtree(staging, ignore_errors=True)  # another writer got there first
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def exists(schema: str, generation: str, change_seq: int) -> bool:
    return (directory(schema, generation, change_seq) / "meta.json").is_file()


def load(schema: str, generation: str, change_seq: int) -> bm25.Bm25Index | None:
    """The stored matrix of exactly this state, memory-mapped; None if absent or unusable."""
    where = directory(schema, generation, change_seq)
    if not (where / "meta.json").is_file():
        return None
    try:
        return _read(where, generation, change_seq)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning(
            "The stored BM25 matrix in %s could not be used (%s); building it instead.", where, exc
        )
        return None


def _labels(schema: str, generation: str) -> list[int]:
    """The change_seqs of this generation's stored matrices, highest first."""
    labels = []
    for path in index_directory(schema).glob(f"{PREFIX}{generation}-*"):
        label = path.name.rpartition("-")[2]
        if label.isdigit() and (path / "meta.json").is_file():
            labels.append(int(label))
    return sorted(labels, reverse=True)


def newest(schema: str, generation: str) -> bm25.Bm25Index | None:
    """The stored matrix of this generation with the highest change_seq that is usable."""
    for change_seq in _labels(schema, generation):
        if (found := load(schema, generation, change_seq)) is not None:
            return found
    return None


def newest_meta(schema: str, generation: str) -> dict[str, Any] | None:
    """meta.json of this generation's newest stored matrix in the current format, if any."""
    for change_seq in _labels(schema, generation):
        try:
            where = directory(schema, generation, change_seq) / "meta.json"
            meta: dict[str, Any] = json.loads(where.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        return meta if meta.get("format") == FORMAT else None
    return None


def load_feature_counts(
    schema: str, generation: str, change_seq: int, embedder_name: str
) -> FeatureCounts | None:
    """The document frequencies the stored query IDF of this state was made from, if any."""
    where = directory(schema, generation, change_seq)
    try:
        meta = json.loads((where / "meta.json").read_text(encoding="utf-8"))
        if meta["format"] != FORMAT or meta["idf_embedder"] != embedder_name:
            return None
        features = np.load(where / "idf.features.npy")
        frequencies = np.load(where / "idf.df.npy")
        if features.shape != frequencies.shape:
            raise ValueError("its arrays do not fit together")
        return FeatureCounts(features, frequencies, int(meta["idf_documents"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_term_weights(
    schema: str, generation: str, change_seq: int, embedder_name: str
) -> TermWeights | None:
    """The query IDF table stored with this state's matrix for that embedder, if any."""
    where = directory(schema, generation, change_seq)
    if not (where / "meta.json").is_file():
        return None
    try:
        meta = json.loads((where / "meta.json").read_text(encoding="utf-8"))
        if (meta["format"], meta["generation"], meta["change_seq"], meta["idf_embedder"]) != (
            FORMAT,
            generation,
            change_seq,
            embedder_name,
        ):
            return None
        features = np.load(where / "idf.features.npy")
        idf = np.load(where / "idf.idf.npy")
        if features.dtype != np.uint64 or idf.dtype != np.float32 or features.shape != idf.shape:
            raise ValueError("its arrays do not fit together")
        return TermWeights(features, idf)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning(
            "The stored query term weights in %s could not be used (%s); building them instead.",
            *(where, exc),
        )
        return None


def _read(where: Path, generation: str, change_seq: int) -> bm25.Bm25Index:
    meta: dict[str, Any] = json.loads((where / "meta.json").read_text(encoding="utf-8"))
    if (meta["format"], meta["generation"], meta["change_seq"]) != (
        FORMAT,
        generation,
        change_seq,
    ):
        raise ValueError(f"it describes another state: {meta}")
    if meta["settings"] != bm25.build_settings():
        raise ValueError(f"it was built with other settings: {meta['settings']}")
    vocabulary = json.loads((where / "terms.json").read_text(encoding="utf-8"))
    chunks, terms = int(meta["chunks"]), len(vocabulary)
    if terms != meta["terms"]:
        raise ValueError("its vocabulary is incomplete")
    arrays = {name: np.load(where / f"{name}.npy", mmap_mode="r") for name in _ARRAYS}
    pairs = np.load(where / "pairs.npy", mmap_mode="r")
    if pairs.size != meta["pairs"]:
        raise ValueError("its word pairs are incomplete")
    shapes = {"weights": (terms + pairs.size, chunks), "term_distributions": (chunks, terms)}
    matrices = {}
    for name in _MATRICES:
        data, indices, indptr = (
            np.load(where / f"{name}.{part}.npy", mmap_mode="r")
            for part in ("data", "indices", "indptr")
        )
        rows, columns = shapes[name]
        if not (
            data.size == indices.size == meta["entries"][name] == int(indptr[-1])
            and indptr.size == rows + 1
        ):
            raise ValueError(f"its {name} arrays do not fit together")
        matrix = sparse.csr_matrix((data, indices, indptr), shape=(rows, columns), copy=False)
        matrix.has_sorted_indices = True  # written canonical; never sort the read-only pages
        matrices[name] = matrix
    if not all(array.size == chunks for array in arrays.values()):
        raise ValueError("its chunk arrays do not match the matrix")
    idf = np.load(where / "term_idf.npy", mmap_mode="r") if meta["has_term_idf"] else None
    if idf is not None and idf.size != terms:
        raise ValueError("its IDF does not match the vocabulary")
    pair_idf = np.load(where / "pair_idf.npy", mmap_mode="r") if meta["has_pair_idf"] else None
    if pair_idf is not None and pair_idf.size != pairs.size:
        raise ValueError("its pairs' IDF does not match the pairs")
    return bm25.Bm25Index(
        chunk_ids=arrays["chunk_ids"],
        document_ids=arrays["document_ids"],
        terms={term: row for row, term in enumerate(vocabulary)},
        weights=matrices["weights"],
        term_distributions=matrices["term_distributions"],
        change_seq=change_seq,
        idf=idf,
        average_length=float(meta["average_length"]),
        pairs=pairs,
        pair_idf=pair_idf,
        pair_average_length=float(meta["pair_average_length"]),
        lineage=bm25.Lineage(**meta["lineage"]),
    )


def prune(schema: str, keep: int = _KEEP) -> None:
    """Remove all but the `keep` most recently written matrices of the tenant."""
    root = index_directory(schema)
    if not root.is_dir():
        return
    stored = sorted(
        (path for path in root.iterdir() if path.name.startswith(PREFIX) and path.is_dir()),
        key=lambda path: path.stat().st_mtime,
        reverse=True,
    )
    for old in stored[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    for staging in root.glob(".bm25-*"):  # left behind by a writer that died
        if time.time() - staging.stat().st_mtime > 3600:
            shutil.rmtree(staging, ignore_errors=True)

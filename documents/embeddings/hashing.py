"""The default embedder: signed feature hashing of stemmed unigrams and bigrams.

No model and no network: a vector depends only on the text and the dimension,
and is byte-identical in every process (hashes come from blake2b, never from
Python's per-process randomised ``hash()``).

Pipeline per text: normalise -> words -> drop stopwords -> Porter stem ->
features = unigrams + adjacent bigrams -> each feature hashed to 64 bits ->
bucket = hash mod dimension, sign = top bit -> weight 1 + log(tf) ->
L2-normalise. Word -> hash work is cached per embedder; everything after the
word lookup runs vectorised over the whole batch.

Stored (document) vectors are tf-only, so they never depend on corpus statistics. A query
may be weighted by IDF instead (``embed_query(text, term_weights=...)``): each hashed
feature's query weight is multiplied by its idf over the tenant's chunks
(``feature_document_frequencies`` + ``TermWeights``), and features no chunk contains get 0
(they could only match through hash collisions). Inner product is then about
sum_t idf(t) * w_d(t), a TF-IDF score. See docs/search.md for the measurements.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
import numpy.typing as npt

from .analyzer import STOPWORDS, raw_tokens, stem
from .base import FloatMatrix, l2_normalise_rows

# 64-bit mixing constants (splitmix64); fixed forever, or old vectors change meaning.
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_BIGRAM_SALT = np.uint64(0x9E3779B97F4A7C15)
_NO_HASH = -1  # cache marker for stopwords
_DOC_SHIFT = np.uint64(40)
_FEATURE_MASK = np.uint64((1 << 40) - 1)
_CACHE_LIMIT = 500_000  # words; bounds memory in long-lived workers


def _word_hash(term: str) -> int:
    digest = hashlib.blake2b(term.encode("utf-8"), digest_size=8, person=b"di-hash-v1").digest()
    # Clear the top bit of the cached value so it fits an int64 array without overflow.
    return int.from_bytes(digest, "little") & 0x7FFF_FFFF_FFFF_FFFF


def _mix(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64 finaliser: spreads bits so bucket and sign are independent."""
    with np.errstate(over="ignore"):
        z = values.copy()
        z ^= z >> np.uint64(30)
        z *= _MIX1
        z ^= z >> np.uint64(27)
        z *= _MIX2
        z ^= z >> np.uint64(31)
    return z


@dataclass(frozen=True)
class TermWeights:
    """Query-side IDF per hashed feature (unigram or bigram), from a corpus's frequencies."""

    features: npt.NDArray[np.uint64]  # sorted feature keys (the 40 mixed hash bits)
    idf: npt.NDArray[np.float32]  # weight of each feature, same order

    @classmethod
    def from_frequencies(
        cls,
        features: npt.NDArray[np.uint64],
        document_frequencies: npt.NDArray[np.int64],
        documents: int,
    ) -> TermWeights:
        """BM25's (Lucene's) non-negative idf, log(1 + (N - df + 0.5) / (df + 0.5))."""
        df = np.asarray(document_frequencies, dtype=np.float64)
        idf = np.log1p((documents - df + 0.5) / (df + 0.5))
        return cls(np.asarray(features, dtype=np.uint64), idf.astype(np.float32))

    def weights(self, features: npt.NDArray[np.uint64]) -> npt.NDArray[np.float64]:
        """idf of each feature; 0 for features the corpus never contained."""
        if not self.features.size:
            return np.zeros(features.shape, dtype=np.float64)
        positions = np.minimum(np.searchsorted(self.features, features), self.features.size - 1)
        found = self.features[positions] == features
        return np.where(found, self.idf[positions].astype(np.float64), 0.0)


def merge_frequencies(
    parts: Sequence[tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]],
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    """Sum (features, df) pairs computed over disjoint batches of texts."""
    if not parts:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    features = np.concatenate([f for f, _ in parts])
    counts = np.concatenate([c for _, c in parts])
    unique, inverse = np.unique(features, return_inverse=True)
    return unique, np.bincount(inverse, weights=counts, minlength=unique.size).astype(np.int64)


@dataclass(frozen=True)
class FeatureCounts:
    """Document frequencies of hashed features over `documents` texts: what query IDF is
    made of, and what more texts are added to (counts of disjoint sets of texts add up)."""

    features: npt.NDArray[np.uint64]  # sorted
    frequencies: npt.NDArray[np.int64]
    documents: int

    def plus(self, other: FeatureCounts) -> FeatureCounts:
        features, frequencies = merge_frequencies(
            [(self.features, self.frequencies), (other.features, other.frequencies)]
        )
        return FeatureCounts(features, frequencies, self.documents + other.documents)

    def weights(self) -> TermWeights:
        return TermWeights.from_frequencies(self.features, self.frequencies, self.documents)


class HashingEmbedder:
    """Stateless, deterministic bag-of-features embedder (the platform default)."""

    # Share of the dense list in hybrid fusion (search/retrieval.py): none. These vectors are
    # a bag of the same stemmed words (and word pairs) as BM25, a noisier copy of its signal:
    # with a share of 0.25 hybrid lost 0.010 nDCG@10 on CACM for 0.002 on Cranfield
    # (docs/benchmarks.md, "Ablation"). Hybrid then ranks as lexical does, with the dense
    # list's other candidates after them.
    hybrid_dense_weight = 0.0
    # Score regularisation (search/score_regularisation.py) measured no gain with these: off.
    neighbour_weight = 0.0

    def __init__(self, dimension: int = 384, *, bigram_weight: float = 0.25) -> None:
        if dimension < 8:
            raise ValueError("dimension must be at least 8")
        self.dimension = dimension
        self.bigram_weight = bigram_weight
        self.name = f"hashing-v1-{dimension}"
        self.usage_tokens = 0  # nothing is billed
        self._word_cache: dict[str, int] = {}
        self._cache_lock = threading.Lock()

    def _lookup(self, words: list[str]) -> npt.NDArray[np.int64]:
        """Term hash per word (_NO_HASH for stopwords); the hot path is one C-level map."""
        cache = self._word_cache
        try:
            return np.fromiter(map(cache.__getitem__, words), dtype=np.int64, count=len(words))
        except KeyError:
            pass
        with self._cache_lock:
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            for word in set(words).difference(cache):
                cache[word] = _NO_HASH if word in STOPWORDS else _word_hash(stem(word))
            return np.fromiter(map(cache.__getitem__, words), dtype=np.int64, count=len(words))

    def _features(
        self, texts: Sequence[str]
    ) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64], npt.NDArray[np.int64], float]]:
        """Per kind (unigrams, bigrams): (text row, feature key, count in the text, weight)."""
        n = len(texts)
        per_text = [raw_tokens(text) for text in texts]
        lengths = np.fromiter(map(len, per_text), dtype=np.int64, count=n)
        hashes = self._lookup(list(chain.from_iterable(per_text)))
        docs = np.repeat(np.arange(n, dtype=np.uint64), lengths)
        keep = hashes != _NO_HASH
        terms, docs = hashes[keep].view(np.uint64), docs[keep]
        kinds = []
        if terms.size:
            kinds.append((docs, terms, 1.0))
            # Bigrams pair each kept term with the next kept term of the same text.
            same = docs[1:] == docs[:-1]
            with np.errstate(over="ignore"):
                bigrams = (terms[:-1][same] * _BIGRAM_SALT) ^ terms[1:][same]
            if bigrams.size and self.bigram_weight:
                kinds.append((docs[1:][same], bigrams, self.bigram_weight))
        out = []
        for rows, features, weight in kinds:
            # One sortable key per (text, feature): text index above bit 40, 40 hash bits below.
            # 40 bits keep collisions among a text's few hundred features below 1e-6.
            keys = (rows << _DOC_SHIFT) | (_mix(features) & _FEATURE_MASK)
            keys.sort()
            starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
            counts = np.diff(np.append(starts, keys.size))
            unique = keys[starts]
            out.append(
                ((unique >> _DOC_SHIFT).astype(np.int64), unique & _FEATURE_MASK, counts, weight)
            )
        return out

    def _embed(self, texts: Sequence[str], term_weights: TermWeights | None) -> FloatMatrix:
        n = len(texts)
        dense = np.zeros(n * self.dimension, dtype=np.float64)
        for rows, feature, counts, weight in self._features(texts):
            signs = np.where((feature >> np.uint64(39)) & np.uint64(1), -1.0, 1.0)
            buckets = (feature % np.uint64(self.dimension)).astype(np.int64)
            values = signs * (1.0 + np.log(counts)) * weight
            if term_weights is not None:
                values = values * term_weights.weights(feature)
            dense += np.bincount(rows * self.dimension + buckets, values, minlength=dense.size)
        return l2_normalise_rows(dense.reshape(n, self.dimension))

    def embed_documents(self, texts: Sequence[str]) -> FloatMatrix:
        return self._embed(texts, None)

    def feature_document_frequencies(
        self, texts: Sequence[str]
    ) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
        """(sorted feature keys, number of `texts` containing each), for TermWeights."""
        parts = [
            tuple(np.unique(feature, return_counts=True))
            for _, feature, _, _ in self._features(texts)
        ]
        return merge_frequencies(parts)  # type: ignore[arg-type]

    def embed_query(self, text: str, *, term_weights: TermWeights | None = None) -> FloatMatrix:
        """The text's vector; with `term_weights`, every feature is scaled by its idf."""
        return self._embed([text], term_weights)[0]

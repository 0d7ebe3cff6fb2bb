"""The contract every embedding backend meets, and the errors it may raise.

Backends are plain Python objects configured by arguments (never by Django
settings), so they can be built in a Celery worker, a management command or a
benchmark alike. Rows are L2-normalised so that inner product == cosine, which
is what the per-tenant FAISS index ranks by.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

FloatMatrix = npt.NDArray[np.float32]


class EmbeddingError(Exception):
    """Embedding failed and retrying the same input will not help (bad input, bad config)."""


class TransientEmbeddingError(EmbeddingError):
    """Embedding failed for a reason that may pass: rate limit, 5xx, timeout.

    Raised only after the backend's own retries are spent, so callers (Celery
    tasks) should retry later with their own backoff. It subclasses
    EmbeddingError so that ``except EmbeddingError`` still catches everything.
    """


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors of a fixed dimension.

    ``name`` identifies the vector space: two embedders with the same name and
    dimension produce comparable vectors, and the index refuses to mix others.
    ``usage_tokens`` counts provider-billed tokens since the embedder was built
    (0 for backends that bill nothing). A backend may also set ``hybrid_dense_weight``
    (0..1), its list's share in hybrid search fusion (without it the dense list gets half),
    and ``neighbour_weight`` (0..1) for hybrid neighbour re-ranking (default 0.5; 0 is off).
    """

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    @property
    def usage_tokens(self) -> int: ...

    def embed_documents(self, texts: Sequence[str]) -> FloatMatrix:
        """Return shape (len(texts), dimension); blank texts give all-zero rows."""
        ...

    def embed_query(self, text: str) -> FloatMatrix:
        """Return shape (dimension,)."""
        ...


def l2_normalise_rows(matrix: npt.NDArray[np.floating]) -> FloatMatrix:
    """Scale every row to unit length; all-zero rows stay zero instead of becoming NaN."""
    out = np.asarray(matrix, dtype=np.float32)
    if out.ndim != 2:
        raise ValueError(f"expected a 2-D matrix, got shape {out.shape}")
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    # A blank text has no features; a zero row scores 0 against everything.
    np.maximum(norms, np.float32(1e-12), out=norms)
    return np.ascontiguousarray(out / norms, dtype=np.float32)

"""Pluggable text embedders: ``hashing`` (default, no model), ``local`` (MiniLM), ``openai``.

Use ``get_embedder(backend, **options)``; every backend returns float32,
L2-normalised rows so inner product is cosine similarity. A new backend registers a
factory with ``register_backend`` (docs/extending.md).
"""

from .base import Embedder, EmbeddingError, TransientEmbeddingError, l2_normalise_rows
from .registry import (
    available_backends,
    check_backend,
    clear_embedder_cache,
    get_embedder,
    register_backend,
)

__all__ = [
    "Embedder",
    "EmbeddingError",
    "TransientEmbeddingError",
    "available_backends",
    "check_backend",
    "clear_embedder_cache",
    "get_embedder",
    "l2_normalise_rows",
    "register_backend",
]

"""Pick an embedding backend by name; one instance per (backend, options) per process.

Embedders are expensive to build (the local model loads ~90 MB of weights) and
cheap to share, so they are cached. Backends register a factory here; the
heavy ones are imported only when first asked for. Same shape as the extractor and
answerer registries: ``register_backend``, ``available_backends``, ``get_embedder``,
and ``check_backend`` refusing an unknown name with a sentence (docs/extending.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .base import Embedder

EmbedderFactory = Callable[..., Embedder]


def _hashing(**options: Any) -> Embedder:
    from .hashing import HashingEmbedder

    return HashingEmbedder(**options)


def _local(**options: Any) -> Embedder:
    from .local import LocalEmbedder

    return LocalEmbedder(**options)


def _openai(**options: Any) -> Embedder:
    from .openai import OpenAIEmbedder

    return OpenAIEmbedder(**options)


_FACTORIES: dict[str, EmbedderFactory] = {
    "hashing": _hashing,
    "local": _local,
    "openai": _openai,
}
_cache: dict[tuple[str, str], Embedder] = {}
_lock = threading.Lock()


def register_backend(name: str, factory: EmbedderFactory, *, replace: bool = False) -> None:
    """Make ``get_embedder(name, ...)`` build embedders with ``factory(**options)``.

    Raises ValueError if ``name`` is taken, unless ``replace`` (then cached ones are dropped).
    """
    with _lock:
        if name in _FACTORIES and not replace:
            raise ValueError(f"The embedding backend {name!r} is already registered.")
        _FACTORIES[name] = factory
        for key in [key for key in _cache if key[0] == name]:
            del _cache[key]


def available_backends() -> list[str]:
    return sorted(_FACTORIES)


def check_backend(backend: str) -> str:
    """``backend`` if it is registered; else ValueError with a sentence naming the choices."""
    if backend not in _FACTORIES:
        choices = ", ".join(available_backends())
        raise ValueError(f"Unknown embedding backend {backend!r}; choose one of {choices}.")
    return backend


def get_embedder(backend: str, **options: Any) -> Embedder:
    """The process-wide embedder for ``backend`` configured with ``options``.

    Raises ValueError for an unknown backend name (a configuration mistake).
    """
    factory = _FACTORIES[check_backend(backend)]
    # repr() keeps unhashable option values (lists, dicts) usable in the key.
    key = (backend, repr(sorted(options.items())))
    with _lock:
        embedder = _cache.get(key)
        if embedder is None:
            embedder = factory(**options)
            _cache[key] = embedder
        return embedder


def clear_embedder_cache() -> None:
    """Forget cached embedders (tests, or after settings change in a long-lived process)."""
    with _lock:
        _cache.clear()

"""Pick an answer backend by name.

Backends are imported on first use so the offline default never loads the OpenAI SDK.
Same shape as the extractor and embedder registries: ``register_backend``,
``available_backends``, ``get_answerer``, and ``check_backend`` refusing an unknown name
with a sentence. Adding a backend is one module and one ``register_backend`` call (the
built-ins are in ``_FACTORIES`` below); docs/extending.md has the checklist.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from queries.answerers.base import Answerer

AnswererFactory = Callable[..., Answerer]


def _extractive(**options: Any) -> Answerer:
    from queries.answerers.extractive import ExtractiveAnswerer

    return ExtractiveAnswerer(**options)


def _openai(**options: Any) -> Answerer:
    from queries.answerers.openai import OpenAIAnswerer

    return OpenAIAnswerer(**options)


_FACTORIES: dict[str, AnswererFactory] = {
    "extractive": _extractive,
    "openai": _openai,
}
_lock = threading.Lock()

DEFAULT_BACKEND = "extractive"


def _key(name: str) -> str:
    # ANSWER_BACKEND is matched without regard to case or surrounding blanks.
    return name.strip().lower()


def register_backend(name: str, factory: AnswererFactory, *, replace: bool = False) -> None:
    """Make ``get_answerer(name, ...)`` build answerers with ``factory(**options)``.

    Raises ValueError if ``name`` is taken, unless ``replace``.
    """
    with _lock:
        if _key(name) in _FACTORIES and not replace:
            raise ValueError(f"The answer backend {name!r} is already registered.")
        _FACTORIES[_key(name)] = factory


def available_backends() -> list[str]:
    return sorted(_FACTORIES)


def check_backend(backend: str) -> str:
    """The registered name ``backend`` means; else ValueError with a sentence naming the choices."""
    if _key(backend) not in _FACTORIES:
        choices = ", ".join(available_backends())
        raise ValueError(f"Unknown answer backend {backend!r}; choose one of: {choices}.")
    return _key(backend)


def get_answerer(backend: str, **options: Any) -> Answerer:
    """Build the answerer called `backend` with its keyword options.

    Raises ValueError with a sentence naming the valid choices when the backend
    or one of its options is unknown, so a bad setting fails at startup.
    """
    factory = _FACTORIES[check_backend(backend)]
    try:
        return factory(**options)
    except TypeError as error:
        raise ValueError(
            f"The {backend!r} answer backend got an unknown option: {error}"
        ) from error

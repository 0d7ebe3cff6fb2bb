"""Pick an answer backend by name.

Backends are imported on first use so the offline default never loads the
OpenAI SDK. Adding a backend is one module and one entry in _FACTORIES.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from queries.answerers.base import Answerer


def _extractive(**options: Any) -> Answerer:
    from queries.answerers.extractive import ExtractiveAnswerer

    return ExtractiveAnswerer(**options)


def _openai(**options: Any) -> Answerer:
    from queries.answerers.openai import OpenAIAnswerer

    return OpenAIAnswerer(**options)


_FACTORIES: dict[str, Callable[..., Answerer]] = {
    "extractive": _extractive,
    "openai": _openai,
}

DEFAULT_BACKEND = "extractive"


def available_backends() -> list[str]:
    return sorted(_FACTORIES)


def get_answerer(backend: str, **options: Any) -> Answerer:
    """Build the answerer called `backend` with its keyword options.

    Raises ValueError with a sentence naming the valid choices when the backend
    or one of its options is unknown, so a bad setting fails at startup.
    """
    factory = _FACTORIES.get(backend.strip().lower())
    if factory is None:
        choices = ", ".join(available_backends())
        raise ValueError(f"Unknown answer backend {backend!r}; choose one of: {choices}.")
    try:
        return factory(**options)
    except TypeError as error:
        raise ValueError(
            f"The {backend!r} answer backend got an unknown option: {error}"
        ) from error

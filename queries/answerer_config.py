"""The answer backend the settings name, built once per configuration and process."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings

from queries.answerers import Answerer, get_answerer
from queries.sentence_similarity import sentence_similarity


@lru_cache(maxsize=8)
def _build_answerer(backend: str, model: str, base_url: str, api_key: str) -> Answerer:
    options: dict[str, Any] = {}
    if backend == "extractive":
        options = {"similarity": sentence_similarity}
    if backend == "openai":
        options = {
            "model": model,
            "base_url": base_url or None,
            "api_key": api_key or None,
            "timeout": float(settings.ANSWER_TIMEOUT_SECONDS),
            "max_retries": int(settings.ANSWER_MAX_RETRIES),
            "max_tokens": int(settings.ANSWER_MAX_TOKENS),
            "min_supported_share": float(settings.ANSWER_MIN_SUPPORTED_SHARE),
            "max_concurrent": int(settings.ANSWER_CONCURRENCY),
        }
    return get_answerer(backend, **options)


def answerer() -> Answerer:
    """The configured answer backend (built once per configuration and process)."""
    return _build_answerer(
        str(settings.ANSWER_BACKEND).strip().lower(),
        str(settings.OPENAI_CHAT_MODEL),
        str(settings.OPENAI_BASE_URL or ""),
        str(settings.OPENAI_API_KEY or ""),
    )

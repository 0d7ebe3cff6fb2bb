"""The search/ask response cache in Redis; trouble with Redis never fails a request.

Keys go through django-tenants' key function (the tenant's schema is in every key) and
also carry the tenant index's generation, version and change_seq, so a new, changed or
deleted document invalidates every cached response of that tenant without a purge, and its
access_seq, bumped when documents change collections. The caller's readable collections are
among the hashed parameters (queries/services.py): callers who read different collections
never share a response.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any

from django.core.cache import cache

from documents.models import IndexState
from search.settings import search_settings

logger = logging.getLogger(__name__)
_WARN_EVERY = 30.0
_last_warning = 0.0


def _warn(action: str, exc: Exception) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= _WARN_EVERY:
        _last_warning = now
        logger.warning("Query cache %s skipped: the cache is unreachable (%s).", action, exc)


def response_key(kind: str, state: IndexState, params: dict[str, Any]) -> str:
    """`q:<kind>:<generation>:<version>:<change_seq>.<access_seq>:<sha256 of the params>`."""
    digest = hashlib.sha256(
        json.dumps(params, sort_keys=True, separators=(",", ":")).encode("utf-8")
    ).hexdigest()
    seqs = f"{state.change_seq}.{state.access_seq}"
    return f"q:{kind}:{state.generation}:{state.version}:{seqs}:{digest}"


def get(key: str) -> dict[str, Any] | None:
    try:
        value = cache.get(key)
    except Exception as exc:  # any Redis or connection error: serve uncached
        _warn("read", exc)
        return None
    return value if isinstance(value, dict) else None


def put(key: str, value: dict[str, Any]) -> None:
    try:
        cache.set(key, value, timeout=search_settings().cache_ttl_seconds)
    except Exception as exc:
        _warn("write", exc)

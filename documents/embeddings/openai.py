"""Embeddings from any OpenAI-compatible ``/v1/embeddings`` endpoint.

Retries are ours, not the SDK's (it is built with ``max_retries=0``): the loop
is small, honours ``Retry-After``, and takes a ``backoff_base`` so tests run in
milliseconds. Requests are split by count (``max_batch_inputs``) and by an
estimated token budget (``max_batch_tokens``) to stay inside provider limits.
"""

from __future__ import annotations

import math
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import openai as openai_sdk

from .base import EmbeddingError, FloatMatrix, TransientEmbeddingError, l2_normalise_rows

DEFAULT_MODEL = "text-embedding-3-small"
KNOWN_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
_RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


def estimate_tokens(text: str) -> int:
    """Upper-bound-ish token count without a tokenizer: ~1 token per 3 bytes of UTF-8."""
    return max(1, math.ceil(len(text.encode("utf-8")) / 3))


def plan_batches(texts: Sequence[str], *, max_inputs: int, max_tokens: int) -> list[list[int]]:
    """Group text positions into requests that respect both the count and token budgets."""
    batches: list[list[int]] = []
    current: list[int] = []
    budget = 0
    for i, text in enumerate(texts):
        cost = estimate_tokens(text)
        if current and (len(current) >= max_inputs or budget + cost > max_tokens):
            batches.append(current)
            current, budget = [], 0
        current.append(i)
        budget += cost
    if current:
        batches.append(current)
    return batches


class OpenAIEmbedder:
    """OpenAI (or compatible) embeddings with batching, retries and usage accounting."""

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        api_key: str | None = None,
        base_url: str | None = None,
        dimensions: int | None = None,
        max_batch_inputs: int = 256,
        max_batch_tokens: int = 100_000,
        max_attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 20.0,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.model = model
        self.name = f"openai:{model}"
        self._dimensions_param = dimensions
        self._dimension = dimensions or KNOWN_DIMENSIONS.get(model)
        self.max_batch_inputs = max_batch_inputs
        self.max_batch_tokens = max_batch_tokens
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._sleep = sleep
        self.usage_tokens = 0
        self.requests_made = 0
        self._usage_lock = threading.Lock()
        self._client = openai_sdk.OpenAI(
            # A placeholder lets keyless local servers work; real providers answer 401.
            api_key=api_key or os.environ.get("OPENAI_API_KEY") or "unset",
            base_url=base_url or os.environ.get("OPENAI_BASE_URL") or None,
            timeout=timeout,
            max_retries=0,
        )

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            # Unknown model on a compatible server: ask once rather than guess.
            self._dimension = int(self._request(["dimension probe"]).shape[1])
        return self._dimension

    def embed_documents(self, texts: Sequence[str]) -> FloatMatrix:
        texts = list(texts)
        # The API rejects empty strings; blank texts become zero rows without a request.
        positions = [i for i, text in enumerate(texts) if text.strip()]
        if not positions:
            return np.zeros((len(texts), self.dimension), dtype=np.float32)
        wanted = [texts[i] for i in positions]
        parts: list[FloatMatrix] = []
        for batch in plan_batches(
            wanted, max_inputs=self.max_batch_inputs, max_tokens=self.max_batch_tokens
        ):
            parts.append(self._request([wanted[i] for i in batch]))
        vectors = np.concatenate(parts)
        out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
        out[positions] = vectors
        return out

    def embed_query(self, text: str) -> FloatMatrix:
        return self.embed_documents([text])[0]

    def _request(self, inputs: list[str]) -> FloatMatrix:
        """One embeddings call with retries; returns L2-normalised rows in input order."""
        kwargs: dict[str, Any] = {"model": self.model, "input": inputs}
        if self._dimensions_param:
            kwargs["dimensions"] = self._dimensions_param
        last_error: Exception | None = None
        for attempt in range(self.max_attempts):
            if attempt:
                self._sleep(self._backoff(attempt, last_error))
            try:
                with self._usage_lock:
                    self.requests_made += 1
                response = self._client.embeddings.create(**kwargs)
            except (openai_sdk.APITimeoutError, openai_sdk.APIConnectionError) as exc:
                last_error = exc
                continue
            except openai_sdk.APIStatusError as exc:
                if exc.status_code in _RETRYABLE_STATUS:
                    last_error = exc
                    continue
                raise EmbeddingError(
                    f"The embedding provider refused the request for model {self.model!r} "
                    f"(HTTP {exc.status_code}): {exc.message}. Check the model name, "
                    "API key and input size; retrying will not help."
                ) from exc
            return self._parse(response, len(inputs))
        raise TransientEmbeddingError(
            f"The embedding provider kept failing for model {self.model!r} after "
            f"{self.max_attempts} attempts ({_describe(last_error)}); try again later."
        ) from last_error

    def _parse(self, response: Any, expected: int) -> FloatMatrix:
        data = sorted(response.data, key=lambda item: item.index)
        if len(data) != expected:
            raise EmbeddingError(
                f"The embedding provider returned {len(data)} vectors for {expected} inputs."
            )
        usage = getattr(response, "usage", None)
        tokens = int(getattr(usage, "total_tokens", 0) or getattr(usage, "prompt_tokens", 0) or 0)
        with self._usage_lock:
            self.usage_tokens += tokens
        matrix = np.asarray([item.embedding for item in data], dtype=np.float32)
        if self._dimension is not None and matrix.shape[1] != self._dimension:
            raise EmbeddingError(
                f"The embedding provider returned {matrix.shape[1]}-dimensional vectors "
                f"but {self._dimension} were expected for model {self.model!r}."
            )
        return l2_normalise_rows(matrix)

    def _backoff(self, attempt: int, error: Exception | None) -> float:
        """Exponential backoff with full jitter; a server's Retry-After wins when it is sane."""
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        retry_after = _retry_after_seconds(error)
        if retry_after is not None:
            return min(self.backoff_max, retry_after)
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not crypto


def _retry_after_seconds(error: Exception | None) -> float | None:
    if not isinstance(error, openai_sdk.APIStatusError):
        return None
    value = error.response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # HTTP-date form: fall back to our own schedule


def _describe(error: Exception | None) -> str:
    if isinstance(error, openai_sdk.APIStatusError):
        return f"last answer HTTP {error.status_code}"
    if isinstance(error, openai_sdk.APITimeoutError):
        return "last attempt timed out"
    if error is not None:
        return f"last error: {type(error).__name__}"
    return "no answer"

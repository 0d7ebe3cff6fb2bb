"""The OpenAI backend against a local fake /v1/embeddings server (pytest-httpserver)."""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from documents.embeddings import EmbeddingError, TransientEmbeddingError
from documents.embeddings.openai import OpenAIEmbedder, plan_batches

DIM = 8


def _fake_vector(text: str) -> list[float]:
    # Deterministic, deliberately not unit-length, so the client's normalisation shows.
    digest = hashlib.sha256(text.encode()).digest()
    return [b / 10.0 + 1.0 for b in digest[:DIM]]


class FakeEmbeddingsServer:
    """Answers like OpenAI; ``failures`` is a queue of HTTP statuses to return first."""

    def __init__(self, server: HTTPServer, failures: list[int] | None = None) -> None:
        self.failures = list(failures or [])
        self.batches: list[list[str]] = []
        self.bodies: list[dict[str, object]] = []
        server.expect_request("/v1/embeddings", method="POST").respond_with_handler(self)

    def __call__(self, request: Request) -> Response:
        if self.failures:
            status = self.failures.pop(0)
            error: dict[str, object] = {"message": "slow down", "type": "rate_limit", "code": None}
            headers = {"retry-after": "0"} if status == 429 else {}
            return Response(json.dumps({"error": error}), status=status, headers=headers,
                            content_type="application/json")  # fmt: skip
        payload = request.get_json()
        self.bodies.append(payload)
        inputs = payload["input"]
        self.batches.append(list(inputs))
        data = [
            {"object": "embedding", "index": i, "embedding": _fake_vector(t)}
            for i, t in reversed(list(enumerate(inputs)))  # out of order on purpose
        ]
        tokens = sum(len(t.split()) for t in inputs)
        body: dict[str, object] = {
            "object": "list",
            "data": data,
            "model": payload["model"],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return Response(json.dumps(body), status=200, content_type="application/json")


def _embedder(server: HTTPServer, **options: object) -> OpenAIEmbedder:
    defaults: dict[str, object] = {
        "base_url": server.url_for("/v1"),
        "api_key": "test-key",
        "dimensions": DIM,
        "backoff_base": 0.001,
        "timeout": 5.0,
    }
    defaults.update(options)
    return OpenAIEmbedder(**defaults)  # type: ignore[arg-type]


def test_batches_normalises_and_counts_usage(httpserver: HTTPServer) -> None:
    fake = FakeEmbeddingsServer(httpserver)
    embedder = _embedder(httpserver, max_batch_inputs=4)
    texts = [f"chunk number {i} about wings" for i in range(10)]
    vectors = embedder.embed_documents(texts)

    assert len(fake.batches) == math.ceil(10 / 4)
    assert [t for batch in fake.batches for t in batch] == texts
    assert vectors.shape == (10, DIM)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    expected = np.array(_fake_vector(texts[3]), dtype=np.float32)
    np.testing.assert_allclose(vectors[3], expected / np.linalg.norm(expected), rtol=1e-5)
    assert embedder.usage_tokens == sum(len(t.split()) for t in texts)
    assert fake.bodies[0]["dimensions"] == DIM
    assert fake.bodies[0]["model"] == "text-embedding-3-small"
    assert embedder.name == "openai:text-embedding-3-small"
    assert embedder.dimension == DIM


def test_blank_texts_become_zero_rows_without_a_request(httpserver: HTTPServer) -> None:
    fake = FakeEmbeddingsServer(httpserver)
    embedder = _embedder(httpserver)
    vectors = embedder.embed_documents(["", "  ", "real text"])
    assert fake.batches == [["real text"]]
    assert not vectors[:2].any()
    assert embedder.embed_query("real text").shape == (DIM,)


def test_token_budget_splits_requests() -> None:
    texts = ["x" * 300] * 5  # ~100 estimated tokens each
    assert plan_batches(texts, max_inputs=100, max_tokens=250) == [[0, 1], [2, 3], [4]]
    assert plan_batches(["y" * 3000], max_inputs=10, max_tokens=10) == [[0]]  # never empty


def test_retries_429_then_succeeds(httpserver: HTTPServer) -> None:
    fake = FakeEmbeddingsServer(httpserver, failures=[429, 503])
    slept: list[float] = []
    embedder = _embedder(httpserver, sleep=slept.append)
    vectors = embedder.embed_documents(["hello world"])
    assert vectors.shape == (1, DIM)
    assert embedder.requests_made == 3
    assert len(slept) == 2
    assert slept[0] == 0.0  # Retry-After: 0 from the 429 wins over our schedule
    assert len(fake.batches) == 1


def test_backoff_grows_exponentially_with_jitter() -> None:
    embedder = OpenAIEmbedder(api_key="k", base_url="http://127.0.0.1:9/v1", backoff_base=1.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (8, 20.0)]:
        delay = embedder._backoff(attempt, None)
        assert ceiling / 2 <= delay <= ceiling


def test_keeps_failing_raises_clear_error(httpserver: HTTPServer) -> None:
    FakeEmbeddingsServer(httpserver, failures=[500] * 10)
    embedder = _embedder(httpserver, max_attempts=3, sleep=lambda _s: None)
    with pytest.raises(TransientEmbeddingError, match=r"kept failing .* after 3 attempts") as err:
        embedder.embed_documents(["doomed"])
    assert isinstance(err.value, EmbeddingError)
    assert "HTTP 500" in str(err.value)
    assert embedder.requests_made == 3


def test_client_error_is_permanent_and_not_retried(httpserver: HTTPServer) -> None:
    FakeEmbeddingsServer(httpserver, failures=[401, 401])
    embedder = _embedder(httpserver, sleep=lambda _s: None)
    with pytest.raises(EmbeddingError, match="HTTP 401") as err:
        embedder.embed_documents(["secret"])
    assert not isinstance(err.value, TransientEmbeddingError)
    assert embedder.requests_made == 1


def test_unreachable_server_is_transient() -> None:
    # Port 9 (discard) on loopback refuses connections: a connection error, retried, then given up.
    embedder = OpenAIEmbedder(
        api_key="k", base_url="http://127.0.0.1:9/v1", dimensions=DIM, max_attempts=2,
        sleep=lambda _s: None, timeout=2.0,
    )  # fmt: skip
    with pytest.raises(TransientEmbeddingError, match="after 2 attempts"):
        embedder.embed_documents(["anyone there"])


def test_unknown_model_dimension_is_probed_once(httpserver: HTTPServer) -> None:
    fake = FakeEmbeddingsServer(httpserver)
    embedder = _embedder(httpserver, model="nomic-embed-text", dimensions=None)
    assert embedder.dimension == DIM
    assert embedder.dimension == DIM
    assert len(fake.batches) == 1
    assert "dimensions" not in fake.bodies[0]


def test_base_url_from_environment(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeEmbeddingsServer(httpserver)
    monkeypatch.setenv("OPENAI_BASE_URL", httpserver.url_for("/v1"))
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    embedder = OpenAIEmbedder(dimensions=DIM)
    embedder.embed_query("via env")
    assert len(fake.batches) == 1

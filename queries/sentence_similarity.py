"""How close in meaning each candidate sentence of an extractive answer is to the question.

Used by the extractive answerer (queries/answerers/extractive.py) when the tenant's embedder
is a semantic model that runs in this process (the local MiniLM: its `sentence_similarity`
attribute is true). The hashing embedder only counts words, which the answerer's own word
overlap already does; a provider's embedder would bill tokens and add a network round trip to
every answer, so neither is asked. ANSWER_SENTENCE_SIMILARITY turns it off.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from django.conf import settings

from documents.embedder_choice import embedder_for_current_tenant
from documents.embeddings import EmbeddingError


def sentence_similarity(question: str, sentences: Sequence[str]) -> list[float] | None:
    """Cosine similarity of each sentence to the question; None without a semantic model here."""
    if not settings.ANSWER_SENTENCE_SIMILARITY or not sentences:
        return None
    try:
        embedder = embedder_for_current_tenant()
    except EmbeddingError:
        return None  # the answer is still made from word overlap
    if not getattr(embedder, "sentence_similarity", False):
        return None
    query = embedder.embed_query(question)
    vectors = embedder.embed_documents(list(sentences))
    return [float(value) for value in np.asarray(vectors @ query).ravel()]

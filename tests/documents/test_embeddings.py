"""The embedder contract, the hashing backend and the registry (no database, no network)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from documents.embeddings import (
    Embedder,
    available_backends,
    clear_embedder_cache,
    get_embedder,
    l2_normalise_rows,
    register_backend,
)
from documents.embeddings.analyzer import STOPWORDS, raw_tokens, stem
from documents.embeddings.hashing import HashingEmbedder

REPO = Path(__file__).resolve().parents[2]

TEXTS = [
    "The boundary layer on a flat plate at supersonic speeds separates under pressure.",
    "Supersonic flow over flat plates: boundary-layer separation caused by pressure gradients.",
    "A recipe for lemon cake with butter, sugar and eggs.",
    "",
]


@pytest.fixture(autouse=True)
def _fresh_registry() -> None:
    clear_embedder_cache()


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("flows", "flow"),
        ("flowing", "flow"),
        ("flowed", "flow"),
        ("caresses", "caress"),
        ("ponies", "poni"),
        ("hopping", "hop"),
        ("relational", "relat"),
        ("generalization", "gener"),
        ("boundaries", "boundari"),
        ("boundary", "boundari"),
        ("pressures", "pressur"),
        ("controlling", "control"),
        ("is", "is"),
        ("mach2", "mach2"),
    ],
)
def test_stemmer_conflates_inflections(word: str, expected: str) -> None:
    assert stem(word) == expected


def test_tokeniser_folds_case_accents_and_punctuation() -> None:
    assert raw_tokens("Café  NAÏVE, re-entry!") == ["cafe", "naive", "re", "entry"]
    assert raw_tokens("Re-Entry: 3D wings") == ["re", "entry", "3d", "wings"]
    assert "the" in STOPWORDS


def test_hashing_shapes_norms_and_dtype() -> None:
    embedder = HashingEmbedder()
    assert isinstance(embedder, Embedder)
    vectors = embedder.embed_documents(TEXTS)
    assert vectors.shape == (4, 384)
    assert vectors.dtype == np.float32
    norms = np.linalg.norm(vectors, axis=1)
    np.testing.assert_allclose(norms[:3], 1.0, rtol=1e-5)
    assert norms[3] == 0.0  # blank text -> zero row
    query = embedder.embed_query(TEXTS[0])
    assert query.shape == (384,)
    np.testing.assert_array_equal(query, vectors[0])
    assert embedder.embed_documents([]).shape == (0, 384)
    assert embedder.name == "hashing-v1-384"


def test_hashing_similar_texts_score_higher_than_unrelated() -> None:
    vectors = HashingEmbedder().embed_documents(TEXTS[:3])
    similar, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert similar > 0.4
    assert similar > unrelated + 0.3


def test_hashing_batch_equals_one_by_one() -> None:
    embedder = HashingEmbedder(dimension=128)
    batch = embedder.embed_documents(TEXTS)
    single = np.stack([embedder.embed_query(t) for t in TEXTS])
    np.testing.assert_array_equal(batch, single)


def test_hashing_is_deterministic_across_processes() -> None:
    here = HashingEmbedder().embed_documents(TEXTS).tobytes()
    script = (
        "import sys\n"
        "from documents.embeddings.hashing import HashingEmbedder\n"
        f"sys.stdout.buffer.write(HashingEmbedder().embed_documents({TEXTS!r}).tobytes())\n"
    )
    # A different PYTHONHASHSEED proves we do not depend on Python's salted hash().
    there = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    assert there == here


def test_hashing_throughput_is_reasonable() -> None:
    # The real figure (~7k chunks/s) is in docs/vectors.md; this only catches a 10x regression.
    import time

    words = " ".join(TEXTS[:3]).split()
    chunks = [" ".join(words[i:] + words[:i]) * 10 for i in range(300)]
    embedder = HashingEmbedder()
    start = time.perf_counter()
    embedder.embed_documents(chunks)
    assert len(chunks) / (time.perf_counter() - start) > 500


def test_l2_normalise_rows_keeps_zero_rows() -> None:
    out = l2_normalise_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])


def test_registry_caches_per_options_and_rejects_unknown() -> None:
    a = get_embedder("hashing")
    assert get_embedder("hashing") is a
    b = get_embedder("hashing", dimension=256)
    assert b is not a
    assert b.dimension == 256
    with pytest.raises(ValueError, match="Unknown embedding backend 'nope'"):
        get_embedder("nope")
    assert {"hashing", "local", "openai"} <= set(available_backends())


def test_register_backend() -> None:
    register_backend("tiny", lambda **options: HashingEmbedder(dimension=16, **options))
    assert get_embedder("tiny").dimension == 16


# --- query-side IDF (TermWeights) ------------------------------------------------------


def test_feature_document_frequencies_count_texts_not_occurrences() -> None:
    from documents.embeddings.hashing import merge_frequencies

    embedder = HashingEmbedder()
    corpus = ["wing wing wing flutter", "wing shock", "lemon cake"]
    features, df = embedder.feature_document_frequencies(corpus)
    assert np.all(np.diff(features.astype(np.float64)) > 0)  # sorted, unique
    wing = embedder._features(["wing"])[0][1]
    assert df[np.searchsorted(features, wing[0])] == 2  # two texts, however often
    # Counting in two batches and merging gives the same statistics.
    merged = merge_frequencies(
        [
            embedder.feature_document_frequencies(corpus[:1]),
            embedder.feature_document_frequencies(corpus[1:]),
        ]
    )
    np.testing.assert_array_equal(merged[0], features)
    np.testing.assert_array_equal(merged[1], df)
    assert merge_frequencies([])[0].size == 0


def test_term_weights_give_rare_terms_more_weight_and_unseen_ones_none() -> None:
    from documents.embeddings.hashing import TermWeights

    embedder = HashingEmbedder(dimension=4096)
    corpus = ["wing flow"] * 9 + ["wing flutter"]
    weights = TermWeights.from_frequencies(*embedder.feature_document_frequencies(corpus), 10)
    flow, flutter, unseen = (embedder._features([w])[0][1] for w in ("flow", "flutter", "zebra"))
    assert weights.weights(flutter)[0] > weights.weights(flow)[0] > 0
    assert weights.weights(unseen)[0] == 0.0
    # The weighted query leans towards the rare term's document; unweighted it cannot tell.
    documents = embedder.embed_documents(["flow", "flutter"])
    plain = documents @ embedder.embed_query("flow flutter")
    weighted = documents @ embedder.embed_query("flow flutter", term_weights=weights)
    assert plain[0] == pytest.approx(plain[1])
    assert weighted[1] > weighted[0]
    assert np.linalg.norm(
        embedder.embed_query("flow flutter", term_weights=weights)
    ) == pytest.approx(1.0)
    # A query made only of words the corpus lacks matches nothing (not collisions).
    assert not embedder.embed_query("zebra", term_weights=weights).any()
    empty = TermWeights.from_frequencies(*embedder.feature_document_frequencies([]), 0)
    assert not embedder.embed_query("flow", term_weights=empty).any()


def test_term_weights_leave_document_vectors_alone() -> None:
    from documents.embeddings.hashing import TermWeights

    embedder = HashingEmbedder()
    features, _ = embedder.feature_document_frequencies(TEXTS)
    uniform = TermWeights(features, np.full(features.shape, 2.5, dtype=np.float32))
    # Equal idf for every feature: the direction of the query vector is unchanged.
    np.testing.assert_allclose(
        embedder.embed_query(TEXTS[0], term_weights=uniform),
        embedder.embed_query(TEXTS[0]),
        atol=1e-6,
    )
    assert embedder.name == "hashing-v1-384"  # stored vectors keep their meaning

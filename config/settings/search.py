"""Search, fusion, expansion, caches and answers (read through search/settings.py)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from config.env import env
from config.settings.base import TESTING

# --- queries (search, ask, cache, log) -----------------------------------------------------

# Candidates taken from each of lexical and dense search before hybrid fusion, and how they
# are fused: "convex" (min-max-normalised scores, weighted) or "rrf" (reciprocal ranks, with
# QUERY_RRF_K). QUERY_DENSE_WEIGHT is the dense list's share (0..1); unset, each embedder's
# own share applies (hashing 0.25, local/openai 0.5). Chosen on Cranfield (docs/search.md).
QUERY_CANDIDATE_DEPTH = env.int("QUERY_CANDIDATE_DEPTH", default=100)
QUERY_FUSION = env.str("QUERY_FUSION", default="convex")
if QUERY_FUSION not in ("convex", "rrf"):
    raise ImproperlyConfigured(
        f"QUERY_FUSION is {QUERY_FUSION!r}; set it to 'convex' or 'rrf', or leave it unset."
    )
QUERY_RRF_K = env.int("QUERY_RRF_K", default=60)
QUERY_DENSE_WEIGHT = env.float("QUERY_DENSE_WEIGHT", default=None)
if QUERY_DENSE_WEIGHT is not None and not 0.0 <= QUERY_DENSE_WEIGHT <= 1.0:
    raise ImproperlyConfigured(
        f"QUERY_DENSE_WEIGHT is {QUERY_DENSE_WEIGHT}; give a share between 0 and 1, or unset it."
    )
# Hybrid re-ranking by the candidates' similarity to each other
# (search/score_regularisation.py): each candidate borrows QUERY_NEIGHBOUR_WEIGHT of its
# score from its QUERY_NEIGHBOURS most similar hits among the QUERY_NEIGHBOUR_SOURCES best.
# Unset weight: the embedder's own (hashing 0, i.e. off; local/openai 0.5).
QUERY_NEIGHBOUR_WEIGHT = env.float("QUERY_NEIGHBOUR_WEIGHT", default=None)
if QUERY_NEIGHBOUR_WEIGHT is not None and not 0.0 <= QUERY_NEIGHBOUR_WEIGHT <= 1.0:
    raise ImproperlyConfigured(
        f"QUERY_NEIGHBOUR_WEIGHT is {QUERY_NEIGHBOUR_WEIGHT}; give a weight between 0 and 1, "
        "or unset it."
    )
QUERY_NEIGHBOUR_SOURCES = env.int("QUERY_NEIGHBOUR_SOURCES", default=50)
QUERY_NEIGHBOURS = env.int("QUERY_NEIGHBOURS", default=7)
# Lexical document expansion (search/expansion.py): a linked chunk's term counts are
# (1 - w) of its own plus w of its neighbours', adding at most QUERY_EXPANSION_TERMS new words.
# 0 (the default) turns it off; the links stay. Off because it costs CACM more than it gives
# Cranfield (docs/benchmarks.md, "Ablation").
QUERY_EXPANSION_WEIGHT = env.float("QUERY_EXPANSION_WEIGHT", default=0.0)
if not 0.0 <= QUERY_EXPANSION_WEIGHT < 1.0:
    raise ImproperlyConfigured(
        f"QUERY_EXPANSION_WEIGHT is {QUERY_EXPANSION_WEIGHT}; give a share from 0 (off) up to, "
        "but not including, 1."
    )
QUERY_EXPANSION_TERMS = env.int("QUERY_EXPANSION_TERMS", default=30)
# RM3 pseudo-relevance feedback on the BM25 ranking (lexical and hybrid modes): one more
# sparse pass per query. Off by default: a little gain on Cranfield, a large loss on CACM
# (docs/benchmarks.md, "Ablation").
QUERY_LEXICAL_FEEDBACK = env.bool("QUERY_LEXICAL_FEEDBACK", default=False)
# Adjacent word pairs in BM25 (search/phrases.py): each pair of neighbouring query words
# weighs this share of a word. 0 turns it off. 0.3 is the middle of the range that helps on
# every evaluation collection (0.2-0.4; docs/benchmarks.md, "Ablation").
QUERY_PHRASE_WEIGHT = env.float("QUERY_PHRASE_WEIGHT", default=0.3)
if not 0.0 <= QUERY_PHRASE_WEIGHT <= 1.0:
    raise ImproperlyConfigured(
        f"QUERY_PHRASE_WEIGHT is {QUERY_PHRASE_WEIGHT}; give a weight from 0 (off) to 1."
    )
# Okapi BM25's term saturation (k1) and length normalisation (b) for lexical search. Changing
# either rebuilds each tenant's BM25 matrix at its next use (docs/search.md, "BM25").
QUERY_BM25_K1 = env.float("QUERY_BM25_K1", default=1.5)
QUERY_BM25_B = env.float("QUERY_BM25_B", default=0.75)
if QUERY_BM25_K1 < 0 or not 0.0 <= QUERY_BM25_B <= 1.0:
    raise ImproperlyConfigured(
        f"QUERY_BM25_K1 is {QUERY_BM25_K1} and QUERY_BM25_B is {QUERY_BM25_B}; give k1 >= 0 "
        "and b from 0 to 1."
    )
# Weight the hashing embedder's query vector by idf over the tenant's chunks (stored vectors
# stay tf-only); other embedders ignore it. docs/search.md has the measurements.
QUERY_DENSE_IDF = env.bool("QUERY_DENSE_IDF", default=True)
# Hybrid search scores BM25 on a second thread while the vectors are searched (both release
# the GIL): the lexical stage's time overlaps the dense stage's. Off = one after the other.
QUERY_PARALLEL_HYBRID = env.bool("QUERY_PARALLEL_HYBRID", default=True)
QUERY_MAX_TOP_K = 100
# gunicorn workers build the search caches (BM25, query IDF, vector index) of up to this many
# tenants searched in the last SEARCH_WARMUP_DAYS before serving, for at most
# SEARCH_WARMUP_SECONDS (keep it under the gunicorn timeout); see search/warmup.py.
SEARCH_WARMUP_TENANTS = env.int("SEARCH_WARMUP_TENANTS", default=0 if TESTING else 8)
SEARCH_WARMUP_SECONDS = env.float("SEARCH_WARMUP_SECONDS", default=30.0)
SEARCH_WARMUP_DAYS = env.float("SEARCH_WARMUP_DAYS", default=7.0)
# Memory each process may spend on tenants' BM25 matrices (about 16 bytes per distinct word
# of each chunk: ~100 MB for 100k chunks); least recently searched tenants are dropped first.
SEARCH_LEXICAL_CACHE_MB = env.float("SEARCH_LEXICAL_CACHE_MB", default=1024.0)
# Each compaction also builds the tenant's BM25 matrix and stores it next to the vector
# snapshot; processes memory-map it instead of building their own (search/bm25_store.py).
SEARCH_LEXICAL_STORE = env.bool("SEARCH_LEXICAL_STORE", default=True)
# Search and ask responses are cached this long (the key also carries the index version).
QUERY_CACHE_TTL_SECONDS = env.int("QUERY_CACHE_TTL_SECONDS", default=300)
# Query-log rows (and their feedback) older than this are deleted nightly; 0 keeps them all.
# The default outlives the longest analytics window (365 days).
QUERY_LOG_RETENTION_DAYS = env.int("QUERY_LOG_RETENTION_DAYS", default=400)
# Chunks handed to the answerer as sources.
ANSWER_SOURCES = env.int("ANSWER_SOURCES", default=5)
OPENAI_CHAT_MODEL = env.str("OPENAI_CHAT_MODEL", default="gpt-4o-mini")
# The longest an answer waits for the provider: every try, the waits between them and reading
# the reply (queries/answerers/deadline.py); then the extractive answer is given, degraded.
ANSWER_TIMEOUT_SECONDS = env.float("ANSWER_TIMEOUT_SECONDS", default=30.0)
# A generated answer whose cited sentences are supported by their passages less often than
# this (0..1) is replaced by the extractive answer (queries/answerers/support.py).
ANSWER_MIN_SUPPORTED_SHARE = env.float("ANSWER_MIN_SUPPORTED_SHARE", default=0.5)
ANSWER_MAX_RETRIES = env.int("ANSWER_MAX_RETRIES", default=2)
# Questions one process asks the provider at once (0: no limit); past them a question gets the
# extractive answer at once, degraded. One thread short of gunicorn's, so a slow provider
# always leaves a thread to searches and pages (queries/answerers/slots.py).
ANSWER_CONCURRENCY = env.int(
    "ANSWER_CONCURRENCY", default=max(1, env.int("GUNICORN_THREADS", default=4) - 1)
)
# The longest generated answer, in tokens (sent as max_tokens); a reply past 8 characters a
# token is cut off and replaced by the extractive answer (queries/answerers/openai.py).
ANSWER_MAX_TOKENS = env.int("ANSWER_MAX_TOKENS", default=1024)
# The extractive answerer also weighs candidate sentences by their similarity of meaning to
# the question when the tenant's embedder is the local model (queries/sentence_similarity.py).
# An option, off: on the answer-quality set it changed which sentence leads on 3 of 20
# questions and did not improve the total (docs/benchmarks.md, "Answer quality").
ANSWER_SENTENCE_SIMILARITY = env.bool("ANSWER_SENTENCE_SIMILARITY", default=False)
# USD per million tokens, for the query log's cost estimate (defaults: gpt-4o-mini and
# text-embedding-3-small list prices; set them to your provider's).
PRICE_PROMPT_PER_MTOK = env.float("PRICE_PROMPT_PER_MTOK", default=0.15)
PRICE_COMPLETION_PER_MTOK = env.float("PRICE_COMPLETION_PER_MTOK", default=0.60)
PRICE_EMBEDDING_PER_MTOK = env.float("PRICE_EMBEDDING_PER_MTOK", default=0.02)

"""The search settings, typed, read in one place.

Defaults live only in config/settings/ (search.py and ingestion.py); code in search/ and
queries/ reads them through `search_settings()`, never with `getattr(settings, NAME,
default)` (copies of a default drift apart). It reads Django's settings at each call, so
`override_settings` in tests takes effect at once; building it costs microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings


@dataclass(frozen=True)
class SearchSettings:
    candidate_depth: int  # QUERY_CANDIDATE_DEPTH: each list's candidates before fusion
    fusion: str  # QUERY_FUSION: "convex" or "rrf"
    rrf_k: int  # QUERY_RRF_K
    dense_weight: float | None  # QUERY_DENSE_WEIGHT; None: the embedder's own share
    neighbour_weight: float | None  # QUERY_NEIGHBOUR_WEIGHT; None: the embedder's own
    neighbour_sources: int  # QUERY_NEIGHBOUR_SOURCES
    neighbours: int  # QUERY_NEIGHBOURS
    expansion_weight: float  # QUERY_EXPANSION_WEIGHT (0: off)
    expansion_terms: int  # QUERY_EXPANSION_TERMS
    lexical_feedback: bool  # QUERY_LEXICAL_FEEDBACK (RM3)
    phrase_weight: float  # QUERY_PHRASE_WEIGHT (adjacent word pairs; 0: off)
    bm25_k1: float  # QUERY_BM25_K1
    bm25_b: float  # QUERY_BM25_B
    dense_idf: bool  # QUERY_DENSE_IDF (hashing embedder's query weighting)
    parallel_hybrid: bool  # QUERY_PARALLEL_HYBRID
    max_top_k: int  # QUERY_MAX_TOP_K
    cache_ttl_seconds: int  # QUERY_CACHE_TTL_SECONDS
    warmup_tenants: int  # SEARCH_WARMUP_TENANTS
    warmup_seconds: float  # SEARCH_WARMUP_SECONDS
    warmup_days: float  # SEARCH_WARMUP_DAYS
    lexical_cache_bytes: int  # SEARCH_LEXICAL_CACHE_MB
    lexical_store: bool  # SEARCH_LEXICAL_STORE
    index_root: Path  # INDEX_ROOT
    index_memory_bytes: int  # INDEX_MEMORY_BUDGET_MB
    index_approx_threshold: int  # INDEX_APPROX_THRESHOLD
    index_compact_delay_seconds: int  # INDEX_COMPACT_DELAY_SECONDS
    index_neighbours: int  # INDEX_NEIGHBOURS


def _optional_share(value: float | None) -> float | None:
    return None if value is None else float(value)


def search_settings() -> SearchSettings:
    """The current search settings."""
    return SearchSettings(
        candidate_depth=int(settings.QUERY_CANDIDATE_DEPTH),
        fusion=str(settings.QUERY_FUSION),
        rrf_k=int(settings.QUERY_RRF_K),
        dense_weight=_optional_share(settings.QUERY_DENSE_WEIGHT),
        neighbour_weight=_optional_share(settings.QUERY_NEIGHBOUR_WEIGHT),
        neighbour_sources=int(settings.QUERY_NEIGHBOUR_SOURCES),
        neighbours=int(settings.QUERY_NEIGHBOURS),
        expansion_weight=float(settings.QUERY_EXPANSION_WEIGHT),
        expansion_terms=int(settings.QUERY_EXPANSION_TERMS),
        lexical_feedback=bool(settings.QUERY_LEXICAL_FEEDBACK),
        phrase_weight=float(settings.QUERY_PHRASE_WEIGHT),
        bm25_k1=float(settings.QUERY_BM25_K1),
        bm25_b=float(settings.QUERY_BM25_B),
        dense_idf=bool(settings.QUERY_DENSE_IDF),
        parallel_hybrid=bool(settings.QUERY_PARALLEL_HYBRID),
        max_top_k=int(settings.QUERY_MAX_TOP_K),
        cache_ttl_seconds=int(settings.QUERY_CACHE_TTL_SECONDS),
        warmup_tenants=int(settings.SEARCH_WARMUP_TENANTS),
        warmup_seconds=float(settings.SEARCH_WARMUP_SECONDS),
        warmup_days=float(settings.SEARCH_WARMUP_DAYS),
        lexical_cache_bytes=int(float(settings.SEARCH_LEXICAL_CACHE_MB) * 1024 * 1024),
        lexical_store=bool(settings.SEARCH_LEXICAL_STORE),
        index_root=Path(settings.INDEX_ROOT),
        index_memory_bytes=int(settings.INDEX_MEMORY_BUDGET_MB) * 1024 * 1024,
        index_approx_threshold=int(settings.INDEX_APPROX_THRESHOLD),
        index_compact_delay_seconds=int(settings.INDEX_COMPACT_DELAY_SECONDS),
        index_neighbours=int(settings.INDEX_NEIGHBOURS),
    )

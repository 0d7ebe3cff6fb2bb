"""Fusion of ranked candidate lists: convex combination (default) and reciprocal-rank fusion.

`convex_fuse` rescales each list's scores to [0, 1] (min-max over the list's own
candidates) and adds them with weights that sum to one, the convex combination studied by
Bruch, Gai & Ingber ("An Analysis of Fusion Functions for Hybrid Retrieval", 2023). It keeps
how far ahead a hit is, which ranks throw away. `rrf_fuse` (Cormack, Clarke & Büttcher,
SIGIR 2009) needs only ranks; it stays available (QUERY_FUSION=rrf). docs/search.md has the
measurements behind the default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

DEFAULT_K = 60
# Scores are sums of floats; rounding before comparing keeps exact ties tied
# whatever order the terms were added in.
_TIE_DIGITS = 12


def _checked(
    weights: Sequence[float] | None, lists: int, limit: int, *, default: float, kind: str
) -> Sequence[float]:
    """The lists' weights (`default` each when not given), after checking them and `limit`."""
    if limit < 0:
        raise ValueError("limit must be zero or positive.")
    if weights is None:
        return [default] * lists
    if len(weights) != lists:
        raise ValueError(
            f"Got {len(weights)} weights for {lists} {kind} lists; give one weight per list."
        )
    if any(weight < 0 for weight in weights):
        raise ValueError("Weights must be zero or positive.")
    return weights


def _ranked(
    scores: dict[int, float], best: dict[int, tuple[int, int]], limit: int
) -> list[tuple[int, float]]:
    """The `limit` best ids by fused score; ties by best rank, then earliest list, then id."""
    ordered = sorted(scores, key=lambda item: (-round(scores[item], _TIE_DIGITS), best[item], item))
    return [(item, scores[item]) for item in ordered[:limit]]


def rrf_fuse(
    ranked_lists: Sequence[Sequence[int]],
    *,
    k: int = DEFAULT_K,
    weights: Sequence[float] | None = None,
    limit: int,
) -> list[tuple[int, float]]:
    """Fuse ranked lists of ids into one list of (id, score), best first.

    score(id) = sum over lists of weight / (k + rank), with rank starting at 1.
    An id repeated within one list counts once, at its best rank. Ties are
    broken by the best rank the id reached in any list, then by the earliest
    list it reached that rank in, then by the smaller id, so the output is the
    same on every run and every machine.
    """
    if k < 0:
        raise ValueError("k must be zero or positive.")
    weights = _checked(weights, len(ranked_lists), limit, default=1.0, kind="ranked")

    scores: dict[int, float] = {}
    best: dict[int, tuple[int, int]] = {}  # id -> (best rank, index of the list)
    for list_index, (ranking, weight) in enumerate(zip(ranked_lists, weights, strict=True)):
        seen: set[int] = set()
        for rank, item in enumerate(ranking, start=1):
            if item in seen:
                continue
            seen.add(item)
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
            best[item] = min(best.get(item, (rank, list_index)), (rank, list_index))

    return _ranked(scores, best, limit)


def convex_fuse(
    scored_lists: Sequence[Sequence[tuple[int, float]]],
    *,
    weights: Sequence[float] | None = None,
    limit: int,
) -> list[tuple[int, float]]:
    """Fuse lists of (id, score), each best first, into one list of (id, score), best first.

    score(id) = sum over lists of weight * (s - min) / (max - min), where s is the id's score
    in that list and min/max are the list's lowest and highest scores; an id missing from a
    list gets 0 from it, and a list whose scores are all equal gives each of its ids 1.
    Weights default to equal shares. An id repeated within one list counts once, at its best
    rank. Ties are broken as in `rrf_fuse`: best rank reached, then earliest list, then id.
    """
    share = 1.0 / max(1, len(scored_lists))
    weights = _checked(weights, len(scored_lists), limit, default=share, kind="scored")

    scores: dict[int, float] = {}
    best: dict[int, tuple[int, int]] = {}
    for list_index, (scored, weight) in enumerate(zip(scored_lists, weights, strict=True)):
        if not scored:
            continue
        values = [score for _, score in scored]
        low, high = min(values), max(values)
        span = high - low
        seen: set[int] = set()
        for rank, (item, score) in enumerate(scored, start=1):
            if item in seen:
                continue
            seen.add(item)
            share = (score - low) / span if span > 0 else 1.0
            scores[item] = scores.get(item, 0.0) + weight * share
            best[item] = min(best.get(item, (rank, list_index)), (rank, list_index))

    return _ranked(scores, best, limit)


class DocumentHit(NamedTuple):
    """A document in a result list, represented by its best-ranked chunk."""

    document_id: int
    chunk_id: int
    score: float


def best_per_document(
    chunk_hits: Sequence[tuple[int, float]],
    document_of: Mapping[int, int],
    *,
    limit: int | None = None,
) -> list[DocumentHit]:
    """Collapse ranked (chunk_id, score) hits to one hit per document, keeping rank order.

    Each document keeps its first (best-ranked) chunk. Chunks missing from
    `document_of` are skipped: the index can briefly hold chunks whose rows
    were just deleted.
    """
    if limit is not None and limit < 0:
        raise ValueError("limit must be zero or positive.")
    hits: list[DocumentHit] = []
    seen: set[int] = set()
    for chunk_id, score in chunk_hits:
        if limit is not None and len(hits) >= limit:
            break
        document_id = document_of.get(chunk_id)
        if document_id is None or document_id in seen:
            continue
        seen.add(document_id)
        hits.append(DocumentHit(document_id=document_id, chunk_id=chunk_id, score=score))
    return hits

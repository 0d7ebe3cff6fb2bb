"""Neighbour re-ranking of hybrid results: score regularisation over the candidates' own graph.

The cluster hypothesis (documents similar to each other tend to be relevant to the same
queries) turned into a re-ranker, after Diaz, "Regularizing ad hoc retrieval scores"
(CIKM 2005), restricted to the candidates of one query so that nothing is precomputed:

    new(d) = (1 - a) * f(d) + a * sum over j in N(d) of w(d, j) * f(j)

where f is the fused hybrid score, N(d) the `neighbours` candidates among the `sources` best
fused hits that are most similar to d (cosine of the stored chunk embeddings, d itself
excluded), and w their non-negative similarities normalised to sum to one. A chunk close to
several strong hits rises; an isolated one that a single list liked sinks.

On Cranfield with all-MiniLM-L6-v2 it lifts hybrid nDCG@10 from 0.572 to ~0.59; with the
hashing embedder it does not help (its "similar" means "shares words", which BM25 already
counted), so that embedder turns it off. docs/search.md has the measurements.

Vectors come from `search.index.stored_vectors` (the process's vector index where it
holds them, else PostgreSQL). A chunk without a stored vector keeps its fused score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def regularise(
    hits: Sequence[tuple[int, float]],
    vectors: Mapping[int, np.ndarray],
    *,
    sources: int,
    neighbours: int,
    weight: float,
) -> list[tuple[int, float]]:
    """Re-score fused `hits` (best first) by their neighbours among the top `sources`.

    Returns every hit with its new score, best first; ties keep the fused order.
    """
    if not hits or weight <= 0 or neighbours <= 0 or sources <= 1:
        return list(hits)
    ids = [chunk_id for chunk_id, _ in hits]
    fused = np.asarray([score for _, score in hits], dtype=np.float64)
    source_rows = [row for row, chunk_id in enumerate(ids[:sources]) if chunk_id in vectors]
    if len(source_rows) < 2:
        return list(hits)
    source_matrix = np.stack([vectors[ids[row]] for row in source_rows]).astype(np.float64)
    source_scores = fused[source_rows]
    k = min(neighbours, len(source_rows) - 1)
    new = fused.copy()
    with_vector = [row for row, chunk_id in enumerate(ids) if chunk_id in vectors]
    matrix = np.stack([vectors[ids[row]] for row in with_vector]).astype(np.float64)
    similarity = matrix @ source_matrix.T  # candidates x sources
    position = {row: column for column, row in enumerate(source_rows)}
    for line, row in enumerate(with_vector):
        if row in position:
            similarity[line, position[row]] = -np.inf  # a chunk is not its own neighbour
    nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    weights = np.maximum(np.take_along_axis(similarity, nearest, axis=1), 0.0)
    totals = weights.sum(axis=1)
    spread = np.where(
        totals > 0,
        (weights * source_scores[nearest]).sum(axis=1) / np.where(totals > 0, totals, 1.0),
        fused[with_vector],  # no similar source at all: nothing to borrow, keep its own score
    )
    new[with_vector] = (1.0 - weight) * fused[with_vector] + weight * spread
    order = sorted(range(len(ids)), key=lambda row: (-new[row], row))
    return [(ids[row], float(new[row])) for row in order]

"""Retrieval evaluation on BEIR-layout datasets, with metrics that match BEIR's numbers.

BEIR's EvaluateRetrieval scores runs with pytrec_eval (trec_eval's measures
ndcg_cut, map_cut and recall), so the definitions here follow trec_eval:

- relevant means a qrels grade above zero;
- nDCG uses the grade itself as the gain (not 2^grade - 1) and log2(rank + 1)
  discounts; the ideal ranking is every judged document sorted by grade;
- AP@k sums precision at each relevant rank <= k and divides by the total
  number of relevant documents (trec_eval's map_cut), not by min(R, k);
- recall@k divides by the total number of relevant documents.

Not copied from BEIR: it drops a result whose id equals the query id
(ignore_identical_ids=True by default, meant for datasets whose queries are also
corpus documents). Cranfield reuses "1", "2"… for both, so that default would
silently remove genuine hits; here it is opt-in (`evaluate --ignore-identical-ids`).

Reading the dataset is `queries.evaluation_dataset`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

DEFAULT_K_VALUES: tuple[int, ...] = (1, 3, 5, 10, 100)


def _top_k(ranking: Sequence[str], k: int) -> list[str]:
    if k < 1:
        raise ValueError("k must be at least 1.")
    # A run is a ranking of distinct documents; a repeat keeps its first position.
    return list(dict.fromkeys(ranking))[:k]


def ndcg_at_k(ranking: Sequence[str], judgements: Mapping[str, int], k: int) -> float:
    """nDCG@k with linear gains, as trec_eval's ndcg_cut computes it."""
    dcg = sum(
        max(judgements.get(doc_id, 0), 0) / math.log2(rank + 1)
        for rank, doc_id in enumerate(_top_k(ranking, k), start=1)
    )
    ideal_gains = sorted((grade for grade in judgements.values() if grade > 0), reverse=True)[:k]
    ideal = sum(gain / math.log2(rank + 1) for rank, gain in enumerate(ideal_gains, start=1))
    return dcg / ideal if ideal > 0 else 0.0


def recall_at_k(ranking: Sequence[str], judgements: Mapping[str, int], k: int) -> float:
    """Relevant documents in the top k over all relevant documents."""
    relevant = {doc_id for doc_id, grade in judgements.items() if grade > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(_top_k(ranking, k))) / len(relevant)


def average_precision_at_k(ranking: Sequence[str], judgements: Mapping[str, int], k: int) -> float:
    """AP truncated at k and divided by the total number of relevant documents (map_cut_k)."""
    relevant = {doc_id for doc_id, grade in judgements.items() if grade > 0}
    if not relevant:
        return 0.0
    hits = 0
    precision_sum = 0.0
    for rank, doc_id in enumerate(_top_k(ranking, k), start=1):
        if doc_id in relevant:
            hits += 1
            precision_sum += hits / rank
    return precision_sum / len(relevant)


def evaluate_run(
    run: Mapping[str, Sequence[str]],
    qrels: Mapping[str, Mapping[str, int]],
    *,
    k_values: Sequence[int] = DEFAULT_K_VALUES,
    ignore_identical_ids: bool = False,
) -> dict[str, float]:
    """Mean ndcg@k, map@k and recall@k over the queries with at least one relevant document.

    A judged query missing from the run counts as an empty ranking (scores 0),
    as trec_eval -c does, so a system cannot improve its mean by skipping
    queries. (BEIR averages over the queries present in the run; for a run that
    covers every judged query, as BEIR's retrievers produce, the two agree.)
    Run entries for unjudged queries are ignored.
    """
    judged = {qid: grades for qid, grades in qrels.items() if any(g > 0 for g in grades.values())}
    metrics: dict[str, float] = {}
    for k in k_values:
        metrics[f"ndcg@{k}"] = 0.0
        metrics[f"map@{k}"] = 0.0
        metrics[f"recall@{k}"] = 0.0
    if not judged:
        return metrics
    for query_id, grades in judged.items():
        ranking = list(run.get(query_id, ()))
        if ignore_identical_ids:
            ranking = [doc_id for doc_id in ranking if doc_id != query_id]
        for k in k_values:
            metrics[f"ndcg@{k}"] += ndcg_at_k(ranking, grades, k)
            metrics[f"map@{k}"] += average_precision_at_k(ranking, grades, k)
            metrics[f"recall@{k}"] += recall_at_k(ranking, grades, k)
    return {name: total / len(judged) for name, total in metrics.items()}

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
silently remove genuine hits; here it is opt-in.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_K_VALUES: tuple[int, ...] = (1, 3, 5, 10, 100)


class BeirDatasetError(ValueError):
    """A BEIR directory is missing a file or holds a malformed line."""


@dataclass(frozen=True)
class BeirDataset:
    corpus: dict[str, tuple[str, str]]  # doc id -> (title, text)
    queries: dict[str, str]  # query id -> text
    qrels: dict[str, dict[str, int]]  # query id -> {doc id: grade}
    # Sentences about judgements that cannot count as found (unknown documents or queries).
    warnings: tuple[str, ...] = ()


# BEIR writes the header `query-id<TAB>corpus-id<TAB>score`. A first line whose score is not a
# number and whose first field names the query column is taken as a header; any other first
# line is a judgement (so a file without a header keeps its first judgement).
_QUERY_COLUMN_NAMES = frozenset({"query-id", "query_id", "queryid", "qid", "query"})


def load_beir(directory: Path, split: str = "test") -> BeirDataset:
    """Read corpus.jsonl, queries.jsonl and qrels/<split>.tsv (its header line is optional).

    All queries are kept, also those without judgements for this split;
    evaluate_run only scores queries that have relevant documents. Files are UTF-8 (a
    byte-order mark is accepted); an empty corpus, no queries, no judgements and a
    repeated `_id` are errors, since each would silently produce wrong scores.
    """
    directory = Path(directory)
    corpus_path = directory / "corpus.jsonl"
    queries_path = directory / "queries.jsonl"
    qrels_path = directory / "qrels" / f"{split}.tsv"
    for path in (corpus_path, queries_path, qrels_path):
        if not path.is_file():
            raise BeirDatasetError(
                f"{path} does not exist. A BEIR dataset directory needs corpus.jsonl, "
                f"queries.jsonl and qrels/{split}.tsv."
            )
    corpus = {
        doc_id: (str(record.get("title") or ""), str(record.get("text") or ""))
        for doc_id, record in _unique_records(corpus_path)
    }
    queries = {
        query_id: str(record.get("text") or "")
        for query_id, record in _unique_records(queries_path)
    }
    qrels = _read_qrels(qrels_path)
    return BeirDataset(
        corpus=corpus,
        queries=queries,
        qrels=qrels,
        warnings=_unknown_references(qrels_path.name, corpus, queries, qrels),
    )


def _unique_records(path: Path) -> list[tuple[str, dict[str, object]]]:
    """Every record of a JSON-lines file; refuses an empty file and a repeated `_id`."""
    records: list[tuple[str, dict[str, object]]] = []
    first_line: dict[str, int] = {}
    for number, record_id, record in _read_jsonl(path):
        if record_id in first_line:
            raise BeirDatasetError(
                f"{path.name} has _id {record_id!r} twice (lines {first_line[record_id]} "
                f"and {number}); every _id must be unique."
            )
        first_line[record_id] = number
        records.append((record_id, record))
    if not records:
        raise BeirDatasetError(f"{path.name} is empty; it needs at least one record.")
    return records


def _utf8_lines(path: Path, newline: str | None = None) -> Iterator[tuple[int, str]]:
    """Numbered lines of a UTF-8 file (a leading byte-order mark is dropped).

    Undecodable bytes are kept as lone surrogates (surrogateescape), which valid UTF-8 never
    produces, so the line holding them can be named.
    """
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline=newline) as handle:
        for number, line in enumerate(handle, start=1):
            if any("\udc80" <= char <= "\udcff" for char in line):
                raise BeirDatasetError(
                    f"{path.name} line {number} is not UTF-8 text; save the file as UTF-8."
                )
            yield number, line


def _read_jsonl(path: Path) -> Iterator[tuple[int, str, dict[str, object]]]:
    for number, line in _utf8_lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise BeirDatasetError(
                f"{path.name} line {number} is not valid JSON: {error}."
            ) from error
        if not isinstance(record, dict) or "_id" not in record:
            raise BeirDatasetError(f'{path.name} line {number} has no "_id" field.')
        yield number, str(record["_id"]), record


def _is_header(row: list[str]) -> bool:
    if len(row) < 3:
        return False
    try:
        int(row[2])
    except ValueError:
        return row[0].strip().lower() in _QUERY_COLUMN_NAMES
    return False


def _read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    lines = (line for _, line in _utf8_lines(path, newline=""))
    rows = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    for number, row in enumerate(rows, start=1):
        if not row or not "".join(row).strip():
            continue
        if number == 1 and _is_header(row):
            continue
        if len(row) < 3:
            raise BeirDatasetError(
                f"{path.name} line {number} needs query-id, corpus-id and score separated by tabs."
            )
        query_id, doc_id, grade = row[0], row[1], row[2]
        try:
            qrels.setdefault(query_id, {})[doc_id] = int(grade)
        except ValueError as error:
            raise BeirDatasetError(
                f"{path.name} line {number} has score {grade!r}; scores must be whole numbers."
            ) from error
    if not qrels:
        raise BeirDatasetError(
            f"{path.name} holds no judgements; expected tab-separated lines of query-id, "
            "corpus-id and score, after an optional header line."
        )
    return qrels


def _unknown_references(
    name: str,
    corpus: Mapping[str, object],
    queries: Mapping[str, object],
    qrels: Mapping[str, Mapping[str, int]],
) -> tuple[str, ...]:
    warnings: list[str] = []
    unknown_queries = [qid for qid in qrels if qid not in queries]
    if unknown_queries:
        judgements = sum(len(qrels[qid]) for qid in unknown_queries)
        warnings.append(
            f"Warning: {name} judges {len(unknown_queries)} queries not in queries.jsonl "
            f"({judgements} judgements); they are not scored."
        )
    unknown_documents = {
        doc_id for grades in qrels.values() for doc_id in grades if doc_id not in corpus
    }
    if unknown_documents:
        judgements = sum(
            1 for grades in qrels.values() for doc_id in grades if doc_id not in corpus
        )
        warnings.append(
            f"Warning: {name} refers to {len(unknown_documents)} documents not in "
            f"corpus.jsonl ({judgements} judgements); they can never be retrieved."
        )
    return tuple(warnings)


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

"""BEIR loading and retrieval metrics, checked against hand-computed values."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from queries.evaluation import average_precision_at_k, evaluate_run, ndcg_at_k, recall_at_k
from queries.evaluation_dataset import BeirDatasetError, load_beir
from tests.conftest import ROOT

# The public test collections kept in the repository (eval/README.md).
CRANFIELD = ROOT / "eval" / "cranfield"
CACM = ROOT / "eval" / "cacm"

# Graded judgements: d1 highly relevant, d2 and d4 relevant, d3 judged not relevant.
GRADES = {"d1": 2, "d2": 1, "d3": 0, "d4": 1}
RANKING = ["d3", "d1", "d5", "d2"]
LOG2_3 = math.log2(3)


def test_ndcg_uses_linear_gains_and_all_judged_documents_for_the_ideal():
    dcg = 2 / LOG2_3  # d1 at rank 2
    ideal = 2 / 1 + 1 / LOG2_3 + 1 / 2  # gains 2, 1, 1 in the top 3
    assert ndcg_at_k(RANKING, GRADES, 3) == pytest.approx(dcg / ideal)  # ≈ 0.4030
    assert ndcg_at_k(RANKING, GRADES, 3) == pytest.approx(0.40303, abs=1e-5)


def test_ndcg_of_an_ideal_ranking_is_one_and_of_nothing_is_zero():
    assert ndcg_at_k(["d1", "d4", "d2"], GRADES, 3) == pytest.approx(1.0)
    assert ndcg_at_k(["d1", "d2"], GRADES, 1) == pytest.approx(1.0)
    assert ndcg_at_k([], GRADES, 10) == 0.0
    assert ndcg_at_k(["d1"], {"d1": 0}, 10) == 0.0


def test_recall():
    assert recall_at_k(RANKING, GRADES, 1) == 0.0
    assert recall_at_k(RANKING, GRADES, 3) == pytest.approx(1 / 3)
    assert recall_at_k(RANKING, GRADES, 4) == pytest.approx(2 / 3)
    assert recall_at_k(RANKING, {}, 4) == 0.0


def test_average_precision_divides_by_all_relevant_documents():
    # Relevant hits at ranks 2 and 4: precisions 1/2 and 2/4, over R = 3 relevant docs.
    assert average_precision_at_k(RANKING, GRADES, 4) == pytest.approx((1 / 2 + 2 / 4) / 3)
    # Cut at 2: only the rank-2 hit, still over R = 3 (not min(R, k) = 2, which would give 0.25).
    assert average_precision_at_k(RANKING, GRADES, 2) == pytest.approx(0.5 / 3)
    assert average_precision_at_k(["d1", "d2", "d4"], GRADES, 10) == pytest.approx(1.0)


def test_repeated_documents_count_once():
    # The repeat is dropped and d2 moves up into the top 2, as in a dict-shaped BEIR run.
    assert recall_at_k(["d1", "d1", "d2"], GRADES, 2) == pytest.approx(2 / 3)
    assert average_precision_at_k(["d1", "d1"], GRADES, 2) == pytest.approx(1 / 3)


def test_k_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        ndcg_at_k(RANKING, GRADES, 0)


def test_evaluate_run_averages_over_judged_queries():
    qrels = {
        "q1": GRADES,
        "q2": {"d9": 1},  # judged, missing from the run: scores 0
        "q3": {"d1": 0},  # no relevant document: not scored
    }
    run = {"q1": RANKING, "q4": ["d1"]}  # q4 has no judgements: ignored

    metrics = evaluate_run(run, qrels, k_values=(3, 4))

    assert set(metrics) == {"ndcg@3", "map@3", "recall@3", "ndcg@4", "map@4", "recall@4"}
    assert metrics["ndcg@3"] == pytest.approx(0.40303 / 2, abs=1e-5)
    assert metrics["recall@4"] == pytest.approx((2 / 3) / 2)
    assert metrics["map@4"] == pytest.approx(((1 / 2 + 2 / 4) / 3) / 2)


def test_evaluate_run_can_ignore_identical_ids_like_beir():
    qrels = {"1": {"1": 1, "2": 1}}
    run = {"1": ["1", "2"]}

    assert evaluate_run(run, qrels, k_values=(1,))["recall@1"] == 0.5
    assert evaluate_run(run, qrels, k_values=(1,), ignore_identical_ids=True)["recall@1"] == 0.5
    assert evaluate_run(run, qrels, k_values=(2,), ignore_identical_ids=True)["recall@2"] == 0.5
    assert evaluate_run(run, qrels, k_values=(2,))["recall@2"] == 1.0


def test_evaluate_run_with_no_judgements_is_all_zero():
    assert evaluate_run({"q": ["d"]}, {}, k_values=(10,)) == {
        "ndcg@10": 0.0,
        "map@10": 0.0,
        "recall@10": 0.0,
    }


def _write_dataset(
    root: Path, *, qrels: str = "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t0\n"
):
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text(
        json.dumps({"_id": "d1", "title": "Wings", "text": "Lift."})
        + "\n\n"
        + json.dumps({"_id": 2, "text": "No title."})
        + "\n",
        encoding="utf-8",
    )
    (root / "queries.jsonl").write_text(
        json.dumps({"_id": "q1", "text": "lift?"}) + "\n" + json.dumps({"_id": "q2", "text": "x"}),
        encoding="utf-8",
    )
    (root / "qrels" / "test.tsv").write_text(qrels, encoding="utf-8")


def test_load_beir(tmp_path: Path):
    _write_dataset(tmp_path)

    dataset = load_beir(tmp_path)

    assert dataset.corpus == {"d1": ("Wings", "Lift."), "2": ("", "No title.")}
    assert dataset.queries == {"q1": "lift?", "q2": "x"}
    assert dataset.qrels == {"q1": {"d1": 1, "d2": 0}}


def test_load_beir_names_the_missing_file(tmp_path: Path):
    _write_dataset(tmp_path)

    with pytest.raises(BeirDatasetError, match=r"dev\.tsv does not exist.*qrels/dev\.tsv"):
        load_beir(tmp_path, split="dev")
    (tmp_path / "corpus.jsonl").unlink()
    with pytest.raises(BeirDatasetError, match=r"corpus\.jsonl does not exist"):
        load_beir(tmp_path)


def test_load_beir_reports_bad_lines(tmp_path: Path):
    _write_dataset(tmp_path, qrels="query-id\tcorpus-id\tscore\nq1\td1\thigh\n")
    with pytest.raises(BeirDatasetError, match=r"test\.tsv line 2 has score 'high'"):
        load_beir(tmp_path)

    (tmp_path / "queries.jsonl").write_text('{"_id": "q1", "text": \n', encoding="utf-8")
    with pytest.raises(BeirDatasetError, match=r"queries\.jsonl line 1 is not valid JSON"):
        load_beir(tmp_path)


def test_the_repository_collections_load_completely():
    dataset = load_beir(CRANFIELD)

    assert len(dataset.corpus) == 1400
    assert len(dataset.queries) == 225
    assert sum(len(judgements) for judgements in dataset.qrels.values()) == 1837
    assert set(dataset.qrels) <= set(dataset.queries)
    # A perfect run scores 1 everywhere; an empty run scores 0.
    perfect = {
        qid: sorted(grades, key=lambda d: -grades[d]) for qid, grades in dataset.qrels.items()
    }
    assert evaluate_run(perfect, dataset.qrels, k_values=(100,))["ndcg@100"] == pytest.approx(1.0)
    assert evaluate_run({}, dataset.qrels, k_values=(10,))["recall@10"] == 0.0

    cacm = load_beir(CACM)
    assert len(cacm.corpus) == 3204
    assert len(cacm.queries) == 65  # 1..64, and an empty 65 that nothing judges
    assert len(cacm.qrels) == 52
    assert sum(len(judgements) for judgements in cacm.qrels.values()) == 796
    assert set(cacm.qrels) <= set(cacm.queries)


def test_load_beir_names_a_line_that_is_not_utf8(tmp_path: Path):
    _write_dataset(tmp_path)
    with (tmp_path / "corpus.jsonl").open("ab") as corpus:
        corpus.write(b'{"_id": "d3", "text": "caf\xe9"}\n')

    with pytest.raises(BeirDatasetError, match=r"corpus\.jsonl line 4 is not UTF-8"):
        load_beir(tmp_path)

    _write_dataset(tmp_path / "qrels-latin1")
    (tmp_path / "qrels-latin1" / "qrels" / "test.tsv").write_bytes(
        b"query-id\tcorpus-id\tscore\nq1\td\xe9\t1\n"
    )
    with pytest.raises(BeirDatasetError, match=r"test\.tsv line 2 is not UTF-8"):
        load_beir(tmp_path / "qrels-latin1")


def test_load_beir_accepts_a_byte_order_mark(tmp_path: Path):
    _write_dataset(tmp_path)
    for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):
        path = tmp_path / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())

    dataset = load_beir(tmp_path)

    assert dataset.corpus == {"d1": ("Wings", "Lift."), "2": ("", "No title.")}
    assert dataset.queries == {"q1": "lift?", "q2": "x"}
    assert dataset.qrels == {"q1": {"d1": 1, "d2": 0}}


def test_load_beir_refuses_an_empty_corpus_or_no_judgements(tmp_path: Path):
    _write_dataset(tmp_path)
    (tmp_path / "corpus.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(BeirDatasetError, match=r"corpus\.jsonl is empty"):
        load_beir(tmp_path)

    _write_dataset(tmp_path / "header-only", qrels="query-id\tcorpus-id\tscore\n")
    with pytest.raises(BeirDatasetError, match=r"test\.tsv holds no judgements"):
        load_beir(tmp_path / "header-only")


def test_load_beir_keeps_the_last_record_of_a_repeated_id_and_says_so(tmp_path: Path):
    _write_dataset(tmp_path)
    with (tmp_path / "corpus.jsonl").open("a", encoding="utf-8") as corpus:
        corpus.write(json.dumps({"_id": "d1", "text": "Again."}) + "\n")

    dataset = load_beir(tmp_path)

    # As BEIR's loader (a dict keyed by _id): the later record replaces the earlier one.
    assert dataset.corpus["d1"] == ("", "Again.")
    assert (
        "Warning: corpus.jsonl repeats 1 _id values (first: 'd1' on lines 1 and 4); the "
        "last record of each is used, as BEIR does." in dataset.warnings
    )


def test_qrels_header_is_detected_not_assumed(tmp_path: Path):
    _write_dataset(tmp_path, qrels="q1\td1\t1\nq1\td2\t0\n")
    assert load_beir(tmp_path).qrels == {"q1": {"d1": 1, "d2": 0}}

    _write_dataset(tmp_path / "bad-first", qrels="q1\td1\thigh\n")
    with pytest.raises(BeirDatasetError, match=r"test\.tsv line 1 has score 'high'"):
        load_beir(tmp_path / "bad-first")


def test_load_beir_warns_about_judgements_of_unknown_documents_and_queries(tmp_path: Path):
    _write_dataset(
        tmp_path,
        qrels="query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td8\t1\nq1\td9\t1\nq7\td1\t1\n",
    )

    dataset = load_beir(tmp_path)

    assert dataset.warnings == (
        "Warning: test.tsv judges 1 queries not in queries.jsonl (1 judgements); "
        "they are not scored. The first is 'q7'.",
        "Warning: test.tsv refers to 2 documents not in corpus.jsonl (2 judgements); "
        "they can never be retrieved. The first is 'd8'.",
    )
    assert dataset.qrels == {"q1": {"d1": 1, "d8": 1, "d9": 1}}  # q7 is dropped
    _write_dataset(tmp_path / "clean", qrels="q1\td1\t1\nq2\t2\t1\n")
    assert load_beir(tmp_path / "clean").warnings == ()


def test_judgements_of_unknown_queries_do_not_lower_the_means(tmp_path: Path):
    # q7 is judged but not in queries.jsonl: it cannot be searched, so it must not count
    # as a zero (it did: a perfect run scored 0.5).
    _write_dataset(tmp_path, qrels="q1\td1\t1\nq7\td1\t1\n")
    dataset = load_beir(tmp_path)

    metrics = evaluate_run({"q1": ["d1"]}, dataset.qrels, k_values=(10, 100))

    assert metrics == {"ndcg@10": 1.0, "map@10": 1.0, "recall@10": 1.0} | {
        "ndcg@100": 1.0,
        "map@100": 1.0,
        "recall@100": 1.0,
    }
    assert dataset.scored_queries == ["q1"]


def test_graded_ndcg_ignores_negative_grades_and_recall_map_count_only_positive_ones():
    # Hand-computed: a = 2, b = 1, c = 0 (judged not relevant), d = -1 (judged harmful).
    grades = {"a": 2, "b": 1, "c": 0, "d": -1}
    ranking = ["d", "b", "a", "c"]

    # DCG = 0/log2(2) + 1/log2(3) + 2/log2(4) + 0 = 0.63093 + 1 = 1.63093
    # ideal = 2/log2(2) + 1/log2(3) = 2.63093 (c and d are not in the ideal ranking)
    assert ndcg_at_k(ranking, grades, 10) == pytest.approx(1.63093 / 2.63093, abs=1e-5)
    assert ndcg_at_k(ranking, grades, 10) == pytest.approx(0.61991, abs=1e-5)
    # R = 2 (a and b); both within 100.
    assert recall_at_k(ranking, grades, 100) == 1.0
    # b at rank 2 (precision 1/2), a at rank 3 (precision 2/3): (1/2 + 2/3) / 2
    assert average_precision_at_k(ranking, grades, 100) == pytest.approx(7 / 12)


def test_ndcg_at_10_ideal_is_cut_at_10_even_with_more_relevant_documents():
    grades = {f"r{i}": 1 for i in range(12)}
    ideal = sum(1 / math.log2(rank + 1) for rank in range(1, 11))  # 4.54365

    assert ndcg_at_k(["r0"], grades, 10) == pytest.approx(1 / ideal)
    assert ndcg_at_k(["r0"], grades, 10) == pytest.approx(0.22009, abs=1e-5)
    assert recall_at_k(["r0", "x", "r1"], grades, 100) == pytest.approx(2 / 12)
    # r0 at rank 1 (1/1), r1 at rank 3 (2/3), over R = 12
    assert average_precision_at_k(["r0", "x", "r1"], grades, 100) == pytest.approx((5 / 3) / 12)

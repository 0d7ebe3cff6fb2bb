"""Reading BEIR datasets as real ones come: odd ids, odd qrels, odd layouts."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from queries.evaluation_dataset import BeirDatasetError, load_beir


def _dataset(
    root: Path,
    *,
    corpus: Sequence[Mapping[str, Any]] | str,
    queries: Sequence[Mapping[str, Any]] | str | None = None,
    qrels: str = "q1\td1\t1\n",
    split: str = "test",
) -> Path:
    def jsonl(records: Sequence[Mapping[str, Any]] | str) -> str:
        if isinstance(records, str):
            return records
        return "".join(json.dumps(dict(record), ensure_ascii=False) + "\n" for record in records)

    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text(jsonl(corpus), encoding="utf-8")
    (root / "queries.jsonl").write_text(
        jsonl(queries if queries is not None else [{"_id": "q1", "text": "lift"}]),
        encoding="utf-8",
    )
    (root / "qrels" / f"{split}.tsv").write_text(qrels, encoding="utf-8", newline="")
    return root


def test_ids_of_any_shape_match_the_qrels(tmp_path: Path):
    corpus: list[dict[str, Any]] = [
        {"_id": "MED-10", "title": "Statins", "text": "Statin use.", "metadata": {"url": "u"}},
        {"_id": "doc 1", "text": "Swept wings."},  # no title
        {"_id": 7, "title": None, "text": "Seven."},  # a JSON number
        {"_id": 12.0, "title": "", "text": "Twelve."},  # a whole float names "12"
    ]
    qrels = "q1\tMED-10\t2\nq1\tdoc 1\t1\nq1\t7\t1\nq1\t12\t1\n"

    dataset = load_beir(_dataset(tmp_path, corpus=corpus, qrels=qrels))

    assert dataset.corpus == {
        "MED-10": ("Statins", "Statin use."),
        "doc 1": ("", "Swept wings."),
        "7": ("", "Seven."),
        "12": ("", "Twelve."),
    }
    assert dataset.warnings == ()  # every judged document was found


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"_id": null, "text": "x"}', 'has no "_id" field holding a string or number'),
        ('{"_id": ["d1"], "text": "x"}', 'has no "_id" field holding a string or number'),
        ('{"_id": "  ", "text": "x"}', 'has an empty "_id"'),
        ('["d1", "x"]', "is not a JSON object"),
    ],
)
def test_unusable_ids_name_the_line(tmp_path: Path, line: str, problem: str):
    # A null id used to become the document "None".
    corpus = json.dumps({"_id": "d1", "text": "ok"}) + "\n" + line + "\n"

    with pytest.raises(BeirDatasetError, match=rf"^corpus\.jsonl line 2 {problem}"):
        load_beir(_dataset(tmp_path, corpus=corpus))


def test_control_characters_and_lone_surrogates_become_spaces(tmp_path: Path):
    # Valid JSON escapes that the upload check would take for a binary file, or that cannot
    # be encoded as UTF-8 at all.
    corpus = '{"_id": "d1", "title": "T\\u0000", "text": "a\\u0001b\\ud800c\\td"}\n'

    dataset = load_beir(_dataset(tmp_path, corpus=corpus))

    assert dataset.corpus["d1"] == ("T ", "a b c\td")


def test_raw_tabs_inside_json_strings_are_accepted(tmp_path: Path):
    corpus = '{"_id": "d1", "text": "column\tseparated"}\n'

    assert load_beir(_dataset(tmp_path, corpus=corpus)).corpus["d1"] == ("", "column\tseparated")


def test_a_bad_json_line_names_file_and_line(tmp_path: Path):
    corpus = '\n{"_id": "d1", "text": "ok"}\n{"_id": "d2", "text": \n'

    with pytest.raises(BeirDatasetError, match=r"^corpus\.jsonl line 3 is not valid JSON"):
        load_beir(_dataset(tmp_path, corpus=corpus))


def test_bom_crlf_blank_lines_and_no_final_newline(tmp_path: Path):
    root = _dataset(tmp_path, corpus=[])
    (root / "corpus.jsonl").write_bytes(
        b'\xef\xbb\xbf{"_id": "d1", "text": "a"}\r\n\r\n{"_id": "d2", "text": "b"}'
    )
    (root / "qrels" / "test.tsv").write_bytes(
        b"\xef\xbb\xbfquery-id\tcorpus-id\tscore\r\nq1\td1\t1\r\n\r\nq1\td2\t0"
    )

    dataset = load_beir(root)

    assert dataset.corpus == {"d1": ("", "a"), "d2": ("", "b")}
    assert dataset.qrels == {"q1": {"d1": 1, "d2": 0}}


@pytest.mark.parametrize(
    "qrels",
    [
        "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t0\n",  # BEIR
        "q1\td1\t2\nq1\td2\t0\n",  # no header
        "q_id\tdoc_id\tlabel\nq1\td1\t2\nq1\td2\t0\n",  # another header
        " q1 \t d1 \t 2 \nq1\t\td2\t0\t\n",  # stray spaces and tabs
        "q1 d1 2\nq1 d2 0\n",  # spaces, no tabs
        "q1 0 d1 2\nq1 Q0 d2 0\n",  # TREC's four columns
        "q1\td1\t2.0\nq1\td2\t0\n",  # a whole number written as a float
    ],
)
def test_qrels_variants_read_the_same(tmp_path: Path, qrels: str):
    # " q1 " used to be a query of its own (so q1's judgement went missing); the others
    # were errors.
    root = _dataset(tmp_path, corpus=[{"_id": "d1", "text": "a"}, {"_id": "d2", "text": "b"}])
    (root / "qrels" / "test.tsv").write_text(qrels, encoding="utf-8")

    dataset = load_beir(root)

    assert dataset.qrels == {"q1": {"d1": 2, "d2": 0}}
    assert dataset.warnings == ()


def test_a_fractional_score_is_refused_with_its_line(tmp_path: Path):
    with pytest.raises(BeirDatasetError, match=r"test\.tsv line 2 has score '0\.5'"):
        load_beir(_dataset(tmp_path, corpus=[{"_id": "d1"}], qrels="q1\td1\t1\nq1\td1\t0.5\n"))


def test_queries_without_judgements_or_relevant_documents_are_not_scored(tmp_path: Path):
    queries = [{"_id": q, "text": f"query {q}"} for q in ("q1", "q2", "q3")]
    qrels = "q1\td1\t1\nq3\td1\t0\nq3\td2\t-1\n"  # q2 unjudged, q3 judged but nothing relevant

    dataset = load_beir(_dataset(tmp_path, corpus=[{"_id": "d1"}], queries=queries, qrels=qrels))

    assert dataset.scored_queries == ["q1"]


def test_nothing_to_score_is_an_error(tmp_path: Path):
    with pytest.raises(BeirDatasetError, match=r"No query of queries\.jsonl has a relevant"):
        load_beir(_dataset(tmp_path / "a", corpus=[{"_id": "d1"}], qrels="q1\td1\t0\n"))
    with pytest.raises(BeirDatasetError, match=r"check that its query ids match queries\.jsonl"):
        load_beir(_dataset(tmp_path / "b", corpus=[{"_id": "d1"}], qrels="Q-1\td1\t1\n"))


def test_an_empty_query_is_a_warning(tmp_path: Path):
    queries = [{"_id": "q1", "text": "lift"}, {"_id": "q2", "text": " "}, {"_id": "q3"}]
    qrels = "q1\td1\t1\nq2\td1\t1\nq3\td1\t1\n"

    dataset = load_beir(_dataset(tmp_path, corpus=[{"_id": "d1"}], queries=queries, qrels=qrels))

    assert dataset.scored_queries == ["q1", "q2", "q3"]
    assert dataset.warnings == (
        "Warning: 2 judged queries have no text (first: 'q2'); they are not searched and score 0.",
    )


def test_repeated_judgements_keep_the_last_score(tmp_path: Path):
    qrels = "q1\td1\t0\nq1\td1\t2\n"

    dataset = load_beir(_dataset(tmp_path, corpus=[{"_id": "d1"}], qrels=qrels))

    assert dataset.qrels == {"q1": {"d1": 2}}
    assert dataset.warnings == (
        "Warning: test.tsv judges 1 (query, document) pairs more than once; the last score "
        "of each is used.",
    )


def test_a_missing_directory_or_a_file_is_named(tmp_path: Path):
    with pytest.raises(BeirDatasetError, match=r"^The dataset directory .*nowhere does not exist"):
        load_beir(tmp_path / "nowhere")
    (tmp_path / "corpus.jsonl").write_text("{}", encoding="utf-8")
    with pytest.raises(BeirDatasetError, match=r"corpus\.jsonl is a file; pass the directory"):
        load_beir(tmp_path / "corpus.jsonl")


def test_a_parent_directory_points_to_the_dataset_inside(tmp_path: Path):
    _dataset(tmp_path / "scifact", corpus=[{"_id": "d1"}])

    with pytest.raises(BeirDatasetError, match=r"Did you mean --dataset .*scifact\?$"):
        load_beir(tmp_path)


def test_a_missing_split_lists_the_splits_there_are(tmp_path: Path):
    root = _dataset(tmp_path, corpus=[{"_id": "d1"}], split="dev")

    missing = r"test\.tsv does not exist\..* qrels for dev; choose one with --split"
    with pytest.raises(BeirDatasetError, match=missing):
        load_beir(root)
    assert load_beir(root, split="dev").qrels == {"q1": {"d1": 1}}


def test_a_compressed_file_is_named(tmp_path: Path):
    root = _dataset(tmp_path, corpus=[{"_id": "d1"}])
    (root / "corpus.jsonl").rename(root / "corpus.jsonl.gz")

    with pytest.raises(BeirDatasetError, match=r"Decompress corpus\.jsonl\.gz first"):
        load_beir(root)

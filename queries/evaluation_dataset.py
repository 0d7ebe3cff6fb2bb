"""Reading a BEIR-layout dataset: corpus.jsonl, queries.jsonl and qrels/<split>.tsv.

Lenient where real datasets vary and BEIR's own loader copes (a byte-order mark, blank
lines, a missing last newline, Windows line endings, numeric ids, extra fields, a missing
title, a qrels file with or without its header), strict where a guess would change the
scores (a line that is not JSON, a score that is not a whole number): those stop the run
with a sentence naming the file and the line. Whatever is dropped or cannot count is said
in `BeirDataset.warnings`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

REQUIRED_FILES = ("corpus.jsonl", "queries.jsonl")

# BEIR writes the header `query-id<TAB>corpus-id<TAB>score`; other tools name the columns
# differently. A first line whose score is not a number and that names a column is a header.
_COLUMN_NAMES = frozenset(
    {
        "query-id", "query_id", "queryid", "qid", "query", "topic",
        "corpus-id", "corpus_id", "doc-id", "doc_id", "docid", "docno", "document", "pid",
        "score", "relevance", "rel", "label", "grade", "judgement", "judgment",
    }
)  # fmt: skip
# C0 controls other than tab, newlines and form feed, DEL, and lone surrogates (JSON's
# "\ud800" escapes): meaningless in text, and the upload check takes them for binary data.
_UNUSABLE_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\ud800-\udfff]")


class BeirDatasetError(ValueError):
    """A BEIR directory is missing a file or holds a malformed line."""


@dataclass(frozen=True)
class BeirDataset:
    corpus: dict[str, tuple[str, str]]  # doc id -> (title, text)
    queries: dict[str, str]  # query id -> text
    # query id -> {doc id: grade}, for the queries in queries.jsonl only.
    qrels: dict[str, dict[str, int]]
    # Sentences about what was dropped or cannot count (unknown ids, repeats, empty queries).
    warnings: tuple[str, ...] = ()

    @property
    def scored_queries(self) -> list[str]:
        """Query ids with at least one relevant (grade above 0) judgement, in qrels order."""
        return [qid for qid, grades in self.qrels.items() if any(g > 0 for g in grades.values())]


def load_beir(directory: Path, split: str = "test") -> BeirDataset:
    """Read corpus.jsonl, queries.jsonl and qrels/<split>.tsv into a BeirDataset.

    Records with a repeated `_id` replace the earlier one, as in BEIR's loader (with a
    warning). Judgements of queries missing from queries.jsonl are dropped, so they do
    not count in the means. An empty corpus, no queries, or no relevant judgement of a
    known query are errors: the scores would mean nothing.
    """
    directory = Path(directory)
    qrels_path = _check_layout(directory, split)
    warnings: list[str] = []
    corpus = {
        doc_id: (_text_field(record, "title"), _text_field(record, "text"))
        for doc_id, record in _records(directory / "corpus.jsonl", warnings).items()
    }
    queries = {
        query_id: _text_field(record, "text")
        for query_id, record in _records(directory / "queries.jsonl", warnings).items()
    }
    qrels = _read_qrels(qrels_path, warnings)
    warnings.extend(_unknown_references(qrels_path.name, corpus, queries, qrels))
    known = {qid: grades for qid, grades in qrels.items() if qid in queries}
    dataset = BeirDataset(corpus=corpus, queries=queries, qrels=known)
    if not dataset.scored_queries:
        raise BeirDatasetError(
            f"No query of queries.jsonl has a relevant judgement (score 1 or more) in "
            f"{qrels_path.name}, so there is nothing to score; check that its query ids "
            "match queries.jsonl."
        )
    empty = [qid for qid in dataset.scored_queries if not queries[qid].strip()]
    if empty:
        warnings.append(
            f"Warning: {len(empty)} judged queries have no text (first: {empty[0]!r}); "
            "they are not searched and score 0."
        )
    return BeirDataset(corpus=corpus, queries=queries, qrels=known, warnings=tuple(warnings))


def _check_layout(directory: Path, split: str) -> Path:
    """The qrels path, once the directory is known to hold the three files."""
    needed = f"A BEIR dataset directory holds corpus.jsonl, queries.jsonl and qrels/{split}.tsv."
    if not directory.exists():
        raise BeirDatasetError(f"The dataset directory {directory} does not exist. {needed}")
    if not directory.is_dir():
        raise BeirDatasetError(
            f"{directory} is a file; pass the directory that holds it as --dataset. {needed}"
        )
    qrels_path = directory / "qrels" / f"{split}.tsv"
    for path in (*(directory / name for name in REQUIRED_FILES), qrels_path):
        if not path.is_file():
            raise BeirDatasetError(f"{path} does not exist. {needed}{_hint(directory, path)}")
    return qrels_path


def _hint(directory: Path, missing: Path) -> str:
    """A second sentence for a missing file, when the directory suggests what was meant."""
    if Path(f"{missing}.gz").is_file():
        return f" Decompress {missing.name}.gz first (gunzip -k {missing}.gz)."
    if missing.parent.name == "qrels" and missing.parent.is_dir():
        splits = sorted(path.stem for path in missing.parent.glob("*.tsv"))
        if splits:
            return f" This dataset has qrels for {', '.join(splits)}; choose one with --split."
    nested = sorted(path.parent for path in directory.glob("*/corpus.jsonl"))
    if nested:
        return f" Did you mean --dataset {nested[0]}?"
    return ""


def _utf8_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Numbered lines of a UTF-8 file (a leading byte-order mark is dropped).

    Undecodable bytes are kept as lone surrogates (surrogateescape), which valid UTF-8 never
    produces, so the line holding them can be named.
    """
    try:
        with path.open(encoding="utf-8-sig", errors="surrogateescape") as handle:
            for number, line in enumerate(handle, start=1):
                if any("\udc80" <= char <= "\udcff" for char in line):
                    raise BeirDatasetError(
                        f"{path.name} line {number} is not UTF-8 text; save the file as UTF-8."
                    )
                yield number, line
    except OSError as error:
        raise BeirDatasetError(
            f"{path} cannot be read ({error.strerror}); check that it is a readable file."
        ) from error


def _records(path: Path, warnings: list[str]) -> dict[str, dict[str, object]]:
    """Records of a JSON-lines file by `_id`; a repeated `_id` keeps the last record."""
    records: dict[str, dict[str, object]] = {}
    first_line: dict[str, int] = {}
    repeats: list[tuple[str, int, int]] = []
    for number, line in _utf8_lines(path):
        if not line.strip():
            continue
        try:
            # strict=False: raw tabs inside strings are common in hand-made files.
            record = json.loads(line, strict=False)
        except json.JSONDecodeError as error:
            raise BeirDatasetError(
                f"{path.name} line {number} is not valid JSON ({error}); fix or remove it."
            ) from error
        record_id = _record_id(path, number, record)
        if record_id in first_line:
            repeats.append((record_id, first_line[record_id], number))
        else:
            first_line[record_id] = number
        records[record_id] = record
    if not records:
        raise BeirDatasetError(f"{path.name} is empty; it needs at least one record.")
    if repeats:
        record_id, first, again = repeats[0]
        warnings.append(
            f"Warning: {path.name} repeats {len(repeats)} _id values (first: {record_id!r} "
            f"on lines {first} and {again}); the last record of each is used, as BEIR does."
        )
    return records


def _record_id(path: Path, number: int, record: object) -> str:
    if not isinstance(record, dict):
        raise BeirDatasetError(
            f"{path.name} line {number} is not a JSON object; each line must be one "
            '{"_id": ..., ...} object.'
        )
    value = record.get("_id")
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 12.0 names the same document as the qrels' "12"
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise BeirDatasetError(
            f'{path.name} line {number} has no "_id" field holding a string or number; '
            "every record needs one."
        )
    record_id = _clean(str(value)).strip()
    if not record_id:
        raise BeirDatasetError(
            f'{path.name} line {number} has an empty "_id"; every record needs a non-empty id.'
        )
    return record_id


def _text_field(record: Mapping[str, object], key: str) -> str:
    """A title or text as a string: missing or null is empty, a list is joined."""
    value = record.get(key)
    if value is None:
        return ""
    if isinstance(value, list):
        return _clean(" ".join(str(part) for part in value if part is not None))
    return _clean(str(value))


def _clean(text: str) -> str:
    return _UNUSABLE_CHARACTERS.sub(" ", text)


def _qrels_fields(line: str) -> list[str]:
    """query id, document id and score of a qrels line (BEIR's 3 columns or TREC's 4)."""
    stripped = line.strip()
    if "\t" in stripped:
        fields = [field.strip() for field in stripped.split("\t") if field.strip()]
    else:
        fields = stripped.split()  # space-separated files exist; ids with spaces need tabs
    if len(fields) == 4 and fields[1].upper() in {"0", "Q0"} and _grade(fields[3]) is not None:
        return [fields[0], fields[2], fields[3]]  # TREC: query-id iteration doc-id score
    return fields[:3]


def _grade(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        pass
    try:
        number = float(value)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _read_qrels(path: Path, warnings: list[str]) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    repeated = 0
    for number, line in _utf8_lines(path):
        if not line.strip():
            continue
        fields = _qrels_fields(line)
        if len(fields) < 3:
            raise BeirDatasetError(
                f"{path.name} line {number} needs query-id, corpus-id and score separated by tabs."
            )
        query_id, doc_id, score = _clean(fields[0]), _clean(fields[1]), fields[2]
        grade = _grade(score)
        if grade is None:
            if not qrels and {field.lower() for field in fields} & _COLUMN_NAMES:
                continue  # the header line
            raise BeirDatasetError(
                f"{path.name} line {number} has score {score!r}; scores must be whole numbers."
            )
        grades = qrels.setdefault(query_id, {})
        repeated += doc_id in grades
        grades[doc_id] = grade
    if not qrels:
        raise BeirDatasetError(
            f"{path.name} holds no judgements; expected tab-separated lines of query-id, "
            "corpus-id and score, after an optional header line."
        )
    if repeated:
        warnings.append(
            f"Warning: {path.name} judges {repeated} (query, document) pairs more than once; "
            "the last score of each is used."
        )
    return qrels


def _unknown_references(
    name: str,
    corpus: Mapping[str, object],
    queries: Mapping[str, object],
    qrels: Mapping[str, Mapping[str, int]],
) -> list[str]:
    warnings: list[str] = []
    unknown_queries = [qid for qid in qrels if qid not in queries]
    if unknown_queries:
        judgements = sum(len(qrels[qid]) for qid in unknown_queries)
        warnings.append(
            f"Warning: {name} judges {len(unknown_queries)} queries not in queries.jsonl "
            f"({judgements} judgements); they are not scored. "
            f"The first is {unknown_queries[0]!r}."
        )
    unknown = [
        doc_id
        for qid, grades in qrels.items()
        if qid in queries
        for doc_id in grades
        if doc_id not in corpus
    ]
    if unknown:
        warnings.append(
            f"Warning: {name} refers to {len(set(unknown))} documents not in corpus.jsonl "
            f"({len(unknown)} judgements); they can never be retrieved. "
            f"The first is {unknown[0]!r}."
        )
    return warnings

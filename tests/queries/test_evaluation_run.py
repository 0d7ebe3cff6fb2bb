"""`manage.py evaluate` end to end on awkward datasets: real pipeline, PostgreSQL and Redis."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from queries import evaluation_run
from queries.evaluation_run import run_evaluation
from queries.evaluation_tenant import EvaluationInterrupted, scratch_tenant
from tenants.models import Tenant
from tenants.services import delete_tenant
from tests.conftest import ROOT, worker_environment


def _write(root: Path, corpus: list[dict[str, Any]], queries: dict[Any, str], qrels: str) -> Path:
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text(
        "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in corpus),
        encoding="utf-8",
    )
    (root / "queries.jsonl").write_text(
        "".join(
            json.dumps({"_id": qid, "text": text, "metadata": {}}, ensure_ascii=False) + "\n"
            for qid, text in queries.items()
        ),
        encoding="utf-8",
    )
    (root / "qrels" / "test.tsv").write_bytes(qrels.encode("utf-8"))
    return root


def _schemas() -> set[str]:
    return set(Tenant.objects.values_list("schema_name", flat=True))


def _evaluate(dataset: Path, *extra: str) -> tuple[dict[str, dict[str, float]], str]:
    out, err = StringIO(), StringIO()
    call_command("evaluate", "--dataset", str(dataset), "--json", *extra, stdout=out, stderr=err)
    return json.loads(out.getvalue()), err.getvalue()


def test_awkward_corpus_and_qrels_are_evaluated_not_crashed_on(
    committed_db: None, tmp_path: Path
) -> None:
    corpus: list[dict[str, Any]] = [
        {"_id": "MED-10", "title": "Statins", "text": "Statin therapy and breast cancer survival.",
         "metadata": {"url": "https://example.org"}},
        {"_id": "doc 1", "text": "Zeppelin airships float on helium."},
        {"_id": 7, "title": None, "text": "الطائرات الشراعية تطير بلا محرك"},
        {"_id": "cjk", "title": "机翼", "text": "超音速流动中的激波与后掠翼。"},
        # Each of these three was refused by the upload check as a binary or PDF file,
        # which ended the whole run with a traceback.
        {"_id": "ctrl", "text": "Gyroscope \u0001\u0002\u0003\u0004\u0005 drift."},
        {"_id": "nul", "text": "Quasar\u0000 emission spectra."},
        {"_id": "pdf", "text": "%PDF-1.4 headers open every portable document."},
        {"_id": "empty", "title": "", "text": ""},
        {"_id": "blank", "title": " ", "text": "\n"},
    ]  # fmt: skip
    queries = {
        "q1": "statin breast cancer",
        "q2": "zeppelin helium",
        "q3": "gyroscope drift",
        "q4": "quasar emission",
        "q5": "portable document headers",
        "q6": "",  # judged, but nothing to search for: scores 0
        "q7": "not judged, not run",
        "q8": "الطائرات الشراعية",
    }
    qrels = (
        "query-id\tcorpus-id\tscore\r\n"
        "q1\tMED-10\t2\r\n q2 \t doc 1 \t 1 \r\nq3\tctrl\t1\r\nq4\tnul\t1\r\nq5\tpdf\t1\r\n"
        "q6\tMED-10\t1\r\nq8\t7\t1\r\nq2\tempty\t0\r\n"
        "q99\tMED-10\t1\r\n"  # a query that is not in queries.jsonl
        "q1\tgone\t0"  # a document that is not in corpus.jsonl; no final newline
    )
    dataset = _write(tmp_path / "awkward", corpus, queries, qrels)
    before = _schemas()

    scores, err = _evaluate(dataset)

    assert set(scores) == {"lexical", "dense", "hybrid"}
    # Seven scored queries (q1-q6, q8): six found at rank 1, the empty q6 scores 0. Before,
    # q99 counted as an eighth, zero, query and " q2 " as a query of its own.
    assert scores["lexical"] == pytest.approx(
        {"ndcg@10": 6 / 7, "recall@100": 6 / 7, "map@100": 6 / 7}
    )
    assert "skipped 2 corpus entries with no title and no text ('empty', 'blank')" in err
    assert "1 judged queries have no text (first: 'q6')" in err
    assert "judges 1 queries not in queries.jsonl (1 judgements)" in err
    assert "refers to 1 documents not in corpus.jsonl (1 judgements)" in err
    assert "awkward: 7 documents" in err
    assert "Traceback" not in err
    assert _schemas() == before


def test_a_long_document_does_not_crowd_the_others_out_of_the_ranking(
    committed_db: None, tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Scaled down: 4 documents per ranking instead of 100, 8 chunks per first query.
    monkeypatch.setattr(evaluation_run, "RANK_DEPTH", 4)
    settings.QUERY_CANDIDATE_DEPTH = 4
    paragraph = "The albatross glides. The albatross soars over the albatross colony. " * 30
    corpus = [{"_id": "long", "title": "Albatross", "text": "\n\n".join([paragraph] * 12)}]
    corpus += [{"_id": f"s{i}", "text": f"One albatross, note {i}."} for i in range(3)]
    qrels = "".join(f"q1\ts{i}\t1\n" for i in range(3))
    dataset = _write(tmp_path / "long", corpus, {"q1": "albatross"}, qrels)

    report = run_evaluation(dataset)

    assert report.chunks > 8  # the long document alone fills the first 8 chunk hits
    # Only the long document's chunks came back before: recall 0.
    assert report.scores["lexical"]["recall@100"] == 1.0
    assert report.scores["dense"]["recall@100"] == 1.0


def test_an_entry_the_pipeline_refuses_is_skipped_and_named(
    committed_db: None, tmp_path: Path, settings: Any
) -> None:
    settings.DOCUMENT_MAX_BYTES = 64  # was a FileTooLarge traceback
    corpus = [
        {"_id": "short", "text": "Compact wing."},
        {"_id": "big", "text": "Enormous wing " * 20},
    ]
    dataset = _write(tmp_path / "big", corpus, {"q1": "compact wing"}, "q1\tshort\t1\n")

    scores, err = _evaluate(dataset)

    assert scores["lexical"]["ndcg@10"] == 1.0
    assert "skipped 1 corpus entries the pipeline refused" in err
    assert "The first, 'big': The file 'big.txt' is 279 bytes, 215 over the limit" in err


def test_a_corpus_with_nothing_to_ingest_is_a_sentence(committed_db: None, tmp_path: Path) -> None:
    corpus = [{"_id": "d1", "title": "", "text": ""}]
    dataset = _write(tmp_path / "void", corpus, {"q1": "anything"}, "q1\td1\t1\n")
    before = _schemas()

    with pytest.raises(CommandError, match=r"^No corpus entry could be ingested"):
        _evaluate(dataset)
    assert _schemas() == before


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, r"The dataset directory .* does not exist\. A BEIR dataset directory holds"),
        ({"corpus.jsonl": '{"_id": "d1"}\n{"_id": \n'}, r"corpus\.jsonl line 2 is not valid JSON"),
        ({"README.md": "# notes\n"}, r"corpus\.jsonl does not exist\. A BEIR dataset"),
    ],
)
def test_a_broken_dataset_is_one_sentence_and_no_tenant(
    committed_db: None, tmp_path: Path, files: dict[str, str], message: str
) -> None:
    root = tmp_path / "data"
    if files:
        (root / "qrels").mkdir(parents=True)
        (root / "queries.jsonl").write_text('{"_id": "q1", "text": "x"}\n')
        (root / "qrels" / "test.tsv").write_text("q1\td1\t1\n")
        for name, text in files.items():
            (root / name).write_text(text)
    before = _schemas()

    with pytest.raises(CommandError, match=message):
        _evaluate(root)
    assert _schemas() == before


def test_split_chooses_the_qrels_file(committed_db: None, tmp_path: Path) -> None:
    corpus = [{"_id": "d1", "text": "Ramjet inlet."}, {"_id": "d2", "text": "Scramjet fuel."}]
    dataset = _write(tmp_path / "splits", corpus, {"q1": "ramjet inlet"}, "q1\td1\t1\n")
    (dataset / "qrels" / "test.tsv").rename(dataset / "qrels" / "dev.tsv")

    with pytest.raises(CommandError, match=r"qrels for dev; choose one with --split"):
        _evaluate(dataset)
    scores, _ = _evaluate(dataset, "--split", "dev")
    assert scores["lexical"]["ndcg@10"] == 1.0


def test_ignore_identical_ids_drops_the_query_document_itself(
    committed_db: None, tmp_path: Path
) -> None:
    # ArguAna-style: each query is also a corpus document, which ranks first for itself.
    corpus = [
        {"_id": "a1", "text": "Tidal power is reliable and predictable."},
        {"_id": "a2", "text": "Tidal barrages harm estuaries; power must be reliable."},
        {"_id": "a3", "text": "School uniforms limit expression."},
        {"_id": "a4", "text": "Space exploration costs too much."},
    ]
    dataset = _write(
        tmp_path / "args", corpus, {"a1": "Tidal power is reliable and predictable."}, "a1\ta2\t1\n"
    )

    plain, _ = _evaluate(dataset)
    ignored, _ = _evaluate(dataset, "--ignore-identical-ids")

    # The query's own text is its nearest vector: a1 first, the relevant a2 second.
    assert plain["dense"]["ndcg@10"] == pytest.approx(1 / 1.58496, abs=1e-4)
    assert ignored["dense"]["ndcg@10"] == 1.0


def test_an_interrupt_mid_run_drops_the_tenant_and_says_so(
    committed_db: None, tmp_path: Path
) -> None:
    corpus = [{"_id": f"d{i}", "text": f"Nozzle flow {i}."} for i in range(3)]
    dataset = _write(tmp_path / "ctrl-c", corpus, {"q1": "nozzle"}, "q1\td1\t1\n")
    before = _schemas()

    def ctrl_c_while_querying(items: Any, label: str, _total: int) -> Any:
        if label == "hybrid":  # the first mode
            raise KeyboardInterrupt
        return items

    with pytest.raises(EvaluationInterrupted) as dropped:
        run_evaluation(dataset, progress=ctrl_c_while_querying)
    assert str(dropped.value) == (
        "Interrupted; nothing was scored, and the scratch tenant was dropped."
    )
    assert _schemas() == before

    with pytest.raises(EvaluationInterrupted) as kept:
        run_evaluation(dataset, progress=ctrl_c_while_querying, keep=True)
    try:
        (schema,) = _schemas() - before
        assert str(kept.value) == (
            f"Interrupted; nothing was scored, and the scratch tenant '{schema}' was kept "
            f"(--keep); remove it with: python manage.py drop_tenant --schema {schema} --noinput"
        )
    finally:
        for tenant in Tenant.objects.exclude(schema_name__in=before):
            delete_tenant(tenant=tenant)


def test_the_tenant_is_dropped_after_an_error_cut_a_query_short(committed_db: None) -> None:
    # An exception raised while a query runs leaves the connection busy ("another command is
    # already in progress"); dropping the tenant used to fail on that connection.
    before = _schemas()
    warnings: list[str] = []

    def cut_short(_signal: int, _frame: Any) -> None:
        raise RuntimeError("cut short")

    def sleep_in_a_scratch_tenant() -> None:
        with (
            scratch_tenant("busy", embedding=None, keep=False, warn=warnings.append),
            connection.cursor() as cursor,
        ):
            signal.setitimer(signal.ITIMER_REAL, 0.3)
            cursor.execute("SELECT pg_sleep(2)")

    previous = signal.signal(signal.SIGALRM, cut_short)
    try:
        with pytest.raises(RuntimeError, match="cut short"):
            sleep_in_a_scratch_tenant()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

    assert warnings == []
    assert _schemas() == before


def test_ctrl_c_in_a_real_process_exits_130_without_a_traceback(
    committed_db: None, tmp_path: Path
) -> None:
    corpus = [{"_id": f"d{i}", "text": f"Boundary layer note {i}. " * 20} for i in range(400)]
    dataset = _write(tmp_path / "big", corpus, {"q1": "boundary layer"}, "q1\td1\t1\n")
    before = _schemas()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "evaluate", "--dataset", str(dataset), "--json"],
        cwd=ROOT,
        env=worker_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # A child of a non-interactive shell may inherit SIGINT ignored; a terminal's is not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stderr is not None
    seen = b""
    while not re.search(rb"ingesting: +\d+%\|[^|]*\| *[1-9]\d*/400", seen):
        chunk = os.read(process.stderr.fileno(), 4096)
        assert chunk, f"the command ended before ingesting: {seen.decode(errors='replace')}"
        seen += chunk
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    stderr = (seen + err).decode(errors="replace")

    assert process.returncode == 130, stderr
    assert out == b""
    assert "Traceback" not in stderr
    assert stderr.rstrip().endswith(
        "CommandError: Interrupted; nothing was scored, and the scratch tenant was dropped."
    )
    assert _schemas() == before


def test_several_datasets_are_scored_each_and_averaged(committed_db: None, tmp_path: Path) -> None:
    wings = _write(
        tmp_path / "wings",
        [
            {
                "_id": "w1",
                "title": "Swept wings",
                "text": "Shock waves on a swept wing at transonic speed.",
            },
            {"_id": "w2", "title": "Boundary layers", "text": "Laminar boundary layer transition."},
        ],
        {"q1": "shock waves on swept wings", "q2": "boundary layer transition"},
        "query-id\tcorpus-id\tscore\nq1\tw1\t1\nq2\tw2\t1\n",
    )
    code = _write(
        tmp_path / "code",
        [
            {
                "_id": "c1",
                "title": "Compilers",
                "text": "Parsing and code generation in compilers.",
            },
            {"_id": "c2", "title": "Sorting", "text": "Quicksort and merge sort compared."},
        ],
        {"q1": "merge sort", "q2": "code generation"},
        "query-id\tcorpus-id\tscore\nq1\tc2\t1\nq2\tc2\t0\nq2\tc1\t1\n",
    )
    before = _schemas()
    out, err_out = StringIO(), StringIO()
    call_command(
        "evaluate", "--dataset", str(wings), "--dataset", str(code), "--json",
        stdout=out, stderr=err_out,
    )  # fmt: skip
    scores: dict[str, dict[str, dict[str, float]]] = json.loads(out.getvalue())
    err = err_out.getvalue()
    assert set(scores) == {"wings", "code", "mean"}
    for mode in ("lexical", "dense", "hybrid"):
        for metric in ("ndcg@10", "recall@100", "map@100"):
            expected = (scores["wings"][mode][metric] + scores["code"][mode][metric]) / 2
            assert scores["mean"][mode][metric] == pytest.approx(expected)
    assert scores["wings"]["lexical"]["ndcg@10"] == pytest.approx(1.0)
    assert "wings: 2 documents" in err
    assert "code: 2 documents" in err
    assert _schemas() == before  # both scratch tenants dropped

    out = StringIO()
    call_command(
        "evaluate", "--dataset", str(wings), "--dataset", str(code), stdout=out, stderr=StringIO()
    )
    text = out.getvalue()
    assert "wings: 2 documents" in text
    assert "mean over 2 datasets" in text
    assert text.count("| hybrid  |") == 3


def test_two_datasets_of_the_same_name_are_refused(committed_db: None, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="same name"):
        call_command(
            "evaluate",
            "--dataset",
            str(tmp_path / "a"),
            "--dataset",
            str(tmp_path / "b" / ".." / "a"),
        )


def test_a_title_is_read_as_the_entry_s_heading(committed_db: None, tmp_path: Path) -> None:
    """A titled entry is uploaded as Markdown under its title, so the title is the section its
    chunks carry (and weighs as a heading's words do); an untitled one stays plain text."""
    from django_tenants.utils import tenant_context

    from documents.models import Chunk

    corpus: list[dict[str, Any]] = [
        {"_id": "d1", "title": "Supersonic  wing flutter", "text": "Panels vibrate at speed."},
        {"_id": "d2", "text": "An entry without a title."},
    ]
    dataset = _write(tmp_path / "titled", corpus, {"q1": "flutter"}, "q1\td1\t1\n")
    report = run_evaluation(dataset, keep=True)
    tenant = Tenant.objects.get(schema_name=report.schema)
    try:
        with tenant_context(tenant):
            sections = dict(Chunk.objects.values_list("document__filename", "section"))
    finally:
        delete_tenant(tenant=tenant)
    assert sections == {"d1.md": "Supersonic wing flutter", "d2.txt": ""}
    assert report.scores["lexical"]["ndcg@10"] == 1.0

"""`manage.py ask` and `manage.py evaluate` (on a tiny generated BEIR dataset)."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tenants.utils import schema_context

from documents.embeddings import TransientEmbeddingError
from queries import evaluation_run
from queries.management.commands.ask import Command as AskCommand
from tenants.models import Tenant
from tenants.services import delete_tenant
from tests.queries.helpers import add_corpus


def test_ask_prints_answer_and_citations(make_tenant: Any) -> None:
    handle = make_tenant("asker")
    with schema_context(handle.schema):
        add_corpus()
    out = StringIO()
    call_command("ask", "--tenant", "asker", "What protects the nose cone?", stdout=out)
    text = out.getvalue()
    assert "[1]" in text
    assert "heat.txt" in text
    out = StringIO()
    call_command("ask", "--tenant", "asker", "nose cone", "--json", stdout=out)
    body = json.loads(out.getvalue())
    assert body["citations"][0]["document_name"] == "heat.txt"
    with pytest.raises(CommandError, match="empty"):
        call_command("ask", "--tenant", "asker", "  ", stdout=StringIO())


def _tiny_beir(root: Path) -> Path:
    corpus = {
        "d1": ("Swept wings", "Supersonic flow over a swept wing makes oblique shock waves."),
        "d2": ("Heat shields", "Ablation cooling protects the nose cone during re-entry."),
        "d3": ("Shells", "Thin cylindrical shells buckle under axial compression."),
        "d4": ("Propellers", "The propeller slipstream raises the lift of the wing."),
    }
    queries = {"q1": "shock waves on swept wings", "q2": "nose cone cooling", "q3": "buckling"}
    qrels = [("q1", "d1", 1), ("q2", "d2", 2), ("q3", "d3", 1)]
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text(
        "".join(
            json.dumps({"_id": k, "title": t, "text": x}) + "\n" for k, (t, x) in corpus.items()
        )
    )
    (root / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in queries.items())
    )
    (root / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{s}\n" for q, d, s in qrels)
    )
    return root


def test_evaluate_prints_scores_per_mode_and_drops_the_tenant(
    committed_db: None, tmp_path: Path
) -> None:
    # Committed: dropping a schema inside the test's transaction trips deferred FK triggers.
    dataset = _tiny_beir(tmp_path / "tiny")
    before = set(Tenant.objects.values_list("schema_name", flat=True))
    out = StringIO()
    call_command("evaluate", "--dataset", str(dataset), "--json", stdout=out)
    scores = json.loads(out.getvalue())
    assert set(scores) == {"lexical", "dense", "hybrid"}
    for mode in scores.values():
        assert set(mode) == {"ndcg@10", "recall@100", "map@100"}
    assert scores["lexical"]["ndcg@10"] == pytest.approx(1.0)
    assert set(Tenant.objects.values_list("schema_name", flat=True)) == before
    out = StringIO()
    call_command("evaluate", "--dataset", str(dataset), stdout=out)
    assert "| hybrid  |" in out.getvalue()


def test_evaluate_refuses_a_broken_dataset(db: None, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"corpus\.jsonl"):
        call_command("evaluate", "--dataset", str(tmp_path), stdout=StringIO())


@pytest.mark.parametrize("search", [False, True])
@pytest.mark.parametrize("value", ["-3", "0", "many"])
def test_ask_refuses_a_top_k_that_is_not_a_positive_number(
    make_tenant: Any, search: bool, value: str
) -> None:
    make_tenant("asker")
    extra = ["--search"] if search else []
    with pytest.raises(CommandError, match=r"argument --top-k: .*(at least 1|not a whole number)"):
        call_command("ask", "--tenant", "asker", "nose cone", "--top-k", value, *extra)


def test_ask_caps_top_k_as_the_api_does(make_tenant: Any) -> None:
    handle = make_tenant("asker")
    with schema_context(handle.schema):
        add_corpus()
    with pytest.raises(CommandError, match="at most 20 for an answer, not 21"):
        call_command("ask", "--tenant", "asker", "nose cone", "--top-k", "21")
    with pytest.raises(CommandError, match="at most 100 for --search, not 101"):
        call_command("ask", "--tenant", "asker", "nose cone", "--top-k", "101", "--search")
    out = StringIO()
    call_command("ask", "--tenant", "asker", "nose cone", "--top-k", "1", "--search", "--json",
                 stdout=out)  # fmt: skip
    assert len(json.loads(out.getvalue())["results"]) == 1
    out = StringIO()
    call_command("ask", "--tenant", "asker", "nose cone", "--top-k", "20", stdout=out)
    assert "heat.txt" in out.getvalue()


@pytest.mark.parametrize("search", [False, True])
def test_ask_refuses_a_question_that_is_not_text(make_tenant: Any, search: bool) -> None:
    make_tenant("asker")
    question = b"caf\xe9 leave".decode("utf-8", "surrogateescape")  # as argv decodes it
    extra = ["--search"] if search else []
    with pytest.raises(CommandError, match=r"not valid text \(surrogates\)"):
        call_command("ask", "--tenant", "asker", question, *extra, stdout=StringIO())


def test_ask_mode_needs_search(make_tenant: Any) -> None:
    make_tenant("asker")
    with pytest.raises(CommandError, match="--mode applies to --search only"):
        call_command("ask", "--tenant", "asker", "nose cone", "--mode", "lexical")


def test_ask_prints_the_hint_of_an_empty_workspace(make_tenant: Any) -> None:
    make_tenant("asker")
    out = StringIO()
    call_command("ask", "--tenant", "asker", "nose cone", "--json", stdout=out)
    hint = json.loads(out.getvalue())["hint"]
    out = StringIO()
    call_command("ask", "--tenant", "asker", "nose cone", stdout=out)
    assert hint in out.getvalue()


def test_search_output_indents_every_line_of_a_highlight() -> None:
    out = StringIO()
    command = AskCommand(stdout=out)
    hit = {"document_name": "a.txt", "score": 0.5, "highlight": "first «line»\nsecond", "text": ""}
    command._print_results({"results": [hit]})
    assert out.getvalue() == "1. a.txt (0.5000)\n   first «line»\n   second\n"


def test_answer_output_indents_every_line_of_a_quote() -> None:
    out = StringIO()
    citation = {"marker": 1, "document_name": "a.txt", "page": 2, "quote": "one\ntwo"}
    AskCommand(stdout=out)._print_answer({"answer": "It is so [1].", "citations": [citation]})
    assert out.getvalue() == "It is so [1].\n\n[1] a.txt, page 2: one\n    two\n"


def test_evaluate_turns_an_embedding_failure_into_a_sentence_and_drops_the_tenant(
    committed_db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sentence = "The embedding provider kept failing for model 'x' after 5 attempts; try later."

    def unreachable(_ids: list[int]) -> list[Any]:
        raise TransientEmbeddingError(sentence)

    monkeypatch.setattr(evaluation_run, "process_documents", unreachable)
    dataset = _tiny_beir(tmp_path / "tiny")
    before = set(Tenant.objects.values_list("schema_name", flat=True))
    with pytest.raises(CommandError, match="kept failing") as raised:
        call_command("evaluate", "--dataset", str(dataset), stdout=StringIO())
    assert str(raised.value) == sentence
    assert set(Tenant.objects.values_list("schema_name", flat=True)) == before


def test_evaluate_warns_about_unknown_judgements_and_keep_says_how_to_remove(
    committed_db: None, tmp_path: Path
) -> None:
    dataset = _tiny_beir(tmp_path / "tiny")
    with (dataset / "qrels" / "test.tsv").open("a") as qrels:
        qrels.write("q1\td404\t1\nq9\td1\t1\n")
    before = set(Tenant.objects.values_list("schema_name", flat=True))
    out, err = StringIO(), StringIO()
    call_command("evaluate", "--dataset", str(dataset), "--keep", stdout=out, stderr=err)
    kept = set(Tenant.objects.values_list("schema_name", flat=True)) - before
    try:
        assert len(kept) == 1
        schema = kept.pop()
        assert f"Kept the scratch tenant '{schema}'." in out.getvalue()
        assert (
            f"Remove it with: python manage.py drop_tenant --schema {schema} --noinput"
            in out.getvalue()
        )
        assert "1 queries not in queries.jsonl (1 judgements)" in err.getvalue()
        assert "1 documents not in corpus.jsonl (1 judgements)" in err.getvalue()
        assert "| hybrid  |" in out.getvalue()
    finally:
        for tenant in Tenant.objects.exclude(schema_name__in=before):
            delete_tenant(tenant=tenant)
    assert set(Tenant.objects.values_list("schema_name", flat=True)) == before


def test_evaluate_keep_json_names_the_kept_tenant_on_stderr(
    committed_db: None, tmp_path: Path
) -> None:
    dataset = _tiny_beir(tmp_path / "tiny")
    before = set(Tenant.objects.values_list("schema_name", flat=True))
    out, err = StringIO(), StringIO()
    call_command("evaluate", "--dataset", str(dataset), "--keep", "--json", stdout=out, stderr=err)
    try:
        (schema,) = set(Tenant.objects.values_list("schema_name", flat=True)) - before
        assert set(json.loads(out.getvalue())) == {"lexical", "dense", "hybrid"}  # only JSON
        assert f"drop_tenant --schema {schema} --noinput" in err.getvalue()
    finally:
        for tenant in Tenant.objects.exclude(schema_name__in=before):
            delete_tenant(tenant=tenant)


def test_ask_command_refuses_what_the_api_refuses(make_tenant: Any) -> None:
    make_tenant("asker_strict")
    with pytest.raises(CommandError, match="NUL"):  # was a DataError traceback
        call_command("ask", "--tenant", "asker_strict", "nose\x00cone", stdout=StringIO())
    with pytest.raises(CommandError, match="limit is 2,000"):
        call_command("ask", "--tenant", "asker_strict", "w" * 2001, stdout=StringIO())
    with pytest.raises(CommandError) as missing:
        call_command("ask", "nose cone", stdout=StringIO())
    assert "--all" not in str(missing.value)  # ask has no --all


@pytest.mark.parametrize(
    ("command", "arguments"),
    [("ask", ["--tenant", "x", "--top", "3", "q"]), ("evaluate", ["--dataset", "d", "--k"])],
)
def test_commands_refuse_abbreviated_options(command: str, arguments: list[str]) -> None:
    # `evaluate --k` silently meant --keep, leaving a scratch tenant behind.
    with pytest.raises(CommandError, match="unrecognized arguments"):
        call_command(command, *arguments, stdout=StringIO())

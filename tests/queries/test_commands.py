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

from tenants.models import Tenant
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

"""Retrieval quality on every collection in eval/, beside each collection's reference figures.

    .venv/bin/python bench/quality.py                      # hashing embedder (no model)
    .venv/bin/python bench/quality.py --embedding local    # needs `make install-ml`
    .venv/bin/python bench/quality.py --dataset eval/cacm  # one collection
    .venv/bin/python bench/quality.py --ablation           # each default feature off alone

Runs `manage.py evaluate --json` once per collection (a scratch tenant each: ingest, index,
every judged query in lexical, dense and hybrid mode; docs/evaluation.md), prints nDCG@10,
Recall@100 and MAP@100 per collection and mode and their mean over the collections, with the
reference figures from eval/README.md (BM25, all-MiniLM-L6-v2 dense, and their
reciprocal-rank fusion, ranking whole entries), and writes the table into
docs/benchmarks.md. `--ablation` runs every collection again with each retrieval setting
switched alone (features on by default off, options off by default on), and writes a second
table: what each gains or costs where. Uses DATABASE_URL / REDIS_URL when set, else the
embedded servers.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from report import markdown_table, write_section

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "eval"
METRICS = ("ndcg@10", "recall@100", "map@100")
# Each retrieval feature switched alone against the defaults: off for those on by default,
# on for the options that are off (and why they are: their numbers are in this table).
VARIANTS: dict[str, dict[str, str]] = {
    "word pairs off (QUERY_PHRASE_WEIGHT=0)": {"QUERY_PHRASE_WEIGHT": "0"},
    "IDF-weighted hashing query vectors off (QUERY_DENSE_IDF=false)": {"QUERY_DENSE_IDF": "false"},
    "dense list's share 0.1 (QUERY_DENSE_WEIGHT=0.1)": {"QUERY_DENSE_WEIGHT": "0.1"},
    "dense list's share 0.25 (QUERY_DENSE_WEIGHT=0.25)": {"QUERY_DENSE_WEIGHT": "0.25"},
    "RM3 feedback on (QUERY_LEXICAL_FEEDBACK=true)": {"QUERY_LEXICAL_FEEDBACK": "true"},
    "document expansion on (QUERY_EXPANSION_WEIGHT=0.4)": {"QUERY_EXPANSION_WEIGHT": "0.4"},
    "reciprocal-rank fusion, dense share 0.25 (QUERY_FUSION=rrf)": {
        "QUERY_FUSION": "rrf",
        "QUERY_DENSE_WEIGHT": "0.25",
    },
}
MODES = ("lexical", "dense", "hybrid")


def references() -> dict[str, list[tuple[str, list[str]]]]:
    """collection -> [(method, [nDCG@10, Recall@100, MAP@100])] from eval/README.md."""
    found: dict[str, list[tuple[str, list[str]]]] = {}
    for line in (EVAL / "README.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and re.fullmatch(r"0\.\d+", cells[2]):
            found.setdefault(cells[0], []).append((cells[1], cells[2:]))
    return found


def evaluate(
    dataset: Path, embedding: str | None, env: dict[str, str] | None = None
) -> dict[str, dict[str, float]]:
    command = [sys.executable, "manage.py", "evaluate", "--dataset", str(dataset), "--json"]
    if embedding:
        command += ["--embedding", embedding]
    changed = " ".join(f"{k}={v}" for k, v in (env or {}).items())
    print(f"evaluating {dataset.name} {changed}…", file=sys.stderr, flush=True)
    started = time.monotonic()
    environment = {**os.environ, **(env or {})}
    done = subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"evaluate failed on {dataset}:\n{done.stderr[-2000:]}")
    print(f"  {dataset.name}: {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    result: dict[str, dict[str, float]] = json.loads(done.stdout)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", action="append", type=Path, help="default: every eval/*/")
    parser.add_argument("--embedding", default=None, help="hashing (default), local, openai")
    parser.add_argument("--ablation", action="store_true", help="also each setting switched")
    args = parser.parse_args()
    datasets = args.dataset or sorted(p.parent for p in EVAL.glob("*/corpus.jsonl"))
    scores = {dataset.name: evaluate(dataset, args.embedding) for dataset in datasets}
    refs = references()
    rows: list[list[object]] = []
    for name, result in scores.items():
        rows += [[name, f"platform {mode}", *(f"{result[mode][m]:.3f}" for m in METRICS)]
                 for mode in MODES]  # fmt: skip
        rows += [[name, f"reference: {method}", *values] for method, values in refs.get(name, [])]
    if len(scores) > 1:
        for mode in MODES:
            means = [statistics.mean(r[mode][m] for r in scores.values()) for m in METRICS]
            rows.append(["mean", f"platform {mode}", *(f"{v:.3f}" for v in means)])
    table = markdown_table(["collection", "ranking", "nDCG@10", "Recall@100", "MAP@100"], rows)
    embedder = args.embedding or os.environ.get("EMBEDDING_BACKEND", "hashing")
    notes = (
        f"`manage.py evaluate` with {embedder} embedder, chunked documents collapsed to their "
        "best chunk; references rank whole entries (eval/README.md)."
    )
    print(f"\n{table}")
    section = f"quality-{embedder}"
    write_section(section, f"Retrieval quality ({embedder} embedder)", table, notes=notes)
    if args.ablation:
        ablation(datasets, args.embedding, embedder, scores)
    return 0


def ablation(
    datasets: list[Path],
    embedding: str | None,
    embedder: str,
    defaults: dict[str, dict[str, dict[str, float]]],
) -> None:
    """Each feature switched alone: nDCG@10 per collection and mode, and the change."""
    rows: list[list[object]] = []
    for feature, env in VARIANTS.items():
        off = {dataset.name: evaluate(dataset, embedding, env) for dataset in datasets}
        for name, result in off.items():
            cells = []
            for mode in MODES:
                value, default = result[mode]["ndcg@10"], defaults[name][mode]["ndcg@10"]
                cells += [f"{value:.3f}", f"{value - default:+.3f}"]
            rows.append([feature, name, *cells])
    header = ["variant", "collection", "lexical nDCG@10", "change", "dense nDCG@10", "change",
              "hybrid nDCG@10", "change"]  # fmt: skip
    table = markdown_table(header, rows)
    notes = (
        f"{embedder} embedder. Each row runs `manage.py evaluate` with one setting changed (in "
        "the first column) and the rest at their defaults; the change is this run's nDCG@10 "
        "minus the defaults' (negative: the defaults are better). A feature stays on by default "
        "only if it helps on every collection, or on average without costing any collection "
        "more than 0.005."
    )
    print(f"\n{table}")
    write_section(f"ablation-{embedder}", f"Ablation ({embedder} embedder)", table, notes=notes)


if __name__ == "__main__":
    sys.exit(main())

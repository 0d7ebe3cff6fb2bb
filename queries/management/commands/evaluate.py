"""`manage.py evaluate --dataset DIR [--dataset DIR ...]`: retrieval quality of every search
mode on BEIR datasets.

For each dataset: provisions a scratch tenant, ingests the corpus through the real pipeline,
runs every query in lexical, dense and hybrid modes and scores nDCG@10, Recall@100 and
MAP@100 per mode. The scratch tenant is dropped afterwards, also when something fails or the
run is interrupted, unless `--keep` is given. Prints a table per dataset and, for several,
their mean; `--json` prints one JSON object instead: keyed by mode for one dataset, by
dataset name (and "mean") for several. Warnings and progress bars go to stderr, so `--json`
keeps stdout to the one object.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

from django.core.management.base import CommandError, CommandParser, OutputWrapper
from tqdm import tqdm

from documents.embeddings import EmbeddingError, available_backends
from documents.management.tenant_option import StrictCommand
from queries.evaluation_dataset import BeirDatasetError
from queries.evaluation_run import METRICS, EvaluationReport, mean_scores, run_evaluation
from queries.evaluation_tenant import EvaluationError, EvaluationInterrupted
from search.index import IndexMismatchError

T = TypeVar("T")


class Command(StrictCommand):
    help = "Evaluate lexical, dense and hybrid search on a BEIR-layout dataset."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dataset", required=True, action="append", metavar="DIR", help="repeat for several"
        )
        parser.add_argument(
            "--split", default="test", help="qrels file to score: qrels/SPLIT.tsv (default test)"
        )
        parser.add_argument("--embedding", choices=available_backends(), default=None)
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--keep", action="store_true", help="keep the scratch tenant")
        parser.add_argument(
            "--ignore-identical-ids",
            action="store_true",
            help="drop a hit whose id equals the query id, as BEIR does by default",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        datasets = [Path(d).expanduser() for d in options["dataset"]]
        names = [d.resolve().name for d in datasets]
        if len(set(names)) != len(names):
            raise CommandError("Two --dataset folders have the same name; give each once.")
        reports = {
            name: self._evaluate(d, options) for name, d in zip(names, datasets, strict=True)
        }
        scores = {name: report.scores for name, report in reports.items()}
        if len(scores) > 1:
            scores["mean"] = mean_scores(list(scores.values()))
        if options["json"]:
            single = len(reports) == 1
            self.stdout.write(
                json.dumps(scores[names[0]] if single else scores, indent=2, sort_keys=True)
            )
            return
        for name, table in scores.items():
            if name in reports:
                self.stdout.write(self._summary(name, reports[name]))
            else:
                self.stdout.write(f"mean over {len(reports)} datasets")
            self._write_table(table)

    def _evaluate(self, dataset: Path, options: dict[str, Any]) -> EvaluationReport:
        quiet = options["verbosity"] == 0

        def progress(items: Iterable[T], label: str, total: int) -> Iterable[T]:
            # tqdm writes to sys.stderr: --json output on stdout stays one object.
            return tqdm(
                items, desc=f"{dataset.name}: {label}", total=total, unit="item", disable=quiet
            )

        try:
            report = run_evaluation(
                dataset,
                split=options["split"],
                embedding=options["embedding"],
                keep=options["keep"],
                progress=progress,
                warn=lambda message: self.stderr.write(message),
                ignore_identical_ids=options["ignore_identical_ids"],
            )
        except EvaluationInterrupted as exc:
            raise CommandError(str(exc), returncode=130) from None
        except KeyboardInterrupt:  # before the scratch tenant existed
            raise CommandError("Interrupted; nothing was scored.", returncode=130) from None
        except (BeirDatasetError, EvaluationError, EmbeddingError, IndexMismatchError) as exc:
            # Known failures carry a sentence; the scratch tenant is already dropped.
            raise CommandError(str(exc)) from exc
        if options["json"] and not quiet:  # stdout stays one JSON object; the rest to stderr
            self.stderr.write(self._summary(dataset.resolve().name, report))
        if options["keep"]:
            self._say_kept(report.schema, self.stderr if options["json"] else self.stdout)
        return report

    @staticmethod
    def _summary(name: str, report: EvaluationReport) -> str:
        return (
            f"{name}: {report.documents} documents, {report.chunks} chunks, "
            f"{report.queries} judged queries, embedder {report.embedder}"
            + (f", {report.skipped} corpus entries skipped" if report.skipped else "")
        )

    def _write_table(self, scores: dict[str, dict[str, float]]) -> None:
        self.stdout.write(f"| mode    | {' | '.join(f'{m:>10}' for m in METRICS)} |")
        self.stdout.write(f"|---------|{'|'.join('-' * 12 for _ in METRICS)}|")
        for mode, values in scores.items():
            cells = " | ".join(f"{values[m]:>10.3f}" for m in METRICS)
            self.stdout.write(f"| {mode:<7} | {cells} |")

    @staticmethod
    def _say_kept(schema: str, out: OutputWrapper) -> None:
        out.write(f"Kept the scratch tenant '{schema}'.")
        out.write(f"Remove it with: python manage.py drop_tenant --schema {schema} --noinput")

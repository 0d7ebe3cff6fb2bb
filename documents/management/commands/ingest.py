"""`manage.py ingest --tenant S PATH [PATH ...]`: upload files or folders from the shell.

Files go through the same validation and pipeline as the API. By default they are queued
for the Celery workers and the command waits for them; `--sync` processes them in this
process instead (no worker needed). Exits with status 1 listing every file that failed.

In folders, hidden files and folders (names starting with '.') are skipped, and symbolic
links are followed only when they point inside the folder given.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django_tenants.utils import tenant_context
from tqdm import tqdm

from config import workers
from documents import services
from documents.errors import DocumentError, DuplicateDocument
from documents.management.tenant_option import (
    StrictCommand,
    add_tenant_arguments,
    selected_tenants,
)
from documents.models import Document, DocumentStatus
from documents.pipeline import process_documents

UPLOAD_BATCH = 100
# Seconds to wait, with no document leaving `pending`, before suggesting a worker is missing.
NO_WORKER_HINT_AFTER = 30.0
NO_WORKER_HINT = (
    "No worker has started on these documents yet; is a Celery worker running (see README), "
    "or use --sync to process them here?"
)


@dataclass
class Collected:
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # one line per file or link skipped
    hidden: int = 0


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _collect_folder(folder: Path, found: Collected) -> list[Path]:
    root = folder.resolve()
    files: list[Path] = []
    for current, dirnames, filenames in os.walk(folder, followlinks=False):
        here = Path(current)
        for name in sorted(dirnames):
            # Links inside the folder are not walked either: their files are listed already.
            if _skipped(here / name, root, folder, found):
                dirnames.remove(name)
        for name in filenames:
            path = here / name
            if not _skipped(path, root, folder, found) and path.is_file():
                files.append(path)
    return sorted(files)


def _skipped(path: Path, root: Path, folder: Path, found: Collected) -> bool:
    """Whether `path` is hidden or a link out of the folder (counted or noted in `found`)."""
    if path.name.startswith("."):
        found.hidden += 1
        return True
    if path.is_symlink() and not _inside(path.resolve(), root):
        target = path.resolve()
        found.notes.append(f"Skipped {path}: a symbolic link to {target}, outside {folder}.")
        return True
    return False


def collect_files(paths: list[str]) -> Collected:
    """The files to upload, each once, in order; folders are searched recursively."""
    found = Collected()
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            hidden_before = found.hidden
            files = _collect_folder(path, found)
            if not files:
                hidden = found.hidden - hidden_before
                extra = f" ({hidden} hidden file(s) or folder(s) skipped)" if hidden else ""
                raise CommandError(f"No files found in {raw}{extra}.")
        elif path.is_file():
            files = [path]
        else:
            raise CommandError(f"No file or folder at {raw}.")
        for file in files:
            real = file.resolve()
            if real not in seen:  # the same file given twice is uploaded once
                seen.add(real)
                found.files.append(file)
    return found


def _reason(error: DocumentError, this_run: Collection[int]) -> str:
    if isinstance(error, DuplicateDocument):
        existing_id = error.extra.get("existing_id")
        existing = error.extra.get("existing_filename")
        if existing_id in this_run:
            return (
                f"It has the same content as '{existing}', uploaded earlier in this run; "
                "use --allow-duplicate to upload it again."
            )
        return (
            f"This file was already uploaded as '{existing}' (document {existing_id}); "
            "use --allow-duplicate to upload it again."
        )
    return error.message


@dataclass
class _Outcome:
    ready: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    queued: list[str] = field(default_factory=list)

    def read(self, ids: dict[int, str]) -> None:
        """Sort the uploaded documents by their state now."""
        rows = Document.objects.filter(pk__in=list(ids)).values_list("pk", "status", "error")
        for pk, status, error in sorted(rows):
            if status == DocumentStatus.READY:
                self.ready += 1
            elif status == DocumentStatus.PENDING:
                self.queued.append(ids[pk])
            elif status == DocumentStatus.PROCESSING:
                reason = "still processing when the wait ended; a worker finishes it."
                self.failures.append((ids[pk], reason))
            else:
                self.failures.append((ids[pk], error or f"{status}."))


class Command(StrictCommand):
    help = "Ingest files or folders into a tenant, with a progress bar."

    def add_arguments(self, parser: CommandParser) -> None:
        add_tenant_arguments(parser, allow_all=False)
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--sync", action="store_true", help="process here, not in workers")
        parser.add_argument("--allow-duplicate", action="store_true")
        parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = selected_tenants(options, allow_all=False)[0]
        if not options["timeout"] > 0:
            raise CommandError(
                f"--timeout must be a positive number of seconds, not {options['timeout']:g}."
            )
        collected = collect_files(options["paths"])
        for note in collected.notes:
            self.stderr.write(note)
        quiet = options["verbosity"] == 0
        outcome = _Outcome()
        with tenant_context(tenant):
            ids = self._upload_all(collected.files, options, outcome, quiet)
            if options["sync"]:
                self._process_here(list(ids), quiet)
            elif ids:
                self._wait(ids, options["timeout"], quiet)
            outcome.read(ids)
        self._report(outcome, tenant.schema_name, len(collected.files), collected.hidden)

    def _upload_all(
        self, files: list[Path], options: dict[str, Any], outcome: _Outcome, quiet: bool
    ) -> dict[int, str]:
        ids: dict[int, str] = {}
        with tqdm(total=len(files), desc="uploading", unit="file", disable=quiet) as bar:
            for start in range(0, len(files), UPLOAD_BATCH):
                batch = files[start : start + UPLOAD_BATCH]
                accepted, rejected = self._upload(batch, options)
                ids.update({d.pk: str(path) for d, path in accepted})
                outcome.failures.extend((str(p), _reason(error, ids)) for p, error in rejected)
                bar.update(len(batch))
        return ids

    def _process_here(self, pending: list[int], quiet: bool) -> None:
        with tqdm(total=len(pending), desc="processing", unit="doc", disable=quiet) as bar:
            for start in range(0, len(pending), 32):
                process_documents(pending[start : start + 32])
                bar.update(len(pending[start : start + 32]))

    def _report(self, outcome: _Outcome, schema: str, total: int, hidden: int) -> None:
        summary = f"{outcome.ready} of {total} files ingested into {schema}."
        if hidden:
            summary += f" Skipped {hidden} hidden file(s) or folder(s) (names starting with '.')."
        self.stdout.write(summary)
        for name in outcome.queued:
            self.stderr.write(f"QUEUED {name}")
        if outcome.queued:
            self.stderr.write(
                f"{len(outcome.queued)} file(s) are stored and stay queued; they will be "
                "processed when a Celery worker runs (see README)."
            )
        for name, reason in outcome.failures:
            self.stderr.write(f"FAILED {name}: {reason}")
        if outcome.failures or outcome.queued:
            parts = [f"{len(outcome.failures)} file(s) failed"] if outcome.failures else []
            parts += [f"{len(outcome.queued)} file(s) still queued"] if outcome.queued else []
            raise CommandError(f"{', '.join(parts)}.", returncode=1)

    def _upload(
        self, paths: list[Path], options: dict[str, Any]
    ) -> tuple[list[tuple[Document, Path]], list[tuple[Path, DocumentError]]]:
        with ExitStack() as stack:
            uploads = [
                services.Upload(stack.enter_context(p.open("rb")), p.name, p.stat().st_size)
                for p in paths
            ]
            accepted, rejected = services.create_documents(
                uploads=uploads,
                uploaded_by=None,
                allow_duplicate=options["allow_duplicate"],
                enqueue=not options["sync"],
            )
        refused = {r.position: r.error for r in rejected}
        # Accepted documents come back in the order of the uploads that were not refused.
        kept = [p for i, p in enumerate(paths) if i not in refused]
        return (
            list(zip(accepted, kept, strict=True)),
            [(paths[i], error) for i, error in sorted(refused.items())],
        )

    def _worker_problem(self) -> str | None:
        """The registry's sentence when no live worker takes an ingestion queue, else None."""
        try:
            problem = workers.problem()
        except Exception:  # Redis unreadable: fall back to the hint after a quiet wait
            return None
        return (
            f"{problem} Start one with `celery -A config worker`, or use --sync."
            if problem
            else None
        )

    def _wait(self, ids: dict[int, str], timeout: float, quiet: bool) -> None:
        started = time.monotonic()
        deadline = started + timeout
        final = [DocumentStatus.READY, DocumentStatus.FAILED]
        problem = self._worker_problem()
        if problem:
            self.stderr.write(problem)
        hinted = problem is not None
        with tqdm(total=len(ids), desc="processing", unit="doc", disable=quiet) as bar:
            done = 0
            while done < len(ids) and time.monotonic() < deadline:
                done = Document.objects.filter(pk__in=list(ids), status__in=final).count()
                bar.update(done - bar.n)
                if not hinted and time.monotonic() - started >= NO_WORKER_HINT_AFTER:
                    hinted = True
                    still = Document.objects.filter(pk__in=list(ids))
                    if not still.exclude(status=DocumentStatus.PENDING).exists():
                        bar.clear()
                        self.stderr.write(NO_WORKER_HINT)
                        bar.refresh()
                if done < len(ids):
                    time.sleep(0.5)

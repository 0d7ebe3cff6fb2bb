"""`manage.py ingest --tenant S PATH [PATH ...]`: upload files or folders from the shell.

Files go through the same validation and pipeline as the API. By default they are queued
for the Celery workers and the command waits for them; `--sync` processes them in this
process instead (no worker needed). Exits with status 1 listing every file that failed.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context
from tqdm import tqdm

from documents import services
from documents.management.tenant_option import add_tenant_arguments, selected_tenants
from documents.models import Document, DocumentStatus
from documents.pipeline import process_documents

UPLOAD_BATCH = 100


def collect_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise CommandError(f"No file or folder at {raw}.")
    return files


class Command(BaseCommand):
    help = "Ingest files or folders into a tenant, with a progress bar."

    def add_arguments(self, parser: CommandParser) -> None:
        add_tenant_arguments(parser, allow_all=False)
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--sync", action="store_true", help="process here, not in workers")
        parser.add_argument("--allow-duplicate", action="store_true")
        parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = selected_tenants(options)[0]
        files = collect_files(options["paths"])
        quiet = options["verbosity"] == 0
        failures: list[tuple[str, str]] = []
        ids: dict[int, str] = {}
        with tenant_context(tenant):
            with tqdm(total=len(files), desc="uploading", unit="file", disable=quiet) as bar:
                for start in range(0, len(files), UPLOAD_BATCH):
                    batch = files[start : start + UPLOAD_BATCH]
                    accepted, rejected = self._upload(batch, options)
                    ids.update({d.pk: str(path) for d, path in accepted})
                    failures.extend((name, r.error.message) for name, r in rejected)
                    bar.update(len(batch))
            if options["sync"]:
                pending = list(ids)
                with tqdm(total=len(pending), desc="processing", unit="doc", disable=quiet) as bar:
                    for start in range(0, len(pending), 32):
                        process_documents(pending[start : start + 32])
                        bar.update(len(pending[start : start + 32]))
            else:
                self._wait(ids, options["timeout"], quiet)
            rows = Document.objects.filter(pk__in=list(ids)).values_list("pk", "status", "error")
            ready = 0
            for pk, status, error in rows:
                if status == DocumentStatus.READY:
                    ready += 1
                else:
                    failures.append((ids[pk], error or f"still {status} when the wait ended"))
        self.stdout.write(f"{ready} of {len(files)} files ingested into {tenant.schema_name}.")
        if failures:
            for name, reason in failures:
                self.stderr.write(f"FAILED {name}: {reason}")
            raise CommandError(f"{len(failures)} file(s) failed.", returncode=1)

    def _upload(
        self, paths: list[Path], options: dict[str, Any]
    ) -> tuple[list[tuple[Document, Path]], list[tuple[str, services.Rejection]]]:
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
        by_name = {p.name: p for p in paths}
        return (
            [(d, by_name.get(d.filename, Path(d.filename))) for d in accepted],
            [(str(by_name.get(r.name, r.name)), r) for r in rejected],
        )

    def _wait(self, ids: dict[int, str], timeout: float, quiet: bool) -> None:
        deadline = time.monotonic() + timeout
        final = [DocumentStatus.READY, DocumentStatus.FAILED]
        with tqdm(total=len(ids), desc="processing", unit="doc", disable=quiet) as bar:
            done = 0
            while done < len(ids) and time.monotonic() < deadline:
                done = Document.objects.filter(pk__in=list(ids), status__in=final).count()
                bar.update(done - bar.n)
                if done < len(ids):
                    time.sleep(0.5)

"""`manage.py backup --to DEST [--tenant SCHEMA] [--with-indexes] [--keep N|Nd]`.

DEST is a directory or `s3://bucket/prefix`. The whole platform (every schema, the stored
files, optionally the index files) or one tenant; a manifest with checksums. Progress on
stderr, one summary line at the end: name, size, time, where. docs/operations.md "Backups".
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import connection

from documents.management.tenant_option import StrictCommand
from operators.backups import destinations, history
from operators.backups.create import backup, prune
from operators.backups.postgres import BackupError
from operators.models import BackupRecord


def _retention(keep: str) -> str:
    """--keep checked before anything is dumped: a count of at least 1, or days (14d)."""
    count = keep[:-1] if keep.endswith("d") else keep
    if keep and not (count.isdigit() and int(count) >= 1):
        raise BackupError(
            f"--keep {keep}: give how many backups to keep (at least 1, e.g. 7) or for how "
            "many days (e.g. 14d). Nothing was backed up."
        )
    return keep


class Command(StrictCommand):
    help = "Back up the whole platform, or one tenant, to a directory or an S3 bucket."

    def execute(self, *args: Any, **options: Any) -> str | None:
        if BackupRecord._meta.db_table not in connection.introspection.table_names():
            raise CommandError(
                "The database lacks this version's tables: run `python manage.py "
                "migrate_schemas` (or `make run` once), then back up."
            )
        return super().execute(*args, **options)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--to", required=True, help="a directory or s3://bucket/prefix")
        parser.add_argument("--tenant", help="only this tenant's schema and files")
        parser.add_argument(
            "--with-indexes", action="store_true", help="include the (rebuildable) index files"
        )
        parser.add_argument(
            "--keep", default="",
            help="afterwards, delete older backups of the same kind there: keep a count (7) "
            "or the last days (14d)",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        quiet = options["verbosity"] == 0
        progress = (lambda _: None) if quiet else (lambda step: self.stderr.write(f"… {step}"))
        try:
            keep = _retention(str(options["keep"] or ""))
            destination = destinations.parse(options["to"])
            made = history.recorded(
                lambda: backup(
                    destination,
                    tenant=options["tenant"],
                    with_indexes=options["with_indexes"],
                    progress=progress,
                ),
                kind="tenant" if options["tenant"] else "platform",
                tenant=options["tenant"] or "",
                destination=options["to"],
            )
            pruned = prune(destination, keep, tenant=options["tenant"]) if keep else []
        except BackupError as exc:
            raise CommandError(exc.message) from exc
        for name in pruned:
            progress(f"deleted the older backup {name}")
        missing = made.manifest["missing_files"]
        if missing:
            self.stderr.write(
                f"Note: {len(missing)} stored file(s) were deleted with their documents while "
                "the backup ran; the restored documents will lack them."
            )
        self.stdout.write(
            f"Backed up {made.name}: {made.size / 1e6:,.1f} MB in {made.seconds:.1f} s "
            f"to {made.where}"
        )

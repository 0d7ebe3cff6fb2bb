"""`manage.py restore --from SRC [--tenant SCHEMA [--as NEW_SCHEMA] [--domain D]] [--force]
[--noinput]`.

SRC is the backup `manage.py backup` printed (a folder, or its s3:// address). Without
--tenant: the whole platform, into an empty database (or --force), then migrations and
index rebuilds; with --tenant: that tenant alone into the running platform, replacing it
(after confirmation) or as a new tenant with --as. docs/operations.md "Backups".
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from operators.backups.postgres import BackupError
from operators.backups.restore import restore_platform, restore_tenant
from tenants.models import Domain


class Command(BaseCommand):
    help = "Restore the whole platform, or one tenant, from a backup."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="source", required=True, help="the backup's location")
        parser.add_argument("--tenant", help="restore only this tenant")
        parser.add_argument("--as", dest="as_schema", help="restore the tenant as a new one")
        parser.add_argument("--domain", help="the new tenant's domain (with --as)")
        parser.add_argument(
            "--force", action="store_true", help="replace a database that is not empty"
        )
        parser.add_argument(
            "--noinput", "--no-input", action="store_false", dest="interactive",
            help="do not ask for confirmation",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        quiet = options["verbosity"] == 0
        progress = (lambda _: None) if quiet else (lambda step: self.stderr.write(f"… {step}"))
        interactive = options["interactive"]
        if (options["as_schema"] or options["domain"]) and not options["tenant"]:
            raise CommandError("--as and --domain restore one tenant: add --tenant SCHEMA.")
        try:
            if options["tenant"]:
                done = restore_tenant(
                    options["source"],
                    tenant=options["tenant"],
                    as_schema=options["as_schema"],
                    domain=options["domain"],
                    confirm=lambda question: self._confirm(question, interactive),
                    progress=progress,
                )
            else:
                done = restore_platform(
                    options["source"],
                    force=options["force"],
                    confirm=lambda question: self._confirm(question, interactive),
                    progress=progress,
                )
        except BackupError as exc:
            raise CommandError(exc.message) from exc
        if done.missing_files:
            self.stderr.write(
                f"Note: {len(done.missing_files)} stored file(s) were not in the backup (their "
                "documents were deleted while it ran); those documents have no file."
            )
        hosts = [
            d.domain
            for d in Domain.objects.filter(tenant__schema_name__in=done.schemas, is_primary=True)
        ]
        where = f"; it answers at {', '.join(hosts)}" if options.get("tenant") and hosts else ""
        self.stdout.write(
            f"Restored {', '.join(done.schemas) or 'the platform'} in {done.seconds:.1f} s "
            f"(the recovery time){where}."
        )

    def _confirm(self, question: str, interactive: bool) -> None:
        if not interactive:
            return
        try:
            answer = input(f"{question} Type 'yes' to go on: ")
        except (EOFError, OSError):  # stdin closed, or not readable (no terminal)
            raise CommandError(
                "Nothing was restored: there is no terminal to confirm on; add --noinput to "
                "restore without asking."
            ) from None
        if answer.strip().lower() != "yes":
            raise CommandError("Nothing was restored.")

"""`manage.py usage_report --month 2026-11 [--tenant SCHEMA] [--csv]`: a month per tenant.

Reads the rollup rows (`rollup_usage` backfills missing days). A table for people, or CSV
(one line per tenant, the columns of operators/usage_report.MonthUsage) for billing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.template.defaultfilters import filesizeformat

from documents.management.tenant_option import StrictCommand
from operators.usage_report import MonthError, MonthUsage, month_csv, month_usage, parse_month

_HEADER = (
    f"{'tenant':<24} {'days':>4} {'searches':>9} {'asks':>7} {'failed':>6} {'tokens':>11} "
    f"{'cost USD':>10} {'documents':>9} {'storage':>10}"
)


def _line(u: MonthUsage) -> str:
    tokens = u.prompt_tokens + u.completion_tokens + u.embedding_tokens
    return (
        f"{u.tenant_schema:<24} {u.days:>4} {u.searches:>9,} {u.asks:>7,} "
        f"{u.failed_queries:>6,} {tokens:>11,} {u.cost_usd:>10.4f} {u.documents:>9,} "
        f"{filesizeformat(u.peak_stored_bytes):>10}"
    )


class Command(StrictCommand):
    help = "Usage and estimated cost per tenant for one month, as a table or CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, help="the month, YYYY-MM")
        parser.add_argument("--tenant", metavar="SCHEMA", default="", help="only this tenant")
        parser.add_argument("--csv", action="store_true", help="CSV for billing instead")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            first, last = parse_month(options["month"])
            lines = month_usage(options["month"], schema=options["tenant"])
        except MonthError as exc:
            raise CommandError(str(exc)) from None
        if options["csv"]:
            self.stdout.write(month_csv(lines), ending="")
            return
        if not lines:
            self.stdout.write(
                f"No usage rows for {options['month']}: run `python manage.py rollup_usage "
                f"--since {first} --until {last}` if the month has not been rolled up."
            )
            return
        self.stdout.write(f"Usage {first} to {last} (UTC days; cost is an estimate)")
        self.stdout.write(_HEADER)
        for line in lines:
            self.stdout.write(_line(line))
        total = sum((u.cost_usd for u in lines), start=lines[0].cost_usd * 0)
        self.stdout.write(f"{len(lines)} tenant(s), estimated cost {total:.4f} USD in all.")

"""`manage.py rollup_usage [--since DATE] [--until DATE] [--tenant SCHEMA]`.

Writes one usage row per tenant and UTC day (operators/usage.py); re-running a day replaces
its row, so backfilling past days is safe. Without --since: yesterday and today, as the
hourly beat task does."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import CommandError, CommandParser

from documents.management.tenant_option import StrictCommand
from operators import usage
from tenants.models import Tenant


def _date(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{option} {text!r}: write the day as YYYY-MM-DD.") from None


class Command(StrictCommand):
    help = "Roll usage up into one row per tenant and day (for the admin and billing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="first day, YYYY-MM-DD (default: yesterday)")
        parser.add_argument("--until", help="last day, YYYY-MM-DD (default: today, UTC)")
        parser.add_argument("--tenant", metavar="SCHEMA", help="only this tenant")

    def handle(self, *args: Any, **options: Any) -> None:
        today = usage.today()
        last = _date(options["until"], "--until") if options["until"] else today
        first = _date(options["since"], "--since") if options["since"] else today - dt.timedelta(1)
        if last > today:
            raise CommandError(f"--until {last}: that day has not come yet (today is {today}).")
        if first > last:
            raise CommandError(f"--since {first} comes after --until {last}.")
        tenants = self._tenants(options["tenant"])
        days = (last - first).days + 1
        total = usage.RollupOutcome()
        for number, tenant in enumerate(tenants, start=1):
            if options["verbosity"] > 1 or len(tenants) > 1:
                self.stderr.write(f"… {tenant.schema_name} ({number}/{len(tenants)})")
            done = usage.rollup(first, last, tenants=[tenant])
            total.rows += done.rows
            total.tenants += done.tenants
            total.failures.update(done.failures)
        for schema, reason in total.failures.items():
            self.stderr.write(self.style.ERROR(f"{schema}: not rolled up ({reason})."))
        self.stdout.write(
            f"Rolled up {days} day(s) ({first} to {last}) for {total.tenants} tenant(s): "
            f"{total.rows} row(s) written (one per tenant and day it existed)."
        )
        if total.failures:
            raise CommandError(f"{len(total.failures)} tenant(s) failed; see the lines above.")

    def _tenants(self, schema: str | None) -> list[Tenant]:
        tenants = Tenant.objects.exclude(schema_name="public").order_by("schema_name")
        if schema:
            tenants = tenants.filter(schema_name=schema)
            if not tenants.exists():
                raise CommandError(f"There is no tenant with the schema {schema!r}.")
        return list(tenants)

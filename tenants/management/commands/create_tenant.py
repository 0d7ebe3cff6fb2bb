"""`manage.py create_tenant --schema S --name N [--domain D] --admin-email E [--time-zone Z]`."""

from __future__ import annotations

import secrets
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.plans import DEFAULT_PLAN, PLANS
from tenants.services import ProvisioningError, default_domain, provision_tenant
from tenants.time_zones import DEFAULT_TIME_ZONE


class Command(BaseCommand):
    help = "Provision a tenant: schema (cloned from the template), domain and first admin user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--schema", required=True, help="schema name, e.g. acme")
        parser.add_argument("--name", required=True, help="company name shown in the dashboard")
        parser.add_argument(
            "--domain", default="",
            help="host name, e.g. acme.example.com (default: <schema>.<TENANT_BASE_DOMAIN>)",
        )  # fmt: skip
        parser.add_argument("--admin-email", required=True)
        parser.add_argument(
            "--admin-password", default="", help="generated and printed when omitted"
        )
        parser.add_argument("--plan", default=DEFAULT_PLAN, choices=sorted(PLANS))
        parser.add_argument(
            "--time-zone",
            default=DEFAULT_TIME_ZONE,
            help="IANA name analytics count days in, e.g. Europe/Berlin (default: UTC)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = options["admin_password"] or secrets.token_urlsafe(12)
        try:
            result = provision_tenant(
                schema_name=options["schema"],
                name=options["name"],
                domain=options["domain"] or default_domain(options["schema"]),
                admin_email=options["admin_email"],
                admin_password=password,
                plan=options["plan"],
                time_zone=options["time_zone"],
            )
        except ProvisioningError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Tenant '{result.tenant.schema_name}' is ready at {result.domain.domain} "
                f"({result.seconds * 1000:.0f} ms)."
            )
        )
        self.stdout.write(f"Time zone: {result.tenant.time_zone}")
        self.stdout.write(f"Admin login: {result.admin_email}")
        if not options["admin_password"]:
            self.stdout.write(f"Admin password: {password}")

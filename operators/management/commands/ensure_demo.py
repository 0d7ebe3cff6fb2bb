"""Create (once) the demo tenant and an operator login for `make run`, and print the logins.

Passwords are generated on first run and kept in VAR_DIR/demo-logins.json (mode 0600), so
re-running `make run` prints the same, still-valid logins.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django_tenants.utils import schema_context

from accounts.models import User
from tenants.models import Tenant
from tenants.services import provision_tenant


def _logins_file() -> Path:
    return Path(settings.VAR_DIR) / "demo-logins.json"


def _load() -> dict[str, str]:
    path = _logins_file()
    if path.exists():
        data: dict[str, str] = json.loads(path.read_text())
        return data
    return {}


def _save(data: dict[str, str]) -> None:
    path = _logins_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)


class Command(BaseCommand):
    help = "Ensure the demo tenant and an operator account exist; print their logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--schema", default="demo")
        parser.add_argument("--port", default="8000")

    def handle(self, *args: Any, **options: Any) -> None:
        schema = options["schema"]
        domain = f"{schema}.{settings.TENANT_BASE_DOMAIN}"
        logins = _load()
        demo_email = f"admin@{schema}.example.com"
        operator_email = "operator@example.com"

        demo_password = logins.get("demo_password") or secrets.token_urlsafe(10)
        if not Tenant.objects.filter(schema_name=schema).exists():
            provision_tenant(
                schema_name=schema,
                name="Demo Company",
                domain=domain,
                admin_email=demo_email,
                admin_password=demo_password,
            )
        else:
            with schema_context(schema):
                self._ensure_user(demo_email, demo_password, superuser=False)

        operator_password = logins.get("operator_password") or secrets.token_urlsafe(10)
        self._ensure_user(operator_email, operator_password, superuser=True)
        _save({"demo_password": demo_password, "operator_password": operator_password})

        port = options["port"]
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("DI Platform is starting."))
        self.stdout.write(f"  Dashboard : http://{domain}:{port}/")
        self.stdout.write(f"              log in as {demo_email} / {demo_password}")
        self.stdout.write(f"  API       : http://{domain}:{port}/api/v1/")
        self.stdout.write(f"  Admin     : http://{settings.PUBLIC_DOMAIN}:{port}/admin/")
        self.stdout.write(f"              log in as {operator_email} / {operator_password}")

    def _ensure_user(self, email: str, password: str, *, superuser: bool) -> None:
        user = User.objects.filter(email=email).first()
        if user is None:
            if superuser:
                User.objects.create_superuser(email, password, full_name="Operator")
            else:
                User.objects.create_user(email, password, role="owner")
            return
        if not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])

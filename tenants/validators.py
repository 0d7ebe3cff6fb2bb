"""Validation of tenant schema names and domains, with errors people can act on."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

SCHEMA_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,46}$")
# Schemas PostgreSQL or the platform use for themselves.
RESERVED_SCHEMA_NAMES = frozenset(
    {
        "public",
        "information_schema",
        "tenant_template",
        "admin",
        "api",
        "www",
        "static",
        "media",
        "health",
        "default",
        "template",
        "postgres",
    }
)
DOMAIN_RE = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


def validate_schema_name(value: str) -> None:
    if value in RESERVED_SCHEMA_NAMES or value.startswith("pg_"):
        raise ValidationError(
            f"The schema name '{value}' is reserved; choose another, e.g. 'acme'.",
            code="reserved",
        )
    if not SCHEMA_NAME_RE.match(value):
        raise ValidationError(
            f"The schema name '{value}' is not valid: use 2-47 lowercase letters, digits or "
            "underscores, starting with a letter (e.g. 'acme' or 'acme_eu').",
            code="invalid",
        )


def validate_domain(value: str) -> None:
    if not DOMAIN_RE.match(value):
        raise ValidationError(
            f"The domain '{value}' is not a valid host name (e.g. 'acme.example.com').",
            code="invalid_domain",
        )

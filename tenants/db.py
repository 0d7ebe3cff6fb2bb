"""Typed access to the schema-switching methods django-tenants adds to the DB connection."""

from __future__ import annotations

from typing import Protocol, cast

from django.db import connection
from django_tenants.models import TenantMixin


class _TenantAwareConnection(Protocol):
    schema_name: str

    def set_schema_to_public(self) -> None: ...

    def set_tenant(self, tenant: TenantMixin, include_public: bool = True) -> None: ...


def _conn() -> _TenantAwareConnection:
    return cast(_TenantAwareConnection, connection)


def current_schema() -> str:
    """The schema the default connection currently points at."""
    return _conn().schema_name


def use_public_schema() -> None:
    _conn().set_schema_to_public()


def current_tenant() -> TenantMixin | None:
    """The tenant the connection is set to (None in the public schema)."""
    tenant = getattr(connection, "tenant", None)
    if tenant is None or getattr(tenant, "schema_name", "public") == "public":
        return None
    return cast(TenantMixin, tenant)

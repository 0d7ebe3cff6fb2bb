from __future__ import annotations

from typing import Any

from django.db import models
from django_tenants.models import DomainMixin, TenantMixin

from tenants.plans import DEFAULT_PLAN, PLAN_CHOICES, Plan, get_plan
from tenants.time_zones import DEFAULT_TIME_ZONE, validate_time_zone
from tenants.validators import validate_schema_name


class Tenant(TenantMixin):
    """A customer company; its data lives in the PostgreSQL schema `schema_name`."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=63, unique=True)
    plan = models.CharField(max_length=32, choices=PLAN_CHOICES, default=DEFAULT_PLAN)
    is_active = models.BooleanField(default=True)
    # No model-level choices: the names come from the embedder registry (documents.embeddings),
    # which tenants may not import (import layers); the operators admin form offers and
    # checks them, as do the documents commands that use the name.
    embedding_backend = models.CharField(
        max_length=32,
        blank=True,
        help_text="Blank: the platform default (EMBEDDING_BACKEND). After a change, run "
        "`manage.py reindex --tenant <schema>` (or the admin's reindex action).",
    )
    time_zone = models.CharField(
        max_length=64,
        default=DEFAULT_TIME_ZONE,
        validators=[validate_time_zone],
        help_text="IANA name, e.g. Europe/Berlin: analytics count calendar days in this zone.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Schemas are created by tenants.services.provision_tenant (cloned from a template).
    auto_create_schema = False
    auto_drop_schema = True

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.schema_name})"

    def clean(self) -> None:
        super().clean()
        # Empty: the form field's own "required" error says it; a second one would be noise.
        if self.schema_name and self.schema_name != "public":
            validate_schema_name(self.schema_name)

    @property
    def limits(self) -> Plan:
        return get_plan(self.plan)


def normalise_domain(value: str) -> str:
    """A host name as routing looks it up: lower-case, without surrounding blanks or final dot."""
    return value.strip().rstrip(".").lower()


class Domain(DomainMixin):
    """A host name routed to a tenant (e.g. acme.example.com), stored lower-case."""

    domain: str  # DomainMixin's field, declared for mypy: django-tenants ships no types

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain

    def clean(self) -> None:
        # Before validate_unique, so "Acme.example.com" is a duplicate of "acme.example.com".
        super().clean()
        self.domain = normalise_domain(self.domain)

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.domain = normalise_domain(self.domain)
        super().save(*args, **kwargs)


class OperatorAction(models.Model):
    """An audit record of something an operator did in admin (who, what, to which tenant, when)."""

    operator = models.CharField(max_length=254, help_text="The operator's email.")
    action = models.CharField(max_length=64)
    # A string as well as the link: the record must outlive a deleted tenant.
    tenant_schema = models.CharField(max_length=63, blank=True)
    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.SET_NULL, related_name="operator_actions"
    )
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.operator} {self.action} {self.tenant_schema}".strip()

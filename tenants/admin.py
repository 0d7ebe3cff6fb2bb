"""Operator admin for tenants. Creating a tenant runs the same provisioning service as the CLI."""

from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from tenants.models import Domain, Tenant
from tenants.plans import DEFAULT_PLAN
from tenants.services import ProvisioningError, provision_tenant, set_tenant_active
from tenants.validators import validate_domain, validate_schema_name


class TenantCreationForm(forms.ModelForm):
    domain = forms.CharField(
        max_length=253, validators=[validate_domain], help_text="Host name, e.g. acme.example.com"
    )
    admin_email = forms.EmailField(help_text="The tenant's first administrator (owner).")
    admin_password = forms.CharField(
        required=False,
        widget=forms.PasswordInput,
        help_text="Leave blank to generate one; it is shown once after saving.",
    )

    class Meta:
        model = Tenant
        fields = ["schema_name", "name", "plan"]

    def clean_schema_name(self) -> str:
        value = str(self.cleaned_data["schema_name"]).strip()
        validate_schema_name(value)
        return value


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "schema_name", "plan", "is_active", "primary_domain", "created_at"]
    list_filter = ["plan", "is_active"]
    search_fields = ["name", "schema_name", "domains__domain"]
    actions = ["deactivate", "reactivate"]
    inlines = [DomainInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        return (
            super().get_queryset(request).exclude(schema_name="public").prefetch_related("domains")
        )

    @admin.display(description="Domain")
    def primary_domain(self, obj: Tenant) -> str:
        domains = [d.domain for d in obj.domains.all() if d.is_primary]
        return domains[0] if domains else "-"

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        if obj is None:
            kwargs["form"] = TenantCreationForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:  # type: ignore[override]
        if obj is None:
            return ["schema_name", "name", "plan", "domain", "admin_email", "admin_password"]
        return ["schema_name", "name", "slug", "plan", "is_active", "created_at", "updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["schema_name", "slug", "created_at", "updated_at"] if obj else []

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[type[admin.TabularInline]]:  # type: ignore[override]
        return [DomainInline] if obj else []

    def save_model(
        self, request: HttpRequest, obj: Tenant, form: forms.ModelForm, change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        password = data.get("admin_password") or secrets.token_urlsafe(12)
        try:
            result = provision_tenant(
                schema_name=data["schema_name"],
                name=data["name"],
                domain=data["domain"],
                admin_email=data["admin_email"],
                admin_password=password,
                plan=data.get("plan") or DEFAULT_PLAN,
            )
        except ProvisioningError as exc:
            raise forms.ValidationError(str(exc)) from exc
        obj.pk = result.tenant.pk
        obj.refresh_from_db()
        messages.success(
            request,
            f"Tenant '{obj.schema_name}' is ready at {result.domain.domain}. First admin: "
            f"{result.admin_email} / {password} (shown once; ask them to change it).",
        )

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool
    ) -> None:
        if change:
            super().save_related(request, form, formsets, change)

    @admin.action(description="Deactivate selected tenants (requests get 403; data is kept)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            set_tenant_active(tenant=tenant, active=False)
        messages.success(request, f"Deactivated {queryset.count()} tenant(s).")

    @admin.action(description="Reactivate selected tenants")
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            set_tenant_active(tenant=tenant, active=True)
        messages.success(request, f"Reactivated {queryset.count()} tenant(s).")

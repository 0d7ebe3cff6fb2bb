"""Operator admin for tenants. Creating a tenant runs the same provisioning service as the CLI.

Every operator action on a tenant (create, change, (de)activate, plan, reindex, rebuild,
support views) is recorded as an OperatorAction and logged (tenants/audit.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.defaultfilters import filesizeformat
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django_tenants.utils import tenant_context

from config.queueing import send_task
from documents.embeddings import available_backends
from documents.services import reindex_all
from operators import (
    admin_backups,  # noqa: F401 - registers the backups' admin
    admin_support,
    admin_usage,
    selectors,
    tenant_deletion,
)
from tenants.audit import record_operator_action
from tenants.models import Domain, OperatorAction, Tenant, normalise_domain
from tenants.plans import DEFAULT_PLAN, PLANS
from tenants.services import (
    ProvisioningError,
    default_domain,
    provision_tenant,
    set_tenant_active,
)
from tenants.time_zones import DEFAULT_TIME_ZONE, time_zone_names
from tenants.validators import validate_domain, validate_schema_name


class TenantCreationForm(forms.ModelForm):
    domain = forms.CharField(
        max_length=253,
        required=False,
        help_text="Host name, e.g. acme.example.com. Blank: <schema>.<TENANT_BASE_DOMAIN>.",
    )
    admin_email = forms.EmailField(help_text="The tenant's first administrator (owner).")
    admin_password = forms.CharField(
        required=False,
        widget=forms.PasswordInput,
        help_text="Leave blank to generate one; it is shown once after saving.",
    )

    class Meta:
        model = Tenant
        fields = ["schema_name", "name", "plan", "time_zone"]

    def clean_schema_name(self) -> str:
        value = str(self.cleaned_data["schema_name"]).strip()
        validate_schema_name(value)
        return value

    def clean_domain(self) -> str:
        value = normalise_domain(str(self.cleaned_data.get("domain") or ""))  # as routing does
        if not value:
            schema = str(self.cleaned_data.get("schema_name") or "")
            if not schema:
                return ""  # the schema name's own error says what is missing
            value = default_domain(schema)
        validate_domain(value)
        return value


class _LabelledDomainFormSet(forms.BaseInlineFormSet):
    """A table row has column headers, not labels: each control names itself for screen
    readers (axe-core: form elements must have labels)."""

    def add_fields(self, form: forms.ModelForm[Any], index: int | None) -> None:
        super().add_fields(form, index)
        for name, label in (("domain", "Domain"), ("is_primary", "Primary domain"),
                            ("DELETE", "Delete this domain")):  # fmt: skip
            if name in form.fields:
                form.fields[name].widget.attrs["aria-label"] = label


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0
    formset = _LabelledDomainFormSet


def _plan_action(code: str, label: str) -> Callable[..., None]:
    def set_plan(admin_: TenantAdmin, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            previous = tenant.plan
            tenant.plan = code
            tenant.save(update_fields=["plan", "updated_at"])
            admin_.log_change(request, tenant, f"Plan {previous} → {code}")
            record_operator_action(
                operator=request.user, action="change_plan", tenant=tenant,
                detail=f"{previous} -> {code}",
            )  # fmt: skip
        messages.success(request, f"{queryset.count()} tenant(s) moved to the {label} plan.")

    set_plan.__name__ = f"set_plan_{code}"
    return admin.action(description=f"Change plan to {label}")(set_plan)


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    # One usage column (documents, chunks, storage): the list fits 1280 px without scrolling.
    list_display = [
        "tenant", "plan_and_state", "usage", "queries_30d", "cost_30d", "support_links",
    ]  # fmt: skip
    list_filter = ["plan", "is_active"]
    search_fields = ["name", "schema_name", "domains__domain"]
    list_per_page = 50
    actions = [
        "deactivate", "reactivate", "reindex_tenant", "rebuild_tenant_index",
        *(_plan_action(plan.code, plan.label) for plan in PLANS.values()),
    ]  # fmt: skip
    inlines = [DomainInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        tenants = super().get_queryset(request).exclude(schema_name="public")
        return admin_usage.annotate_usage(tenants.prefetch_related("domains"))

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # No stock "Delete selected": deleting goes through delete_view (typed, audited).
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return tenant_deletion.delete_view(self, request, object_id)

    # --- list columns: the hourly rollup's figures; a tenant without rows yet (created in
    # the last hour) is read in its own schema ---------------------------------------------

    def _usage(self, obj: Tenant) -> selectors.TenantUsage:
        usage = getattr(obj, "_operator_usage", None)
        if usage is None:
            usage = selectors.tenant_usage(obj)
            obj._operator_usage = usage
        return usage

    def primary_domain(self, obj: Tenant) -> str:
        domains = [d.domain for d in obj.domains.all() if d.is_primary]
        return domains[0] if domains else "-"

    @admin.display(description="Tenant", ordering="name")
    def tenant(self, obj: Tenant) -> str:
        # Name, domain and schema share a column so the list fits a 1280 px window.
        return format_html(
            "{}<br><small>{}<br>schema {}</small>",
            obj.name, self.primary_domain(obj), obj.schema_name,
        )  # fmt: skip

    @admin.display(description="Plan", ordering="plan")
    def plan_and_state(self, obj: Tenant) -> str:
        state = "active" if obj.is_active else "deactivated"
        return format_html("{}<br><small>{}</small>", obj.limits.label, state)

    @admin.display(description="Storage", ordering="usage_stored_bytes")
    def usage(self, obj: Tenant) -> str:
        documents = getattr(obj, "usage_documents", None)
        if documents is None:
            live = self._usage(obj)
            documents, chunks, stored = live.documents, live.chunks, live.storage_bytes
        else:
            chunks, stored = obj.usage_chunks, obj.usage_stored_bytes
        return format_html(
            "{}<br><small>{} documents · {} chunks</small>",
            filesizeformat(stored), f"{documents:,}", f"{chunks:,}",
        )  # fmt: skip

    @admin.display(description="Queries (30 d)", ordering="usage_queries_30d")
    def queries_30d(self, obj: Tenant) -> str:
        count = getattr(obj, "usage_queries_30d", None)
        if count is None:
            count = self._usage(obj).queries_30d
        return "-" if count is None else f"{count:,}"

    @admin.display(description="Cost (30 d)", ordering="usage_cost_30d")
    def cost_30d(self, obj: Tenant) -> str:
        cost = getattr(obj, "usage_cost_30d", None)
        return "-" if cost is None else f"${cost:,.2f}"

    @admin.display(description="Support (read-only)")
    def support_links(self, obj: Tenant) -> str:
        return format_html(
            '<a href="{}">documents</a><br><a href="{}">query log</a><br><a href="{}">usage</a>',
            reverse("admin:tenants_tenant_support_documents", args=[obj.pk]),
            reverse("admin:tenants_tenant_support_queries", args=[obj.pk]),
            reverse("admin:tenants_tenant_usage", args=[obj.pk]),
        )

    # --- create and change ---------------------------------------------------------------

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        if obj is None:
            kwargs["form"] = TenantCreationForm
        form = super().get_form(request, obj, change=change, **kwargs)
        backend = form.base_fields.get("embedding_backend")
        if obj is not None and backend is not None:
            # Admin renders help texts as HTML: a literal <schema> would vanish as a tag.
            backend.help_text = (
                "Blank: the platform default (EMBEDDING_BACKEND). After a change, run "
                f"`manage.py reindex --tenant {obj.schema_name}` (or the Reindex action)."
            )
        return form

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:  # type: ignore[override]
        if obj is None:
            return [
                "schema_name", "name", "plan", "time_zone", "domain", "admin_email",
                "admin_password",
            ]  # fmt: skip
        return [
            "schema_name",
            "name",
            "slug",
            "plan",
            "is_active",
            "embedding_backend",
            "time_zone",
            "created_at",
            "updated_at",
            "usage",
            "queries_30d",
            "cost_30d",
            "support_links",
        ]

    def formfield_for_dbfield(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        if db_field.name == "time_zone":
            kwargs["widget"] = forms.Select(choices=[(name, name) for name in time_zone_names()])
            kwargs["required"] = False  # left out of a POST: the model's default, UTC
        if db_field.name == "embedding_backend":
            # The model has no choices (tenants may not import documents): the registry's
            # names are offered here, and anything else is refused with the form's sentence.
            return forms.ChoiceField(
                choices=[("", "---------"), *((name, name) for name in available_backends())],
                required=False,
                label=capfirst(db_field.verbose_name),
                help_text=db_field.help_text,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        return ["schema_name", "slug", "created_at", "updated_at", "usage", "queries_30d",
                "cost_30d", "support_links"]  # fmt: skip

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[type[admin.TabularInline]]:  # type: ignore[override]
        return [DomainInline] if obj else []

    def save_model(
        self, request: HttpRequest, obj: Tenant, form: forms.ModelForm, change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            changes = ", ".join(
                f"{name}={form.cleaned_data.get(name)!r}" for name in form.changed_data
            )
            record_operator_action(
                operator=request.user, action="change", tenant=obj, detail=changes or "no change"
            )
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
                time_zone=data.get("time_zone") or DEFAULT_TIME_ZONE,
            )
        except ProvisioningError as exc:
            raise forms.ValidationError(str(exc)) from exc
        obj.pk = result.tenant.pk
        obj.refresh_from_db()
        record_operator_action(
            operator=request.user, action="create", tenant=obj,
            detail=f"domain={result.domain.domain} admin={result.admin_email} plan={obj.plan}",
        )  # fmt: skip
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

    # --- actions ---------------------------------------------------------------------------

    def _each(
        self, request: HttpRequest, queryset: QuerySet[Tenant], action: str,
        run: Callable[[Tenant], str],
    ) -> int:  # fmt: skip
        for tenant in queryset:
            detail = run(tenant)
            self.log_change(request, tenant, f"{action}: {detail}" if detail else action)
            record_operator_action(
                operator=request.user, action=action, tenant=tenant, detail=detail
            )
        return queryset.count()

    @admin.action(description="Deactivate selected tenants (requests get 403; data is kept)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        def run(tenant: Tenant) -> str:
            set_tenant_active(tenant=tenant, active=False)
            return ""

        messages.success(
            request, f"Deactivated {self._each(request, queryset, 'deactivate', run)} tenant(s)."
        )

    @admin.action(description="Reactivate selected tenants")
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        def run(tenant: Tenant) -> str:
            set_tenant_active(tenant=tenant, active=True)
            return ""

        messages.success(
            request, f"Reactivated {self._each(request, queryset, 'reactivate', run)} tenant(s)."
        )

    @admin.action(description="Reindex tenant (extract, chunk and embed every document again)")
    def reindex_tenant(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        def run(tenant: Tenant) -> str:
            with tenant_context(tenant):  # the tasks carry the schema they are sent from
                return f"{reindex_all()} documents queued"

        count = self._each(request, queryset, "reindex", run)
        messages.success(request, f"Queued every document of {count} tenant(s) for reindexing.")

    @admin.action(description="Rebuild vector index from stored embeddings")
    def rebuild_tenant_index(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        def run(tenant: Tenant) -> str:
            with tenant_context(tenant):
                sent = send_task("search.rebuild_index", queue="maintenance")
            return f"task {sent.id}"

        count = self._each(request, queryset, "rebuild_index", run)
        messages.success(request, f"Queued an index rebuild for {count} tenant(s).")

    # --- read-only support views -------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        def view(function: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
            return self.admin_site.admin_view(lambda *a, **k: function(self, *a, **k))

        own = [
            path("<int:tenant_id>/support/documents/", view(admin_support.documents_view),
                 name="tenants_tenant_support_documents"),
            path("<int:tenant_id>/support/queries/", view(admin_support.queries_view),
                 name="tenants_tenant_support_queries"),
            path("<int:tenant_id>/usage/", view(admin_usage.tenant_usage_view),
                 name="tenants_tenant_usage"),
            path("<int:tenant_id>/usage/<str:month>.csv", view(admin_usage.tenant_usage_csv),
                 name="tenants_tenant_usage_csv"),
            path("usage/", view(admin_usage.report_view), name="tenants_tenant_usage_report"),
            path("usage/<str:month>.csv", view(admin_usage.report_csv),
                 name="tenants_tenant_usage_report_csv"),
        ]  # fmt: skip
        return own + super().get_urls()


@admin.register(OperatorAction)
class OperatorActionAdmin(admin.ModelAdmin):
    """The audit trail, read-only: nobody edits or deletes what operators did."""

    list_display = ["created_at", "operator", "action", "tenant_schema", "detail"]
    list_filter = ["action"]
    search_fields = ["operator", "tenant_schema", "detail"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

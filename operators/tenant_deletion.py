"""Deleting a tenant from Django admin: the same service as `manage.py drop_tenant`.

The stock "Delete selected" action and delete page dropped the schema after a generic
confirmation and left the tenant's files and index folders on disk, unaudited. Here the
operator types the schema name, `tenants.services.delete_tenant` removes the schema, rows,
stored files and index files, and the deletion is recorded in the operator log first (the
record keeps the schema name after the tenant is gone).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from operators import selectors
from tenants.audit import record_operator_action
from tenants.models import Tenant
from tenants.services import ProvisioningError, delete_tenant


class ConfirmDeletion(forms.Form):
    schema = forms.CharField(
        label="Type the schema name to confirm", max_length=63, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )  # fmt: skip

    def __init__(self, *args: object, tenant: Tenant, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.tenant = tenant

    def clean_schema(self) -> str:
        typed = str(self.cleaned_data["schema"])
        if typed != self.tenant.schema_name:
            raise forms.ValidationError(
                f"That is not this tenant's schema name; type {self.tenant.schema_name} exactly, "
                "or go back: nothing was deleted."
            )
        return typed


def delete_view(
    model_admin: admin.ModelAdmin[Tenant], request: HttpRequest, object_id: str
) -> HttpResponse:
    """Confirm by typing the schema name, then delete through the service, audited."""
    tenant = get_object_or_404(model_admin.get_queryset(request), pk=object_id)
    form = ConfirmDeletion(request.POST or None, tenant=tenant)
    if request.method == "POST" and form.is_valid():
        schema = tenant.schema_name
        record_operator_action(
            operator=request.user, action="delete", tenant=tenant, detail=f"schema {schema}"
        )
        try:
            delete_tenant(tenant=tenant)
        except ProvisioningError as exc:
            model_admin.message_user(request, str(exc), messages.ERROR)
        else:
            model_admin.message_user(
                request, f"Deleted '{tenant.name}' ({schema}), its data, files and index files."
            )
            return HttpResponseRedirect(reverse("admin:tenants_tenant_changelist"))
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": Tenant._meta,
        "tenant": tenant,
        "usage": selectors.tenant_usage(tenant),
        "form": form,
        "title": f"Delete {tenant.name}",
    }
    return render(request, "admin/tenants/delete_tenant.html", context)

"""The tenant REST API (version 1). Each app contributes its routes here."""

from django.urls import path

from accounts import api as accounts_api

urlpatterns = [
    path("tenant/", accounts_api.TenantInfoView.as_view(), name="api-tenant"),
]

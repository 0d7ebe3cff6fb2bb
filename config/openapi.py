"""OpenAPI (drf-spectacular) pieces shared by every app: the error body and auth schemes.

Document a view's failures with `responses={200: Out, **ERROR_RESPONSES}`.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable identifier, e.g. `not_found`, `throttled`.")
    message = serializers.CharField(help_text="What went wrong, as a sentence for people.")

    def get_fields(self) -> dict[str, serializers.Field]:
        # "fields" is also the name of Serializer's own attribute, so it is added here.
        fields = super().get_fields()
        fields["fields"] = serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            required=False,
            help_text="Problems per input field (validation errors only).",
        )
        return fields


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERROR_RESPONSES: dict[int, Any] = {
    400: ErrorSerializer,
    401: ErrorSerializer,
    403: ErrorSerializer,
    404: ErrorSerializer,
    429: ErrorSerializer,
}


class TenantJWTScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.TenantJWTAuthentication"
    name = "jwtAuth"
    priority = 1

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        scheme: dict[str, Any] = build_bearer_security_scheme_object(
            header_name="HTTP_AUTHORIZATION",
            token_prefix="Bearer",  # noqa: S106 - the scheme name, not a secret
            bearer_format="JWT",
        )
        scheme["description"] = "Access token from POST /api/v1/auth/token/ (15 minutes)."
        return scheme


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": (
                "A workspace API key (`di_…`), also accepted as `Authorization: Api-Key <key>`."
            ),
        }

"""OpenAPI (drf-spectacular) pieces shared by every app: the error body and auth schemes.

Document a view's failures with `responses={200: Out, **ERROR_RESPONSES}`; add
`**LIST_ERROR_RESPONSES` on paginated lists (a missing `?page=` is a 404), `**BODY_ERROR_RESPONSES`
on views that read a request body (413 too large, 415 wrong Content-Type), and
`error_response(...)` for a view's own refusals, e.g. `409: error_response("...")`.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.utils import OpenApiResponse
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


def error_response(description: str) -> OpenApiResponse:
    """The standard error body, with a sentence saying when this status is returned."""
    return OpenApiResponse(ErrorSerializer, description=description)


# Paginated lists (config.pagination.StandardPagination) answer a page that does not exist
# with 404, and invalid filters with 400.
LIST_ERROR_RESPONSES: dict[int, Any] = {
    **ERROR_RESPONSES,
    400: error_response("A query parameter (filter) is invalid; `fields` names it."),
    404: error_response("The requested `page` does not exist (`not_found`)."),
}

# Every view that reads request.data: JSON (and form) bodies over DATA_UPLOAD_MAX_MEMORY_SIZE
# are refused with 413 `payload_too_large`, other Content-Types with 415.
BODY_ERROR_RESPONSES: dict[int, Any] = {
    413: error_response("The request body is too large (`payload_too_large`)."),
    415: error_response(
        "The body's Content-Type is not accepted (`unsupported_media_type`); send JSON."
    ),
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

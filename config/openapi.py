"""OpenAPI (drf-spectacular) pieces shared by every app: the error body and auth schemes.

Document a view's failures with `responses={200: Out, **ERROR_RESPONSES}`; add
`**LIST_ERROR_RESPONSES` on paginated lists (a missing `?page=` is a 404), `**BODY_ERROR_RESPONSES`
on views that read a request body (413 too large, 415 wrong Content-Type), and
`error_response(...)` for a view's own refusals, e.g. `409: error_response("...")`.

What every operation shares is added by the postprocessing hook `document_common_responses`
(SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"] in config/settings.py), not by hand on each
view: 500, 503, 405, 406, the rate-limit headers, Retry-After on 429 and 503, and Allow on 405.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, cast

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

if TYPE_CHECKING:
    from drf_spectacular.generators import SchemaGenerator


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
# with 404, and invalid filters or page sizes with 400.
LIST_ERROR_RESPONSES: dict[int, Any] = {
    **ERROR_RESPONSES,
    400: error_response(
        "A query parameter is invalid (`invalid`): a filter, or a `page_size` that is not a "
        "whole number from 1 to 200; `fields` names it."
    ),
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


# --- what every operation shares (a postprocessing hook) ---------------------------------------

_METHODS = ("get", "put", "post", "delete", "patch")

# Declared once under components/headers; each response refers to them.
HEADERS: dict[str, dict[str, Any]] = {
    "RateLimitLimit": {
        "description": (
            "Requests allowed per window (a minute by default) by the tightest rate limit this "
            "request counted against: the caller's, or the workspace plan's searches and "
            "questions. Absent when the request was refused before being counted (401, 403) or "
            "the limits could not be checked."
        ),
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimitRemaining": {
        "description": "Requests left under that limit in this window (at 0, the next is a 429).",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RetryAfter": {
        "description": "Seconds to wait before sending the request again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
    "Allow": {
        "description": "The methods this path accepts, e.g. `GET, POST, HEAD, OPTIONS`.",
        "required": True,
        "schema": {"type": "string"},
    },
}
RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": "RateLimitLimit",
    "X-RateLimit-Remaining": "RateLimitRemaining",
}
SERVER_ERROR_DESCRIPTION = (
    "Something failed on our side (`server_error`); it is logged under the response's "
    "`X-Request-ID`, which the message quotes. Try again shortly."
)
UNAVAILABLE_DESCRIPTION = (
    "The database could not be reached (`database_unavailable`; a restart or failover): "
    "nothing was changed. Send the request again after `Retry-After` seconds."
)
METHOD_NOT_ALLOWED_DESCRIPTION = (
    "This path does not accept the method that was sent (`method_not_allowed`); "
    "the `Allow` header lists those it does."
)
NOT_ACCEPTABLE_DESCRIPTION = (
    "The `Accept` header allows none of the media types this operation answers "
    "(`not_acceptable`); the message names them. Send one of them, or leave the header out."
)


# A server-sent event stream is described event by event (as OpenAPI 3.2's itemSchema does,
# and as Schemathesis validates it): views declare the media type, this says what each holds.
EVENT_STREAM = "text/event-stream"
SERVER_SENT_EVENT = {
    "type": "object",
    "description": (
        'One server-sent event. `delta` events carry `{"text": ...}`, the next piece of '
        "the answer; one `done` event carries the whole JSON body; an `error` event carries "
        "the JSON error body instead."
    ),
    "properties": {
        "event": {"type": "string", "enum": ["delta", "done", "error"]},
        "data": {"type": "string", "description": "The event's payload, as JSON."},
    },
    "required": ["event", "data"],
}


def _rate_limited_operations(generator: SchemaGenerator) -> set[tuple[str, str]]:
    """(path, method) of the operations whose view has a throttle that sets the rate-limit
    headers (one with `sets_rate_limit_headers`, like accounts' ApiRateThrottle)."""
    # drf-spectacular's endpoints carry the path regex too, unlike DRF's (as typed).
    endpoints = cast("list[tuple[str, str, str, Any]]", generator.endpoints or [])
    found: set[tuple[str, str]] = set()
    for path, _regex, method, callback in endpoints:
        view = generator.create_view(callback, method)
        throttles = view.get_throttles()
        if any(getattr(throttle, "sets_rate_limit_headers", False) for throttle in throttles):
            found.add((generator.coerce_path(path, method, view), method.lower()))
    return found


def _error_response(description: str) -> dict[str, Any]:
    body = {"schema": {"$ref": "#/components/schemas/Error"}}
    return {"description": description, "content": {"application/json": body}}


def _add_headers(response: dict[str, Any], headers: dict[str, str]) -> None:
    declared = response.setdefault("headers", {})
    for name, component in headers.items():
        declared.setdefault(name, {"$ref": f"#/components/headers/{component}"})


def document_common_responses(
    result: dict[str, Any], generator: SchemaGenerator, **kwargs: Any
) -> dict[str, Any]:
    """Declare on every operation what any of them may answer, whatever the view says."""
    rate_limited = _rate_limited_operations(generator)
    components = result.setdefault("components", {})
    components["headers"] = {**copy.deepcopy(HEADERS), **components.get("headers", {})}
    for path, path_item in result.get("paths", {}).items():
        methods = [method for method in _METHODS if method in path_item]
        for method in methods:
            responses: dict[str, Any] = path_item[method].setdefault("responses", {})
            responses.setdefault("500", _error_response(SERVER_ERROR_DESCRIPTION))
            responses.setdefault("503", _error_response(UNAVAILABLE_DESCRIPTION))
            if len(methods) < len(_METHODS):
                responses.setdefault("405", _error_response(METHOD_NOT_ALLOWED_DESCRIPTION))
            # DRF negotiates the response's media type for every view before running it.
            responses.setdefault("406", _error_response(NOT_ACCEPTABLE_DESCRIPTION))
            for status, response in responses.items():
                if "$ref" in response:
                    continue
                if EVENT_STREAM in response.get("content", {}):
                    response["content"][EVENT_STREAM] = {"schema": copy.deepcopy(SERVER_SENT_EVENT)}
                if status in ("429", "503"):
                    _add_headers(response, {"Retry-After": "RetryAfter"})
                if status == "405":
                    _add_headers(response, {"Allow": "Allow"})
                if (path, method) in rate_limited:
                    _add_headers(response, RATE_LIMIT_HEADERS)
            path_item[method]["responses"] = dict(sorted(responses.items()))
    return result


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

"""One error format for the whole API: `{"error": {"code", "message", "fields"?}}`.

`api_exception_handler` is DRF's EXCEPTION_HANDLER; `not_found` / `server_error` are the
tenant and public URLconfs' handler404 / handler500, answering JSON under /api/ and Django's
usual pages elsewhere. Codes are stable identifiers for programs; messages are sentences
for people; `fields` maps a field name to its list of problems (validation errors only).

With DEBUG on, Django answers an unhandled exception with its technical page instead of
handler500; for API views the exception handler answers `server_error`'s JSON itself then
(logged and signalled as Django would), so API clients see the same 500 in development.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import InterfaceError, OperationalError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    JsonResponse,
)
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.utils.log import log_response
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from config.errors import AppError
from config.parsers import PayloadTooLarge

logger = logging.getLogger(__name__)

_REWORDED = {
    # DRF's stock wording, replaced where it is not a sentence a person can act on.
    "not_found": "That object does not exist in this workspace.",
    "not_authenticated": (
        "Sign in first: send an access token (Authorization: Bearer …) or an API key "
        "(Authorization: Api-Key …)."
    ),
}


# The database refused or dropped the connection (a restart, a failover, a full connection
# table) or did not answer within DB_CONNECT_TIMEOUT: a 503 the client may retry soon.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER_SECONDS = 5


def error_body(code: str, message: str, fields: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def invalid_parameter(name: str, sentence: str) -> exceptions.ValidationError:
    """A 400 whose message is `sentence` and whose `fields` points at the parameter `name`."""
    return exceptions.ValidationError({"non_field_errors": [sentence], name: [sentence]})


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for value in detail.values():
            return _first_message(value)
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def _code_of(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    if isinstance(exc.detail, dict) and "code" in exc.detail:
        return str(exc.detail["code"])  # simplejwt puts its code inside the detail dict
    return exc.default_code if isinstance(exc.default_code, str) else "error"


def _validation_error(exc: exceptions.ValidationError) -> dict[str, Any]:
    detail = exc.detail
    if isinstance(detail, dict):
        non_field = detail.get("non_field_errors")
        fields = {
            name: _problem_list(problems)
            for name, problems in detail.items()
            if name != "non_field_errors"
        }
        if non_field:
            message = _first_message(non_field)
        elif len(fields) == 1:
            # One field: its own sentence, named unless it names itself ("days must be ...").
            ((name, problems),) = fields.items()
            problem = _first_message(problems)
            message = problem if name in problem else f"{name}: {problem}"
        else:
            names = ", ".join(sorted(fields))
            message = f"Some fields are missing or invalid ({names}); see `fields`."
        return error_body("invalid", message, fields)
    return error_body("invalid", _first_message(detail))


def _problem_list(problems: Any) -> list[str]:
    """A field's problems as the schema declares them, a list of sentences, also for a list
    field's items ({"0": [...]}) or a nested object's fields: "Item 1: ...", "name: ..."."""
    if isinstance(problems, dict):
        items: Any = problems.items()
    elif isinstance(problems, list) and any(isinstance(p, dict | list) for p in problems):
        items = ((index, p) for index, p in enumerate(problems) if p)
    elif isinstance(problems, list):
        return [str(problem) for problem in problems]
    else:
        return [str(problems)]
    flat: list[str] = []
    for where, nested in items:
        label = f"Item {int(where) + 1}" if str(where).isdigit() else str(where)
        flat.extend(f"{label}: {problem}" for problem in _problem_list(nested))
    return flat


def _is_stock(exc: exceptions.APIException, message: str) -> bool:
    """Whether `message` is DRF's default detail for `exc` (its `{placeholder}` filled in)."""
    pieces = re.split(r"\{\w+\}", str(exc.default_detail))
    return re.fullmatch(".*".join(map(re.escape, pieces)), message, re.DOTALL) is not None


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def _negotiation_message(exc: exceptions.APIException, context: dict[str, Any]) -> str | None:
    """415, 405 and 406 in DRF's wording, reworded to say what to send instead."""
    request, view = context.get("request"), context.get("view")
    if request is None:
        return None
    if isinstance(exc, exceptions.UnsupportedMediaType):
        accepted = list(dict.fromkeys(parser.media_type for parser in request.parsers))
        sent = request.content_type.split(";")[0].strip()
        what = f"a body of type {sent}" if sent else "a body without a Content-Type header"
        return (
            f"This endpoint does not accept {what}; send it as {_listed(accepted)}, "
            "with that Content-Type header."
        )
    if isinstance(exc, exceptions.MethodNotAllowed) and view is not None:
        every = list(view.allowed_methods)
        allowed = [method for method in every if method not in ("HEAD", "OPTIONS")] or every
        return (
            f"This endpoint does not accept {request.method}; send {_listed(allowed)} "
            "(the Allow header lists every method it takes)."
        )
    if isinstance(exc, exceptions.NotAcceptable) and exc.available_renderers:
        offered = list(dict.fromkeys(r.media_type for r in exc.available_renderers))
        return (
            f"This endpoint answers {' or '.join(offered)}, which the Accept header does not "
            f"allow; send Accept: {offered[0]} (or leave the header out)."
        )
    return None


def _message_of(
    exc: exceptions.APIException, code: str, context: dict[str, Any] | None = None
) -> str:
    if isinstance(exc, exceptions.Throttled):
        seconds = int(getattr(exc, "wait", None) or 1)
        if exc.detail and "throttled" not in str(exc.detail).lower():
            return str(exc.detail)
        return f"Too many requests; try again in {seconds} second{'s' if seconds != 1 else ''}."
    detail = exc.detail
    if isinstance(exc, exceptions.ParseError):
        reason = str(detail).rstrip(".")
        if reason.lower().startswith("multipart"):
            # e.g. a part's headers over the parser's 1 KB limit: a very long file name.
            return (
                f"The upload could not be read ({reason}); send the files as "
                "multipart/form-data, with shorter file names."
            )
        return f"The request body could not be read ({reason}); send valid JSON."
    if isinstance(detail, dict) and "detail" in detail:
        return str(detail["detail"])
    message = _first_message(detail)
    if _is_stock(exc, message):
        reworded = _negotiation_message(exc, context or {})
        if reworded:
            return reworded
    if code == "not_authenticated" or message in {"Not found.", ""}:
        return _REWORDED.get(code, message)
    return message


def api_exception_handler(
    exc: Exception, context: dict[str, Any]
) -> Response | HttpResponse | None:
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(
            "The request body is larger than this endpoint accepts; send less data."
        )
    elif isinstance(exc, TooManyFieldsSent):
        exc = exceptions.ValidationError("The request has too many fields.")
    elif isinstance(exc, TooManyFilesSent):
        exc = _too_many_files()
    elif isinstance(exc, DATABASE_UNAVAILABLE) and context.get("request") is not None:
        set_rollback()
        logger.warning("database unavailable: %s", exc)
        return database_unavailable(context["request"]._request)
    elif isinstance(exc, AppError):
        set_rollback()  # as DRF does for the errors it handles
        refusal = Response(error_body(exc.code, exc.message), status=exc.status)
        if exc.status == 503:
            refusal["Retry-After"] = "60"
        if "retry_after" in exc.extra:
            refusal["Retry-After"] = str(exc.extra["retry_after"])
        return refusal
    response = exception_handler(exc, context)
    if response is None:
        return _unexpected(exc, context.get("request"))
    if response.status_code == 503 and "Retry-After" not in response:
        response["Retry-After"] = "60"
    if isinstance(exc, exceptions.ValidationError):
        response.data = _validation_error(exc)
    elif isinstance(exc, exceptions.APIException):
        code = _code_of(exc)
        response.data = error_body(code, _message_of(exc, code, context))
    else:
        # Http404 / PermissionDenied from Django, converted by DRF.
        status_code = response.status_code
        code = "not_found" if status_code == 404 else "permission_denied"
        message = _REWORDED["not_found"] if status_code == 404 else _first_message(response.data)
        response.data = error_body(code, message)
    return response


class TooManyFiles(exceptions.APIException):
    # 400 as Django answers it and as the upload endpoint's own `too_many_files`: the count
    # is wrong, not the size (413 is for bytes).
    status_code = 400
    default_code = "too_many_files"
    default_detail = "The request carries too many files."


def _too_many_files() -> TooManyFiles:
    """Django's DATA_UPLOAD_MAX_NUMBER_FILES, met while reading a multipart body."""
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
    return TooManyFiles(
        f"The request carries more than {limit} files, more than this server reads in one "
        "request; send the files in several smaller requests."
    )


def _unexpected(exc: Exception, request: Request | None) -> HttpResponse | None:
    """None lets Django log the exception and answer with handler500, except with DEBUG on
    under /api/, where Django would answer with its HTML debug page: answered here instead."""
    if not settings.DEBUG or request is None or not _is_api(request._request):
        return None
    django_request = request._request
    set_rollback()  # the view's changes, under ATOMIC_REQUESTS, are not committed
    # As Django's own handling does: Sentry and the test client listen to this signal.
    signals.got_request_exception.send(sender=None, request=django_request)
    response = server_error(django_request)
    log_response(
        "%s: %s",
        response.reason_phrase,
        django_request.path,
        response=response,
        request=django_request,
        exception=exc,
    )
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _request_id() -> str | None:
    # Bound by config.request_context for the request being served (and sent as X-Request-ID).
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    return str(request_id) if request_id else None


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(
            error_body("not_found", f"There is no API endpoint at {request.path}; see /api/docs/."),
            status=404,
        )
    return defaults.page_not_found(request, exception)


@csrf_exempt
def no_api_route(request: HttpRequest, rest: str = "") -> HttpResponse:
    """A path under /api/ that no route matches: the JSON 404, with DEBUG on as well (where
    Django would otherwise answer with its HTML debug page instead of handler404).

    Exempt from CSRF: it changes nothing, and API clients (tokens, keys) send no CSRF token,
    so a POST to a mistyped path would otherwise get Django's HTML 403 page instead of this.

    A path that only lacks its trailing slash is redirected for GET and HEAD, and named in the
    404 otherwise (a redirected POST would arrive as a GET, without its body).
    """
    path = request.path
    if not path.endswith("/"):
        try:
            match = resolve(path + "/", getattr(request, "urlconf", None))
        except Resolver404:
            match = None
        if match is not None and match.func is not no_api_route:
            if request.method in ("GET", "HEAD"):
                query = request.META.get("QUERY_STRING", "")
                return HttpResponsePermanentRedirect(path + "/" + (f"?{query}" if query else ""))
            message = f"There is no API endpoint at {path}; did you mean {path}/ (with the slash)?"
            return JsonResponse(error_body("not_found", message), status=404)
    return not_found(request, Http404())


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: JSON under /api/, a small page (rendered without the database:
    no request context, so no session or user lookup) elsewhere."""
    message = (
        "The service cannot reach its database right now; nothing was changed. "
        f"Try again in {DATABASE_RETRY_AFTER_SECONDS} seconds."
    )
    if _is_api(request) or "application/json" in request.headers.get("Accept", ""):
        response: HttpResponse = JsonResponse(
            error_body("database_unavailable", message), status=503
        )
    else:
        page = render_to_string("errors/unavailable.html", {"message": message})
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    # handler500 runs inside Django's `except`: the exception is the one being handled.
    if isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE):
        return database_unavailable(request)
    if _is_api(request):
        message = "Something went wrong on our side; it has been logged. Try again shortly."
        request_id = _request_id()
        if request_id:
            message = (
                f"Something went wrong on our side; it has been logged as request {request_id}. "
                "Try again shortly, and quote that request id if it keeps happening."
            )
        return JsonResponse(error_body("server_error", message), status=500)
    return defaults.server_error(request)


class ApiServerErrorMiddleware:
    """Under /api/, a 500 that is not JSON becomes the JSON error body (DEBUG only happens).

    With DEBUG off, handler500 answers JSON already. With it on, Django answers an exception
    raised outside an API view's own handling (in a middleware, or while rendering) with its
    HTML debug page, logged as usual; API clients get `server_error` here instead. Placed
    first in MIDDLEWARE, so it sees what every other layer answered.
    """

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response: HttpResponse = self.get_response(request)
        if (
            response.status_code == 500
            and _is_api(request)
            and not str(response.get("Content-Type", "")).startswith("application/json")
        ):
            # The request id's context is gone by now; its header (config.request_context) stays.
            request_id = response.get("X-Request-ID")
            with structlog.contextvars.bound_contextvars(request_id=request_id):
                replaced = server_error(request)
            if request_id:
                replaced["X-Request-ID"] = request_id
            return replaced
        return response

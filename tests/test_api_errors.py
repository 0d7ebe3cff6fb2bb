"""An API view that fails answers the JSON 500, with DEBUG on as well; pages keep Django's.

The failure is real: the documents selector the API list and the dashboard page both call
raises, inside a request served by the whole middleware stack, database and cache included.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import override_settings

from tests.accounts.helpers import bearer, owner_of
from tests.conftest import TenantHandle

SECRET = "password=hunter2 in the broken selector"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def broken_selector(monkeypatch: pytest.MonkeyPatch) -> None:
    def document_list(**_: Any) -> None:
        raise RuntimeError(SECRET)

    monkeypatch.setattr("documents.selectors.document_list", document_list)


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("accept", ["application/json", BROWSER_ACCEPT])
def test_a_failing_api_view_answers_the_json_500(
    make_tenant: Any,
    broken_selector: None,
    caplog: pytest.LogCaptureFixture,
    debug: bool,
    accept: str,
) -> None:
    acme: TenantHandle = make_tenant("apierr_500")
    client = acme.client(raise_request_exception=False, **bearer(acme, owner_of(acme)))
    with override_settings(DEBUG=debug), caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get(
            "/api/v1/documents/", HTTP_ACCEPT=accept, HTTP_X_REQUEST_ID="support-case-42"
        )
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "server_error"
    assert error["message"].startswith("Something went wrong on our side")
    # The request id (also the X-Request-ID header) is the only detail given back.
    assert "request support-case-42" in error["message"]
    assert response["X-Request-ID"] == "support-case-42"
    assert SECRET not in response.content.decode()
    assert "Traceback" not in response.content.decode()
    # Logged once, with the traceback, as Django logs an unhandled exception.
    logged = [r for r in caplog.records if r.name == "django.request" and r.exc_info]
    assert len(logged) == 1
    assert logged[0].getMessage() == "Internal Server Error: /api/v1/documents/"
    assert logged[0].exc_info is not None
    assert str(logged[0].exc_info[1]) == SECRET


@override_settings(DEBUG=True)
def test_error_reporters_still_hear_of_it_with_debug_on(
    make_tenant: Any, broken_selector: None
) -> None:
    # Sentry (and Django's test client) learn of the exception from got_request_exception.
    acme: TenantHandle = make_tenant("apierr_sig")
    client = acme.client(**bearer(acme, owner_of(acme)))
    with pytest.raises(RuntimeError, match="hunter2"):
        client.get("/api/v1/documents/")


@override_settings(DEBUG=True)
def test_a_failing_page_keeps_djangos_debug_page(make_tenant: Any, broken_selector: None) -> None:
    acme: TenantHandle = make_tenant("apierr_page")
    client = acme.logged_in_client()
    client.raise_request_exception = False
    response = client.get("/documents/", HTTP_ACCEPT=BROWSER_ACCEPT)
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert "RuntimeError" in response.content.decode()  # the technical page, traceback and all


def test_a_failing_page_without_debug_is_not_json(make_tenant: Any, broken_selector: None) -> None:
    acme: TenantHandle = make_tenant("apierr_p500")
    client = acme.logged_in_client()
    client.raise_request_exception = False
    response = client.get("/documents/")
    assert response.status_code == 500
    assert not response["Content-Type"].startswith("application/json")
    assert SECRET not in response.content.decode()


class _BrokenMiddleware:
    """A middleware that fails on API requests: outside any view's error handling."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        if request.path.startswith("/api/"):
            raise RuntimeError(SECRET)
        return self.get_response(request)


def test_a_failing_middleware_answers_the_json_500_with_debug_on(make_tenant: Any) -> None:
    from django.conf import settings

    acme: TenantHandle = make_tenant("apierr_mw")
    client = acme.client(raise_request_exception=False, **bearer(acme, owner_of(acme)))
    broken = [*settings.MIDDLEWARE, f"{__name__}._BrokenMiddleware"]
    with override_settings(DEBUG=True, MIDDLEWARE=broken):
        response = client.get("/api/v1/documents/", HTTP_X_REQUEST_ID="support-case-43")
        page = client.get("/login/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "server_error"
    assert "request support-case-43" in response.json()["error"]["message"]
    assert SECRET not in response.content.decode()
    assert page.status_code == 200  # pages are untouched

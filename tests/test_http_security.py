"""HTTP security: headers, CSP (Swagger UI too), CORS, one error format, size limits, an
OpenAPI schema that validates, and Django's deploy check with production settings."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from django.db import connection
from django.test import RequestFactory, override_settings

from config import urls_tenant
from config.exceptions import server_error
from tests.accounts.helpers import bearer, owner_of
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DATABASE_NAME=str(connection.settings_dict["NAME"]), DI_TESTING="1", **extra)
    return env


def test_security_headers_and_csp_on_pages_and_api(make_tenant):
    acme = make_tenant("hard_a")
    for response in (acme.client().get("/login/"), acme.client().get("/api/v1/tenant/")):
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"
        policy = response["Content-Security-Policy"]
        # django-csp does not promise an order of directives; compare them one by one.
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
        assert directives["default-src"] == "'self'"
        assert directives["script-src"] == "'self'"
        assert directives["style-src"] == "'self'"
        assert directives["frame-ancestors"] == "'none'"
        assert "unsafe-inline" not in policy


def test_dashboard_pages_have_no_inline_script_or_style(make_tenant):
    acme = make_tenant("hard_b")
    html = acme.client().get("/login/").content.decode()
    assert "<script>" not in html
    assert "<style" not in html
    assert 'style="' not in html
    assert "/static/css/base.css" in html


def test_swagger_ui_renders_offline_with_csp_compatible_assets(make_tenant):
    acme = make_tenant("hard_c")
    page = acme.client().get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css" in html
    assert "cdn.jsdelivr" not in html
    assert "<script>" not in html  # CSP forbids inline code
    assert "<style" not in html
    script = acme.client().get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"/api/schema/" in script.content
    schema = acme.client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert {"jwtAuth", "apiKeyAuth"} <= set(schema.json()["components"]["securitySchemes"])


@override_settings(CORS_ALLOWED_ORIGINS=["https://app.example.com"])
def test_cors_allows_only_listed_origins(make_tenant):
    acme = make_tenant("hard_d")
    preflight = acme.client().options(
        "/api/v1/tenant/",
        HTTP_ORIGIN="https://app.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-api-key",
    )
    assert preflight["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "x-api-key" in preflight["Access-Control-Allow-Headers"]
    other = acme.client().get("/api/v1/tenant/", HTTP_ORIGIN="https://evil.example.net")
    assert "Access-Control-Allow-Origin" not in other


def test_errors_share_one_json_shape(make_tenant):
    acme = make_tenant("hard_e")
    headers = bearer(acme, owner_of(acme))
    client = acme.client()
    cases = {
        "unknown route": (client.get("/api/v1/nope/", **headers), 404, "not_found"),
        "unknown object": (client.get("/api/v1/members/999999/", **headers), 404, "not_found"),
        "wrong method": (client.put("/api/v1/tenant/", **headers), 405, "method_not_allowed"),
        "bad media type": (
            client.post("/api/v1/api-keys/", "x", content_type="text/plain", **headers),
            415,
            "unsupported_media_type",
        ),
        "malformed json": (
            client.post("/api/v1/api-keys/", "{", content_type="application/json", **headers),
            400,
            "parse_error",
        ),
    }
    for name, (response, status, code) in cases.items():
        assert response.status_code == status, name
        error = response.json()["error"]
        assert error["code"] == code, name
        assert error["message"].endswith("."), name


def test_server_errors_under_api_are_json():
    assert urls_tenant.handler500 == "config.exceptions.server_error"
    response = server_error(RequestFactory().get("/api/v1/boom/"))
    assert response.status_code == 500
    assert b'"code": "server_error"' in response.content


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_oversized_json_is_a_413(make_tenant):
    acme = make_tenant("hard_f")
    body = '{"name": "' + "x" * 2000 + '", "scopes": ["read"]}'
    response = acme.client().post(
        "/api/v1/api-keys/",
        body,
        content_type="application/json",
        **bearer(acme, owner_of(acme)),
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_openapi_schema_validates_without_warnings():
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn",
         "--file", os.devnull],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]


def test_production_deploy_check_passes():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_env(
            DJANGO_ENV="production",
            DEBUG="off",
            SECRET_KEY=secrets.token_urlsafe(60),
            ALLOWED_HOSTS=".example.com",
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.django_db
def test_operator_admin_is_outside_the_dashboard_csp():
    from django.test import Client

    # Django admin needs its inline scripts and styles; it lives on the operators' host only.
    response = Client(HTTP_HOST="localhost").get("/admin/login/")
    assert response.status_code == 200
    assert "Content-Security-Policy" not in response
    assert response["X-Frame-Options"] == "DENY"

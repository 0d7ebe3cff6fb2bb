"""What every API operation may answer, declared by config.openapi's postprocessing hook and
checked against real answers: 405 with Allow, 406, 429 with Retry-After, 500, and the
rate-limit headers on every response of a rate-limited view.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from drf_spectacular.validation import validate_schema

from tests.accounts.helpers import bearer, fresh_rate_limits, owner_of
from tests.conftest import TenantHandle
from tests.test_openapi_schema import DOCUMENTS, assert_matches_schema, resolved, schema

__all__ = ["fresh_rate_limits", "schema"]


@pytest.fixture(autouse=True)
def _forget_rate_limits(fresh_rate_limits: None) -> None:
    """Rate-limit counters are per tenant schema, and test schema names repeat."""


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]


def test_the_schema_is_valid_openapi(schema: dict[str, Any]) -> None:
    validate_schema(schema)


def test_every_operation_declares_405_406_500_and_the_rate_limit_headers(
    schema: dict[str, Any],
) -> None:
    assert len(_operations(schema)) > 20
    for path, method, operation in _operations(schema):
        where = f"{method.upper()} {path}"
        responses = operation["responses"]
        assert {"405", "406", "500"} <= set(responses), where
        for status in ("405", "406", "500"):
            error = responses[status]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/Error"}, (where, status)
        allow = resolved(schema, responses["405"]["headers"]["Allow"])
        assert allow["required"] is True, where
        for status, response in responses.items():
            headers = response.get("headers", {})
            assert {"X-RateLimit-Limit", "X-RateLimit-Remaining"} <= set(headers), (where, status)
            if status in ("429", "503"):
                retry_after = resolved(schema, headers["Retry-After"])
                assert retry_after["required"] is True, (where, status)


@pytest.mark.django_db
def test_the_served_schema_declares_them_too(make_tenant: Any) -> None:
    acme: TenantHandle = make_tenant("oas_srv")
    served = acme.client().get("/api/schema/", {"format": "json"})
    assert served.status_code == 200
    upload = served.json()["paths"][DOCUMENTS]["post"]["responses"]
    assert {"405", "429", "500"} <= set(upload)
    assert "Retry-After" in upload["429"]["headers"]
    assert "X-RateLimit-Remaining" in upload["202"]["headers"]


@pytest.mark.django_db
@override_settings(RATELIMIT_API="1/m")
def test_real_rate_limited_answers_match_the_schema(
    schema: dict[str, Any], make_tenant: Any
) -> None:
    acme: TenantHandle = make_tenant("oas_429")
    client = acme.client(**bearer(acme, owner_of(acme)))
    first = client.get(DOCUMENTS)
    assert first.status_code == 200
    assert (first["X-RateLimit-Limit"], first["X-RateLimit-Remaining"]) == ("1", "0")
    assert_matches_schema(schema, DOCUMENTS, "get", first)
    refused = client.get(DOCUMENTS)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["X-RateLimit-Remaining"] == "0"
    assert_matches_schema(schema, DOCUMENTS, "get", refused)


@pytest.mark.django_db
def test_a_real_method_not_allowed_matches_the_schema(
    schema: dict[str, Any], make_tenant: Any
) -> None:
    acme: TenantHandle = make_tenant("oas_405")
    client = acme.client(**bearer(acme, owner_of(acme)))
    refused = client.delete(DOCUMENTS)
    assert refused.status_code == 405
    assert refused.json()["error"]["code"] == "method_not_allowed"
    assert {"GET", "POST"} <= {method.strip() for method in refused["Allow"].split(",")}
    for method in ("get", "post"):  # DELETE has no operation: the path's operations say 405
        assert_matches_schema(schema, DOCUMENTS, method, refused)


@pytest.mark.django_db
def test_real_not_acceptable_answers_match_the_schema(
    schema: dict[str, Any], make_tenant: Any
) -> None:
    acme: TenantHandle = make_tenant("oas_406")
    client = acme.client(**bearer(acme, owner_of(acme)))
    refused = {
        # The search and ask views' own negotiation (queries/negotiation.py), and DRF's.
        ("/api/v1/search/", "post"): client.post(
            "/api/v1/search/", {"query": "wings"}, content_type="application/json",
            HTTP_ACCEPT="text/html",
        ),
        ("/api/v1/ask/", "post"): client.post(
            "/api/v1/ask/", {"question": "why?"}, content_type="application/json",
            HTTP_ACCEPT="application/xml",
        ),
        (DOCUMENTS, "get"): client.get(DOCUMENTS, HTTP_ACCEPT="text/csv"),
    }  # fmt: skip
    for (path, method), response in refused.items():
        assert response.status_code == 406, path
        assert response.json()["error"]["code"] == "not_acceptable", path
        assert "send Accept: application/json" in response.json()["error"]["message"], path
        assert_matches_schema(schema, path, method, response)


@pytest.mark.django_db
def test_a_real_server_error_matches_the_schema(
    schema: dict[str, Any], make_tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**_: Any) -> None:
        raise RuntimeError("the selector broke")

    monkeypatch.setattr("documents.selectors.document_list", broken)
    acme: TenantHandle = make_tenant("oas_500")
    client = acme.client(raise_request_exception=False, **bearer(acme, owner_of(acme)))
    failed = client.get(DOCUMENTS)
    assert failed.status_code == 500
    assert failed.json()["error"]["code"] == "server_error"
    assert_matches_schema(schema, DOCUMENTS, "get", failed)

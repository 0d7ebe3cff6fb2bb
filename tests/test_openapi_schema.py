"""The OpenAPI schema describes what the API really answers (clients generate code from it).

Each test reads the generated schema and, where the case is cheap to produce, sends the real
request and validates the real body against the response the schema declares for its status
and media type.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs installed
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.generators import SchemaGenerator

from config.openapi import SERVER_SENT_EVENT
from tests.accounts.helpers import bearer, fresh_rate_limits, owner_of
from tests.conftest import TenantHandle
from tests.factories import UserFactory

__all__ = ["fresh_rate_limits"]

DOCUMENTS = "/api/v1/documents/"
PAGINATED_LISTS = [
    "/api/v1/documents/",
    "/api/v1/queries/",
    "/api/v1/members/",
    "/api/v1/api-keys/",
    "/api/v1/collections/",
]
# Paginated lists under an object (checked against the schema, not requested as they are).
PAGINATED_LISTS_OF_AN_OBJECT = ["/api/v1/collections/{id}/members/"]
# Views that read a JSON body refuse oversized bodies (413) and other Content-Types (415).
BODY_OPERATIONS = [
    ("/api/v1/members/", "post"),
    ("/api/v1/members/{id}/", "patch"),
    ("/api/v1/api-keys/", "post"),
    ("/api/v1/search/", "post"),
    ("/api/v1/ask/", "post"),
    ("/api/v1/queries/{id}/feedback/", "post"),
]

# Sent for clients to act on (settings.CORS_EXPOSE_HEADERS), so declared where they are sent.
CLIENT_HEADERS = ("Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    """The schema as /api/schema/ serves it (with its postprocessing hooks)."""
    return dict(SchemaGenerator().get_schema(request=None, public=True))


@pytest.fixture(autouse=True)
def _forget_rate_limits(fresh_rate_limits: None) -> None:
    """Rate-limit counters are per tenant schema, and test schema names repeat."""


def _operation(schema: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    operation: dict[str, Any] = schema["paths"][path][method]
    return operation


def _query_parameters(operation: dict[str, Any]) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema objects as JSON Schema: `nullable: true` becomes a null type."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if not node.get("nullable"):
        return converted
    if "type" in converted:
        converted["type"] = [converted["type"], "null"]
        if "enum" in converted:
            converted["enum"] = [*converted["enum"], None]
        return converted
    return {"anyOf": [converted, {"type": "null"}]}


def _declared_body(
    schema: dict[str, Any], path: str, method: str, status: int, media_type: str
) -> dict[str, Any]:
    responses = _operation(schema, path, method)["responses"]
    assert str(status) in responses, f"{method.upper()} {path} does not declare {status}"
    content = responses[str(status)].get("content", {})
    assert media_type in content, f"{method.upper()} {path} {status} has no {media_type} body"
    body: dict[str, Any] = content[media_type]["schema"]
    return body


def assert_matches_schema(
    schema: dict[str, Any],
    path: str,
    method: str,
    response: Any,
    media_type: str = "application/json",
) -> None:
    """The real response's status is declared, and its body validates against that schema."""
    body_schema = _declared_body(schema, path, method, response.status_code, media_type)
    root = _json_schema({"components": copy.deepcopy(schema["components"]), **body_schema})
    jsonschema.validate(response.json(), root, cls=jsonschema.Draft7Validator)
    assert_headers_match_schema(schema, path, method, response)


def resolved(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """A `$ref` (e.g. to components/headers) replaced by what it refers to."""
    if "$ref" not in node:
        return node
    target: Any = schema
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    return resolved(schema, target)


def assert_headers_match_schema(
    schema: dict[str, Any], path: str, method: str, response: Any
) -> None:
    """Required headers are sent, each declared header that is sent fits its schema, and the
    headers clients are told to read are declared wherever they are sent."""
    declared = _operation(schema, path, method)["responses"][str(response.status_code)]
    for name in CLIENT_HEADERS:
        if name in response:
            assert name in declared.get("headers", {}), f"{response.status_code}: {name}"
    for name, declared_header in declared.get("headers", {}).items():
        header = resolved(schema, declared_header)
        if header.get("required"):
            assert name in response, f"{response.status_code} lacks its {name} header"
        if name in response:
            value: Any = response[name]
            if header["schema"].get("type") == "integer":
                assert value.isdigit(), f"{name}: {value!r}"
                value = int(value)
            jsonschema.validate(value, header["schema"], cls=jsonschema.Draft7Validator)


# --- the upload: POST /api/v1/documents/ ------------------------------------------------------


def test_upload_has_only_its_own_query_parameter(schema: dict[str, Any]) -> None:
    upload = _operation(schema, DOCUMENTS, "post")
    listing = _operation(schema, DOCUMENTS, "get")
    assert _query_parameters(upload) == {"allow_duplicate"}
    assert {"search", "status", "page", "page_size"} <= _query_parameters(listing)


def test_upload_declares_every_status_it_answers(schema: dict[str, Any]) -> None:
    responses = _operation(schema, DOCUMENTS, "post")["responses"]
    assert {"202", "400", "401", "403", "409", "413", "415", "429"} <= set(responses)
    accepted = responses["202"]["content"]["application/json"]["schema"]
    name = accepted["$ref"].rsplit("/", 1)[-1]
    variants = {ref["$ref"] for ref in schema["components"]["schemas"][name]["oneOf"]}
    assert variants == {"#/components/schemas/Document", "#/components/schemas/UploadBatch"}
    for status in ("400", "403", "409", "413", "415"):
        error = responses[status]["content"]["application/json"]["schema"]
        assert error == {"$ref": "#/components/schemas/UploadError"}, status
    detail = schema["components"]["schemas"]["UploadErrorDetail"]["properties"]
    assert {"code", "message", "existing_id", "existing_filename", "limit", "usage"} <= set(detail)
    rejected = schema["components"]["schemas"]["RejectedFile"]
    assert "filename" in rejected["required"]


@pytest.mark.django_db
def test_real_upload_answers_match_the_schema(schema: dict[str, Any], make_tenant: Any) -> None:
    acme: TenantHandle = make_tenant("oas_up")
    client = acme.client(**bearer(acme, owner_of(acme)))
    data = b"openapi schema test: the upload answers what the schema says"

    one = client.post(DOCUMENTS, {"file": SimpleUploadedFile("one.txt", data)})
    assert one.status_code == 202
    assert_matches_schema(schema, DOCUMENTS, "post", one)

    duplicate = client.post(DOCUMENTS, {"file": SimpleUploadedFile("again.txt", data)})
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["existing_filename"] == "one.txt"
    assert_matches_schema(schema, DOCUMENTS, "post", duplicate)

    several = client.post(
        DOCUMENTS,
        {
            "file": [
                SimpleUploadedFile("two.txt", data + b" (two)"),
                SimpleUploadedFile("empty.txt", b""),
                SimpleUploadedFile("dup.txt", data),
            ]
        },
    )
    assert several.status_code == 202
    assert [d["filename"] for d in several.json()["documents"]] == ["two.txt"]
    assert {e["code"] for e in several.json()["errors"]} == {"empty_file", "duplicate"}
    assert_matches_schema(schema, DOCUMENTS, "post", several)

    all_rejected = client.post(
        DOCUMENTS,
        {"file": [SimpleUploadedFile("a.txt", b""), SimpleUploadedFile("b.txt", b"")]},
    )
    assert all_rejected.status_code == 400
    assert all_rejected.json()["error"]["code"] == "all_rejected"
    assert_matches_schema(schema, DOCUMENTS, "post", all_rejected)

    nothing = client.post(DOCUMENTS, {})
    assert nothing.status_code == 400
    assert_matches_schema(schema, DOCUMENTS, "post", nothing)


# --- paginated lists --------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGINATED_LISTS)
def test_paginated_lists_declare_page_not_found_and_bad_parameters(
    schema: dict[str, Any], path: str
) -> None:
    operation = _operation(schema, path, "get")
    assert {"page", "page_size"} <= _query_parameters(operation)
    assert {"200", "400", "401", "403", "404", "429"} <= set(operation["responses"])
    assert "page" in operation["responses"]["404"]["description"]
    error = operation["responses"]["404"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Error"}


@pytest.mark.django_db
def test_real_list_errors_match_the_schema(schema: dict[str, Any], make_tenant: Any) -> None:
    acme: TenantHandle = make_tenant("oas_list")
    client = acme.client(**bearer(acme, owner_of(acme)))
    for path in PAGINATED_LISTS:
        missing_page = client.get(path, {"page": 99})
        assert missing_page.status_code == 404, path
        assert_matches_schema(schema, path, "get", missing_page)
        bad_page_size = client.get(path, {"page_size": 1000})
        assert bad_page_size.status_code == 400, path
        assert list(bad_page_size.json()["error"]["fields"]) == ["page_size"], path
        assert_matches_schema(schema, path, "get", bad_page_size)
    bad_filter = client.get(DOCUMENTS, {"status": "lost"})
    assert bad_filter.status_code == 400
    assert "status" in bad_filter.json()["error"]["fields"]
    assert_matches_schema(schema, DOCUMENTS, "get", bad_filter)


# --- members and API keys ---------------------------------------------------------------------


def test_members_declare_their_conflicts(schema: dict[str, Any]) -> None:
    invite = _operation(schema, "/api/v1/members/", "post")["responses"]
    update = _operation(schema, "/api/v1/members/{id}/", "patch")["responses"]
    deactivate = _operation(schema, "/api/v1/members/{id}/deactivate/", "post")["responses"]
    assert "member_exists" in invite["409"]["description"]
    assert "last_owner" in update["409"]["description"]
    assert "self_deactivation" in deactivate["409"]["description"]
    assert "last_owner" in deactivate["409"]["description"]
    for responses in (invite, update, deactivate):
        assert "owner_protected" in responses["403"]["description"]
    reactivate = _operation(schema, "/api/v1/members/{id}/reactivate/", "post")["responses"]
    assert "409" not in reactivate  # reactivating never conflicts


@pytest.mark.django_db
def test_real_member_conflicts_match_the_schema(schema: dict[str, Any], make_tenant: Any) -> None:
    acme: TenantHandle = make_tenant("oas_mem")
    owner = owner_of(acme)
    client = acme.client(**bearer(acme, owner))

    exists = client.post(
        "/api/v1/members/", {"email": owner.email}, content_type="application/json"
    )
    assert exists.status_code == 409
    assert_matches_schema(schema, "/api/v1/members/", "post", exists)

    last_owner = client.patch(
        f"/api/v1/members/{owner.pk}/", {"role": "admin"}, content_type="application/json"
    )
    assert last_owner.status_code == 409
    assert_matches_schema(schema, "/api/v1/members/{id}/", "patch", last_owner)

    yourself = client.post(f"/api/v1/members/{owner.pk}/deactivate/")
    assert yourself.status_code == 409
    assert_matches_schema(schema, "/api/v1/members/{id}/deactivate/", "post", yourself)

    admin = UserFactory(tenant=acme, role="admin", email="admin@oas-mem.test")
    as_admin = acme.client(**bearer(acme, admin))
    protected = as_admin.post(
        "/api/v1/members/", {"email": "x@oas-mem.test", "role": "owner"},
        content_type="application/json",
    )  # fmt: skip
    assert protected.status_code == 403
    assert_matches_schema(schema, "/api/v1/members/", "post", protected)


@pytest.mark.parametrize(("path", "method"), BODY_OPERATIONS)
def test_views_reading_a_body_declare_413_and_415(
    schema: dict[str, Any], path: str, method: str
) -> None:
    responses = _operation(schema, path, method)["responses"]
    assert {"413", "415"} <= set(responses)


@pytest.mark.django_db
def test_real_body_refusals_match_the_schema(schema: dict[str, Any], make_tenant: Any) -> None:
    acme: TenantHandle = make_tenant("oas_body")
    client = acme.client(**bearer(acme, owner_of(acme)))
    wrong_type = client.post("/api/v1/api-keys/", "name=x", content_type="text/plain")
    assert wrong_type.status_code == 415
    assert_matches_schema(schema, "/api/v1/api-keys/", "post", wrong_type)
    too_large = client.post(
        "/api/v1/api-keys/", {"name": "x" * 2_000_000}, content_type="application/json"
    )
    assert too_large.status_code == 413
    assert_matches_schema(schema, "/api/v1/api-keys/", "post", too_large)


# --- ask: JSON or server-sent events ----------------------------------------------------------


def test_ask_declares_its_event_stream_event_by_event(schema: dict[str, Any]) -> None:
    responses = _operation(schema, "/api/v1/ask/", "post")["responses"]
    for status in ("200", "400", "429", "503"):
        content = responses[status]["content"]
        assert content["text/event-stream"]["schema"] == SERVER_SENT_EVENT, status
    assert responses["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AskOutput"
    }
    assert responses["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }


@pytest.mark.django_db
def test_real_ask_error_as_an_event_is_declared(schema: dict[str, Any], make_tenant: Any) -> None:
    acme: TenantHandle = make_tenant("oas_ask")
    client = acme.client(**bearer(acme, owner_of(acme)))
    bad = client.post(
        "/api/v1/ask/", {"question": " "}, content_type="application/json",
        HTTP_ACCEPT="text/event-stream",
    )  # fmt: skip
    assert bad.status_code == 400
    assert bad["Content-Type"].startswith("text/event-stream")
    declared = _declared_body(schema, "/api/v1/ask/", "post", 400, "text/event-stream")
    assert declared == SERVER_SENT_EVENT  # each event, not the JSON error object
    assert bad.content.decode().startswith("event: error\n")
    fields = dict(line.split(": ", 1) for line in bad.content.decode().strip().splitlines())
    jsonschema.validate(fields, declared)
    assert json.loads(fields["data"])["error"]["code"] == "empty_query"

"""Error messages say what went wrong with the request that was sent (JSON, uploads, ask)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from tests.accounts.helpers import bearer, key_header, owner_of
from tests.factories import ApiKeyFactory


def test_an_unreadable_upload_form_is_not_called_bad_json(make_tenant):
    acme = make_tenant("errmsg_u")
    # A part whose headers exceed the multipart parser's limit (a 1,000-character file name;
    # built by hand: the test client's uploaded files cut names to 255 characters).
    boundary = "xYzZY"
    body = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{"n" * 1000}.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
        f"Some plain text.\r\n--{boundary}--\r\n"
    ).encode()
    response = acme.client().post(
        "/api/v1/documents/",
        body,
        content_type=f"multipart/form-data; boundary={boundary}",
        **bearer(acme, owner_of(acme)),
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "parse_error"
    assert "multipart/form-data" in error["message"]
    assert "JSON" not in error["message"]


def test_malformed_json_still_asks_for_valid_json(make_tenant):
    acme = make_tenant("errmsg_j")
    response = acme.client().post(
        "/api/v1/search/", "{", content_type="application/json", **bearer(acme, owner_of(acme))
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"].endswith("send valid JSON.")


def test_an_empty_question_reads_as_a_sentence(make_tenant):
    acme = make_tenant("errmsg_q")
    client, headers = acme.client(), bearer(acme, owner_of(acme))
    question = client.post(
        "/api/v1/ask/", {"question": "  "}, content_type="application/json", **headers
    )
    search = client.post(
        "/api/v1/search/", {"query": ""}, content_type="application/json", **headers
    )
    assert question.status_code == search.status_code == 400
    assert question.json()["error"]["message"] == (
        "The question is empty; type what you want to know."
    )
    assert search.json()["error"]["message"] == (
        "The search is empty; type a few words to search for."
    )


def test_a_page_that_does_not_exist_says_which_pages_do(make_tenant):
    acme = make_tenant("errmsg_p")
    client, headers = acme.client(), bearer(acme, owner_of(acme))
    for page in ("9999", "0", "abc"):
        response = client.get(f"/api/v1/queries/?page={page}", **headers)
        assert response.status_code == 404
        message = response.json()["error"]["message"]
        assert message.startswith(f"There is no page '{page}'; pages run from 1 to 1"), message
    assert client.get("/api/v1/queries/?page=1", **headers).status_code == 200
    assert client.get("/api/v1/queries/?page=last", **headers).status_code == 200


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_api_paths_are_json_404s_with_debug_on_too(make_tenant, debug):
    acme = make_tenant("errmsg_404")
    client, headers = acme.client(), bearer(acme, owner_of(acme))
    with override_settings(DEBUG=debug):
        for path in ("/api/v1/", "/api/v1/nope/", "/api/v1/documents/abc/", "/api/nothing"):
            response = client.get(path, **headers)
            assert response.status_code == 404, path
            assert response.json()["error"]["code"] == "not_found", path
            assert path in response.json()["error"]["message"]
        # Only the trailing slash missing: GET is redirected, POST is told.
        listed = client.get("/api/v1/documents?page=1", **headers)
        assert listed.status_code == 301
        assert listed["Location"] == "/api/v1/documents/?page=1"
        posted = client.post("/api/v1/search", {"query": "x"}, "application/json", **headers)
        assert posted.status_code == 404
        assert "did you mean /api/v1/search/" in posted.json()["error"]["message"]


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_every_method_on_an_unknown_api_path_is_the_json_404_not_a_csrf_page(make_tenant, method):
    acme = make_tenant("errmsg_csrf")
    # CSRF checks on, as browsers and real clients meet them (the test client skips them).
    client = acme.client(enforce_csrf_checks=True)
    for headers in (bearer(acme, owner_of(acme)), key_header(ApiKeyFactory(tenant=acme).raw), {}):
        response = getattr(client, method)("/api/v1/nope/", {}, "application/json", **headers)
        assert response.status_code == 404, (method, headers)
        assert response["Content-Type"] == "application/json"
        assert response.json()["error"]["code"] == "not_found"
        assert "There is no API endpoint at /api/v1/nope/" in response.json()["error"]["message"]


def test_a_wrong_or_missing_content_type_says_what_to_send(make_tenant):
    acme = make_tenant("errmsg_415")
    client, headers = acme.client(), bearer(acme, owner_of(acme))
    accepted = "application/json or application/x-www-form-urlencoded"
    wrong = client.post("/api/v1/search/", "x", content_type="text/plain", **headers)
    missing = client.post("/api/v1/search/", "x", content_type="", **headers)
    assert wrong.status_code == missing.status_code == 415
    assert wrong.json()["error"] == {
        "code": "unsupported_media_type",
        "message": f"This endpoint does not accept a body of type text/plain; send it as "
        f"{accepted}, with that Content-Type header.",
    }
    assert missing.json()["error"]["message"] == (
        f"This endpoint does not accept a body without a Content-Type header; send it as "
        f"{accepted}, with that Content-Type header."
    )
    # The parser's own sentence for a compressed body stays as it is.
    encoded = client.post(
        "/api/v1/search/", "x", content_type="application/json", HTTP_CONTENT_ENCODING="gzip",
        **headers,
    )  # fmt: skip
    assert encoded.status_code == 415
    assert encoded.json()["error"]["message"].startswith(
        "The body is sent with Content-Encoding: gzip"
    )


def test_a_wrong_method_names_the_methods_to_send(make_tenant):
    acme = make_tenant("errmsg_405")
    client, headers = acme.client(), bearer(acme, owner_of(acme))
    search = client.get("/api/v1/search/", **headers)
    documents = client.delete("/api/v1/documents/", **headers)
    assert search.status_code == documents.status_code == 405
    assert search.json()["error"] == {
        "code": "method_not_allowed",
        "message": "This endpoint does not accept GET; send POST "
        "(the Allow header lists every method it takes).",
    }
    assert documents.json()["error"]["message"] == (
        "This endpoint does not accept DELETE; send GET or POST "
        "(the Allow header lists every method it takes)."
    )


def test_an_accept_header_nothing_matches_says_what_the_endpoint_sends(make_tenant):
    acme = make_tenant("errmsg_406")
    response = acme.client().get(
        "/api/v1/documents/", HTTP_ACCEPT="text/html", **bearer(acme, owner_of(acme))
    )
    assert response.status_code == 406
    assert response.json()["error"] == {
        "code": "not_acceptable",
        "message": "This endpoint answers application/json, which the Accept header does not "
        "allow; send Accept: application/json (or leave the header out).",
    }


@pytest.mark.django_db
def test_one_invalid_field_is_named_with_its_own_sentence(make_tenant: Any) -> None:
    acme = make_tenant("one_field")
    client = acme.logged_in_client()
    long_question = client.post(
        "/api/v1/ask/", {"question": "x" * 2001}, content_type="application/json"
    )
    assert long_question.status_code == 400
    body = long_question.json()["error"]
    assert body["message"] == "question: Ensure this field has no more than 2000 characters."
    assert body["fields"] == {"question": ["Ensure this field has no more than 2000 characters."]}
    both = client.post(
        "/api/v1/search/", {"query": "", "top_k": 0, "mode": "x"}, content_type="application/json"
    )
    assert both.json()["error"]["message"].startswith("Some fields are missing or invalid")

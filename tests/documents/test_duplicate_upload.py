"""A duplicate upload's 409: the API keeps its message for API clients (with the
?allow_duplicate=1 hint) and names the existing file in `existing_filename`, which the
dashboard uses for its own sentence next to its "Upload it anyway" button (the page
itself: test_documents_page_browser.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

pytestmark = pytest.mark.django_db


def test_duplicate_error_names_the_existing_file(make_tenant: Any) -> None:
    client = make_tenant("dupwords").logged_in_client()
    data = b"the same content about transonic buffet"
    first = client.post("/api/v1/documents/", {"file": SimpleUploadedFile("one.txt", data)})
    assert first.status_code == 202
    again = client.post("/api/v1/documents/", {"file": SimpleUploadedFile("two.txt", data)})
    assert again.status_code == 409
    error = again.json()["error"]
    assert error["code"] == "duplicate"
    assert error["existing_id"] == first.json()["id"]
    assert error["existing_filename"] == "one.txt"
    assert error["message"] == (
        f"This file was already uploaded as 'one.txt' (document {first.json()['id']}). "
        "Add ?allow_duplicate=1 to upload it again."
    )


def test_the_same_file_twice_in_one_request_names_the_first_by_its_id(make_tenant: Any) -> None:
    client = make_tenant("dupbatch").logged_in_client()
    data = b"identical notes about shock tubes"
    response = client.post(
        "/api/v1/documents/",
        {
            "file": [
                SimpleUploadedFile("first.txt", data),
                SimpleUploadedFile("other.txt", b"different notes about nozzles"),
                SimpleUploadedFile("again.txt", data),
            ]
        },
    )
    assert response.status_code == 202
    body = response.json()
    first_id = next(d["id"] for d in body["documents"] if d["filename"] == "first.txt")
    (error,) = body["errors"]
    assert error["filename"] == "again.txt"
    assert error["existing_id"] == first_id
    assert error["message"] == (
        f"This file has the same content as 'first.txt' (document {first_id}), uploaded in "
        "the same request. Add ?allow_duplicate=1 to keep both."
    )

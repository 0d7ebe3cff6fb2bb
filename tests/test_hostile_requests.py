"""Requests the API schema fuzzing (tests/test_api_schemathesis.py) found answered outside
the schema, kept as plain regression tests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.accounts.helpers import bearer, fresh_rate_limits, owner_of
from tests.conftest import TenantHandle

__all__ = ["fresh_rate_limits"]

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]


def test_a_host_header_no_site_may_have_is_a_json_404_under_the_api(make_tenant: Any) -> None:
    acme: TenantHandle = make_tenant("hostile_host")
    client = acme.client(**bearer(acme, owner_of(acme)))
    refused = client.get("/api/v1/auth/me/", HTTP_HOST='{"C;M*')
    assert refused.status_code == 404
    assert refused.json()["error"] == {
        "code": "unknown_host",
        "message": "There is no workspace at the address in the Host header. "
        "Check the address you typed.",
    }


def test_a_bad_item_of_a_list_field_is_named_in_a_list_of_sentences(make_tenant: Any) -> None:
    acme: TenantHandle = make_tenant("hostile_list")
    client = acme.client(**bearer(acme, owner_of(acme)))
    refused = client.post(
        "/api/v1/ask/",
        {"question": "notice period", "document_ids": [1, 2**63]},
        content_type="application/json",
    )
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["fields"] == {
        "document_ids": ["Item 2: Ensure this value is less than or equal to 9223372036854775807."]
    }

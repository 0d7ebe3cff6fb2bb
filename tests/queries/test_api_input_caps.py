"""`document_ids` is refused for its length before any of its items is validated."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django_tenants.utils import schema_context
from rest_framework import serializers

from queries.api_inputs import MAX_DOCUMENT_FILTER
from tests.conftest import TenantHandle
from tests.queries.helpers import add_corpus

pytestmark = pytest.mark.django_db

SEARCH = "/api/v1/search/"
ASK = "/api/v1/ask/"
JSON = "application/json"
TOO_LONG = f"document_ids: Ensure this field has no more than {MAX_DOCUMENT_FILTER} elements."


@pytest.fixture
def tenant(make_tenant: Any) -> Iterator[TenantHandle]:
    handle = make_tenant("input_caps")
    with schema_context(handle.schema):
        add_corpus()
        yield handle


@pytest.fixture
def item_validations(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every value an IntegerField validated during the test (document ids, top_k)."""
    seen: list[Any] = []
    original = serializers.IntegerField.run_validation

    def counting(self: serializers.IntegerField, data: Any = serializers.empty) -> Any:
        seen.append(data)
        return original(self, data)

    monkeypatch.setattr(serializers.IntegerField, "run_validation", counting)
    return seen


@pytest.mark.parametrize(("url", "field"), [(SEARCH, "query"), (ASK, "question")])
def test_a_huge_id_list_is_refused_for_its_length_without_reading_its_items(
    tenant: TenantHandle, item_validations: list[Any], url: str, field: str
) -> None:
    # 200,000 ids (~600 KB, under the 1 MB body cap), the last of them not an id at all.
    ids: list[Any] = [1] * 199_999 + ["not an id"]
    body = json.dumps({field: "wing", "document_ids": ids})
    response = tenant.logged_in_client().post(url, body, content_type=JSON)
    assert response.status_code == 400, response.content
    assert len(item_validations) < 10, f"{len(item_validations):,} items validated"
    error = response.json()["error"]
    # The length is what is wrong, not the last item (which validating every item finds).
    assert error["message"] == TOO_LONG
    assert list(error["fields"]) == ["document_ids"]


def test_the_cap_itself_is_unchanged(tenant: TenantHandle) -> None:
    client = tenant.logged_in_client()
    at_cap = list(range(1, MAX_DOCUMENT_FILTER + 1))
    ok = client.post(SEARCH, {"query": "wing", "document_ids": at_cap}, content_type=JSON)
    assert ok.status_code == 200, ok.content
    over = client.post(SEARCH, {"query": "wing", "document_ids": [*at_cap, 1]}, content_type=JSON)
    assert over.status_code == 400
    assert over.json()["error"]["message"] == TOO_LONG
    # Within the cap, a bad item is still named by its position.
    bad = client.post(SEARCH, {"query": "wing", "document_ids": [3, 0]}, content_type=JSON)
    assert bad.status_code == 400
    problems = bad.json()["error"]["fields"]["document_ids"]
    assert problems == ["Item 2: Ensure this value is greater than or equal to 1."]

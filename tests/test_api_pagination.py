"""`?page_size=` on every paginated list: absent is 50, 1 to 200 is honoured, anything else
(not a whole number, 0, negative, above 200) is a 400 that says what to send and names
`page_size` in `fields`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.accounts.helpers import bearer, fresh_rate_limits, owner_of
from tests.conftest import TenantHandle
from tests.test_openapi_schema import (
    PAGINATED_LISTS,
    PAGINATED_LISTS_OF_AN_OBJECT,
    assert_matches_schema,
    schema,
)

__all__ = ["fresh_rate_limits", "schema"]


@pytest.fixture(autouse=True)
def _forget_rate_limits(fresh_rate_limits: None) -> None:
    """Rate-limit counters are per tenant schema, and test schema names repeat."""


def _paginated(schema: dict[str, Any]) -> list[str]:
    return sorted(
        path
        for path, item in schema["paths"].items()
        if any(p["name"] == "page_size" for p in item.get("get", {}).get("parameters", []))
    )


def test_the_known_lists_are_every_paginated_list(schema: dict[str, Any]) -> None:
    assert _paginated(schema) == sorted(PAGINATED_LISTS + PAGINATED_LISTS_OF_AN_OBJECT)


def test_the_schema_states_the_page_size_range(schema: dict[str, Any]) -> None:
    for path in _paginated(schema):
        (page_size,) = (
            p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == "page_size"
        )
        assert page_size["schema"] == {
            "type": "integer", "minimum": 1, "maximum": 200, "default": 50,
        }, path  # fmt: skip
        assert "400" in page_size["description"], path


@pytest.mark.django_db
def test_every_list_answers_without_a_page_size_and_within_the_range(
    schema: dict[str, Any], make_tenant: Any
) -> None:
    acme: TenantHandle = make_tenant("pgsize_ok")
    client = acme.client(**bearer(acme, owner_of(acme)))
    for path in PAGINATED_LISTS:
        for query in ({}, {"page_size": ""}, {"page_size": "1"}, {"page_size": "200"}):
            response = client.get(path, query)
            assert response.status_code == 200, (path, query, response.content)
            assert {"count", "next", "previous", "results"} <= set(response.json())
            assert_matches_schema(schema, path, "get", response)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "page_size must be a whole number from 1 to 200; got '0'."),
        ("-1", "page_size must be a whole number from 1 to 200; got '-1'."),
        ("abc", "page_size must be a whole number from 1 to 200; got 'abc'."),
        ("2.5", "page_size must be a whole number from 1 to 200; got '2.5'."),
        ("1000", "page_size can be at most 200 (got 1000); ask for the next pages with ?page=."),
        ("201", "page_size can be at most 200 (got 201); ask for the next pages with ?page=."),
    ],
)
def test_an_invalid_page_size_is_a_400_sentence(
    schema: dict[str, Any], make_tenant: Any, value: str, message: str
) -> None:
    acme: TenantHandle = make_tenant("pgsize_bad")
    client = acme.client(**bearer(acme, owner_of(acme)))
    for path in PAGINATED_LISTS:
        response = client.get(path, {"page_size": value})
        assert response.status_code == 400, (path, value)
        assert response.json()["error"] == {
            "code": "invalid",
            "message": message,
            "fields": {"page_size": [message]},
        }
        assert_matches_schema(schema, path, "get", response)

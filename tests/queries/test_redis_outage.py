"""A Redis that stops while the platform runs: search and ask keep answering, then recover.

The cache points at a Redis server of the test's own (the embedded one, on a unix socket),
which the test really stops and starts again; the connections the cache already holds
break mid-use, as they do when a production Redis restarts or fails over.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from django_tenants.utils import schema_context

from config import embedded
from queries.models import Query
from tests.conftest import TenantHandle
from tests.queries.helpers import add_corpus

SEARCH = "/api/v1/search/"
ASK = "/api/v1/ask/"
JSON = "application/json"


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[Path]:
    var_dir = tmp_path / "var"
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = embedded.redis_url(var_dir)
    caches["default"]["OPTIONS"].update(SOCKET_CONNECT_TIMEOUT=0.5, SOCKET_TIMEOUT=0.5)
    try:
        with override_settings(CACHES=caches):
            yield var_dir
    finally:
        embedded.stop_redis(var_dir)


@pytest.fixture
def tenant(make_tenant: Any) -> Iterator[TenantHandle]:
    handle = make_tenant("redis_outage")
    with schema_context(handle.schema):
        add_corpus()
        yield handle


def _search(client: Any) -> dict[str, Any]:
    response = client.post(SEARCH, {"query": "swept wing shock"}, content_type=JSON)
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def test_search_and_ask_answer_while_redis_is_down_and_use_it_again_once_back(
    tenant: TenantHandle, own_redis: Path
) -> None:
    client = tenant.logged_in_client()
    first = _search(client)
    assert (first["cached"], bool(first["results"])) == (False, True)
    assert _search(client)["cached"] is True  # the cache works before the outage

    assert embedded.stop_redis(own_redis)
    for _ in range(2):  # the pooled connection breaks first, then connecting is refused
        during = _search(client)
        assert during["cached"] is False
        assert during["results"] == first["results"]
    answer = client.post(ASK, {"question": "What happens at the leading edge?"}, content_type=JSON)
    assert answer.status_code == 200, answer.content
    assert answer.json()["citations"]

    embedded.redis_url(own_redis)  # back, empty (it keeps nothing on disk)
    assert _search(client)["cached"] is False
    assert _search(client)["cached"] is True  # no restart of the app needed
    # Every call was logged, the ones served without the cache too.
    cached = list(Query.objects.order_by("id").values_list("kind", "cached"))
    assert cached == [("search", False), ("search", True), ("search", False),
                      ("search", False), ("ask", False), ("search", False),
                      ("search", True)]  # fmt: skip

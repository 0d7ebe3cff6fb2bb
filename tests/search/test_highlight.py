"""Search highlights keep words written in angle brackets (search/highlight.py), through the
search API and real PostgreSQL: ts_headline alone takes `<script>` for a tag and drops it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django_tenants.utils import schema_context

from search.highlight import FRAGMENT_DELIMITER, restore
from tests.conftest import TenantHandle
from tests.factories import DocumentFactory

URL = "/api/v1/search/"
FILLER = "Plain filler sentences about other matters keep the two mentions far apart. " * 8


@pytest.fixture
def tenant(make_tenant: Any) -> Iterator[TenantHandle]:
    handle = make_tenant("highlighting")
    with schema_context(handle.schema):
        yield handle


def _highlights(tenant: TenantHandle, query: str) -> dict[str, str]:
    response = tenant.logged_in_client().post(
        URL, {"query": query, "mode": "lexical", "no_cache": True}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return {hit["text"]: hit["highlight"] for hit in response.json()["results"]}


def _assert_as_written(highlight: str, text: str) -> None:
    for fragment in highlight.split(FRAGMENT_DELIMITER):
        assert fragment.replace("«", "").replace("»", "") in text, fragment


def test_words_in_angle_brackets_stay_in_the_highlight(tenant: TenantHandle) -> None:
    text = "Never trust user content: the <script> tag in user content must be escaped."
    DocumentFactory(filename="xss.txt", chunks=[text])
    highlight = _highlights(tenant, "user content")[text]
    assert highlight == (
        "Never trust «user» «content»: the <script> tag in «user» «content» must be escaped."
    )


def test_a_matched_word_in_angle_brackets_is_marked_with_its_brackets(
    tenant: TenantHandle,
) -> None:
    texts = [
        "The <script> tag in user content",
        "Fill in <customer name> and pass a List<String> of the order lines.",
        f"Avoid inline <script> blocks. {FILLER}Load every <script> from a file instead.",
    ]
    DocumentFactory(filename="tags.txt", chunks=texts)
    scripts = _highlights(tenant, "script")
    assert scripts[texts[0]] == "<«script»> tag in user content"
    assert scripts[texts[2]].startswith("Avoid inline <«script»> blocks.")
    assert scripts[texts[2]].count("<«script»>") == 2
    assert FRAGMENT_DELIMITER in scripts[texts[2]]
    customers = _highlights(tenant, "customer strings")[texts[1]]
    assert customers == "Fill in <«customer» name> and pass a List<«String»> of the order lines."
    for text, highlight in [*scripts.items(), (texts[1], customers)]:
        _assert_as_written(highlight, text)


def test_restore_maps_the_stand_ins_back_and_widens_fragments_to_whole_words() -> None:
    text = "The <script> tag, then a<b and List<String>"
    assert restore("«script»\x02 tag", text) == "<«script»> tag,"
    assert restore("then a\x01b and List\x01«String»", text) == "then a<b and List<«String»>"
    assert restore("«tag»", text) == "«tag»,"
    assert restore("a \x01 b", "a < b") == "a < b"
    assert restore("«gone» now", "another text") == "«gone» now"  # not found: left as is
    long_word = "x" * 50 + "word" + "y" * 50
    assert restore("«word»", f"a {long_word} b") == "«word»"

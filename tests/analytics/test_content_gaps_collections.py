"""Content gaps count what found nothing for the person who asked: a member who cannot read
the collection holding the answer makes a gap the owner sees, and the page says why."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from accounts.models import Collection, Role
from tests.accounts.helpers import signed_in
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db

QUESTION = "parental leave weeks"


def _search(client, query: str) -> list[dict]:
    body = {"query": query, "mode": "lexical", "no_cache": True}
    response = client.post("/api/v1/search/", body, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_a_gap_of_a_member_who_cannot_read_the_answer_is_listed_with_the_note(make_tenant):
    handle = make_tenant("an_gap_coll")
    with schema_context(handle.schema):
        hr = Collection.objects.create(name="hr")
        DocumentFactory(
            filename="leave.txt", collections=[hr], chunks=["Parental leave is 16 weeks."]
        )
    owner = signed_in(handle, Role.OWNER)
    assert _search(owner, QUESTION)  # the workspace holds the answer ...
    assert _search(signed_in(handle, Role.MEMBER), QUESTION) == []  # ... in a collection
    html = owner.get("/analytics/").content.decode()
    gaps = html.split('id="content-gaps"')[1].split("</table>")[0]
    assert QUESTION in gaps  # the member's search that found nothing is a gap
    assert "A gap is a query that found nothing <em>for the person who asked</em>" in html

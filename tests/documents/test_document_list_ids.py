"""`GET /api/v1/documents/?id=…`: the documents page asks which of the rows it shows still
exist (and their status), and whether a new upload matches its filter. Ids of another
workspace are never answered."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from documents.api import MAX_IDS
from documents.models import Document, DocumentStatus
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/documents/"


@pytest.fixture
def tenant(make_tenant):
    return make_tenant("ids_list")


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return sorted(row["id"] for row in response.json()["results"])


def test_only_the_asked_documents_that_still_exist_are_answered(tenant):
    kept = DocumentFactory(tenant=tenant, filename="kept.txt")
    other = DocumentFactory(tenant=tenant, filename="other.txt")
    gone = DocumentFactory(tenant=tenant, filename="gone.txt")
    with schema_context(tenant.schema):
        Document.objects.filter(pk=gone.pk).delete()
    client = tenant.logged_in_client()

    assert _ids(client.get(API, {"id": f"{kept.pk},{gone.pk}"})) == [kept.pk]
    # Repeated parameters and spaces after commas are read the same way.
    assert _ids(client.get(f"{API}?id={kept.pk}&id={other.pk}")) == sorted([kept.pk, other.pk])
    assert _ids(client.get(API, {"id": f"{kept.pk}, {other.pk}"})) == sorted([kept.pk, other.pk])
    # An empty id is the same as none: the whole list.
    assert _ids(client.get(API, {"id": ""})) == sorted([kept.pk, other.pk])


def test_ids_combine_with_the_filter(tenant):
    ready = DocumentFactory(tenant=tenant, filename="report-ready.txt")
    failed = DocumentFactory(
        tenant=tenant, filename="report-failed.txt", status=DocumentStatus.FAILED
    )
    client = tenant.logged_in_client()
    both = f"{ready.pk},{failed.pk}"

    assert _ids(client.get(API, {"id": both, "status": "failed"})) == [failed.pk]
    assert _ids(client.get(API, {"id": both, "search": "READY"})) == [ready.pk]
    assert _ids(client.get(API, {"id": ready.pk, "status": "failed"})) == []


@pytest.mark.parametrize("value", ["abc", "12;13", "1,-2", "١٢", "9" * 19])
def test_an_id_that_is_not_a_whole_number_is_a_400_naming_it(tenant, value):
    response = tenant.logged_in_client().get(API, {"id": value})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"].startswith("id takes document ids separated by commas, such as 12,15;")
    assert "id" in error["fields"]


def test_too_many_ids_is_a_400_saying_how_many_fit(tenant):
    ids = ",".join(str(number) for number in range(1, MAX_IDS + 2))
    response = tenant.logged_in_client().get(API, {"id": ids})
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert message == f"Ask for at most {MAX_IDS} ids at once (got {MAX_IDS + 1}); split the list."


def test_another_workspaces_ids_are_never_answered(tenant, make_tenant):
    other = make_tenant("ids_other")
    theirs = DocumentFactory.create_batch(3, tenant=other)[-1]
    mine = DocumentFactory(tenant=tenant, filename="mine.txt")
    assert theirs.pk != mine.pk  # each schema counts its own ids
    response = tenant.logged_in_client().get(API, {"id": f"{theirs.pk},{mine.pk}"})
    assert [row["filename"] for row in response.json()["results"]] == ["mine.txt"]
    assert _ids(tenant.logged_in_client().get(API, {"id": theirs.pk})) == []

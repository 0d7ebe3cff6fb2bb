"""The API-keys page's collection picker: a key for all collections (the default) or for the
ticked ones, refused with sentences in the page's words, and each key's collections in the list."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from accounts.models import ApiKey, Collection
from tests.conftest import TenantHandle
from tests.factories import ApiKeyFactory

pytestmark = pytest.mark.django_db

PAGE = "/settings/api-keys/"


def _key(handle: TenantHandle) -> ApiKey:
    with schema_context(handle.schema):
        return ApiKey.objects.prefetch_related("collections").get()


def test_one_collection_shows_no_picker_and_no_collections_column(make_tenant):
    acme = make_tenant("keycoll_a")
    html = acme.logged_in_client().get(PAGE).content.decode()
    assert "Collections the key reads" not in html
    assert '<th scope="col">Collections</th>' not in html
    assert "api_keys.js" not in html


def test_a_key_for_the_ticked_collection_reads_only_it(make_tenant):
    acme = make_tenant("keycoll_b")
    with schema_context(acme.schema):
        hr = Collection.objects.create(name="HR <private>")
        Collection.objects.create(name="Legal")
    client = acme.logged_in_client()
    form = client.get(PAGE).content.decode()
    assert "Collections the key reads" in form
    assert 'value="all" checked' in form  # all collections unless chosen
    created = client.post(
        PAGE, {"name": "hr sync", "scopes": ["read"], "reads": "chosen", "collection_ids": [hr.pk]}
    )
    assert created.status_code == 302, created.content.decode()
    key = _key(acme)
    assert key.collections_limited
    assert [c.pk for c in key.collections.all()] == [hr.pk]
    listed = client.get(PAGE).content.decode()
    assert "<td>HR &lt;private&gt;</td>" in listed

    # Its collection deleted, the list says the key reads nothing.
    with schema_context(acme.schema):
        hr.delete()
    assert "none: its collections were deleted" in client.get(PAGE).content.decode()


def test_all_collections_is_the_default_and_the_list_says_so(make_tenant):
    acme = make_tenant("keycoll_c")
    with schema_context(acme.schema):
        Collection.objects.create(name="Legal")
    client = acme.logged_in_client()
    created = client.post(PAGE, {"name": "everything", "scopes": ["read"]})
    assert created.status_code == 302
    assert not _key(acme).collections_limited
    assert "<td>all</td>" in client.get(PAGE).content.decode()


def test_the_page_refuses_in_its_own_words(make_tenant):
    acme = make_tenant("keycoll_d")
    with schema_context(acme.schema):
        legal = Collection.objects.create(name="Legal")
    client = acme.logged_in_client()

    def refusal(body: dict[str, object]) -> str:
        response = client.post(PAGE, {"name": "k", "scopes": ["read"], **body})
        assert response.status_code == 200
        html = response.content.decode()
        assert 'id="key-collections-error"' in html
        assert 'aria-invalid="true"' in html
        assert "collection_ids" not in html.split('id="key-collections-error"')[1].split("</p>")[0]
        return html

    # "Only the ticked collections" with none ticked: the key could read nothing.
    assert (
        "Choose “All collections”, or tick at least one collection: a key for none of them "
        "could read nothing." in refusal({"reads": "chosen"})
    )
    # A collection deleted while the form was open.
    html = refusal({"reads": "chosen", "collection_ids": [legal.pk, 999999]})
    assert "A ticked collection was deleted meanwhile; tick collections from the list" in html
    assert f'value="{legal.pk}" checked' in html  # the ticks are kept
    # Ticks while "All collections" is chosen (a page without its script) are not guessed.
    assert "untick them for a key that reads all collections" in refusal(
        {"reads": "all", "collection_ids": [legal.pk]}
    )
    assert "one of the values sent is not a collection id" in refusal(
        {"reads": "chosen", "collection_ids": ["legal"]}
    )
    with schema_context(acme.schema):
        assert not ApiKey.objects.exists()


def test_a_key_limited_through_the_api_shows_its_collections_with_one_collection(make_tenant):
    acme = make_tenant("keycoll_e")
    with schema_context(acme.schema):
        general = Collection.objects.get()
    ApiKeyFactory(tenant=acme, scopes=["read"], collection_ids=[general.pk])
    html = acme.logged_in_client().get(PAGE).content.decode()
    assert "Collections the key reads" not in html  # nothing to choose from
    assert f"<td>{general.name}</td>" in html

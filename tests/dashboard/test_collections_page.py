"""The Collections page: owners and admins only; create, rename, delete (moving documents),
add and remove people; refusals shown as sentences; names escaped; members see nothing of it,
and the documents and Ask pages list only what they read."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import Collection, CollectionMember, Role, User
from documents.models import Document
from tests.conftest import PASSWORD, TenantHandle
from tests.factories import DocumentFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGE = "/collections/"


@pytest.fixture
def tenant(make_tenant: Any) -> TenantHandle:
    return make_tenant("coll_page")


def person(handle: TenantHandle, role: str = Role.MEMBER) -> tuple[User, Client]:
    user = UserFactory(tenant=handle, role=role)
    client = handle.client()
    with schema_context(handle.schema):
        assert client.login(username=user.email, password=PASSWORD)
    return user, client


def test_only_owners_and_admins_open_the_page(tenant):
    assert tenant.client().get(PAGE).status_code == 302
    _user, member = person(tenant)
    refused = member.get(PAGE)
    assert refused.status_code == 403
    assert "owners and admins" in refused.content.decode()
    assert 'href="/collections/"' not in member.get("/documents/").content.decode()
    owner_page = tenant.logged_in_client().get(PAGE)
    assert owner_page.status_code == 200
    assert "General" in owner_page.content.decode()


def test_create_rename_share_and_delete_a_collection(tenant):
    owner = tenant.logged_in_client()
    user, member = person(tenant)
    page = owner.post(PAGE, {"name": "<b>HR</b>"}, follow=True).content.decode()
    assert "&lt;b&gt;HR&lt;/b&gt;" in page
    assert "<b>HR</b>" not in page
    with schema_context(tenant.schema):
        hr = Collection.objects.get(name="<b>HR</b>")
        secret = DocumentFactory(filename="salaries.txt", collections=[hr])
    duplicate = owner.post(PAGE, {"name": "<B>hr</B>"}, follow=True).content.decode()
    assert "There is already a collection named" in duplicate
    owner.post(f"{PAGE}{hr.pk}/rename/", {"name": "People"})
    assert "salaries.txt" not in member.get("/documents/").content.decode()
    assert "salaries.txt" not in member.get("/ask/").content.decode()
    owner.post(f"{PAGE}{hr.pk}/members/", {"user_id": user.pk, "can_upload": "on"})
    with schema_context(tenant.schema):
        assert CollectionMember.objects.get(collection=hr, user=user).can_upload
    assert "salaries.txt" in member.get("/documents/").content.decode()
    owner.post(f"{PAGE}{hr.pk}/members/{user.pk}/remove/")
    assert "salaries.txt" not in member.get("/documents/").content.decode()
    done = owner.post(f"{PAGE}{hr.pk}/delete/", {"documents": "move"}, follow=True)
    assert "1 document(s) moved to the default collection" in done.content.decode()
    with schema_context(tenant.schema):
        assert list(
            Document.objects.get(pk=secret.pk).collections.values_list("is_default", flat=True)
        ) == [True]
    assert "salaries.txt" in member.get("/documents/").content.decode()


def test_the_default_collection_cannot_be_deleted_from_the_page(tenant):
    owner = tenant.logged_in_client()
    with schema_context(tenant.schema):
        default = Collection.objects.get(is_default=True)
    page = owner.post(f"{PAGE}{default.pk}/delete/", {"documents": "move"}, follow=True)
    assert "cannot be deleted" in page.content.decode()
    with schema_context(tenant.schema):
        assert Collection.objects.filter(pk=default.pk).exists()


def test_the_documents_page_filters_by_collection_and_offers_where_to_upload(tenant):
    owner = tenant.logged_in_client()
    assert 'id="doc-collection"' not in owner.get("/documents/").content.decode()
    with schema_context(tenant.schema):
        hr = Collection.objects.create(name="hr")
        legal = Collection.objects.create(name="legal")
        DocumentFactory(filename="salaries.txt", collections=[hr])
        DocumentFactory(filename="handbook.txt")
    page = owner.get(f"/documents/?collection={hr.pk}").content.decode()
    assert "salaries.txt" in page
    assert "handbook.txt" not in page
    assert 'id="upload-collection"' in page
    user, member = person(tenant)
    with schema_context(tenant.schema):
        CollectionMember.objects.create(collection=hr, user=user, can_upload=False)
        CollectionMember.objects.create(collection=legal, user=user, can_upload=True)
    mine = member.get("/documents/").content.decode()
    picker = mine.split('id="upload-collection"')[1].split("</select>")[0]
    assert ">legal<" in picker
    assert ">General<" in picker
    assert ">hr<" not in picker  # reads it, may not upload into it
    # A collection the viewer does not read lists nothing, as the API does, and says so.
    _other, outsider = person(tenant, Role.VIEWER)
    shown = outsider.get(f"/documents/?collection={hr.pk}").content.decode()
    assert f"There is no collection {hr.pk} that you can read, so no document is listed." in shown
    assert "handbook.txt" not in shown
    assert "salaries.txt" not in shown


@pytest.mark.parametrize("value", ["abc", "-1", "0", "1.5", "99999999999999999999", "٣"])
def test_a_collection_filter_that_is_no_id_is_said_and_lists_every_collection(tenant, value):
    with schema_context(tenant.schema):
        hr = Collection.objects.create(name="hr")
        DocumentFactory(filename="salaries.txt", collections=[hr])
        DocumentFactory(filename="handbook.txt")
    response = tenant.logged_in_client().get("/documents/", {"collection": value})
    assert response.status_code == 200
    page = response.content.decode()
    assert "is not a collection id, so documents of every collection are listed." in page
    assert "salaries.txt" in page
    assert "handbook.txt" in page


def test_a_collection_that_does_not_exist_lists_nothing_and_is_said(tenant):
    with schema_context(tenant.schema):
        DocumentFactory(filename="handbook.txt")
    page = tenant.logged_in_client().get("/documents/?collection=999999").content.decode()
    assert "There is no collection 999999 that you can read, so no document is listed." in page
    assert "handbook.txt" not in page
    assert 'href="/documents/">Show every collection</a>' in page


def _row(page: str, filename: str) -> str:
    return page.split(f">{filename}</a>")[1].split("</tr>")[0]


def test_the_documents_table_names_each_documents_collections_and_admins_may_move_it(tenant):
    owner = tenant.logged_in_client()
    with schema_context(tenant.schema):
        DocumentFactory(filename="handbook.txt")
    single = owner.get("/documents/").content.decode()
    assert '<th scope="col">Collections</th>' not in single  # one collection: nothing to say
    assert 'data-action="move"' not in single
    with schema_context(tenant.schema):
        hr = Collection.objects.create(name="HR <people>")
        legal = Collection.objects.create(name="Legal")
        DocumentFactory(filename="contract.txt", collections=[hr, legal])
    page = owner.get("/documents/").content.decode()
    assert '<th scope="col">Collections</th>' in page
    assert '<td data-col="collections">HR &lt;people&gt;, Legal</td>' in _row(page, "contract.txt")
    assert '<td data-col="collections">General</td>' in _row(page, "handbook.txt")
    assert 'aria-label="Move contract.txt to other collections"' in page
    assert 'id="move-dialog"' in page
    # A member who reads legal sees that collection only, and no Move button.
    user, member = person(tenant)
    with schema_context(tenant.schema):
        CollectionMember.objects.create(collection=legal, user=user)
    theirs = member.get("/documents/").content.decode()
    assert '<td data-col="collections">Legal</td>' in _row(theirs, "contract.txt")
    assert "HR &lt;people&gt;" not in theirs
    assert 'data-action="move"' not in theirs
    assert 'id="move-dialog"' not in theirs


def _add_choices(page: str, collection: Collection) -> str:
    """The options of the collection's "Add a person" list ('' when it has none)."""
    marker = f'id="add-{collection.pk}"'
    return page.split(marker)[1].split("</select>")[0] if marker in page else ""


def test_add_a_person_offers_only_people_not_in_the_collection_and_upload_is_its_own_button(
    tenant,
):
    owner = tenant.logged_in_client()
    reader, _client = person(tenant)
    other, _other = person(tenant, Role.VIEWER)
    admin, _admin = person(tenant, Role.ADMIN)
    with schema_context(tenant.schema):
        hr = Collection.objects.create(name="hr")
        CollectionMember.objects.create(collection=hr, user=reader, can_upload=True)
    page = owner.get(PAGE).content.decode()
    choices = _add_choices(page, hr)
    assert other.email in choices
    assert reader.email not in choices  # already reads it
    assert admin.email not in choices
    assert tenant.admin_email not in choices
    # Adding someone already there (a page open from before) changes nothing.
    again = owner.post(f"{PAGE}{hr.pk}/members/", {"user_id": reader.pk}, follow=True)
    assert f"{reader.email} already reads &#x27;hr&#x27;" in again.content.decode()
    with schema_context(tenant.schema):
        assert CollectionMember.objects.get(collection=hr, user=reader).can_upload
    # The upload right changes with its own button.
    assert f'aria-label="Make read only: {reader.email}"' in page
    done = owner.post(
        f"{PAGE}{hr.pk}/members/{reader.pk}/upload/", {"can_upload": "0"}, follow=True
    )
    assert f"{reader.email} now only reads &#x27;hr&#x27;." in done.content.decode()
    assert f'aria-label="Allow uploads: {reader.email}"' in done.content.decode()
    with schema_context(tenant.schema):
        assert not CollectionMember.objects.get(collection=hr, user=reader).can_upload
    # An admin posted anyway is refused with a sentence.
    refused = owner.post(f"{PAGE}{hr.pk}/members/", {"user_id": admin.pk}, follow=True)
    assert "Owners and admins read every collection already" in refused.content.decode()
    # Everyone added: the list is gone, and the page says why.
    owner.post(f"{PAGE}{hr.pk}/members/", {"user_id": other.pk})
    page = owner.get(PAGE).content.decode()
    assert _add_choices(page, hr) == ""
    assert "Everyone else in the workspace reads it already" in page

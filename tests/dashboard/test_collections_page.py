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
    # A collection the member does not read is no filter: the whole readable list shows.
    _other, outsider = person(tenant, Role.VIEWER)
    shown = outsider.get(f"/documents/?collection={hr.pk}").content.decode()
    assert "handbook.txt" in shown
    assert "salaries.txt" not in shown

"""Collections through the API: the default collection, create/rename/delete (moving or
deleting documents), members, uploads into collections, documents' collection_ids, and what a
member without access sees of a restricted document (nothing: 404s and an empty list)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import Collection, Role, User
from documents.models import Document, IndexState
from tests.accounts.helpers import key_header, owner_of
from tests.conftest import PASSWORD, TenantHandle
from tests.factories import ApiKeyFactory, ChunkFactory, DocumentFactory, UserFactory

pytestmark = pytest.mark.django_db

COLLECTIONS = "/api/v1/collections/"
DOCUMENTS = "/api/v1/documents/"


@pytest.fixture
def tenant(make_tenant: Any) -> TenantHandle:
    return make_tenant("coll_api")


def person(handle: TenantHandle, role: str = Role.MEMBER, name: str = "") -> tuple[User, Client]:
    """A signed-in person of `role`; `name` tells several of one role apart."""
    email = f"{name or role}@{handle.schema.replace('_', '-')}.test"
    user = UserFactory(tenant=handle, role=role, email=email)
    client = handle.client()
    with schema_context(handle.schema):
        assert client.login(username=user.email, password=PASSWORD)
    return user, client


def create(client: Client, name: str) -> Any:
    return client.post(COLLECTIONS, {"name": name}, content_type="application/json")


def collection(handle: TenantHandle, name: str) -> Collection:
    with schema_context(handle.schema):
        return Collection.objects.create(name=name)


def grant(handle: TenantHandle, owner: Client, target: Collection, user: User, **extra: Any):
    body = {"user_id": user.pk, **extra}
    url = f"{COLLECTIONS}{target.pk}/members/"
    return owner.post(url, body, content_type="application/json")


def test_every_workspace_starts_with_a_default_collection_holding_new_documents(tenant):
    listed = tenant.logged_in_client().get(COLLECTIONS).json()["results"]
    assert [(c["name"], c["is_default"]) for c in listed] == [("General", True)]
    response = tenant.logged_in_client().post(
        DOCUMENTS, {"file": SimpleUploadedFile("notes.txt", b"Plain notes.")}
    )
    assert response.status_code == 202, response.content
    assert response.json()["collection_ids"] == [listed[0]["id"]]


def test_owners_create_and_rename_collections_and_names_are_unique(tenant):
    owner = tenant.logged_in_client()
    made = create(owner, "  HR   files ")
    assert made.status_code == 201, made.content
    assert made.json()["name"] == "HR files"
    clash = create(owner, "hr FILES")
    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "duplicate_name"
    assert "already a collection named 'hr FILES'" in clash.json()["error"]["message"]
    assert create(owner, "   ").status_code == 400
    url = f"{COLLECTIONS}{made.json()['id']}/"
    renamed = owner.patch(url, {"name": "People"}, content_type="application/json")
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "People"


def test_members_cannot_manage_collections(tenant):
    _user, member = person(tenant)
    refused = create(member, "Secret")
    assert refused.status_code == 403
    assert "owners and admins" in refused.json()["error"]["message"]


def test_a_member_without_access_never_sees_a_restricted_document(tenant):
    hr = collection(tenant, "hr")
    with schema_context(tenant.schema):
        secret = DocumentFactory(filename="salaries.txt", collections=[hr])
        public = DocumentFactory(filename="handbook.txt")
        chunk = ChunkFactory(document=secret, text="Salary bands for 2027.")
    _user, member = person(tenant)
    names = [d["filename"] for d in member.get(DOCUMENTS).json()["results"]]
    assert names == ["handbook.txt"]
    for url in (
        f"{DOCUMENTS}{secret.pk}/",
        f"{DOCUMENTS}{secret.pk}/file/",
        f"/api/v1/chunks/{chunk.pk}/",
        f"{COLLECTIONS}{hr.pk}/",
    ):
        assert member.get(url).status_code == 404, url
    assert member.get(f"{DOCUMENTS}{public.pk}/").status_code == 200
    assert [c["name"] for c in member.get(COLLECTIONS).json()["results"]] == ["General"]
    # The owner sees both, with their collections.
    owner_view = tenant.logged_in_client().get(DOCUMENTS).json()["results"]
    assert {d["filename"]: d["collection_ids"] for d in owner_view}["salaries.txt"] == [hr.pk]


def test_membership_lets_a_member_read_and_with_can_upload_upload(tenant):
    hr = collection(tenant, "hr")
    with schema_context(tenant.schema):
        secret = DocumentFactory(filename="salaries.txt", collections=[hr])
    user, member = person(tenant)
    owner = tenant.logged_in_client()
    added = grant(tenant, owner, hr, user)
    assert added.status_code == 201
    assert added.json() == {**added.json(), "user_id": user.pk, "can_upload": False}
    assert member.get(f"{DOCUMENTS}{secret.pk}/").status_code == 200
    upload = {"file": SimpleUploadedFile("pay.txt", b"Pay review."), "collection_ids": [hr.pk]}
    refused = member.post(DOCUMENTS, upload)
    assert refused.status_code == 403
    assert refused.json()["error"]["message"].startswith(
        "You may read the 'hr' collection but not upload into it"
    )
    assert grant(tenant, owner, hr, user, can_upload=True).status_code == 200
    upload["file"] = SimpleUploadedFile("pay.txt", b"Pay review.")
    accepted = member.post(DOCUMENTS, upload)
    assert accepted.status_code == 202, accepted.content
    assert accepted.json()["collection_ids"] == [hr.pk]
    members = owner.get(f"{COLLECTIONS}{hr.pk}/members/").json()["results"]
    assert [(m["email"], m["can_upload"]) for m in members] == [(user.email, True)]
    assert owner.delete(f"{COLLECTIONS}{hr.pk}/members/{user.pk}/").status_code == 204
    assert member.get(f"{DOCUMENTS}{secret.pk}/").status_code == 404


def test_an_upload_into_a_collection_the_member_cannot_read_is_a_400(tenant):
    hr = collection(tenant, "hr")
    _user, member = person(tenant)
    upload = {"file": SimpleUploadedFile("a.txt", b"Text."), "collection_ids": [str(hr.pk)]}
    refused = member.post(DOCUMENTS, upload)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "unknown_collection"
    upload = {"file": SimpleUploadedFile("a.txt", b"Text."), "collection_ids": ["hr"]}
    assert member.post(DOCUMENTS, upload).status_code == 400
    with schema_context(tenant.schema):
        assert not Document.objects.exists()


def test_a_duplicate_in_a_collection_the_uploader_cannot_read_is_not_named(tenant):
    hr = collection(tenant, "hr")
    owner = tenant.logged_in_client()
    body = b"Confidential severance terms."
    first = owner.post(
        DOCUMENTS, {"file": SimpleUploadedFile("severance.txt", body), "collection_ids": hr.pk}
    )
    assert first.status_code == 202
    _user, member = person(tenant)
    second = member.post(DOCUMENTS, {"file": SimpleUploadedFile("copy.txt", body)})
    assert second.status_code == 202, second.content
    assert "severance" not in second.content.decode()


def test_deleting_a_collection_moves_its_documents_to_the_default_one(tenant):
    hr = collection(tenant, "hr")
    legal = collection(tenant, "legal")
    with schema_context(tenant.schema):
        only_hr = DocumentFactory(filename="only-hr.txt", collections=[hr])
        both = DocumentFactory(filename="both.txt", collections=[hr, legal])
        default_id = Collection.objects.get(is_default=True).pk
        IndexState.objects.get_or_create(singleton=True)
    _user, member = person(tenant)
    assert member.get(f"{DOCUMENTS}{only_hr.pk}/").status_code == 404
    owner = tenant.logged_in_client()
    unsaid = owner.delete(f"{COLLECTIONS}{hr.pk}/")
    assert unsaid.status_code == 400
    assert "?documents=move" in unsaid.json()["error"]["message"]
    moved = owner.delete(f"{COLLECTIONS}{hr.pk}/?documents=move")
    assert moved.status_code == 200
    assert moved.json() == {"moved": 1, "deleted": 0, "kept": 1}
    assert member.get(f"{DOCUMENTS}{only_hr.pk}/").json()["collection_ids"] == [default_id]
    assert member.get(f"{DOCUMENTS}{both.pk}/").status_code == 404  # still only in legal
    with schema_context(tenant.schema):
        assert IndexState.objects.get().access_seq == 1  # cached answers expire
    assert owner.get(f"{COLLECTIONS}{hr.pk}/").status_code == 404


def test_deleting_a_collection_with_its_documents(tenant):
    hr = collection(tenant, "hr")
    legal = collection(tenant, "legal")
    with schema_context(tenant.schema):
        DocumentFactory(filename="only-hr.txt", collections=[hr])
        DocumentFactory(filename="both.txt", collections=[hr, legal])
    owner = tenant.logged_in_client()
    gone = owner.delete(f"{COLLECTIONS}{hr.pk}/?documents=delete")
    assert gone.json() == {"moved": 0, "deleted": 1, "kept": 1}
    names = [d["filename"] for d in owner.get(DOCUMENTS).json()["results"]]
    assert names == ["both.txt"]


def test_the_default_collection_cannot_be_deleted(tenant):
    owner = tenant.logged_in_client()
    default = owner.get(COLLECTIONS).json()["results"][0]
    refused = owner.delete(f"{COLLECTIONS}{default['id']}/?documents=move")
    assert refused.status_code == 409
    assert "default collection" in refused.json()["error"]["message"]


def test_an_api_key_for_one_collection_reads_nothing_else(tenant):
    support = collection(tenant, "support")
    with schema_context(tenant.schema):
        DocumentFactory(filename="faq.txt", collections=[support])
        DocumentFactory(filename="handbook.txt")
    owner = tenant.logged_in_client()
    made = owner.post(
        "/api/v1/api-keys/",
        {"name": "helpdesk", "scopes": ["read", "write"], "collection_ids": [support.pk]},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    assert made.json()["collection_ids"] == [support.pk]
    client = tenant.client()
    headers = key_header(made.json()["key"])
    names = [d["filename"] for d in client.get(DOCUMENTS, **headers).json()["results"]]
    assert names == ["faq.txt"]
    listed = client.get(COLLECTIONS, **headers).json()["results"]
    assert [c["name"] for c in listed] == ["support"]
    # No collection named: the key is told to name one of its own.
    upload = client.post(DOCUMENTS, {"file": SimpleUploadedFile("x.txt", b"X.")}, **headers)
    assert upload.status_code == 400
    assert upload.json()["error"] == {
        "code": "collection_required",
        "message": "This API key is limited to some collections, so an upload names one: send "
        f"collection_ids with one of the key's collections, such as {support.pk} ('support').",
    }
    # The default collection, which exists, is refused as one that does not.
    with schema_context(tenant.schema):
        default_id = Collection.objects.get(is_default=True).pk
    refusals = []
    for collection_id in (default_id, 999999):
        upload = {"file": SimpleUploadedFile("x.txt", b"X."), "collection_ids": collection_id}
        refused = client.post(DOCUMENTS, upload, **headers)
        assert refused.status_code == 400
        refusals.append(refused.json()["error"]["message"].replace(str(collection_id), "<id>"))
    assert refusals[0] == refusals[1]
    assert refusals[0].startswith("There is no collection <id> in this workspace that you can")
    named = {"file": SimpleUploadedFile("x.txt", b"X."), "collection_ids": support.pk}
    assert client.post(DOCUMENTS, named, **headers).status_code == 202
    # Once its collection is deleted, the key reads nothing (not everything).
    owner.delete(f"{COLLECTIONS}{support.pk}/?documents=move")
    assert client.get(DOCUMENTS, **headers).json()["results"] == []


def test_an_api_key_needs_existing_collections(tenant):
    owner = tenant.logged_in_client()
    for ids, status in (([999999], 400), ([], 400)):
        made = owner.post(
            "/api/v1/api-keys/",
            {"name": "k", "scopes": ["read"], "collection_ids": ids},
            content_type="application/json",
        )
        assert made.status_code == status, made.content
        assert made.json()["error"]["code"] == "unknown_collection"
    unlimited = ApiKeyFactory(tenant=tenant, scopes=["read"])
    listed = owner.get(f"/api/v1/api-keys/{unlimited.pk}/").json()
    assert listed["collection_ids"] is None


def test_owners_move_a_document_between_collections(tenant):
    hr = collection(tenant, "hr")
    with schema_context(tenant.schema):
        document = DocumentFactory(filename="contract.txt")
        IndexState.objects.get_or_create(singleton=True)
    _user, member = person(tenant)
    url = f"{DOCUMENTS}{document.pk}/"
    assert member.get(url).status_code == 200
    owner = tenant.logged_in_client()
    moved = owner.patch(url, {"collection_ids": [hr.pk]}, content_type="application/json")
    assert moved.status_code == 200, moved.content
    assert moved.json()["collection_ids"] == [hr.pk]
    assert member.get(url).status_code == 404
    with schema_context(tenant.schema):
        assert IndexState.objects.get().access_seq == 1  # cached answers expire
    refused = member.patch(url, {"collection_ids": [hr.pk]}, content_type="application/json")
    assert refused.status_code == 403
    for ids in ([], [999999]):
        wrong = owner.patch(url, {"collection_ids": ids}, content_type="application/json")
        assert wrong.status_code == 400, ids
        assert wrong.json()["error"]["message"].endswith(".")


def test_the_documents_list_filters_by_collection(tenant):
    hr = collection(tenant, "hr")
    with schema_context(tenant.schema):
        DocumentFactory(filename="salaries.txt", collections=[hr])
        DocumentFactory(filename="handbook.txt")
    owner = tenant.logged_in_client()
    listed = owner.get(f"{DOCUMENTS}?collection={hr.pk}").json()["results"]
    assert [d["filename"] for d in listed] == ["salaries.txt"]
    _user, member = person(tenant)
    assert member.get(f"{DOCUMENTS}?collection={hr.pk}").json()["results"] == []
    wrong = owner.get(f"{DOCUMENTS}?collection=hr")
    assert wrong.status_code == 400
    assert wrong.json()["error"]["message"].startswith("collection takes one collection id")


def test_owners_and_admins_are_not_added_as_members_since_they_read_everything(tenant):
    hr = collection(tenant, "hr")
    admin, _client = person(tenant, Role.ADMIN)
    owner = tenant.logged_in_client()
    for user in (admin, owner_of(tenant)):
        refused = grant(tenant, owner, hr, user, can_upload=False)
        assert refused.status_code == 400, refused.content
        error = refused.json()["error"]
        assert error["code"] == "reads_every_collection"
        assert error["message"].startswith("Owners and admins read every collection already")
    assert owner.get(f"{COLLECTIONS}{hr.pk}/members/").json()["results"] == []


def test_adding_a_member_again_changes_only_what_the_body_says(tenant):
    hr = collection(tenant, "hr")
    user, _member = person(tenant)
    owner = tenant.logged_in_client()
    assert grant(tenant, owner, hr, user, can_upload=True).status_code == 201
    again = grant(tenant, owner, hr, user)  # no can_upload: their right stays
    assert again.status_code == 200
    assert again.json()["can_upload"] is True
    url = f"{COLLECTIONS}{hr.pk}/members/{user.pk}/"
    changed = owner.patch(url, {"can_upload": False}, content_type="application/json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["can_upload"] is False
    members = owner.get(f"{COLLECTIONS}{hr.pk}/members/").json()["results"]
    assert [(m["email"], m["can_upload"]) for m in members] == [(user.email, False)]
    assert owner.patch(url, {}, content_type="application/json").status_code == 400
    stranger, _client = person(tenant, name="stranger")
    missing = f"{COLLECTIONS}{hr.pk}/members/{stranger.pk}/"
    refused = owner.patch(missing, {"can_upload": True}, content_type="application/json")
    assert refused.status_code == 404

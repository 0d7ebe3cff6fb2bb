"""Search, ask and the response cache respect collections: a member without access to "hr"
never retrieves its canary through any mode, answer, stream or cached response; a key made
for "support" reads nothing else; the filter works inside retrieval, so top_k still holds."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import Collection, Role, User
from documents.models import Document
from documents.pipeline import process_documents
from documents.services import delete_document
from queries import hints
from tests.accounts.helpers import key_header
from tests.conftest import PASSWORD, TenantHandle
from tests.factories import DocumentFactory, UserFactory

pytestmark = pytest.mark.django_db

PROBE = "zorblax quintessence code"
SECRET = "vermilionxq7731"  # only in the hr document; never typed by anyone


@pytest.fixture
def tenant(make_tenant: Any) -> TenantHandle:
    return make_tenant("coll_access")


def person(handle: TenantHandle, role: str = Role.MEMBER, name: str = "") -> tuple[User, Client]:
    """A signed-in person of `role`; `name` tells several of one role apart."""
    email = f"{name or role}@{handle.schema.replace('_', '-')}.test"
    user = UserFactory(tenant=handle, role=role, email=email)
    client = handle.client()
    with schema_context(handle.schema):
        assert client.login(username=user.email, password=PASSWORD)
    return user, client


def post(client: Client, url: str, body: dict[str, Any], **headers: Any) -> Any:
    return client.post(url, body, content_type="application/json", **headers)


def hr_canary(handle: TenantHandle) -> tuple[Collection, int]:
    """An "hr" collection holding the canary document, uploaded and ingested for real."""
    with schema_context(handle.schema):
        hr = Collection.objects.create(name="hr")
        DocumentFactory(filename="wing.txt", chunks=["Ordinary notes about the zorblax wing."])
    response = handle.logged_in_client().post(
        "/api/v1/documents/",
        {
            "file": SimpleUploadedFile("pay.txt", f"The {PROBE} is {SECRET}.".encode()),
            "collection_ids": [hr.pk],
        },
    )
    assert response.status_code == 202, response.content
    with schema_context(handle.schema):
        assert process_documents([response.json()["id"]])[0].outcome == "ready"
    return hr, response.json()["id"]


def everything_seen_by(client: Client, **headers: Any) -> str:
    seen = []
    for mode in ("lexical", "dense", "hybrid"):
        for _ in range(2):  # the second response may come from the cache
            body = {"query": PROBE, "mode": mode}
            seen.append(post(client, "/api/v1/search/", body, **headers).content)
    for _ in range(2):
        body = {"question": f"What is the {PROBE}?"}
        seen.append(post(client, "/api/v1/ask/", body, **headers).content)
    stream = post(client, "/api/v1/ask/", {"question": PROBE, "stream": True}, **headers)
    seen.append(stream.getvalue())
    for url in ("/api/v1/documents/", "/api/v1/queries/", "/api/v1/collections/"):
        seen.append(client.get(url, **headers).content)
    if not headers:
        seen.extend(client.get(page).content for page in ("/documents/", "/ask/"))
    return b"\n".join(seen).decode()


def test_the_hr_canary_reaches_the_owner_and_hr_members_only(tenant):
    hr, document_id = hr_canary(tenant)
    # The owner finds it (so the probe is meaningful), and has it cached now ...
    assert SECRET in everything_seen_by(tenant.logged_in_client())
    # ... a member of hr too ...
    reader, reader_client = person(tenant, name="reader")
    with schema_context(tenant.schema):
        hr.members.create(user=reader)
    assert SECRET in everything_seen_by(reader_client)
    # ... while a member and a viewer without access, asking the same, never see it.
    for role in (Role.MEMBER, Role.VIEWER):
        _user, outsider = person(tenant, role)
        seen = everything_seen_by(outsider)
        assert SECRET not in seen, role
        assert "pay.txt" not in seen, role
        for url in (f"/api/v1/documents/{document_id}/", f"/api/v1/documents/{document_id}/file/"):
            assert outsider.get(url).status_code == 404


def test_a_key_for_support_searches_support_only(tenant):
    hr_canary(tenant)
    with schema_context(tenant.schema):
        support = Collection.objects.create(name="support")
        DocumentFactory(
            filename="faq.txt", collections=[support], chunks=[f"The {PROBE} FAQ says hello."]
        )
    made = post(
        tenant.logged_in_client(),
        "/api/v1/api-keys/",
        {"name": "helpdesk", "scopes": ["read"], "collection_ids": [support.pk]},
    )
    headers = key_header(made.json()["key"])
    client = tenant.client()
    seen = everything_seen_by(client, **headers)
    assert SECRET not in seen
    assert "wing.txt" not in seen  # the default collection is not the key's either
    names = {
        hit["document_name"]
        for mode in ("lexical", "dense", "hybrid")
        for hit in post(
            client, "/api/v1/search/", {"query": PROBE, "mode": mode}, **headers
        ).json()["results"]
    }
    assert names == {"faq.txt"}


def test_a_restricted_member_still_gets_top_k_results(tenant):
    with schema_context(tenant.schema):
        hr = Collection.objects.create(name="hr")
        for n in range(6):  # the best matches, all in hr
            DocumentFactory(
                filename=f"hr-{n}.txt",
                collections=[hr],
                chunks=[f"Turbine blade cooling turbine blade cooling note {n}."],
            )
        for n in range(3):
            DocumentFactory(filename=f"open-{n}.txt", chunks=[f"A turbine manual, part {n}."])
    _user, member = person(tenant)
    for mode in ("lexical", "dense", "hybrid"):
        body = {"query": "turbine blade cooling", "mode": mode, "top_k": 3, "no_cache": True}
        results = post(member, "/api/v1/search/", body).json()["results"]
        assert sorted(r["document_name"] for r in results) == [
            "open-0.txt", "open-1.txt", "open-2.txt",
        ], mode  # fmt: skip


def test_the_cache_is_not_shared_between_members_who_read_different_collections(tenant):
    hr, _document_id = hr_canary(tenant)
    reader, reader_client = person(tenant, name="reader")
    with schema_context(tenant.schema):
        hr.members.create(user=reader)
    _user, outsider = person(tenant)
    body = {"query": PROBE, "mode": "lexical"}
    first = post(reader_client, "/api/v1/search/", body).json()
    assert SECRET in str(first["results"])
    assert post(reader_client, "/api/v1/search/", body).json()["cached"] is True
    theirs = post(outsider, "/api/v1/search/", body).json()
    assert theirs["cached"] is False
    assert SECRET not in str(theirs)
    # Deleting hr moves the canary to the default collection: the outsider's cached answer
    # (without it) is not served any more.
    assert post(outsider, "/api/v1/search/", body).json()["cached"] is True
    deleted = tenant.logged_in_client().delete(f"/api/v1/collections/{hr.pk}/?documents=move")
    assert deleted.status_code == 200
    again = post(outsider, "/api/v1/search/", body).json()
    assert again["cached"] is False
    assert SECRET in str(again["results"])


def test_a_document_filter_naming_an_unreadable_document_says_nothing_of_it(tenant):
    _hr, document_id = hr_canary(tenant)
    _user, outsider = person(tenant)
    body = {"query": PROBE, "document_ids": [document_id]}
    answer = post(outsider, "/api/v1/search/", body).json()
    assert answer["results"] == []
    assert "can be searched" in answer["hint"]  # as for a document that does not exist
    assert SECRET not in str(answer)


def test_collection_ids_narrow_a_search_to_collections_the_caller_reads(tenant):
    hr, _document_id = hr_canary(tenant)
    owner = tenant.logged_in_client()
    default_id = owner.get("/api/v1/collections/").json()["results"][0]["id"]
    for mode in ("lexical", "dense", "hybrid"):
        body = {"query": PROBE, "mode": mode, "collection_ids": [hr.pk]}
        names = {
            hit["document_name"] for hit in post(owner, "/api/v1/search/", body).json()["results"]
        }
        assert names == {"pay.txt"}, mode
        body["collection_ids"] = [default_id]
        names = {
            hit["document_name"] for hit in post(owner, "/api/v1/search/", body).json()["results"]
        }
        assert names == {"wing.txt"}, mode
    # Asking for a collection one cannot read reads nothing more.
    _user, outsider = person(tenant)
    body = {"question": f"What is the {PROBE}?", "collection_ids": [hr.pk, default_id]}
    answer = post(outsider, "/api/v1/ask/", body).json()
    assert SECRET not in str(answer)
    assert {c["document_name"] for c in answer["citations"]} <= {"wing.txt"}
    assert (
        post(owner, "/api/v1/search/", {"query": PROBE, "collection_ids": []}).json()["results"]
        == []
    )


def _hint(client: Client, url: str, body: dict[str, Any]) -> str:
    answer = post(client, url, {**body, "no_cache": True})
    assert answer.status_code == 200, answer.content
    data = answer.json()
    assert data.get("results", data.get("citations")) == []
    return str(data.get("hint", ""))


def _both_hints(client: Client, **extra: Any) -> set[str]:
    """The hints of an empty search and an empty answer for the same request."""
    return {
        _hint(client, "/api/v1/search/", {"query": PROBE, **extra}),
        _hint(client, "/api/v1/ask/", {"question": f"What is the {PROBE}?", **extra}),
    }


def test_a_member_whose_collections_hold_nothing_is_not_told_to_upload(tenant):
    hr, document_id = hr_canary(tenant)  # the workspace has ready documents, in hr
    with schema_context(tenant.schema):
        for document in Document.objects.filter(collections__is_default=True):
            delete_document(document=document)
    _user, member = person(tenant)
    hints_seen = _both_hints(member)
    assert hints_seen == {hints.NO_READABLE_DOCUMENTS_HINT}
    assert "Upload" not in hints.NO_READABLE_DOCUMENTS_HINT
    # The sentence is the same whether hr holds documents or not: nothing is said of it.
    owner = tenant.logged_in_client()
    assert owner.delete(f"/api/v1/documents/{document_id}/").status_code == 204
    assert _both_hints(member) == hints_seen
    # With the default collection alone and nothing ready anywhere, the owner is told to
    # upload.
    assert owner.delete(f"/api/v1/collections/{hr.pk}/?documents=delete").status_code == 200
    assert _both_hints(owner) == {hints.NO_DOCUMENTS_HINT}
    # The Ask page says it in the same way.
    page = member.get("/ask/").content.decode()
    assert "Upload some" in page  # one collection: the member reads everything there is
    with schema_context(tenant.schema):
        Collection.objects.create(name="legal")
    page = member.get("/ask/").content.decode()
    assert "None of the collections you can read has documents ready to ask about yet" in page
    assert "Upload some" not in page


def test_chosen_collections_with_nothing_ready_get_their_own_hint(tenant):
    hr, _document_id = hr_canary(tenant)
    with schema_context(tenant.schema):
        legal = Collection.objects.create(name="legal")
    owner = tenant.logged_in_client()
    assert _both_hints(owner, collection_ids=[legal.pk]) == {hints.NO_CHOSEN_DOCUMENTS_HINT}
    assert _both_hints(owner, collection_ids=[]) == {hints.EMPTY_COLLECTIONS_HINT}
    # A member choosing hr, which they cannot read, hears what a missing collection gets.
    _user, member = person(tenant)
    assert _both_hints(member, collection_ids=[hr.pk]) == _both_hints(
        member, collection_ids=[999999]
    )
    assert _both_hints(member, collection_ids=[hr.pk]) == {hints.NO_CHOSEN_DOCUMENTS_HINT}

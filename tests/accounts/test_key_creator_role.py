"""An API key never does more than its creator's current role allows (scopes ∩ role).

Everything goes through the API: the owner changes the key creator's role with
PATCH /api/v1/members/<id>/, and the key is used right after, with no other change.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from tests.accounts.helpers import bearer, key_header, owner_of
from tests.conftest import TenantHandle
from tests.factories import ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db

DOCUMENTS = "/api/v1/documents/"


def _upload(handle: TenantHandle, headers: dict[str, Any], text: str) -> Any:
    upload = SimpleUploadedFile(f"{text.split()[0]}.txt", text.encode())
    return handle.client().post(DOCUMENTS, {"file": upload}, **headers)


def _set_role(handle: TenantHandle, person: User, role: str) -> None:
    headers: dict[str, Any] = bearer(handle, owner_of(handle))
    response = handle.client().patch(
        f"/api/v1/members/{person.pk}/", {"role": role}, content_type="application/json", **headers
    )
    assert response.status_code == 200, response.content
    assert response.json()["role"] == role


def _refusal(response: Any) -> str:
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert error["code"] == "permission_denied"
    return str(error["message"])


def test_a_demoted_creators_write_key_can_only_read_until_re_promoted(make_tenant):
    acme = make_tenant("keyrole_a")
    admin = UserFactory(tenant=acme, role="admin")
    key = key_header(ApiKeyFactory(tenant=acme, scopes=["read", "write"], created_by=admin).raw)
    assert _upload(acme, key, "before demotion").status_code == 202

    _set_role(acme, admin, "viewer")
    message = _refusal(_upload(acme, key, "after demotion"))
    assert admin.email in message
    assert "no longer change documents" in message
    # Reading is still within a viewer's rights.
    assert acme.client().get(DOCUMENTS, **key).status_code == 200
    assert acme.client().get("/api/v1/tenant/", **key).json()["role"] == "viewer"

    _set_role(acme, admin, "admin")
    assert _upload(acme, key, "after promotion").status_code == 202


def test_a_member_creators_key_deletes_only_that_members_documents(make_tenant):
    acme = make_tenant("keyrole_b")
    admin = UserFactory(tenant=acme, role="admin")
    owner_headers = bearer(acme, owner_of(acme))
    key = key_header(ApiKeyFactory(tenant=acme, scopes=["read", "write"], created_by=admin).raw)
    owners_doc = _upload(acme, owner_headers, "owner report").json()["id"]
    keys_doc = _upload(acme, key, "key report").json()["id"]

    _set_role(acme, admin, "member")
    # Like the member themself: upload, and change only what they uploaded.
    assert _upload(acme, key, "member upload").status_code == 202
    message = _refusal(acme.client().delete(f"{DOCUMENTS}{owners_doc}/", **key))
    assert admin.email in message
    assert "only the documents they uploaded" in message
    refused_reindex = acme.client().post(f"{DOCUMENTS}{owners_doc}/reindex/", **key)
    assert refused_reindex.status_code == 403
    assert acme.client().get(f"{DOCUMENTS}{owners_doc}/", **key).status_code == 200
    assert acme.client().delete(f"{DOCUMENTS}{keys_doc}/", **key).status_code == 204

    _set_role(acme, admin, "admin")
    assert acme.client().delete(f"{DOCUMENTS}{owners_doc}/", **key).status_code == 204


def test_an_owners_write_key_keeps_every_right(make_tenant):
    acme = make_tenant("keyrole_c")
    member = UserFactory(tenant=acme, role="member")
    members_doc = _upload(acme, bearer(acme, member), "member notes").json()["id"]
    key = key_header(ApiKeyFactory(tenant=acme, scopes=["read", "write"]).raw)
    assert _upload(acme, key, "owner upload").status_code == 202
    assert acme.client().delete(f"{DOCUMENTS}{members_doc}/", **key).status_code == 204


def test_each_refusal_says_its_real_reason(make_tenant):
    acme = make_tenant("keyrole_d")
    owner = owner_of(acme)
    member = UserFactory(tenant=acme, role="member")
    viewer = UserFactory(tenant=acme, role="viewer")
    owners_doc = _upload(acme, bearer(acme, owner), "owner memo").json()["id"]

    reader = key_header(ApiKeyFactory(tenant=acme, scopes=["read"]).raw)
    read_key = _refusal(_upload(acme, reader, "read key upload"))
    assert "only the read scope" in read_key
    assert "write scope" in read_key

    viewer_upload = _refusal(_upload(acme, bearer(acme, viewer), "viewer upload"))
    assert viewer_upload.startswith("Viewers can search and ask")
    assert "make you a member" in viewer_upload

    others_doc = _refusal(acme.client().delete(f"{DOCUMENTS}{owners_doc}/", **bearer(acme, member)))
    assert others_doc.startswith("Members can change or delete only the documents they uploaded")
    for message in (read_key, others_doc):
        assert "Your role can search and ask" not in message

    owners_key = key_header(ApiKeyFactory(tenant=acme, scopes=["read", "write"]).raw)
    for path in ("/api/v1/api-keys/", "/api/v1/analytics/queries/", "/api/v1/members/"):
        message = _refusal(acme.client().get(path, **owners_key))
        assert message.startswith("API keys cannot do this"), path
        assert "owner or admin has to sign in" in message
    no_profile = _refusal(acme.client().get("/api/v1/auth/me/", **owners_key))
    assert no_profile.startswith("API keys cannot use this endpoint")

    not_admin = _refusal(acme.client().get("/api/v1/api-keys/", **bearer(acme, member)))
    assert not_admin.startswith("Only the workspace's owners and admins can do this")

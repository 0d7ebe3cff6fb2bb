"""GET /api/v1/chunks/<id>/: the whole passage a citation or search hit points at."""

from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import schema_context

from accounts.models import Role
from documents.models import Chunk
from tests.accounts.helpers import bearer, key_header
from tests.factories import ApiKeyFactory, DocumentFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_every_reader_gets_the_whole_chunk(make_tenant: Any) -> None:
    handle = make_tenant("chunkapi")
    with schema_context(handle.schema):
        document = DocumentFactory(
            filename="manual.txt", chunks=["Ablation cooling of the nose cone.", "Heat shields."]
        )
        chunk = Chunk.objects.filter(document=document).order_by("ordinal").first()
        assert chunk is not None
    viewer = UserFactory(tenant=handle, role=Role.VIEWER.value)
    url = f"/api/v1/chunks/{chunk.pk}/"

    response = handle.client().get(url, **bearer(handle, viewer))

    assert response.status_code == 200
    assert response.json() == {
        "chunk_id": chunk.pk,
        "document_id": document.pk,
        "document_name": "manual.txt",
        "document_content_type": "text/plain",
        "ordinal": chunk.ordinal,
        "page": chunk.page,
        "section": chunk.section,
        "text": chunk.text,
    }
    assert "Ablation cooling" in response.json()["text"]
    key = key_header(ApiKeyFactory(tenant=handle, scopes=["read"]).raw)
    assert handle.client().get(url, **key).status_code == 200
    assert handle.client().get(url).status_code == 401
    missing = handle.client().get("/api/v1/chunks/987654321/", **bearer(handle, viewer))
    assert missing.status_code == 404
    assert missing.json()["error"]["message"].endswith(".")

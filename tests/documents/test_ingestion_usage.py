"""Ingestion records what embedding each document cost at a billing provider."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context, tenant_context
from pytest_httpserver import HTTPServer

from documents.embeddings import clear_embedder_cache
from documents.models import Document
from documents.pipeline import process_document
from tests.documents.test_embeddings_openai import FakeEmbeddingsServer

TEXT = (
    "Expense claims are filed within thirty days of the purchase.\n\n"
    "Receipts above fifty euros are scanned and attached to the claim.\n"
)


def _upload(client: Any, name: str) -> int:
    response = client.post("/api/v1/documents/", {"file": SimpleUploadedFile(name, TEXT.encode())})
    assert response.status_code == 202, response.content
    return int(response.json()["id"])


@pytest.fixture
def openai_embeddings(settings: Any, httpserver: HTTPServer) -> Iterator[FakeEmbeddingsServer]:
    settings.OPENAI_BASE_URL = httpserver.url_for("/v1")
    settings.OPENAI_API_KEY = "test-key"
    settings.OPENAI_EMBEDDING_MODEL = "fake-embedding-model"  # unknown: its dimension is asked
    settings.PRICE_EMBEDDING_PER_MTOK = 0.02
    clear_embedder_cache()
    fake = FakeEmbeddingsServer(httpserver)
    yield fake
    clear_embedder_cache()


@pytest.mark.django_db
def test_a_document_embedded_at_a_provider_records_its_tokens_and_cost(
    make_tenant: Any, openai_embeddings: FakeEmbeddingsServer
) -> None:
    handle = make_tenant("billedingest")
    handle.tenant.embedding_backend = "openai"
    handle.tenant.save(update_fields=["embedding_backend"])
    client = handle.logged_in_client()
    document_id = _upload(client, "expenses.txt")
    with tenant_context(handle.tenant):  # as a worker runs it: the tenant's own embedder
        assert process_document(document_id).outcome == "ready"
        document = Document.objects.get(pk=document_id)
    # The fake bills one token per word of every text it embedded for the document.
    billed = sum(len(text.split()) for batch in openai_embeddings.batches for text in batch)
    assert billed > 0
    assert document.embedding_tokens == billed
    assert document.embedding_cost_usd == Decimal(f"{billed * 0.02 / 1_000_000:.6f}")
    shown = client.get(f"/api/v1/documents/{document_id}/").json()
    assert shown["embedding_tokens"] == billed
    assert Decimal(str(shown["embedding_cost_usd"])) == document.embedding_cost_usd


@pytest.mark.django_db
def test_a_local_embedder_costs_nothing(make_tenant: Any) -> None:
    handle = make_tenant("freeingest")
    document_id = _upload(handle.logged_in_client(), "expenses.txt")
    with schema_context(handle.schema):
        assert process_document(document_id).outcome == "ready"
        document = Document.objects.get(pk=document_id)
    assert document.embedding_tokens == 0
    assert document.embedding_cost_usd == 0

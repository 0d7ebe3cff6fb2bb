"""A sentence that a chunk boundary cuts in two is answered whole: the ask service reads the
text beside each source chunk from its neighbours (real PostgreSQL, real ingestion)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from documents.models import Chunk
from documents.pipeline import process_document
from search.hits import neighbour_context
from tests.accounts.helpers import fresh_rate_limits

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]
__all__ = ["fresh_rate_limits"]

FILLER = " ".join(f"Clause {n} covers routine matters of office life." for n in range(1, 15))
# One long sentence (about 50 words), longer than a chunk, so a boundary falls inside it.
ANSWER = (
    "Visitors park in the north garage after they register at the front desk with a photo "
    "identity card, a booking reference from their host, the plate number of their car, the "
    "expected time of departure, a phone number for the day, and the signed safety sheet that "
    "reception hands out at the door."
)


def test_a_sentence_split_between_two_chunks_is_quoted_whole(make_tenant: Any, settings) -> None:
    settings.CHUNK_TARGET_TOKENS = 40
    settings.CHUNK_OVERLAP_RATIO = 0.0
    handle = make_tenant("crosschunk")
    client = handle.logged_in_client()
    text = f"{FILLER} {ANSWER} {FILLER}"
    response = client.post(
        "/api/v1/documents/", {"file": SimpleUploadedFile("rules.txt", text.encode())}
    )
    assert response.status_code == 202, response.content
    with schema_context(handle.schema):
        assert process_document(response.json()["id"]).outcome == "ready"
        chunks = list(Chunk.objects.order_by("ordinal"))
        holding = [c for c in chunks if "north garage" in c.text or "identity card" in c.text]
        # The document is made so that the answer's sentence straddles a chunk boundary.
        assert not any(ANSWER in c.text for c in chunks), [c.text for c in holding]
        context = neighbour_context([c.pk for c in chunks])
        for chunk, following in itertools.pairwise(chunks):
            # Without overlap, the text after a chunk is its successor's, and the reverse.
            assert context[chunk.pk][1].split()[:6] == following.text.split()[:6]
            assert context[following.pk][0].split()[-6:] == chunk.text.split()[-6:]
    answer = client.post(
        "/api/v1/ask/",
        {"question": "Where do visitors park after they register?"},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    assert ANSWER[:-1] in answer.json()["answer"]

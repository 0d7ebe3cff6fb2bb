"""Small builders for the query tests: ready documents with embedded chunks, no pipeline."""

from __future__ import annotations

from documents import index_changes
from documents.embedder_choice import embedder_for_current_tenant
from documents.models import Chunk, Document, DocumentStatus


def add_document(name: str, texts: list[str], *, section: str = "") -> Document:
    """A ready document whose chunks are embedded with the tenant's embedder (delta index)."""
    embedder = embedder_for_current_tenant()
    document = Document.objects.create(
        filename=name, content_type="text/plain", size=1, sha256=name.ljust(64, "0")[:64],
        status=DocumentStatus.READY, embedder=embedder.name, chunk_count=len(texts),
    )  # fmt: skip
    vectors = embedder.embed_documents(texts)
    Chunk.objects.bulk_create(
        Chunk(
            document=document,
            ordinal=i,
            text=text,
            section=section,
            embedding=vectors[i].astype("<f4").tobytes(),
        )
        for i, text in enumerate(texts)
    )
    index_changes.chunks_changed()
    return document


CORPUS = {
    "wings.txt": [
        "Supersonic flow over a swept wing produces oblique shock waves at the leading edge.",
        "The propeller slipstream increases the lift of the wing behind it.",
    ],
    "heat.txt": [
        "Heat transfer in laminar boundary layers grows sharply at hypersonic speed.",
        "Ablation cooling protects the nose cone during atmospheric re-entry.",
    ],
    "shells.txt": [
        "Thin cylindrical shells buckle under axial compression well below classical loads.",
    ],
}


def add_corpus() -> dict[str, Document]:
    return {name: add_document(name, texts) for name, texts in CORPUS.items()}

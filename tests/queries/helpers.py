"""A small aeronautics corpus for the query tests: ready documents with embedded chunks."""

from __future__ import annotations

from documents.models import Document
from tests.factories import DocumentFactory

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
    """The CORPUS documents in the current schema, searchable at once."""
    return {name: DocumentFactory(filename=name, chunks=texts) for name, texts in CORPUS.items()}

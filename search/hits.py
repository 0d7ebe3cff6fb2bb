"""Search hits as people see them: chunk rows in hit order with a «marked» highlight, and
the document each chunk belongs to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from documents.models import Chunk, Document
from search import highlight as highlights
from search.retrieval import or_tsquery_text


def _table() -> str:
    return connection.ops.quote_name(Chunk._meta.db_table)


@dataclass(frozen=True)
class ChunkHit:
    chunk_id: int
    document_id: int
    document_name: str
    page: int | None
    section: str
    text: str
    highlight: str
    score: float

    def as_dict(self) -> dict[str, object]:
        return {
            "chunk_id": self.chunk_id,
            "document_id": self.document_id,
            "document_name": self.document_name,
            "page": self.page,
            "section": self.section,
            "text": self.text,
            "highlight": self.highlight,
            "score": round(self.score, 6),
        }


def hydrate(
    hits: Sequence[tuple[int, float]], text: str, *, highlight: bool = True
) -> list[ChunkHit]:
    """Chunk rows for the hits, in hit order, with a «marked» plain-text highlight.

    Chunks deleted since the index answered are skipped.
    """
    if not hits:
        return []
    ids = [chunk_id for chunk_id, _ in hits]
    tsquery = or_tsquery_text(text) if highlight else ""
    headline = highlights.headline_sql("c.text") if tsquery else "''"
    params: list[Any] = highlights.params(tsquery) if tsquery else []
    params.append(ids)
    sql = f"""
        SELECT c.id, c.document_id, d.filename, c.page, c.section, c.text, {headline}
        FROM {_table()} AS c
        JOIN {connection.ops.quote_name(Document._meta.db_table)} AS d ON d.id = c.document_id
        WHERE c.id = ANY(%s)
    """  # noqa: S608 - table names come from the models; user text is a parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = {row[0]: row for row in cursor.fetchall()}
    found = []
    for chunk_id, score in hits:
        row = rows.get(chunk_id)
        if row is None:
            continue
        _id, document_id, filename, page, section, chunk_text, marked = row
        found.append(
            ChunkHit(
                chunk_id=chunk_id,
                document_id=document_id,
                document_name=filename,
                page=page,
                section=section,
                text=chunk_text,
                highlight=highlights.restore(marked, chunk_text) if marked else "",
                score=score,
            )
        )
    return found


def document_of(chunk_ids: Sequence[int]) -> dict[int, int]:
    """chunk id -> document id, for collapsing chunk hits to documents."""
    rows = Chunk.objects.filter(id__in=list(chunk_ids)).values_list("id", "document_id")
    return dict(rows)

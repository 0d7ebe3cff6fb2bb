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


CONTEXT_CHARS = 600  # how much of each neighbour an answerer may read to finish a sentence


def neighbour_context(chunk_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """Per chunk, the document text just before and just after it (from the chunks at
    ordinal ± 1, without what overlaps), so a sentence cut at a chunk's edge can be read
    whole. Chunks are slices of one document text, so their offsets stitch exactly."""
    if not chunk_ids:
        return {}
    sql = f"""
        SELECT c.id, n.ordinal - c.ordinal, n.text, n.char_start, n.char_end,
               c.char_start, c.char_end
        FROM {_table()} AS c
        JOIN {_table()} AS n ON n.document_id = c.document_id
             AND n.ordinal IN (c.ordinal - 1, c.ordinal + 1)
        WHERE c.id = ANY(%s)
    """  # noqa: S608 - the table name comes from the model
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(chunk_ids)])
        rows = cursor.fetchall()
    context: dict[int, tuple[str, str]] = {}
    for chunk_id, side, text, n_start, n_end, c_start, c_end in rows:
        before, after = context.get(chunk_id, ("", ""))
        if side < 0 and n_start < c_start:
            own = text[: min(len(text), c_start - n_start)]
            before = (own if n_end >= c_start else own + " ")[-CONTEXT_CHARS:]
        elif side > 0 and n_end > c_end:
            own = text[max(0, c_end - n_start) :]
            after = (own if n_start <= c_end else " " + own)[:CONTEXT_CHARS]
        context[chunk_id] = (before, after)
    return context

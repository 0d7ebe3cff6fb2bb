"""PowerPoint (PPTX) extraction with python-pptx: one block per slide, slide number as
the page, slide title as the section; shapes in reading order, then speaker notes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pptx
from pptx.enum.shapes import MSO_SHAPE_TYPE

from documents import filetypes
from documents.extractors.base import ExtractionResult, TextBlock, normalize_text
from documents.extractors.zipcheck import ZipLimits, check_ooxml_zip

__all__ = ["PptxExtractor"]

MAX_GROUP_DEPTH = 20


class PptxExtractor:
    name = "pptx:python-pptx"
    content_types = frozenset({filetypes.PPTX})

    def __init__(self, *, zip_limits: ZipLimits | None = None) -> None:
        self.zip_limits = zip_limits or ZipLimits()

    def extract(self, path: Path) -> ExtractionResult:
        check_ooxml_zip(path, self.zip_limits)
        deck = pptx.Presentation(str(path))
        blocks = []
        slide_count = 0
        for number, slide in enumerate(deck.slides, start=1):
            slide_count = number
            title_shape = slide.shapes.title
            title = " ".join(title_shape.text_frame.text.split()) if title_shape else ""
            parts = list(_shape_texts(slide.shapes, depth=0))
            if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
                parts.append(slide.notes_slide.notes_text_frame.text)
            text = normalize_text("\n\n".join(parts))
            if text:
                blocks.append(TextBlock(text=text, page=number, section=title))
        return ExtractionResult(blocks=blocks, page_count=slide_count, extractor=self.name)


def _reading_order(shapes: Iterable[Any]) -> list[Any]:
    return sorted(shapes, key=lambda s: ((s.top or 0) // 100_000, s.left or 0))


def _shape_texts(shapes: Iterable[Any], *, depth: int) -> Iterator[str]:
    for shape in _reading_order(shapes):
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP and depth < MAX_GROUP_DEPTH:
            yield from _shape_texts(shape.shapes, depth=depth + 1)
        elif shape.has_text_frame:
            yield shape.text_frame.text
        elif getattr(shape, "has_table", False) and shape.has_table:
            rows = (
                " | ".join(" ".join(cell.text.split()) for cell in row.cells)
                for row in shape.table.rows
            )
            yield "\n".join(rows)

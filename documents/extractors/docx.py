"""Word (DOCX) extraction with python-docx: body paragraphs and tables in order,
Heading/Title styles build the section path ("Revenue > By region")."""

from __future__ import annotations

import re
from pathlib import Path

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from documents import filetypes
from documents.extractors.base import ExtractionResult, TextBlock, normalize_text
from documents.extractors.sections import SectionPath
from documents.extractors.zipcheck import ZipLimits, check_ooxml_zip

__all__ = ["DocxExtractor"]

_HEADING = re.compile(r"heading\s*(\d)", re.IGNORECASE)


class DocxExtractor:
    name = "docx:python-docx"
    content_types = frozenset({filetypes.DOCX})

    def __init__(self, *, zip_limits: ZipLimits | None = None) -> None:
        self.zip_limits = zip_limits or ZipLimits()

    def extract(self, path: Path) -> ExtractionResult:
        check_ooxml_zip(path, self.zip_limits)
        document = docx.Document(str(path))
        sections = SectionPath()
        blocks: list[TextBlock] = []
        paragraphs: list[str] = []

        def flush() -> None:
            text = normalize_text("\n\n".join(paragraphs))
            if text:
                blocks.append(TextBlock(text=text, page=None, section=sections.path))
            paragraphs.clear()

        for item in document.iter_inner_content():
            if isinstance(item, Table):
                paragraphs.append(_table_text(item))
                continue
            text = item.text.strip()
            level = _heading_level(item)
            if level is not None and text:
                flush()
                sections.enter(level, text)
            if text:
                paragraphs.append(text)
        flush()
        return ExtractionResult(blocks=blocks, page_count=None, extractor=self.name)


def _heading_level(paragraph: Paragraph) -> int | None:
    style = paragraph.style
    name = (style.name or "") if style is not None else ""
    if name.lower() == "title":
        return 0
    match = _HEADING.match(name)
    return int(match.group(1)) if match else None


def _table_text(table: Table) -> str:
    lines = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            value = " ".join(cell.text.split())
            # Merged cells repeat the same object across the span; keep one copy.
            if value and (not cells or cells[-1] != value):
                cells.append(value)
        if cells:
            lines.append(" | ".join(cells))
    return "\n".join(lines)

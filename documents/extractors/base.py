"""Data types and the protocol every text extractor implements.

Pure Python: nothing here (or in any extractor module) may import Django, so the
sandbox host can preload the extractors without settings configured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = [
    "ExtractionError",
    "ExtractionResult",
    "Extractor",
    "TextBlock",
    "normalize_text",
]


@dataclass(frozen=True)
class TextBlock:
    """One contiguous piece of text with its location."""

    text: str
    page: int | None  # 1-based page (PDF) / slide (PPTX); None when the format has no pages
    section: str  # heading path / sheet name / "" when none


@dataclass
class ExtractionResult:
    blocks: list[TextBlock]
    page_count: int | None
    extractor: str  # e.g. "pdf:pypdfium2"
    # 1-based pages without a usable text layer (scans, images), in order: the OCR stage
    # recognises them and replaces their blocks (documents/ocr_stage.py).
    ocr_pages: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON form used to carry the result across the sandbox pipe."""
        return {
            "blocks": [[b.text, b.page, b.section] for b in self.blocks],
            "page_count": self.page_count,
            "extractor": self.extractor,
            "ocr_pages": list(self.ocr_pages),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ExtractionResult:
        raw_blocks = data["blocks"]
        if not isinstance(raw_blocks, list):
            raise TypeError("blocks must be a list")
        blocks = [_block_from_json(item) for item in raw_blocks]
        page_count = data.get("page_count")
        extractor = data.get("extractor")
        if page_count is not None and not isinstance(page_count, int):
            raise TypeError("page_count must be an int or None")
        if not isinstance(extractor, str):
            raise TypeError("extractor must be a string")
        ocr_pages = data.get("ocr_pages", [])
        if not isinstance(ocr_pages, list) or not all(_is_page(p) for p in ocr_pages):
            raise TypeError("ocr_pages must be a list of page numbers")
        return cls(blocks, page_count, extractor, ocr_pages=list(ocr_pages))


def _is_page(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _block_from_json(item: object) -> TextBlock:
    # The payload comes from an untrusted child process: check every field's type.
    if not (isinstance(item, list) and len(item) == 3):
        raise TypeError("a block must be a [text, page, section] triple")
    text, page, section = item
    if not isinstance(text, str) or not isinstance(section, str):
        raise TypeError("block text and section must be strings")
    if page is not None and (not isinstance(page, int) or isinstance(page, bool)):
        raise TypeError("block page must be an int or None")
    return TextBlock(text=text, page=page, section=section)


class ExtractionError(Exception):
    """A permanent failure; the message is a sentence shown to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@runtime_checkable
class Extractor(Protocol):
    """Turns one file of a supported content type into text blocks.

    ``name`` identifies the implementation in ``ExtractionResult.extractor``;
    ``content_types`` are the canonical MIME types from ``documents.filetypes``.
    Implementations raise ``ExtractionError`` for files they cannot read.
    """

    name: str
    content_types: frozenset[str]

    def extract(self, path: Path) -> ExtractionResult: ...


_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n\s*\n\s*")
# C0 controls other than tab/newline, DEL, and C1 controls: noise in every format.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def normalize_text(text: str) -> str:
    """Canonical whitespace: \\n line ends, single spaces, paragraphs split by one blank line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    text = _CONTROL.sub("", text)
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()

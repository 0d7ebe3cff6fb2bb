"""Plain-text extraction: BOM first, then strict UTF-8, then charset-normalizer's guess
(among the legacy code pages it finds as likely, the one whose letters are plausible:
see charsets.py)."""

from __future__ import annotations

import codecs
from pathlib import Path

from documents import filetypes
from documents.extractors.base import (
    ExtractionError,
    ExtractionResult,
    TextBlock,
    normalize_text,
)
from documents.extractors.charsets import choose_encoding

__all__ = ["TextExtractor", "decode_text", "read_text"]

_BOMS: list[tuple[bytes, str]] = [
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, whose BOM is its prefix
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
]


def decode_text(data: bytes) -> str:
    """Decode bytes of unknown encoding, or raise ExtractionError."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # lazy: only legacy encodings need it

    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        raise ExtractionError(
            "The text encoding of this file could not be recognised. "
            "Save it as UTF-8 and upload it again."
        )
    # A BOM-less UTF-16/32 guess competes with the others: for a short text of even length
    # the detector often proposes it for what is a legacy single-byte encoding.
    ranked = [best, *(m for m in matches if m is not best)]
    encoding = choose_encoding(data, [(m.encoding, m.chaos) for m in ranked])
    if encoding == best.encoding:
        return str(best)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:  # only the sample was checked
        return str(best)


def read_text(path: Path, *, max_bytes: int) -> str:
    size = path.stat().st_size
    if size > max_bytes:
        raise ExtractionError(
            f"The text file is {size / 1_048_576:,.0f} MB, which is over the "
            f"{max_bytes / 1_048_576:,.0f} MB limit for text. Split it into smaller files."
        )
    return decode_text(path.read_bytes())


class TextExtractor:
    name = "text:plain"
    content_types = frozenset({filetypes.TEXT})

    def __init__(self, *, max_bytes: int = 100 * 1_048_576) -> None:
        self.max_bytes = max_bytes

    def extract(self, path: Path) -> ExtractionResult:
        text = normalize_text(read_text(path, max_bytes=self.max_bytes))
        blocks = [TextBlock(text=text, page=None, section="")] if text else []
        return ExtractionResult(blocks=blocks, page_count=None, extractor=self.name)

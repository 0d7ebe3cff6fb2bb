"""Plain-text extraction: BOM first, then strict UTF-8, then charset-normalizer's guess
(among the legacy code pages it finds as likely, the one whose letters are plausible:
see charsets.py). A file that is UTF-8 but for some stray bytes (lines of a legacy code
page pasted in) keeps its UTF-8 and has only the stray bytes read in a legacy code page."""

from __future__ import annotations

import codecs
import re
from itertools import islice
from pathlib import Path

from documents import formats
from documents.extractors.base import (
    ExtractionError,
    ExtractionResult,
    TextBlock,
    normalize_text,
)
from documents.extractors.charsets import choose_encoding, plausibility

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
    text = data.decode("utf-8", "surrogateescape")  # bytes that are not UTF-8: U+DC80-U+DCFF
    utf8_bytes = len(data) - len(text)  # one per continuation byte of a multi-byte character
    stray_bytes = _stray_count(text)
    if utf8_bytes >= 2 * stray_bytes:
        return _mixed(text)  # mostly UTF-8
    try:
        legacy = _legacy(data)
    except ExtractionError:
        if not utf8_bytes:
            raise
        return _mixed(text)
    if 4 * utf8_bytes < stray_bytes:
        return legacy  # a legacy text with a few byte pairs that happen to be UTF-8
    # UTF-8 and a legacy code page in comparable parts, or a legacy text with many such
    # pairs (Chinese in GBK): the reading whose letters are more plausible.
    mixed = _mixed(text)
    return mixed if plausibility(_ends(mixed)) > plausibility(_ends(legacy)) else legacy


def _legacy(data: bytes) -> str:
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


# Mixed files: UTF-8 with lines of a legacy code page pasted in, or a stray byte. Read whole
# in one legacy code page, the UTF-8 part became mojibake; often the detector found none
# and the file was refused. A legacy file has few byte pairs that happen to be UTF-8
# (Chinese in GBK, the most: one continuation byte for three stray bytes).
_STRAY = re.compile("[\udc80-\udcff]+")
_STRAY_SAMPLE_RUNS = 200  # the stray runs whose surroundings choose their code page
_STRAY_CONTEXT = 24  # characters each side
_ENDS_CHARS = 64 * 1024  # of each end, to compare the two readings' plausibility


def _ends(text: str) -> str:
    """Its start and end (a mixed file is often files joined: one encoding each)."""
    if len(text) <= 2 * _ENDS_CHARS:
        return text
    return text[:_ENDS_CHARS] + "\n" + text[-_ENDS_CHARS:]


def _stray_count(text: str) -> int:
    return sum(run.end() - run.start() for run in _STRAY.finditer(text))


def _mixed(text: str) -> str:
    """The UTF-8 as it is, and the stray bytes in the legacy code page that reads the words
    around them best (Western European on a tie)."""
    sample = []
    for run in islice(_STRAY.finditer(text), _STRAY_SAMPLE_RUNS):
        window = text[max(0, run.start() - _STRAY_CONTEXT) : run.end() + _STRAY_CONTEXT]
        kept = "".join(ch for ch in window if ch < "\x80" or "\udc80" <= ch <= "\udcff")
        sample.append(kept.encode("utf-8", "surrogateescape"))
    encoding = choose_encoding(b"\n".join(sample), [])
    return _STRAY.sub(
        lambda run: run.group().encode("utf-8", "surrogateescape").decode(encoding, "replace"),
        text,
    )


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
    content_types = frozenset({formats.TEXT})

    def __init__(self, *, max_bytes: int = 100 * 1_048_576) -> None:
        self.max_bytes = max_bytes

    def extract(self, path: Path) -> ExtractionResult:
        text = normalize_text(read_text(path, max_bytes=self.max_bytes))
        blocks = [TextBlock(text=text, page=None, section="")] if text else []
        return ExtractionResult(blocks=blocks, page_count=None, extractor=self.name)

"""Upload type detection from magic bytes, and filename sanitising.

``detect_content_type(head, filename)`` trusts neither the name nor the bytes alone:
the bytes must be an allowed type and agree with the extension (a missing extension
is accepted for the binary formats, whose magic is unambiguous). Pass at least the
first ``SNIFF_BYTES`` of the file; OOXML containers (DOCX/PPTX/XLSX) are told apart
by the member names in the zip's local headers within the head, or in the central
directory when the head is the whole file. The formats, their extensions and the phrases
that name them come from ``documents.formats``; the content-type names (PDF, DOCX, ...) are
re-exported here for sniffing and the extractors. Pure Python, no Django.
"""

from __future__ import annotations

import codecs
import io
import re
import struct
import unicodedata
import zipfile
import zlib
from pathlib import Path

from documents.extractors.base import ExtractionError
from documents.extractors.text import decode_text
from documents.formats import (
    ALLOWED_SENTENCE,
    ALLOWED_TYPES,
    BY_CONTENT_TYPE,
    CSV,
    DOCX,
    EXTENSIONS,
    HTML,
    IMAGE_TYPES,
    JPEG,
    MARKDOWN,
    PDF,
    PNG,
    PPTX,
    TEXT,
    TIFF,
    XLSX,
)

__all__ = [
    "ALLOWED_TYPES",
    "CSV",
    "DOCX",
    "HTML",
    "JPEG",
    "MARKDOWN",
    "PDF",
    "PNG",
    "PPTX",
    "SNIFF_BYTES",
    "TEXT",
    "TIFF",
    "XLSX",
    "UnsupportedFileType",
    "detect_content_type",
    "detect_file_content_type",
    "sanitize_filename",
]

SNIFF_BYTES = 64 * 1024

# Magic prefixes of common binary formats we refuse, so the message can say what the file is.
_KNOWN_BINARIES: list[tuple[bytes, str]] = [
    (b"\x7fELF", "a Linux executable"),
    (b"MZ", "a Windows executable"),
    (b"\xfe\xed\xfa\xce", "a macOS executable"),
    (b"\xfe\xed\xfa\xcf", "a macOS executable"),
    (b"\xce\xfa\xed\xfe", "a macOS executable"),
    (b"\xcf\xfa\xed\xfe", "a macOS executable"),
    (b"\xca\xfe\xba\xbe", "a macOS executable or Java class file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old-format Office file (DOC, XLS or PPT)"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"{\\rtf", "an RTF document"),
    (b"\x00asm", "a WebAssembly module"),
    (b"SQLite format 3\x00", "an SQLite database"),
]

# Pictures of pages we accept (read with OCR).
_IMAGE_MAGIC: list[tuple[bytes, str]] = [
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"II*\x00", TIFF),
    (b"MM\x00*", TIFF),
]
# Printable magics that ordinary text may start with; only trusted when the rest is binary.
_WEAK_MAGIC = frozenset({b"MZ", b"BZh"})
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_LOCAL_HEADER = b"PK\x03\x04"
_PART_NAME = re.compile(rb'PartName="/([^"]{1,200})"')
_OOXML_PREFIXES: list[tuple[str, str]] = [("word/", DOCX), ("ppt/", PPTX), ("xl/", XLSX)]
_BOMS: list[tuple[bytes, str]] = [
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
]
# Control characters that never occur in real text (tab, newlines, form feed and ESC are fine).
_BINARY_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f]")


class UnsupportedFileType(Exception):
    """The upload is not an allowed type; the message tells the user what to do (HTTP 415)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def detect_content_type(head: bytes, filename: str) -> str:
    """Canonical MIME type of an upload from its first bytes and its name, or raise."""
    return _decide(_sniff_binary(head), head, filename)


def detect_file_content_type(path: Path, filename: str) -> str:
    """Like ``detect_content_type`` but reads the zip central directory when the head
    alone does not show which OOXML format a zip is."""
    with path.open("rb") as stream:
        head = stream.read(SNIFF_BYTES)
        actual = _sniff_binary(head)
        if head.startswith(_ZIP_MAGIC) and actual not in ALLOWED_TYPES:
            stream.seek(0)
            actual = _ooxml_type_from_directory(stream) or actual
    return _decide(actual, head, filename)


def _decide(actual: str | None, head: bytes, filename: str) -> str:
    extension = Path(filename.replace("\\", "/")).suffix.lower()
    claimed = EXTENSIONS.get(extension)
    if extension and claimed is None:
        raise UnsupportedFileType(
            f"Files ending in {extension} are not supported. {ALLOWED_SENTENCE}"
        )
    if actual is None:
        if not _looks_like_text(head):
            expected = _phrase(claimed) if claimed else "a text file"
            raise UnsupportedFileType(
                f"This file looks like {_describe_binary(head)}, not {expected}. {ALLOWED_SENTENCE}"
            )
        if claimed in {PDF, DOCX, PPTX, XLSX, *IMAGE_TYPES}:
            raise UnsupportedFileType(
                f"This file is named {extension} but contains plain text, not "
                f"{_phrase(claimed)}. Check that the upload finished, or rename the file."
            )
        return claimed or TEXT
    if actual not in ALLOWED_TYPES:
        expected = _phrase(claimed) if claimed else "an allowed document"
        raise UnsupportedFileType(
            f"This file looks like {actual}, not {expected}. {ALLOWED_SENTENCE}"
        )
    if claimed is not None and claimed != actual:
        raise UnsupportedFileType(
            f"This file is named {extension} but contains {_phrase(actual)}. "
            "Rename it with the right extension and upload it again."
        )
    return actual


def _phrase(content_type: str) -> str:
    return BY_CONTENT_TYPE[content_type].phrase


def _sniff_binary(head: bytes) -> str | None:
    """MIME type (allowed) or description (refused) of a binary head; None if not binary magic."""
    if _is_pdf(head):
        return PDF
    if head.startswith(_ZIP_MAGIC):
        return _ooxml_type(head) or "a ZIP archive"
    for magic, content_type in _IMAGE_MAGIC:
        if head.startswith(magic):
            return content_type
    for magic, description in _KNOWN_BINARIES:
        if head.startswith(magic) and not (magic in _WEAK_MAGIC and _looks_like_text(head)):
            return description
    return None


def _is_pdf(head: bytes) -> bool:
    """The PDF header at the start, or after a non-text preamble within 1 KiB (as readers allow).

    A text file that merely mentions the marker ("files start with %PDF-1.7") is text.
    """
    position = head.find(b"%PDF-", 0, 1024)
    if position < 0:
        return False
    return not head[:position].strip(b" \t\r\n\xef\xbb\xbf") or not _looks_like_text(head)


def _ooxml_type(head: bytes) -> str | None:
    names = _local_member_names(head)
    if len(head) < SNIFF_BYTES:
        # The head is the whole file: the central directory is authoritative.
        try:
            with zipfile.ZipFile(io.BytesIO(head)) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, ValueError, EOFError):
            pass
    return _classify_members(names)


def _ooxml_type_from_directory(stream: io.BufferedReader) -> str | None:
    try:
        with zipfile.ZipFile(stream) as archive:
            return _classify_members(archive.namelist())
    except (zipfile.BadZipFile, ValueError, EOFError, OSError):
        return None


def _classify_members(names: list[str]) -> str | None:
    for prefix, kind in _OOXML_PREFIXES:
        if any(name.startswith(prefix) for name in names):
            return kind
    return None


def _local_member_names(head: bytes) -> list[str]:
    """Member names from every local file header that fits in the head.

    ``[Content_Types].xml`` is usually first; when it fits, its part names (e.g.
    "/word/document.xml") are added too, so a short head still tells the formats apart.
    """
    names = []
    position = head.find(_LOCAL_HEADER)
    while position != -1 and position + 30 <= len(head):
        method, _, _, _, compressed = struct.unpack_from("<HHHII", head, position + 8)
        name_length, extra_length = struct.unpack_from("<HH", head, position + 26)
        data_start = position + 30 + name_length + extra_length
        name = head[position + 30 : position + 30 + name_length].decode("utf-8", "replace")
        names.append(name)
        if name == "[Content_Types].xml":
            names += _content_type_parts(head[data_start : data_start + compressed], method)
        position = head.find(_LOCAL_HEADER, position + 30 + name_length)
    return names


def _content_type_parts(data: bytes, method: int) -> list[str]:
    try:
        # Bounded output: the head is untrusted and could be a tiny deflate bomb.
        xml = zlib.decompressobj(-15).decompress(data, SNIFF_BYTES) if method == 8 else data
    except zlib.error:
        return []
    return [m.decode("utf-8", "replace") for m in _PART_NAME.findall(xml)]


def _looks_like_text(head: bytes) -> bool:
    if not head:
        return True
    text = _decode_head(head)
    if text is None or "\x00" in text:
        return False
    controls = len(_BINARY_CONTROLS.findall(text))
    return controls <= max(1, len(text) // 100)


def _decode_head(head: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return head[len(bom) :].decode(encoding, "ignore")
    if b"\x00" in head:
        return None
    try:
        # A multi-byte character may be cut at the end of the head.
        return head.decode("utf-8") if len(head) < 4 else head[:-3].decode("utf-8")
    except UnicodeDecodeError:
        pass
    # As the text extractor will read it: a legacy code page, or UTF-8 with stray bytes (a
    # UTF-8 file with one Latin-1 byte was refused as binary).
    try:
        return decode_text(head)
    except ExtractionError:
        return None


def _describe_binary(head: bytes) -> str:
    try:
        import puremagic

        name = puremagic.from_string(head, mime=False)
    except Exception:  # puremagic only improves the wording; any failure is fine
        return "a binary file"
    return f"a binary file ({name.lstrip('.')})" if name else "a binary file"


# Format characters include RTL overrides that disguise "exe.txt" as "txt.exe".
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def _filename_char(ch: str) -> str:
    category = unicodedata.category(ch)
    if ch in "\t\n\r\v\f" or category in {"Zl", "Zp"}:
        return " "
    return "" if category in _UNSAFE_CATEGORIES else ch


def clean_name_text(text: str) -> str:
    """``text`` as stored file names are: NFC, without control or format characters (NUL,
    which PostgreSQL text refuses, included), whitespace runs as one space, trimmed."""
    text = "".join(_filename_char(ch) for ch in unicodedata.normalize("NFC", text))
    return " ".join(text.split())


def sanitize_filename(name: str, max_length: int = 255) -> str:
    """A display-safe base name: no directories, control or format characters, leading dots.

    ``max_length`` counts characters; the extension (up to 16 characters) is kept when
    the name is cut. Returns "document" when nothing usable is left.
    """
    name = clean_name_text(name.replace("\\", "/").rsplit("/", 1)[-1])
    name = name.lstrip(". ").rstrip(". ")
    if not name:
        return "document"
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > 16 or " " in extension:
        stem, extension = name, ""
    if len(name) > max_length:
        suffix = f".{extension}" if extension else ""
        keep = max(max_length - len(suffix), 1)
        name = (stem[:keep].rstrip(". ") + suffix)[:max_length]
    return name or "document"

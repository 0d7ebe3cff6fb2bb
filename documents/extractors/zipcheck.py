"""Refuse hostile OOXML zips before any library opens them.

Checks run on the central directory only (no decompression): member count, declared
total size, and compression ratios. The declared sizes are a real bound because
Python's ``zipfile`` stops decompressing a member at its declared ``file_size``
(and then fails the CRC check), and python-docx / python-pptx / openpyxl all read
through ``zipfile``.

XML entities: python-docx and python-pptx parse with ``lxml.etree.XMLParser(
resolve_entities=False)`` (no_network and load_dtd default to safe values), and
openpyxl uses defusedxml when it is installed (it is). As defence in depth,
``refuse_doctypes`` reads just the prolog of every XML part and refuses any DTD:
OOXML never needs one.
"""

from __future__ import annotations

import codecs
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from documents.extractors.base import ExtractionError

__all__ = ["ZipLimits", "check_ooxml_zip", "check_zip", "refuse_doctypes"]

MB = 1024 * 1024
# A tiny member may compress far better than 100:1 without being a bomb.
RATIO_FLOOR_BYTES = 1 * MB
PROLOG_SCAN_BYTES = 64 * 1024

_ROOT_START = re.compile(rb"<[A-Za-z_]")
_DTD = re.compile(rb"<!DOCTYPE|<!ENTITY")


def check_zip(
    archive: zipfile.ZipFile,
    *,
    max_members: int = 5_000,
    max_total_bytes: int = 200 * MB,
    max_ratio: float = 100.0,
) -> None:
    """Raise ExtractionError if the archive is implausibly large when expanded."""
    members = archive.infolist()
    if len(members) > max_members:
        raise ExtractionError(
            f"The file contains {len(members):,} parts, which is over the {max_members:,} "
            "limit; it looks like a zip bomb or a damaged file."
        )
    total = sum(info.file_size for info in members)
    compressed = sum(info.compress_size for info in members)
    if total > max_total_bytes:
        raise _bomb(f"{_mb(total)}", f"{_mb(max_total_bytes)} size")
    for info in members:
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > max_ratio * max(
            info.compress_size, 1
        ):
            ratio = info.file_size / max(info.compress_size, 1)
            raise _bomb(f"{ratio:,.0f} times its stored size", f"{max_ratio:,.0f}:1 compression")
    if total > RATIO_FLOOR_BYTES and total > max_ratio * max(compressed, 1):
        ratio = total / max(compressed, 1)
        raise _bomb(f"{ratio:,.0f} times its stored size", f"{max_ratio:,.0f}:1 compression")


def refuse_doctypes(archive: zipfile.ZipFile, *, scan_bytes: int = PROLOG_SCAN_BYTES) -> None:
    """Raise ExtractionError if any XML part declares a DTD (entities, XXE, billion laughs)."""
    for info in archive.infolist():
        if info.is_dir() or not info.filename.lower().endswith((".xml", ".rels", ".vml")):
            continue
        with archive.open(info) as member:
            prolog = _ascii_view(member.read(scan_bytes))
        doctype = _DTD.search(prolog)
        root = _ROOT_START.search(prolog)
        if doctype and (root is None or doctype.start() < root.start()):
            raise ExtractionError(
                "The file contains an XML document type declaration, which Office files never "
                "need and attackers use to read server files. Save it again from Word, "
                "PowerPoint or Excel and re-upload."
            )


@dataclass(frozen=True)
class ZipLimits:
    max_members: int = 5_000
    max_total_bytes: int = 200 * MB
    max_ratio: float = 100.0


def check_ooxml_zip(path: Path, limits: ZipLimits = ZipLimits()) -> None:
    """All pre-open checks for a DOCX/PPTX/XLSX file."""
    try:
        with zipfile.ZipFile(path) as archive:
            check_zip(
                archive,
                max_members=limits.max_members,
                max_total_bytes=limits.max_total_bytes,
                max_ratio=limits.max_ratio,
            )
            refuse_doctypes(archive)
    except zipfile.BadZipFile:
        raise ExtractionError(
            "The file is not a valid Office document (its zip structure is damaged or "
            "incomplete). Save it again and re-upload."
        ) from None


def _ascii_view(data: bytes) -> bytes:
    """Bytes where ASCII markup is searchable even if the part is UTF-16/32 encoded."""
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, "ignore").encode("ascii", "ignore")
    # BOM-less wide encodings interleave NULs; dropping them leaves the ASCII markup.
    return data.replace(b"\x00", b"") if b"\x00" in data[:64] else data


def _mb(size: int) -> str:
    return f"{size / MB:,.0f} MB" if size >= MB else f"{size / 1024:,.0f} KB"


def _bomb(actual: str, limit: str) -> ExtractionError:
    return ExtractionError(
        f"The file expands to {actual}, which is over the {limit} limit; "
        "it looks like a zip bomb. Upload the document without embedded bulk data."
    )

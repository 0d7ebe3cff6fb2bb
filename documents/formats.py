"""Every file format the product accepts, declared once in ``FORMATS``.

Everything else about formats is derived here: the allowed content types, the upload
extensions, the sentences that list the formats, the dashboard's type labels, which
formats share a sandbox worker, the extractor registry's built-ins and the warm-up.
Adding a format is one entry below (plus a named constant when code must refer to it,
as content sniffing does) and one extractor module: see docs/extending.md.

Pure Python with no format library imported: the upload check and the sandbox host
import it before Django or any parser is loaded.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ALLOWED_SENTENCE",
    "ALLOWED_TYPES",
    "BY_CONTENT_TYPE",
    "CSV",
    "DOCX",
    "EXTENSIONS",
    "FORMATS",
    "HTML",
    "IMAGE_TYPES",
    "JPEG",
    "MARKDOWN",
    "PDF",
    "PNG",
    "PPTX",
    "REUSABLE_TYPES",
    "STORED_EXTENSIONS",
    "TEXT",
    "TIFF",
    "TYPE_LABELS",
    "UPLOAD_HINT",
    "XLSX",
    "FileFormat",
    "load",
    "spoken_list",
]

# "fresh": a forked child per file (C parsers or deep trees a hostile file may crash);
# "shared": one reusable child reads many files (small pure-Python readers).
Sandbox = Literal["fresh", "shared"]


@dataclass(frozen=True)
class FileFormat:
    """One accepted format; each text field is shown where its comment says."""

    content_type: str  # canonical MIME type, what sniffing returns and Document stores
    label: str  # the documents table's type column: "Word"
    hint_name: str  # the upload hint: "PDF, Word, PowerPoint, ... or plain text, up to 50 MB"
    list_name: str  # refusals: "Upload PDF, DOCX, PPTX, ... or plain text files."
    phrase: str  # "This file is named .pdf but contains a Word document (DOCX)."
    noun: str  # extraction failures: "The Word document could not be read; ..."
    extensions: tuple[str, ...]  # accepted on upload, lower-case with the dot
    extractor: str  # "module:Class" satisfying extractors.base.Extractor, imported lazily
    sandbox: Sandbox
    sample: bytes | str  # warm-up file: its bytes, or "module:function" that returns them

    @property
    def stored_extension(self) -> str:
        """The extension a stored file gets: the first accepted one."""
        return self.extensions[0]


PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HTML = "text/html"
MARKDOWN = "text/markdown"
TEXT = "text/plain"
CSV = "text/csv"
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"

_WARMUP = "documents.extractors.warmup"

# In the order the formats are listed to users.
FORMATS: tuple[FileFormat, ...] = (
    FileFormat(
        content_type=PDF, label="PDF", hint_name="PDF", list_name="PDF",
        phrase="a PDF", noun="PDF", extensions=(".pdf",),
        extractor="documents.extractors.pdf:PdfExtractor", sandbox="fresh",
        sample=f"{_WARMUP}:tiny_pdf",
    ),
    FileFormat(
        content_type=DOCX, label="Word", hint_name="Word", list_name="DOCX",
        phrase="a Word document (DOCX)", noun="Word document", extensions=(".docx",),
        extractor="documents.extractors.docx:DocxExtractor", sandbox="fresh",
        sample=f"{_WARMUP}:docx_sample",
    ),
    FileFormat(
        content_type=PPTX, label="PowerPoint", hint_name="PowerPoint", list_name="PPTX",
        phrase="a PowerPoint presentation (PPTX)", noun="presentation", extensions=(".pptx",),
        extractor="documents.extractors.pptx:PptxExtractor", sandbox="fresh",
        sample=f"{_WARMUP}:pptx_sample",
    ),
    FileFormat(
        content_type=XLSX, label="Excel", hint_name="Excel", list_name="XLSX",
        phrase="an Excel workbook (XLSX)", noun="spreadsheet", extensions=(".xlsx",),
        extractor="documents.extractors.xlsx:XlsxExtractor", sandbox="fresh",
        sample=f"{_WARMUP}:xlsx_sample",
    ),
    FileFormat(
        content_type=HTML, label="HTML", hint_name="HTML", list_name="HTML",
        phrase="an HTML page", noun="HTML page", extensions=(".html", ".htm"),
        extractor="documents.extractors.html:HtmlExtractor", sandbox="fresh",
        sample=b"<html><body><h1>Warm</h1><p>Up.</p></body></html>",
    ),
    FileFormat(
        content_type=MARKDOWN, label="Markdown", hint_name="Markdown", list_name="Markdown",
        phrase="a Markdown file", noun="Markdown file", extensions=(".md", ".markdown"),
        extractor="documents.extractors.markdown:MarkdownExtractor", sandbox="shared",
        sample=b"# Warm\n\nUp.\n",
    ),
    FileFormat(
        content_type=CSV, label="CSV", hint_name="CSV", list_name="CSV",
        phrase="a CSV file", noun="CSV file", extensions=(".csv",),
        extractor="documents.extractors.csv:CsvExtractor", sandbox="shared",
        sample=b"a,b\n1,2\n",
    ),
    # Pictures of pages: every page is read with OCR (documents/ocr_stage.py).
    FileFormat(
        content_type=PNG, label="PNG", hint_name="PNG", list_name="PNG",
        phrase="a PNG image", noun="image", extensions=(".png",),
        extractor="documents.extractors.image:ImageExtractor", sandbox="fresh",
        sample=f"{_WARMUP}:png_sample",
    ),
    FileFormat(
        content_type=JPEG, label="JPEG", hint_name="JPEG", list_name="JPEG",
        phrase="a JPEG image", noun="image", extensions=(".jpg", ".jpeg"),
        extractor="documents.extractors.image:ImageExtractor", sandbox="fresh",
        sample=f"{_WARMUP}:jpeg_sample",
    ),
    FileFormat(
        content_type=TIFF, label="TIFF", hint_name="TIFF", list_name="TIFF",
        phrase="a TIFF image", noun="image", extensions=(".tif", ".tiff"),
        extractor="documents.extractors.image:ImageExtractor", sandbox="fresh",
        sample=f"{_WARMUP}:tiff_sample",
    ),
    FileFormat(
        content_type=TEXT, label="Text", hint_name="plain text", list_name="plain text",
        phrase="a plain text file", noun="text file", extensions=(".txt", ".text", ".log"),
        extractor="documents.extractors.text:TextExtractor", sandbox="shared",
        sample=b"Warm up.\n",
    ),
)  # fmt: skip


def spoken_list(names: list[str]) -> str:
    """Names joined as the sentences that list formats say them: "A, B or C"."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def load(reference: str) -> object:
    """The object a "module:attribute" reference names, importing the module now."""
    module_name, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def _check(formats: tuple[FileFormat, ...]) -> None:
    """Refuse a table that names a content type or an extension twice, or a bad extension."""
    seen_types: set[str] = set()
    seen_extensions: set[str] = set()
    for entry in formats:
        if entry.content_type in seen_types:
            raise ValueError(f"{entry.content_type} is declared twice in FORMATS")
        seen_types.add(entry.content_type)
        for extension in entry.extensions:
            if extension in seen_extensions or not extension.startswith("."):
                raise ValueError(f"{extension!r} is repeated or lacks its dot in FORMATS")
            if extension != extension.lower():
                raise ValueError(f"{extension!r} in FORMATS must be lower-case")
            seen_extensions.add(extension)


_check(FORMATS)

BY_CONTENT_TYPE: dict[str, FileFormat] = {entry.content_type: entry for entry in FORMATS}
ALLOWED_TYPES = frozenset(BY_CONTENT_TYPE)
# Extension accepted on upload -> the content type it claims.
EXTENSIONS: dict[str, str] = {
    extension: entry.content_type for entry in FORMATS for extension in entry.extensions
}
STORED_EXTENSIONS: dict[str, str] = {e.content_type: e.stored_extension for e in FORMATS}
TYPE_LABELS: dict[str, str] = {entry.content_type: entry.label for entry in FORMATS}
REUSABLE_TYPES = frozenset(e.content_type for e in FORMATS if e.sandbox == "shared")
IMAGE_TYPES = frozenset({PNG, JPEG, TIFF})  # read with OCR only
ALLOWED_SENTENCE = f"Upload {spoken_list([entry.list_name for entry in FORMATS])} files."
UPLOAD_HINT = spoken_list([entry.hint_name for entry in FORMATS])

"""Which extractor handles which content type.

Adding a format is one module with a class satisfying ``Extractor`` and one line in
``_BUILTIN`` below. Built-ins are registered lazily on first lookup so importing this
module stays cheap; ``preload()`` imports them all up front (the sandbox host does
this once, so forked children start with the libraries already in memory).
"""

from __future__ import annotations

import importlib
import logging
import threading
from pathlib import Path

from documents import filetypes
from documents.extractors.base import ExtractionError, ExtractionResult, Extractor

__all__ = ["extract_file", "get_extractor", "preload", "register", "supported_content_types"]

logger = logging.getLogger(__name__)

# (module, class name): each class declares the content types it handles.
_BUILTIN: list[tuple[str, str]] = [
    ("documents.extractors.pdf", "PdfExtractor"),
    ("documents.extractors.docx", "DocxExtractor"),
    ("documents.extractors.pptx", "PptxExtractor"),
    ("documents.extractors.xlsx", "XlsxExtractor"),
    ("documents.extractors.html", "HtmlExtractor"),
    ("documents.extractors.markdown", "MarkdownExtractor"),
    ("documents.extractors.text", "TextExtractor"),
    ("documents.extractors.csv", "CsvExtractor"),
]

_LABELS = {
    filetypes.PDF: "PDF",
    filetypes.DOCX: "Word document",
    filetypes.PPTX: "presentation",
    filetypes.XLSX: "spreadsheet",
    filetypes.HTML: "HTML page",
    filetypes.MARKDOWN: "Markdown file",
    filetypes.TEXT: "text file",
    filetypes.CSV: "CSV file",
}

_extractors: dict[str, Extractor] = {}
_lock = threading.Lock()
_builtins_loaded = False


def register(extractor: Extractor, *, replace: bool = False) -> None:
    """Make ``extractor`` the handler for each of its content types."""
    with _lock:
        for content_type in extractor.content_types:
            if content_type in _extractors and not replace:
                raise ValueError(f"{content_type} already has an extractor")
            _extractors[content_type] = extractor


def preload() -> None:
    """Import and register every built-in extractor (idempotent)."""
    global _builtins_loaded
    if _builtins_loaded:
        return
    with _lock:
        if _builtins_loaded:
            return
        for module_name, class_name in _BUILTIN:
            extractor: Extractor = getattr(importlib.import_module(module_name), class_name)()
            for content_type in extractor.content_types:
                # A test or plugin registered earlier keeps precedence over a built-in.
                _extractors.setdefault(content_type, extractor)
        _builtins_loaded = True


def supported_content_types() -> frozenset[str]:
    preload()
    return frozenset(_extractors)


def get_extractor(content_type: str) -> Extractor:
    preload()
    try:
        return _extractors[content_type]
    except KeyError:
        raise ExtractionError(
            f"Files of type {content_type} cannot be read. Upload PDF, DOCX, PPTX, XLSX, "
            "HTML, Markdown, CSV or plain text files."
        ) from None


def extract_file(path: Path, content_type: str) -> ExtractionResult:
    """Extract ``path`` in this process; any failure becomes an ``ExtractionError`` sentence.

    MemoryError propagates so the sandbox can report it as a memory-limit failure;
    FileNotFoundError (missing upload) propagates as a transient, non-document failure.
    """
    extractor = get_extractor(content_type)
    if not path.is_file():
        raise FileNotFoundError(f"no file at {path}")  # storage trouble, not the document's fault
    label = _LABELS.get(content_type, "file")
    try:
        result = extractor.extract(path)
    except (ExtractionError, MemoryError):
        raise
    except RecursionError:
        raise ExtractionError(
            f"The {label} is nested too deeply to read; it may be damaged or crafted. "
            "Save it again from the application that created it and re-upload."
        ) from None
    except Exception as exc:
        logger.warning("extractor %s failed on %s", extractor.name, path, exc_info=exc)
        raise ExtractionError(
            f"The {label} could not be read; it may be damaged or incomplete. "
            "Open it in the application that created it, save it again and re-upload."
        ) from None
    if not any(block.text.strip() for block in result.blocks):
        raise ExtractionError(
            f"The {label} contains no extractable text, so there is nothing to search. "
            "Check that the right file was uploaded."
        )
    return result

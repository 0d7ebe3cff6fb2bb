"""Which extractor handles which content type.

The built-ins are the extractors ``documents.formats.FORMATS`` names (adding a format is
one entry there and one module with a class satisfying ``Extractor``). They are
registered lazily on first lookup so importing this module stays cheap; ``preload()``
imports them all up front (the sandbox host does this once, so forked children start
with the libraries already in memory).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from documents import formats
from documents.extractors.base import ExtractionError, ExtractionResult, Extractor

__all__ = [
    "extract_file",
    "get_extractor",
    "load_extractor",
    "preload",
    "register",
    "supported_content_types",
]

logger = logging.getLogger(__name__)

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
        # One instance per class, also when several formats share it.
        for reference in dict.fromkeys(entry.extractor for entry in formats.FORMATS):
            extractor = load_extractor(reference)
            for content_type in extractor.content_types:
                # A test or plugin registered earlier keeps precedence over a built-in.
                _extractors.setdefault(content_type, extractor)
        _builtins_loaded = True


def load_extractor(reference: str) -> Extractor:
    """A new instance of the extractor class a "module:Class" reference in FORMATS names."""
    extractor_class = formats.load(reference)
    extractor = extractor_class() if isinstance(extractor_class, type) else None
    if not isinstance(extractor, Extractor):
        raise TypeError(f"{reference} is not a class satisfying the Extractor protocol")
    return extractor


def supported_content_types() -> frozenset[str]:
    preload()
    return frozenset(_extractors)


def get_extractor(content_type: str) -> Extractor:
    preload()
    try:
        return _extractors[content_type]
    except KeyError:
        raise ExtractionError(
            f"Files of type {content_type} cannot be read. {formats.ALLOWED_SENTENCE}"
        ) from None


def extract_file(path: Path, content_type: str) -> ExtractionResult:
    """Extract ``path`` in this process; any failure becomes an ``ExtractionError`` sentence.

    MemoryError propagates so the sandbox can report it as a memory-limit failure;
    FileNotFoundError (missing upload) propagates as a transient, non-document failure.
    """
    extractor = get_extractor(content_type)
    if not path.is_file():
        raise FileNotFoundError(f"no file at {path}")  # storage trouble, not the document's fault
    entry = formats.BY_CONTENT_TYPE.get(content_type)
    label = entry.noun if entry else "file"
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
    if not result.ocr_pages and not any(block.text.strip() for block in result.blocks):
        raise ExtractionError(
            f"The {label} contains no extractable text, so there is nothing to search. "
            "Check that the right file was uploaded."
        )
    return result

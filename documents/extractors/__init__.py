"""Text extraction: one module per format behind the ``Extractor`` protocol.

Public API: ``extract_file(path, content_type)`` (in-process; production code goes
through ``documents.sandbox.extract_in_sandbox``), ``register`` / ``get_extractor``,
and the data types ``TextBlock``, ``ExtractionResult``, ``ExtractionError``.
"""

from documents.extractors.base import ExtractionError, ExtractionResult, Extractor, TextBlock
from documents.extractors.registry import (
    extract_file,
    get_extractor,
    register,
    supported_content_types,
)

__all__ = [
    "ExtractionError",
    "ExtractionResult",
    "Extractor",
    "TextBlock",
    "extract_file",
    "get_extractor",
    "register",
    "supported_content_types",
]

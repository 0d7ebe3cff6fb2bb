"""Errors the document services raise; each carries the HTTP status and a sentence."""

from __future__ import annotations

from config.errors import AppError


class DocumentError(AppError):
    status = 400
    code = "invalid"


class EmptyFile(DocumentError):
    status = 400
    code = "empty_file"


class FileTooLarge(DocumentError):
    status = 413
    code = "file_too_large"


class UnsupportedType(DocumentError):
    status = 415
    code = "unsupported_type"


class DuplicateDocument(DocumentError):
    status = 409
    code = "duplicate"


class QuotaExceeded(DocumentError):
    status = 403
    code = "quota_exceeded"


class StorageFull(DocumentError):
    """The disk that holds uploaded files has no room: nothing of the upload is kept."""

    status = 507
    code = "storage_full"

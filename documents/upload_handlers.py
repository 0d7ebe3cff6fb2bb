"""Size limits applied while an upload streams in, before anything large is kept.

Django's own handlers store every file whole (in memory or in a temporary file) and leave
the size checks to the view, after the whole request (up to ~1 GB) was received and
written. `LimitedUploadHandler` keeps a file only while it is within DOCUMENT_MAX_BYTES:
past it the partial copy is deleted and the rest is only counted, so the view can still
say by how much the file is over (`services.validate_upload`). The request as a whole is
refused (413) once its files pass `request_limit()`.
"""

from __future__ import annotations

import os
from io import BytesIO, UnsupportedOperation
from typing import IO, Any

from django.conf import settings
from django.core.files.uploadedfile import (
    InMemoryUploadedFile,
    TemporaryUploadedFile,
    UploadedFile,
)
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, QueryDict
from django.utils.datastructures import MultiValueDict
from rest_framework import status
from rest_framework.exceptions import APIException

MAX_FILES_PER_REQUEST = 20
_FORM_ALLOWANCE = 1024 * 1024  # multipart headers and form fields besides the files


class UploadTooLarge(APIException):
    """The whole request is over `request_limit()`; the same code as one file too large."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "file_too_large"
    default_detail = "The upload is larger than this server accepts in one request."


def request_limit() -> int:
    """Bytes one upload request may carry: every file at the per-file limit, plus forms."""
    return int(settings.DOCUMENT_MAX_BYTES) * MAX_FILES_PER_REQUEST + _FORM_ALLOWANCE


def human_bytes(count: int) -> str:
    """A size as people read it: 812 bytes, 64.0 KB, 50.0 MB (binary units)."""
    value = float(count)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} bytes"


def _too_large(limit: int) -> UploadTooLarge:
    # Also what a single file far over the per-file limit gets (it is refused unread): the
    # sentence names that limit too, as "send fewer files" alone would not help.
    return UploadTooLarge(
        f"The upload is larger than this server accepts in one request "
        f"({limit / 2**20:,.1f} MB). A file may be at most "
        f"{human_bytes(int(settings.DOCUMENT_MAX_BYTES))}; send more files in several "
        f"requests of at most {MAX_FILES_PER_REQUEST} files."
    )


def _body_size(input_data: IO[bytes], content_length: int) -> int:
    """The body's real size when the stream can tell (ASGI spools it), else Content-Length."""
    stream = getattr(input_data, "_stream", input_data)
    try:
        size = stream.seek(0, os.SEEK_END)
    except (UnsupportedOperation, AttributeError, OSError):
        return content_length  # WSGI: the stream enforces Content-Length, so it is trustworthy
    stream.seek(0)
    return int(size)


class LimitedUploadHandler(FileUploadHandler):
    """Stores each file (in memory for small requests, as Django does) up to `file_limit`."""

    def __init__(self, request: HttpRequest | None, *, file_limit: int, request_limit: int):
        super().__init__(request)
        self.file_limit = file_limit
        self.request_limit = request_limit
        self.in_memory = False
        self.received = 0  # file bytes of the whole request, stored or not
        self.current: BytesIO | TemporaryUploadedFile | None = None  # None: over the limit

    def handle_raw_input(
        self,
        input_data: IO[bytes],
        META: dict[str, str],
        content_length: int,
        boundary: str,
        encoding: str | None = None,
    ) -> tuple[QueryDict, MultiValueDict[str, UploadedFile[Any]]] | None:
        size = _body_size(input_data, content_length)
        if size > self.request_limit:
            raise _too_large(self.request_limit)
        self.in_memory = size <= int(settings.FILE_UPLOAD_MAX_MEMORY_SIZE)
        return None

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        if self.in_memory:
            self.current = BytesIO()
        else:
            name = self.file_name or ""
            self.current = TemporaryUploadedFile(
                name, self.content_type, 0, self.charset, self.content_type_extra
            )

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > self.request_limit:
            self._discard()
            raise _too_large(self.request_limit)
        if self.current is not None:
            if start + len(raw_data) > self.file_limit:
                self._discard()  # not one byte past the limit is kept
            else:
                self.current.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> UploadedFile[Any]:
        file, self.current = self.current, None
        if file is None:
            # Only the size is left: enough for the view's "over the limit by" sentence.
            return UploadedFile(
                BytesIO(), self.file_name, self.content_type, file_size, self.charset
            )
        file.seek(0)
        if isinstance(file, TemporaryUploadedFile):
            file.size = file_size
            return file
        return InMemoryUploadedFile(
            file,
            self.field_name,
            self.file_name or "",
            self.content_type,
            file_size,
            self.charset,
            self.content_type_extra,
        )

    def upload_interrupted(self) -> None:
        self._discard()

    def _discard(self) -> None:
        """Close the file being received; a temporary file is deleted as it closes."""
        if self.current is not None:
            self.current.close()
            self.current = None


def install(request: HttpRequest) -> None:
    """Make the upload endpoint's limits apply to `request`'s body, before anything reads it."""
    request.upload_handlers = [
        LimitedUploadHandler(
            request,
            file_limit=int(settings.DOCUMENT_MAX_BYTES),
            request_limit=request_limit(),
        )
    ]

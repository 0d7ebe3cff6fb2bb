"""JSON parsing with a size cap: DRF streams JSON past Django's DATA_UPLOAD_MAX_MEMORY_SIZE.

Also refuses compressed bodies (415: no parser here decompresses them) and JSON nested too
deeply for Python's parser (400 instead of a RecursionError, i.e. a 500).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, UnsupportedMediaType
from rest_framework.parsers import JSONParser


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The request body is too large."


class NestedTooDeeply(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "parse_error"
    default_detail = (
        "The JSON body is nested too deeply to be read; send a flat object of the "
        "documented fields."
    )


class LimitedJSONParser(JSONParser):
    """Refuses (413) JSON bodies over DATA_UPLOAD_MAX_MEMORY_SIZE, chunked bodies included."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        request = (parser_context or {}).get("request")
        meta = request.META if request is not None else {}
        _refuse_encoded(meta, media_type)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and stream is not None:
            declared = int(meta.get("CONTENT_LENGTH") or 0)
            if declared > limit:
                raise self._too_large(limit)
            body = stream.read(limit + 1)
            if len(body) > limit:
                raise self._too_large(limit)
            stream = io.BytesIO(body)
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise NestedTooDeeply() from None

    @staticmethod
    def _too_large(limit: int) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"The JSON body is larger than {limit // 1024} KB; send less data "
            "(files go to the upload endpoint as multipart/form-data)."
        )


def _refuse_encoded(meta: Mapping[str, Any], media_type: str | None) -> None:
    """A gzip (or other) Content-Encoding would otherwise fail as 'invalid UTF-8 JSON'."""
    encoding = str(meta.get("HTTP_CONTENT_ENCODING") or "").strip().lower()
    if encoding and encoding != "identity":
        raise UnsupportedMediaType(
            media_type or "application/json",
            detail=f"The body is sent with Content-Encoding: {encoding[:40]}, which this API "
            "does not accept; send the JSON uncompressed, without a Content-Encoding header.",
        )

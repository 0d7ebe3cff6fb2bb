"""JSON parsing with a size cap: DRF streams JSON past Django's DATA_UPLOAD_MAX_MEMORY_SIZE."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.parsers import JSONParser


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The request body is too large."


class LimitedJSONParser(JSONParser):
    """Refuses (413) JSON bodies over DATA_UPLOAD_MAX_MEMORY_SIZE, chunked bodies included."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and stream is not None:
            request = (parser_context or {}).get("request")
            declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
            if declared > limit:
                raise self._too_large(limit)
            body = stream.read(limit + 1)
            if len(body) > limit:
                raise self._too_large(limit)
            return super().parse(io.BytesIO(body), media_type, parser_context)
        return super().parse(stream, media_type, parser_context)

    @staticmethod
    def _too_large(limit: int) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"The JSON body is larger than {limit // 1024} KB; send less data "
            "(files go to the upload endpoint as multipart/form-data)."
        )

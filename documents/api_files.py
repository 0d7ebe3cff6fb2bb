"""GET /api/v1/documents/<id>/file/: the original file as it was uploaded.

Checked like the document itself (any member, or a read or write API key, of the tenant whose
host it is), sent as an attachment under the name it was uploaded with, streamed from storage
(the WSGI file wrapper: gunicorn sends it without reading it into memory). The content type
is the format the upload check recognised, or `application/octet-stream`; `nosniff` and a
sandboxing CSP make sure a browser never renders it as a page of this site.

`?inline=1` opens a PDF in the browser's own viewer instead (the Ask page's passage panel
links it with `#page=N`, the page of the cited passage). Only a file the upload check read as
a PDF by its bytes is sent inline, always as `application/pdf`, so a browser renders it as a
PDF or not at all; every other format stays an attachment. It goes without the sandboxing
CSP, which Chromium's viewer refuses to run under; the viewer runs apart from the page's
origin (no access to this site's cookies or DOM). docs/api.md says the same.
"""

from __future__ import annotations

from django.http import FileResponse, HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import CanRead
from config.openapi import ERROR_RESPONSES
from documents.api_access import ReadableView
from documents.formats import BY_CONTENT_TYPE

PDF = "application/pdf"


class DocumentFileView(ReadableView):
    """Download the original of one document."""

    permission_classes = [CanRead]

    @extend_schema(
        tags=["documents"],
        parameters=[
            OpenApiParameter(
                "inline",
                OpenApiTypes.STR,
                enum=["1"],
                description="1: a PDF opens in the browser's viewer instead of downloading.",
            )
        ],
        responses={
            # Sent as the type the upload check recognised (documents/formats.py).
            **{
                (200, media_type): OpenApiResponse(
                    OpenApiTypes.BINARY,
                    description="The file, as an attachment (a PDF inline with `?inline=1`).",
                )
                for media_type in [*BY_CONTENT_TYPE, "application/octet-stream"]
            },
            **ERROR_RESPONSES,
        },
    )
    def get(self, request: Request, pk: int) -> HttpResponseBase:
        document = self.readable_document(pk)
        name = str(document.file.name or "")
        if not name or not document.file.storage.exists(name):
            message = f"The original of '{document.filename}' is not stored any more."
            return Response({"error": {"code": "not_found", "message": message}}, status=404)
        known = document.content_type in BY_CONTENT_TYPE
        inline = document.content_type == PDF and request.query_params.get("inline") == "1"
        response = FileResponse(
            document.file.storage.open(name, "rb"),
            as_attachment=not inline,
            filename=document.filename,
            content_type=document.content_type if known else "application/octet-stream",
        )
        response["X-Content-Type-Options"] = "nosniff"
        if not inline:
            response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response

"""GET /api/v1/documents/<id>/file/: the original file as it was uploaded.

Checked like the document itself (any member, or a read or write API key, of the tenant whose
host it is), sent as an attachment under the name it was uploaded with, streamed from storage
(the WSGI file wrapper: gunicorn sends it without reading it into memory). The content type
is the format the upload check recognised, or `application/octet-stream`; `nosniff` and a
sandboxing CSP make sure a browser never renders it as a page of this site.
"""

from __future__ import annotations

from django.http import FileResponse, HttpResponseBase
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CanRead
from config.openapi import ERROR_RESPONSES
from documents.formats import BY_CONTENT_TYPE
from documents.models import Document


class DocumentFileView(APIView):
    """Download the original of one document."""

    permission_classes = [CanRead]

    @extend_schema(
        tags=["documents"],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file, as an attachment."
            ),
            **ERROR_RESPONSES,
        },
    )
    def get(self, request: Request, pk: int) -> HttpResponseBase:
        document = get_object_or_404(Document, pk=pk)
        self.check_object_permissions(request, document)
        name = str(document.file.name or "")
        if not name or not document.file.storage.exists(name):
            message = f"The original of '{document.filename}' is not stored any more."
            return Response({"error": {"code": "not_found", "message": message}}, status=404)
        known = document.content_type in BY_CONTENT_TYPE
        response = FileResponse(
            document.file.storage.open(name, "rb"),
            as_attachment=True,
            filename=document.filename,
            content_type=document.content_type if known else "application/octet-stream",
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response

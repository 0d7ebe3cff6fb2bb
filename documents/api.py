"""Document endpoints: upload (one or several files), list, detail, delete, reindex."""

from __future__ import annotations

from typing import IO, Any, cast

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CanRead, CanWrite
from config.openapi import ERROR_RESPONSES
from documents import selectors, services
from documents.errors import DocumentError, FileTooLarge
from documents.models import Chunk, Document

MAX_FILES_PER_REQUEST = 20


class DocumentSerializer(serializers.ModelSerializer[Document]):
    uploaded_by = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id",
            "filename",
            "content_type",
            "size",
            "sha256",
            "status",
            "error",
            "progress",
            "page_count",
            "chunk_count",
            "timings",
            "uploaded_by",
            "created_at",
            "updated_at",
            "processed_at",
        ]
        read_only_fields = fields

    def get_uploaded_by(self, obj: Document) -> str | None:
        return obj.uploaded_by.email if obj.uploaded_by else None


def error_body(error: DocumentError, filename: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": error.code, "message": error.message, **error.extra}
    if filename is not None:
        body["filename"] = filename
    return body


def _as_upload(uploaded: UploadedFile) -> services.Upload:
    stream = cast(IO[bytes], uploaded.file)
    return services.Upload(stream=stream, name=uploaded.name or "", size=uploaded.size or 0)


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in {"1", "true", "yes", "on"}


@extend_schema(
    tags=["documents"],
    parameters=[
        OpenApiParameter("status", str, enum=["pending", "processing", "ready", "failed"]),
        OpenApiParameter("search", str, description="part of the file name"),
    ],
)
class DocumentListCreateView(generics.ListAPIView[Document]):
    """List the workspace's documents, or upload new ones (multipart field `file`)."""

    permission_classes = [CanWrite]
    serializer_class = DocumentSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self) -> Any:
        status_filter = self.request.query_params.get("status")
        if status_filter and not selectors.valid_status(status_filter):
            raise ValidationError(
                {
                    "status": [
                        f"Unknown status '{status_filter}'; use pending, processing, "
                        "ready or failed."
                    ]
                }
            )
        return selectors.document_list(
            status=status_filter, search=self.request.query_params.get("search")
        )

    @extend_schema(
        tags=["documents"],
        parameters=[
            OpenApiParameter("allow_duplicate", bool, description="store a file already uploaded")
        ],
        request={
            "multipart/form-data": inline_serializer(
                "DocumentUpload",
                {"file": serializers.ListField(child=serializers.FileField(), max_length=20)},
            )
        },
        responses={
            202: DocumentSerializer,
            **ERROR_RESPONSES,
            409: ERROR_RESPONSES[400],
            413: ERROR_RESPONSES[400],
            415: ERROR_RESPONSES[400],
        },
        description="Upload one or several files (field `file`). One file: the document; "
        "several: `{documents, errors}`. Processing continues in the background.",
    )
    def post(self, request: Request) -> Response:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > int(settings.DOCUMENT_MAX_BYTES) * MAX_FILES_PER_REQUEST + 1024 * 1024:
            too_large = FileTooLarge("The upload is larger than this server accepts at once.")
            return Response({"error": error_body(too_large)}, status=too_large.status)
        files = request.FILES.getlist("file")
        if not files:
            return Response(
                {
                    "error": {
                        "code": "no_file",
                        "message": "Attach the document in a multipart field named 'file'.",
                    }
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        if len(files) > MAX_FILES_PER_REQUEST:
            message = f"Upload at most {MAX_FILES_PER_REQUEST} files per request."
            return Response(
                {"error": {"code": "too_many_files", "message": message}},
                status=status.HTTP_400_BAD_REQUEST,
            )
        user = request.user if request.user.is_authenticated else None
        accepted, rejections = services.create_documents(
            uploads=[_as_upload(uploaded) for uploaded in files],
            uploaded_by=user,
            allow_duplicate=_truthy(request.query_params.get("allow_duplicate")),
        )
        rejected = [(r.error, r.name) for r in rejections]
        if len(files) == 1:
            if rejected:
                error, _name = rejected[0]
                return Response({"error": error_body(error)}, status=error.status)
            return Response(DocumentSerializer(accepted[0]).data, status=status.HTTP_202_ACCEPTED)
        body = {
            "documents": DocumentSerializer(accepted, many=True).data,
            "errors": [error_body(error, name) for error, name in rejected],
        }
        if not accepted:
            body["error"] = {"code": "all_rejected", "message": "None of the files was accepted."}
            return Response(body, status=rejected[0][0].status)
        return Response(body, status=status.HTTP_202_ACCEPTED)


class DocumentDetailView(APIView):
    """One document with its processing status; DELETE removes it everywhere at once."""

    permission_classes = [CanWrite]

    def get_object(self, pk: int) -> Document:
        document = get_object_or_404(Document.objects.select_related("uploaded_by"), pk=pk)
        self.check_object_permissions(self.request, document)
        return document

    @extend_schema(tags=["documents"], responses={200: DocumentSerializer, **ERROR_RESPONSES})
    def get(self, request: Request, pk: int) -> Response:
        return Response(DocumentSerializer(self.get_object(pk)).data)

    @extend_schema(tags=["documents"], responses={204: None, **ERROR_RESPONSES})
    def delete(self, request: Request, pk: int) -> Response:
        services.delete_document(document=self.get_object(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DocumentReindexView(APIView):
    """Run the pipeline again for one document."""

    permission_classes = [CanWrite]

    @extend_schema(
        tags=["documents"], request=None, responses={202: DocumentSerializer, **ERROR_RESPONSES}
    )
    def post(self, request: Request, pk: int) -> Response:
        document = get_object_or_404(Document, pk=pk)
        self.check_object_permissions(request, document)
        document = services.request_reindex(document=document)
        return Response(DocumentSerializer(document).data, status=status.HTTP_202_ACCEPTED)


class ChunkSerializer(serializers.ModelSerializer[Chunk]):
    chunk_id = serializers.IntegerField(source="id", read_only=True)
    document_name = serializers.CharField(source="document.filename", read_only=True)

    class Meta:
        model = Chunk
        fields = ("chunk_id", "document_id", "document_name", "ordinal", "page", "section", "text")
        read_only_fields = fields


class ChunkDetailView(APIView):
    """One indexed passage, whole: what a citation or search hit points at (`chunk_id`)."""

    permission_classes = [CanRead]

    @extend_schema(tags=["documents"], responses={200: ChunkSerializer, **ERROR_RESPONSES})
    def get(self, request: Request, pk: int) -> Response:
        chunk = get_object_or_404(Chunk.objects.select_related("document"), pk=pk)
        return Response(ChunkSerializer(chunk).data)

"""Document endpoints: upload (one or several files), list, detail, delete, reindex."""

from __future__ import annotations

from typing import IO, Any, cast

from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CanRead, CanWrite
from config.exceptions import invalid_parameter
from config.openapi import ERROR_RESPONSES, LIST_ERROR_RESPONSES, error_response
from documents import selectors, services, upload_handlers
from documents.errors import DocumentError
from documents.models import Chunk, Document, DocumentStatus
from documents.upload_handlers import MAX_FILES_PER_REQUEST

MAX_IDS = 200  # as many as one page can hold (StandardPagination.max_page_size)
IN_FLIGHT = frozenset({DocumentStatus.PENDING, DocumentStatus.PROCESSING})


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
            "embedding_tokens",
            "embedding_cost_usd",
            "uploaded_by",
            "created_at",
            "updated_at",
            "processed_at",
        ]
        read_only_fields = fields

    def get_uploaded_by(self, obj: Document) -> str | None:
        return obj.uploaded_by.email if obj.uploaded_by else None


class UploadErrorDetailSerializer(serializers.Serializer[Any]):
    """Why an upload, or one of its files, was refused (documentation only)."""

    code = serializers.CharField(
        help_text="`empty_file`, `file_too_large`, `unsupported_type`, `duplicate`, "
        "`quota_exceeded`; for the request as a whole also e.g. `no_file`, `too_many_files`, "
        "`all_rejected`, `permission_denied`, `throttled`."
    )
    message = serializers.CharField(help_text="What went wrong, as a sentence for people.")
    existing_id = serializers.IntegerField(
        required=False, help_text="`duplicate` only: the document already holding this file."
    )
    existing_filename = serializers.CharField(
        required=False, help_text="`duplicate` only: that document's file name."
    )
    limit = serializers.CharField(
        required=False,
        help_text="`quota_exceeded` only: the plan limit reached, `max_documents` or "
        "`max_storage_bytes`.",
    )
    usage = serializers.IntegerField(
        required=False,
        help_text="`quota_exceeded` only: the workspace's documents or stored bytes so far.",
    )


class RejectedFileSerializer(UploadErrorDetailSerializer):
    """One refused file of a multi-file upload (documentation only)."""

    filename = serializers.CharField(help_text="The file's name as uploaded.")


class UploadBatchSerializer(serializers.Serializer[Any]):
    """A multi-file upload's answer (documentation only)."""

    documents = DocumentSerializer(many=True, help_text="The files accepted, now pending.")

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # "errors" is also the name of Serializer's own attribute, so it is added here.
        fields = super().get_fields()
        fields["errors"] = RejectedFileSerializer(
            many=True, help_text="The files refused, and why."
        )
        return fields


class UploadErrorSerializer(serializers.Serializer[Any]):
    """An upload's error body (documentation only).

    One file: `{"error": {...}}`. Several files all refused: also `documents` (empty) and
    `errors` (one entry per file), with `error.code` `all_rejected`; the status is the first
    refusal's.
    """

    error = UploadErrorDetailSerializer()
    documents = DocumentSerializer(
        many=True, required=False, help_text="Several files only: always empty here."
    )

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # "errors" is also the name of Serializer's own attribute, so it is added here.
        fields = super().get_fields()
        fields["errors"] = RejectedFileSerializer(
            many=True, required=False, help_text="Several files only: why each file was refused."
        )
        return fields


def _upload_error(description: str) -> OpenApiResponse:
    return OpenApiResponse(UploadErrorSerializer, description=description)


UPLOAD_RESPONSES: dict[int, Any] = {
    202: OpenApiResponse(
        PolymorphicProxySerializer(
            component_name="DocumentUploadAccepted",
            serializers=[DocumentSerializer, UploadBatchSerializer],
            resource_type_field_name=None,
        ),
        description="Accepted; processing continues in the background. One file: the "
        "document. Several: `{documents, errors}`, the accepted documents and the refused "
        "files (at least one was accepted).",
    ),
    **ERROR_RESPONSES,
    400: _upload_error(
        "No `file` field (`no_file`), over 20 files (`too_many_files`), an empty file "
        "(`empty_file`), or a body that cannot be read (`parse_error`, `invalid`)."
    ),
    403: _upload_error(
        "Not allowed to upload (`permission_denied`), or the plan's document or storage "
        "quota is reached (`quota_exceeded`, with `limit` and `usage`)."
    ),
    409: _upload_error(
        "The file was already uploaded (`duplicate`, with `existing_id` and "
        "`existing_filename`); add `?allow_duplicate=1` to store it again."
    ),
    413: _upload_error(
        "A file, or the whole upload, is too large (`file_too_large`), or the form fields "
        "besides the files are (`payload_too_large`)."
    ),
    415: _upload_error(
        "A file's type is not supported (`unsupported_type`), or the body is not "
        "multipart/form-data (`unsupported_media_type`)."
    ),
}


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


def _requested_ids(values: list[str]) -> list[int] | None:
    """`?id=3,5` (or `?id=3&id=5`) as ids, None when not asked; a 400 names what is wrong."""
    items = [item.strip() for value in values for item in value.split(",") if item.strip()]
    if not items:
        return None
    for item in items:
        if not item.isascii() or not item.isdigit() or len(item) > 18:
            raise invalid_parameter(
                "id",
                f"id takes document ids separated by commas, such as 12,15; got {item[:20]!r}.",
            )
    if len(items) > MAX_IDS:
        raise invalid_parameter(
            "id", f"Ask for at most {MAX_IDS} ids at once (got {len(items)}); split the list."
        )
    return [int(item) for item in items]


@extend_schema_view(
    get=extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=["pending", "processing", "ready", "failed"]),
            OpenApiParameter("search", str, description="part of the file name"),
            OpenApiParameter(
                "ordering",
                str,
                enum=[f"{sign}{key}" for key in selectors.ORDERINGS for sign in ("", "-")],
                description="sort by name, size, status or upload time (`-` descending); "
                "newest first by default",
            ),
            OpenApiParameter(
                "id",
                str,
                description=f"only these documents: up to {MAX_IDS} ids separated by commas; "
                "an id missing from the answer was deleted (or is filtered out)",
            ),
        ],
        responses={200: DocumentSerializer(many=True), **LIST_ERROR_RESPONSES},
    ),
)
@extend_schema(tags=["documents"])
class DocumentListCreateView(generics.ListAPIView[Document]):
    """List the workspace's documents, or upload new ones (multipart field `file`)."""

    permission_classes = [CanWrite]
    serializer_class = DocumentSerializer
    # Only multipart can carry a file; a 415 then says to send exactly that.
    parser_classes = [MultiPartParser]

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        # Before authentication: the session's CSRF check reads the body already.
        if request.method == "POST":
            upload_handlers.install(request)
        return super().initialize_request(request, *args, **kwargs)

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
        ordering = self.request.query_params.get("ordering")
        if ordering and not selectors.valid_ordering(ordering):
            choices = ", ".join(selectors.ORDERINGS)
            raise ValidationError(
                {
                    "ordering": [
                        f"Unknown ordering '{ordering}'; use {choices}, with a leading '-' "
                        "for descending."
                    ]
                }
            )
        ids = _requested_ids(self.request.query_params.getlist("id"))
        documents = selectors.document_list(
            status=status_filter, search=self.request.query_params.get("search"), ordering=ordering
        )
        # The dashboard asks which of the rows it shows still exist, and for their status.
        return documents if ids is None else documents.filter(id__in=ids)

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
        responses=UPLOAD_RESPONSES,
        description="Upload one or several files (field `file`). One file: the document; "
        "several: `{documents, errors}`. Processing continues in the background.",
    )
    def post(self, request: Request) -> Response:
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
        tags=["documents"],
        request=None,
        responses={
            202: DocumentSerializer,
            **ERROR_RESPONSES,
            409: error_response("The document is still pending or processing (`in_progress`)."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        document = get_object_or_404(Document, pk=pk)
        self.check_object_permissions(request, document)
        if document.status in IN_FLIGHT:
            # A second run beside the first would redo all its work on a worker another upload
            # needs; the sweep re-queues a document that is really stuck.
            message = (
                f"'{document.filename}' is still being processed; wait until it is ready or "
                "failed, then reindex it."
            )
            return Response(
                {"error": {"code": "in_progress", "message": message}},
                status=status.HTTP_409_CONFLICT,
            )
        document = services.request_reindex(document=document)
        return Response(DocumentSerializer(document).data, status=status.HTTP_202_ACCEPTED)


class ChunkSerializer(serializers.ModelSerializer[Chunk]):
    chunk_id = serializers.IntegerField(source="id", read_only=True)
    document_name = serializers.CharField(source="document.filename", read_only=True)
    document_content_type = serializers.CharField(source="document.content_type", read_only=True)

    class Meta:
        model = Chunk
        fields = (
            "chunk_id",
            "document_id",
            "document_name",
            "document_content_type",
            "ordinal",
            "page",
            "section",
            "text",
        )
        read_only_fields = fields


class ChunkDetailView(APIView):
    """One indexed passage, whole: what a citation or search hit points at (`chunk_id`)."""

    permission_classes = [CanRead]

    @extend_schema(tags=["documents"], responses={200: ChunkSerializer, **ERROR_RESPONSES})
    def get(self, request: Request, pk: int) -> Response:
        chunk = get_object_or_404(Chunk.objects.select_related("document"), pk=pk)
        return Response(ChunkSerializer(chunk).data)

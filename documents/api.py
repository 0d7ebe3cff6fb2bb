"""Document endpoints: upload (one or several files), list, detail, delete, reindex."""

from __future__ import annotations

from typing import IO, Any, cast

from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.collection_access import key_of, upload_targets
from accounts.models import Collection, User
from accounts.permissions import CanRead, CanWrite, IsTenantAdmin
from config.exceptions import invalid_parameter
from config.openapi import (
    BODY_ERROR_RESPONSES,
    ERROR_RESPONSES,
    LIST_ERROR_RESPONSES,
    error_response,
)
from documents import collection_services, selectors, services, upload_handlers
from documents.api_access import ReadableView, form_ids, requested_collection
from documents.api_serializers import UPLOAD_RESPONSES, DocumentSerializer, error_body
from documents.models import Chunk, Document, DocumentStatus
from documents.upload_handlers import MAX_FILES_PER_REQUEST

MAX_IDS = 200  # as many as one page can hold (StandardPagination.max_page_size)
IN_FLIGHT = frozenset({DocumentStatus.PENDING, DocumentStatus.PROCESSING})


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
            OpenApiParameter("collection", int, description="only this collection's documents"),
        ],
        responses={200: DocumentSerializer(many=True), **LIST_ERROR_RESPONSES},
    ),
)
@extend_schema(tags=["documents"])
class DocumentListCreateView(ReadableView, generics.ListAPIView[Document]):
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

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "readable": self.readable}

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
            status=status_filter,
            search=self.request.query_params.get("search"),
            ordering=ordering,
            readable=self.readable,
            collection=requested_collection(self.request.query_params.get("collection")),
        )
        documents = documents.prefetch_related(selectors.COLLECTION_IDS)
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
                {
                    "file": serializers.ListField(child=serializers.FileField(), max_length=20),
                    "collection_ids": serializers.ListField(
                        child=serializers.IntegerField(),
                        required=False,
                        help_text="The collections the files go into (the field repeated); "
                        "the default collection when absent.",
                    ),
                },
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
        assert isinstance(request.user, User)  # CanWrite: a person, or a key acting as one
        targets = upload_targets(
            request.user, key_of(request.auth), form_ids(request.POST.getlist("collection_ids"))
        )
        accepted, rejections = services.create_documents(
            uploads=[_as_upload(uploaded) for uploaded in files],
            uploaded_by=request.user,
            allow_duplicate=_truthy(request.query_params.get("allow_duplicate")),
            collections=targets,
            readable=self.readable,
        )
        rejected = [(r.error, r.name) for r in rejections]
        if len(files) == 1:
            if rejected:
                error, _name = rejected[0]
                return Response({"error": error_body(error)}, status=error.status)
            data = DocumentSerializer(accepted[0], context={"readable": self.readable}).data
            return Response(data, status=status.HTTP_202_ACCEPTED)
        body = {
            "documents": DocumentSerializer(
                accepted, many=True, context={"readable": self.readable}
            ).data,
            "errors": [error_body(error, name) for error, name in rejected],
        }
        if not accepted:
            body["error"] = {"code": "all_rejected", "message": "None of the files was accepted."}
            return Response(body, status=rejected[0][0].status)
        return Response(body, status=status.HTTP_202_ACCEPTED)


class DocumentCollectionsInput(serializers.Serializer[Any]):
    collection_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        max_length=1000,
        help_text="Every collection the document is to be in (at least one).",
    )


class DocumentDetailView(ReadableView):
    """One document with its processing status; PATCH moves it between collections (owners and
    admins); DELETE removes it everywhere at once."""

    permission_classes = [CanWrite]

    @extend_schema(tags=["documents"], responses={200: DocumentSerializer, **ERROR_RESPONSES})
    def get(self, request: Request, pk: int) -> Response:
        document = self.readable_document(pk)
        return Response(DocumentSerializer(document, context={"readable": self.readable}).data)

    @extend_schema(
        tags=["documents"],
        request=DocumentCollectionsInput,
        responses={200: DocumentSerializer, **ERROR_RESPONSES, **BODY_ERROR_RESPONSES},
    )
    def patch(self, request: Request, pk: int) -> Response:
        admin = IsTenantAdmin()
        if not admin.has_permission(request, self):
            raise PermissionDenied(admin.message)
        document = self.readable_document(pk)
        data = DocumentCollectionsInput(data=request.data)
        data.is_valid(raise_exception=True)
        wanted = data.validated_data["collection_ids"]
        found = {c.pk: c for c in Collection.objects.filter(pk__in=wanted)}
        missing = sorted(set(wanted) - set(found))
        if missing:
            raise invalid_parameter(
                "collection_ids",
                f"There is no collection {', '.join(map(str, missing))} in this workspace; list "
                "the collections to get their ids.",
            )
        collection_services.set_document_collections(
            document=document, collections=[found[i] for i in sorted(found)]
        )
        document = self.readable_document(pk)
        return Response(DocumentSerializer(document, context={"readable": self.readable}).data)

    @extend_schema(tags=["documents"], responses={204: None, **ERROR_RESPONSES})
    def delete(self, request: Request, pk: int) -> Response:
        services.delete_document(document=self.readable_document(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DocumentReindexView(ReadableView):
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
        document = self.readable_document(pk)
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
        data = DocumentSerializer(document, context={"readable": self.readable}).data
        return Response(data, status=status.HTTP_202_ACCEPTED)


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


class ChunkDetailView(ReadableView):
    """One indexed passage, whole: what a citation or search hit points at (`chunk_id`)."""

    permission_classes = [CanRead]

    @extend_schema(tags=["documents"], responses={200: ChunkSerializer, **ERROR_RESPONSES})
    def get(self, request: Request, pk: int) -> Response:
        chunks = Chunk.objects.filter(document__in=selectors.readable_documents(self.readable))
        chunk = get_object_or_404(chunks.select_related("document"), pk=pk)
        return Response(ChunkSerializer(chunk).data)

"""What the document endpoints answer: the document, and an upload's answers and refusals."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer
from rest_framework import serializers

from config.openapi import ERROR_RESPONSES
from documents.errors import DocumentError
from documents.models import Document


class DocumentSerializer(serializers.ModelSerializer[Document]):
    uploaded_by = serializers.SerializerMethodField()
    collection_ids = serializers.SerializerMethodField(
        help_text="The collections holding the document, of those the caller may read."
    )

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
            "collection_ids",
            "created_at",
            "updated_at",
            "processed_at",
        ]
        read_only_fields = fields

    def get_uploaded_by(self, obj: Document) -> str | None:
        return obj.uploaded_by.email if obj.uploaded_by else None

    def get_collection_ids(self, obj: Document) -> list[int]:
        readable = self.context.get("readable")
        ids = sorted(collection.pk for collection in obj.collections.all())
        return [i for i in ids if readable is None or i in readable]


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
    507: _upload_error(
        "The disk for uploaded files is full (`storage_full`): nothing was stored; try again later."
    ),
}


def error_body(error: DocumentError, filename: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": error.code, "message": error.message, **error.extra}
    if filename is not None:
        body["filename"] = filename
    return body

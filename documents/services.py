"""Writes for documents: validated upload, delete, reindex. Reads live in selectors.py."""

from __future__ import annotations

import errno
import hashlib
import logging
import uuid
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.files import File
from django.db import connection, transaction
from django.db.models import Count, Sum

from accounts.collection_access import default_collection
from accounts.models import Collection, User
from config.queueing import QueueUnavailable, send_task
from documents import index_changes
from documents.errors import (
    DocumentError,
    DuplicateDocument,
    EmptyFile,
    FileTooLarge,
    QuotaExceeded,
    StorageFull,
    UnsupportedType,
)
from documents.filetypes import UnsupportedFileType, detect_content_type, sanitize_filename
from documents.formats import IMAGE_TYPES, STORED_EXTENSIONS
from documents.models import Document, DocumentStatus
from documents.selectors import readable_documents
from documents.upload_handlers import human_bytes
from tenants.db import current_tenant
from tenants.plans import get_plan

logger = logging.getLogger(__name__)
_HEAD_BYTES = 64 * 1024
_EXTENSIONS = STORED_EXTENSIONS  # the extension a stored file gets, from documents/formats.py
# Serialises quota and duplicate checks with the insert, per tenant schema.
_UPLOAD_LOCK_NAMESPACE = 0x7E4A_0002


# Task names (documents/tasks.py), sent by name so this module need not import the tasks.
INGEST_DOCUMENT = "documents.ingest_document"
INGEST_DOCUMENTS = "documents.ingest_documents"


@dataclass(frozen=True)
class Upload:
    """An incoming file: a readable, seekable binary stream and its client-side name."""

    stream: IO[bytes]
    name: str
    size: int


def _fingerprint(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    stream.seek(0)
    for block in iter(lambda: stream.read(1024 * 1024), b""):
        digest.update(block)
    stream.seek(0)
    return digest.hexdigest()


@dataclass
class _Usage:
    """The tenant's document count and stored bytes, kept current while a batch is added."""

    documents: int
    stored: int

    @classmethod
    def current(cls) -> _Usage:
        totals = Document.objects.aggregate(count=Count("id"), total=Sum("size"))
        return cls(int(totals["count"] or 0), int(totals["total"] or 0))

    def admit(self, size: int) -> None:
        plan = get_plan(str(getattr(current_tenant(), "plan", "")))
        if self.documents + 1 > plan.max_documents:
            raise QuotaExceeded(
                f"Your {plan.label} plan allows {plan.max_documents:,} documents and you have "
                f"{self.documents:,}. Delete documents or upgrade your plan to upload more.",
                limit="max_documents",
                usage=self.documents,
            )
        if self.stored + size > plan.max_storage_bytes:
            raise QuotaExceeded(
                f"Your {plan.label} plan allows {human_bytes(plan.max_storage_bytes)} of "
                f"storage; you use {human_bytes(self.stored)} and this file needs "
                f"{human_bytes(size)} more. Delete documents or upgrade your plan.",
                limit="max_storage_bytes",
                usage=self.stored,
            )
        self.documents += 1
        self.stored += size


def validate_upload(upload: Upload) -> tuple[str, str]:
    """Check size and type from the bytes; returns (clean filename, content type)."""
    if upload.size == 0:
        raise EmptyFile(
            f"The file '{sanitize_filename(upload.name)}' is empty (0 bytes); check that it "
            "was saved or finished downloading, then upload it again."
        )
    limit = int(settings.DOCUMENT_MAX_BYTES)
    if upload.size > limit:
        raise FileTooLarge(
            f"The file '{sanitize_filename(upload.name)}' is {upload.size:,} bytes, "
            f"{upload.size - limit:,} over the limit of {human_bytes(limit)} "
            f"({limit:,} bytes). Split it or compress its images."
        )
    filename = sanitize_filename(upload.name)
    upload.stream.seek(0)
    head = upload.stream.read(_HEAD_BYTES)
    upload.stream.seek(0)
    try:
        content_type = detect_content_type(head, filename)
    except UnsupportedFileType as exc:
        raise UnsupportedType(str(exc)) from exc
    return filename, content_type


@dataclass(frozen=True)
class Rejection:
    name: str
    error: DocumentError
    position: int  # the upload's index in `uploads` (two uploads may share a name)


def create_documents(
    *,
    uploads: list[Upload],
    uploaded_by: User | None,
    allow_duplicate: bool = False,
    enqueue: bool = True,
    collections: list[Collection] | None = None,
    readable: frozenset[int] | None = None,
) -> tuple[list[Document], list[Rejection]]:
    """Validate and store uploads as pending Documents, then queue their ingestion.

    Each file is accepted or rejected on its own (size, type, duplicate, quota). A row and
    its stored file exist together or not at all: files are removed when the transaction
    fails. The documents go into `collections` (checked by the caller,
    accounts.collection_access.upload_targets), else the default collection; duplicates are
    looked for among the documents of the `readable` collections only (None: all), so an
    upload never names a document its uploader may not read.
    """
    batch = _UploadBatch(uploaded_by=uploaded_by, allow_duplicate=allow_duplicate)
    candidates = batch.validated(uploads)
    if not candidates:
        return batch.accepted, batch.rejected
    try:
        with transaction.atomic():
            _lock_uploads()
            batch.known = {} if allow_duplicate else _known_by_hash(candidates, readable)
            usage = _Usage.current()
            for candidate in candidates:
                batch.store(candidate, usage)
            Document.objects.bulk_create(batch.accepted)
            add_to_collections(batch.accepted, collections or [default_collection()])
            batch.reject_same_batch()
            if enqueue and batch.accepted:
                ids = [d.pk for d in batch.accepted]
                transaction.on_commit(lambda: _queue_or_withdraw(ids))
    except Exception:
        batch.delete_stored_files()
        raise
    batch.rejected.sort(key=lambda rejection: rejection.position)
    return batch.accepted, batch.rejected


@dataclass(frozen=True)
class _Candidate:
    position: int
    upload: Upload
    filename: str
    content_type: str
    sha256: str


def _lock_uploads() -> None:
    """One upload transaction per tenant at a time: quota and duplicate checks see each other."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(current_schema()))",
            [_UPLOAD_LOCK_NAMESPACE],
        )


def _known_by_hash(
    candidates: list[_Candidate], readable: frozenset[int] | None
) -> dict[str, Document]:
    hashes = [c.sha256 for c in candidates]
    found = readable_documents(readable).filter(sha256__in=hashes)
    return {d.sha256: d for d in found.only("id", "filename", "sha256")}


def add_to_collections(documents: list[Document], collections: list[Collection]) -> None:
    """Put new documents into collections (one INSERT)."""
    through = Document.collections.through
    through.objects.bulk_create(
        [
            through(document_id=document.pk, collection_id=collection.pk)
            for document in documents
            for collection in collections
        ],
        ignore_conflicts=True,
    )


class _UploadBatch:
    """The accepted documents, rejections and stored files of one create_documents call."""

    def __init__(self, *, uploaded_by: User | None, allow_duplicate: bool) -> None:
        self.uploaded_by = uploaded_by
        self.allow_duplicate = allow_duplicate
        self.accepted: list[Document] = []
        self.rejected: list[Rejection] = []
        self.known: dict[str, Document] = {}  # by content hash, this batch's new ones too
        self.same_batch: list[tuple[_Candidate, Document]] = []  # ids known once created
        self.stored_names: list[str] = []

    def validated(self, uploads: list[Upload]) -> list[_Candidate]:
        candidates = []
        for position, upload in enumerate(uploads):
            try:
                filename, content_type = validate_upload(upload)
            except DocumentError as exc:
                self.rejected.append(Rejection(upload.name, exc, position))
                continue
            sha256 = _fingerprint(upload.stream)
            candidates.append(_Candidate(position, upload, filename, content_type, sha256))
        return candidates

    def store(self, candidate: _Candidate, usage: _Usage) -> None:
        upload, content_type = candidate.upload, candidate.content_type
        try:
            existing = self.known.get(candidate.sha256)
            if existing is not None and existing.pk is None:
                self.same_batch.append((candidate, existing))
                return
            if existing is not None:
                raise DuplicateDocument(
                    f"This file was already uploaded as '{existing.filename}' (document "
                    f"{existing.id}). Add ?allow_duplicate=1 to upload it again.",
                    existing_id=existing.id,
                    existing_filename=existing.filename,
                )
            usage.admit(upload.size)
        except DocumentError as exc:
            self.rejected.append(Rejection(upload.name, exc, candidate.position))
            return
        document = Document(
            filename=candidate.filename,
            content_type=content_type,
            size=upload.size,
            sha256=candidate.sha256,
            uploaded_by=self.uploaded_by,
        )
        generated = f"{uuid.uuid4().hex}{_EXTENSIONS.get(content_type, '')}"
        _save_file(document, generated, upload)
        self.stored_names.append(str(document.file.name))
        self.accepted.append(document)
        if not self.allow_duplicate:
            self.known[candidate.sha256] = document

    def reject_same_batch(self) -> None:
        for candidate, first in self.same_batch:
            rejection = Rejection(
                candidate.upload.name, _same_as_earlier(first), candidate.position
            )
            self.rejected.append(rejection)

    def delete_stored_files(self) -> None:
        storage = Document._meta.get_field("file").storage
        for name in self.stored_names:
            storage.delete(name)


def _save_file(document: Document, generated: str, upload: Upload) -> None:
    """Store the upload's bytes; a full disk leaves no partial file and refuses the request
    (507) with a sentence, as the files stored before it in the batch are removed too."""
    try:
        document.file.save(generated, File(upload.stream), save=False)
    except OSError as error:
        if error.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        field = Document._meta.get_field("file")
        field.storage.delete(field.generate_filename(document, generated))
        logger.warning("upload refused: the file storage is full (%s)", error)
        raise StorageFull(
            "There is no room left to store uploaded files right now, so nothing was "
            "uploaded; try again later, and tell your operator if it keeps happening."
        ) from error


def _same_as_earlier(first: Document) -> DuplicateDocument:
    return DuplicateDocument(
        f"This file has the same content as '{first.filename}' (document {first.pk}), "
        "uploaded in the same request. Add ?allow_duplicate=1 to keep both.",
        existing_id=first.pk,
        existing_filename=first.filename,
    )


def create_document(
    *,
    upload: Upload,
    uploaded_by: User | None,
    allow_duplicate: bool = False,
    enqueue: bool = True,
    collections: list[Collection] | None = None,
) -> Document:
    """One upload; raises the DocumentError that refused it."""
    accepted, rejected = create_documents(
        uploads=[upload],
        uploaded_by=uploaded_by,
        allow_duplicate=allow_duplicate,
        enqueue=enqueue,
        collections=collections,
    )
    if rejected:
        raise rejected[0].error
    return accepted[0]


def _queue_or_withdraw(ids: list[int]) -> None:
    """Queue new uploads' ingestion; if the queue cannot be reached, withdraw them (rows
    here, stored files by the caller) so the upload is refused whole instead of accepted and
    left waiting for work that was never queued."""
    try:
        enqueue_ingestion_batch(ids)
    except QueueUnavailable:
        Document.objects.filter(pk__in=ids).delete()
        raise


def enqueue_ingestion_batch(ids: list[int]) -> None:
    """One task for a single upload; batches of INGEST_BATCH_SIZE on the bulk queue."""
    if len(ids) == 1:
        enqueue_ingestion(ids[0])
        return
    size = max(1, int(settings.INGEST_BATCH_SIZE))
    for start in range(0, len(ids), size):
        send_task(INGEST_DOCUMENTS, args=[ids[start : start + size]], queue="ingest_bulk")


def enqueue_ingestion(document_id: int, *, bulk: bool | None = None) -> None:
    """Send the ingestion task; busy tenants and images (OCR) go to the bulk queue, see
    docs/ingestion.md. The task's second argument says it came in on the interactive queue:
    a PDF found there to need OCR is sent on to the bulk queue (documents/ocr_stage.py)."""
    if bulk is None:
        bulk = _needs_bulk_queue(document_id)
    queue = "ingest_bulk" if bulk else "ingest"
    send_task(INGEST_DOCUMENT, args=[document_id, not bulk], queue=queue)


def _needs_bulk_queue(document_id: int) -> bool:
    content_type = (
        Document.objects.filter(pk=document_id).values_list("content_type", flat=True).first()
    )
    if content_type in IMAGE_TYPES and settings.OCR_ENABLED:
        return True  # every page is read with OCR
    in_flight = Document.objects.filter(
        status__in=[DocumentStatus.PENDING, DocumentStatus.PROCESSING]
    ).count()
    return in_flight > int(settings.INGEST_BULK_THRESHOLD)


def delete_document(*, document: Document) -> None:
    """Remove the row, its chunks (and so their vectors, from search at once) and the file."""
    name = document.file.name
    storage = document.file.storage
    with transaction.atomic():
        # Wait for a worker that is storing this document's chunks (it holds the row lock),
        # so the cascade below sees every chunk it wrote.
        locked = Document.objects.select_for_update().filter(pk=document.pk).first()
        if locked is None:
            return
        chunk_ids = list(locked.chunks.values_list("id", flat=True))
        locked.delete()
        index_changes.chunks_changed(removed_ids=chunk_ids)
        transaction.on_commit(lambda: storage.delete(name) if name else None)


def request_reindex(*, document: Document) -> Document:
    """Re-run the pipeline for one document (e.g. after the embedding model changed)."""
    with transaction.atomic():
        Document.objects.filter(pk=document.pk).update(
            status=DocumentStatus.PENDING, error="", progress=0, attempts=0
        )
        transaction.on_commit(lambda: enqueue_ingestion(document.pk))
    document.refresh_from_db()
    return document


def _enqueue_many(ids: list[int], *, bulk: bool) -> None:
    for pk in ids:
        enqueue_ingestion(pk, bulk=bulk)


def reindex_all(*, bulk: bool = True) -> int:
    """Queue every document of the current tenant again; returns how many."""
    ids = list(Document.objects.values_list("id", flat=True))
    with transaction.atomic():
        index_changes.reset_for_reindex()
        Document.objects.update(status=DocumentStatus.PENDING, error="", progress=0, attempts=0)
        transaction.on_commit(lambda: _enqueue_many(ids, bulk=bulk))
    return len(ids)

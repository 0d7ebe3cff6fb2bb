"""What a search or ask with no results says about why (the `hint` of the response)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import QuerySet

from documents.models import Document, DocumentStatus

NO_DOCUMENTS_HINT = (
    "This workspace has no searchable documents yet. Upload some, and try again once "
    "they show as ready."
)
# A caller who reads only some collections is never told to upload, nor anything of the
# collections they cannot read: what they may search holds nothing ready, that is all.
NO_READABLE_DOCUMENTS_HINT = (
    "None of the collections you can read has searchable documents yet. Try again once "
    "documents there show as ready, or ask an owner or admin to let you read another "
    "collection."
)
NO_CHOSEN_DOCUMENTS_HINT = (
    "None of the collections you chose has searchable documents yet: they hold no ready "
    "documents, or they are not collections you can read. Choose other collections, or search "
    "every collection you can read (leave collection_ids out)."
)
EMPTY_COLLECTIONS_HINT = (
    "collection_ids is an empty list, so no collection was searched; leave it out (or send "
    "null) to search every collection you can read."
)
NO_MATCH_HINT = "Nothing matched. Try other words, or the 'hybrid' mode if you used another."
EMPTY_FILTER_HINT = (
    "document_ids is an empty list, so no document was searched; leave it out (or send null) "
    "to search every document."
)


def _searchable(readable: Sequence[int] | None) -> QuerySet[Document]:
    ready = Document.objects.filter(status=DocumentStatus.READY)
    return ready if readable is None else ready.filter(pk__in=list(readable))


def has_searchable_documents(readable: Sequence[int] | None = None) -> bool:
    """Whether any document (of the `readable` ones; None: all) can be searched."""
    return _searchable(readable).exists()


def filter_hint(
    document_ids: Sequence[int] | None, readable: Sequence[int] | None = None
) -> str | None:
    """Why a document filter found nothing, when it names no searchable document; one the
    caller may not read counts as one that does not exist."""
    if document_ids is None:
        return None
    if not document_ids:
        return EMPTY_FILTER_HINT
    wanted = sorted(set(document_ids))
    ready = _searchable(readable).filter(pk__in=wanted)
    if ready.exists():
        return None
    shown = ", ".join(str(i) for i in wanted[:10]) + (", …" if len(wanted) > 10 else "")
    return (
        f"None of the documents in document_ids ({shown}) can be searched: they were deleted, "
        "are still being processed, or do not exist in this workspace. List the documents "
        "to get their ids."
    )


def _nothing_readable_hint(readable: Sequence[int] | None, chosen: Sequence[int] | None) -> str:
    """Why a caller found nothing when nothing they search is ready. Only a caller who reads
    every collection and chose none learns that the whole workspace has nothing ready."""
    if chosen is not None:
        return NO_CHOSEN_DOCUMENTS_HINT
    return NO_DOCUMENTS_HINT if readable is None else NO_READABLE_DOCUMENTS_HINT


def hint_for(
    found: int,
    document_ids: Sequence[int] | None = None,
    readable: Sequence[int] | None = None,
    *,
    chosen: Sequence[int] | None = None,
) -> str | None:
    """`readable`: the documents the caller may read (None: all), within the collections they
    chose with collection_ids (`chosen`, as sent; None when they chose none)."""
    if found:
        return None
    if chosen is not None and not chosen:
        return EMPTY_COLLECTIONS_HINT
    if not has_searchable_documents(readable):
        return _nothing_readable_hint(readable, chosen)
    return filter_hint(document_ids, readable) or NO_MATCH_HINT

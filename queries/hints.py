"""What a search or ask with no results says about why (the `hint` of the response)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import QuerySet

from documents.models import Document, DocumentStatus

NO_DOCUMENTS_HINT = (
    "This workspace has no searchable documents yet. Upload some, and try again once "
    "they show as ready."
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


def hint_for(
    found: int, document_ids: Sequence[int] | None = None, readable: Sequence[int] | None = None
) -> str | None:
    """`readable`: the documents the caller may read (None: all)."""
    if found:
        return None
    if not has_searchable_documents(readable):
        return NO_DOCUMENTS_HINT
    return filter_hint(document_ids, readable) or NO_MATCH_HINT

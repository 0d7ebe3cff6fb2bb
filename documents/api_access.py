"""What the document endpoints share about collections: who reads what, and the ids asked for.

Every view that shows a document, its chunks or its file derives from `ReadableView`, so a
document in none of the caller's readable collections is a 404, like another tenant's.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.collection_access import key_of, readable_collection_ids
from accounts.models import User
from config.exceptions import invalid_parameter
from documents import selectors
from documents.models import Document


def readable_of(request: Request) -> frozenset[int] | None:
    """The collections the request's caller may read (None: all of them)."""
    user = request.user if isinstance(request.user, User) else None
    return readable_collection_ids(user, key_of(request.auth))


class ReadableView(APIView):
    """A view that knows, once its caller is authenticated, which collections they read."""

    readable: frozenset[int] | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.readable = readable_of(request)

    def readable_document(self, pk: int) -> Document:
        """The document if the caller may read it; a 404, as for a missing one, otherwise."""
        queryset = selectors.readable_documents(self.readable)
        related = queryset.select_related("uploaded_by").prefetch_related(selectors.COLLECTION_IDS)
        document = get_object_or_404(related, pk=pk)
        self.check_object_permissions(self.request, document)
        return document


def requested_collection(value: str | None) -> int | None:
    """`?collection=4` as an id (None when not asked); a 400 names what is wrong."""
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise invalid_parameter(
            "collection", f"collection takes one collection id, such as 4; got {value[:20]!r}."
        )
    return int(value)


def form_ids(values: list[str]) -> list[int] | None:
    """The upload's `collection_ids` form fields (repeated, or separated by commas)."""
    items = [item.strip() for value in values for item in str(value).split(",") if item.strip()]
    for item in items:
        if not item.isascii() or not item.isdigit() or len(item) > 18:
            raise invalid_parameter(
                "collection_ids",
                f"collection_ids takes collection ids, such as 4; got {item[:20]!r}.",
            )
    return [int(item) for item in items] or None

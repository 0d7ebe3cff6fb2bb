"""Dashboard page for documents: the table is rendered here, uploads and live status via the API."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode

from accounts.collection_access import readable_collection_ids, upload_collection_ids
from accounts.models import Collection, User
from accounts.permissions import ADMIN_ROLES, WRITER_ROLES
from config import workers
from documents import formats, selectors
from documents.models import Document, DocumentStatus

PAGE_SIZE = 25


@login_required
def document_list(request: HttpRequest) -> HttpResponse:
    search = selectors.clean_search(request.GET.get("q"))[:200]
    status = request.GET.get("status", "")
    if not selectors.valid_status(status):
        status = ""
    sort = request.GET.get("sort", "")
    if not selectors.valid_ordering(sort):
        sort = selectors.DEFAULT_ORDERING
    user = request.user if isinstance(request.user, User) else None
    readable = readable_collection_ids(user)
    choices = _collections(user, readable)
    chosen = collection_filter(request.GET.get("collection", ""), choices["readable"])
    collection = "" if chosen.id is None else str(chosen.id)
    documents = selectors.document_list(
        status=status or None,
        search=search or None,
        ordering=sort,
        readable=readable,
        collection=chosen.id,
    ).prefetch_related(selectors.COLLECTION_IDS)
    page = Paginator(documents, PAGE_SIZE).get_page(request.GET.get("page"))
    _label_rows(page.object_list, choices["readable"])
    role = getattr(request.user, "role", "")
    several = len(choices["readable"]) > 1
    context = {
        "active": "documents",
        "page": page,
        "search": search,
        "status": status,
        "statuses": DocumentStatus.choices,
        # Viewers never see the upload control; the API refuses them as well.
        "can_upload": role in WRITER_ROLES,
        "is_admin": role in ADMIN_ROLES,
        "max_mb": int(settings.DOCUMENT_MAX_BYTES) // (1024 * 1024),
        # The type column's labels, for rows the script adds, and the formats one may upload.
        "type_labels": formats.TYPE_LABELS,
        "upload_hint": formats.UPLOAD_HINT,
        "filtered": bool(search or status or collection),
        # The collection filter and the upload's collection picker, when there is a choice.
        "collection": collection,
        "collection_notice": chosen.notice,
        "collection_unknown": chosen.id is not None and not chosen.known,
        "collections": choices["readable"] if several else [],
        # Owners and admins move documents between collections (PATCH documents/<id>/).
        "can_move": several and role in ADMIN_ROLES,
        "collection_choices": [{"id": c.pk, "name": c.name} for c in choices["readable"]],
        "upload_collections": choices["upload"] if len(choices["upload"]) > 1 else [],
        "sort_headers": _sort_headers(search, status, sort, collection),
        "page_query": _query(search, status, sort, collection),
        "sort_param": "" if sort == selectors.DEFAULT_ORDERING else sort,
        # For the script: where an upload goes (the API is asked with the same filter,
        # sort and page) and the link that shows an upload the filter hides.
        "sort": sort,
        "page_size": PAGE_SIZE,
        "clear_filter_href": _href(reverse("documents"), _query("", "", sort)),
        "every_collection_href": _href(reverse("documents"), _query(search, status, sort)),
        "waiting_notice": _waiting_notice(),
    }
    return render(request, "documents/list.html", context)


def _label_rows(documents: Iterable[Document], readable: list[Collection]) -> None:
    """Each row's type label and collections (of those the person reads, in the pickers'
    order), as the API's collection_ids shows them."""
    names = {c.pk: c.name for c in readable}
    order = {c.pk: position for position, c in enumerate(readable)}
    for document in documents:
        document.type_label = formats.TYPE_LABELS.get(document.content_type, document.content_type)  # type: ignore[attr-defined]
        ids = sorted(
            (c.pk for c in document.collections.all() if c.pk in names), key=order.__getitem__
        )
        document.collection_ids_attr = ",".join(map(str, ids))  # type: ignore[attr-defined]
        document.collection_names = [names[i] for i in ids]  # type: ignore[attr-defined]


def _waiting_notice() -> str:
    """Why documents stay pending, when no live worker takes an ingestion queue."""
    if not selectors.documents_waiting():
        return ""
    try:
        problem = workers.problem()
    except Exception:  # Redis unreadable: the page still renders, without the hint
        return ""
    if not problem:
        return ""
    return (
        f"{problem} Your documents are kept and will be processed once one runs; "
        "please tell the platform's operators."
    )


@dataclass(frozen=True)
class CollectionFilter:
    id: int | None  # what the list is filtered by (None: every collection)
    known: bool  # whether it is one of the person's readable collections
    notice: str  # why the filter is not what the address asked for, as a sentence


def collection_filter(value: str, readable: list[Collection]) -> CollectionFilter:
    """The page's `?collection=`: an id the person reads filters the list; an id they do not
    read (or that does not exist) lists nothing, as the API does; anything else is no filter.
    Both are said in a notice."""
    value = value.strip()
    if not value:
        return CollectionFilter(None, False, "")
    if not value.isascii() or not value.isdigit() or len(value) > 18 or int(value) == 0:
        shown = value[:20] + ("…" if len(value) > 20 else "")
        return CollectionFilter(
            None,
            False,
            f"The collection filter “{shown}” is not a collection id, so documents of every "
            "collection are listed.",
        )
    wanted = int(value)
    if wanted in {c.pk for c in readable}:
        return CollectionFilter(wanted, True, "")
    return CollectionFilter(
        wanted,
        False,
        f"There is no collection {wanted} that you can read, so no document is listed.",
    )


def _collections(user: User | None, readable: frozenset[int] | None) -> dict[str, list[Any]]:
    """The collections the person reads (the filter's choices) and may upload into."""
    shown = Collection.objects.all()
    if readable is not None:
        shown = shown.filter(pk__in=sorted(readable))
    listed = list(shown)
    may_upload = upload_collection_ids(user) if user is not None else frozenset()
    return {"readable": listed, "upload": [c for c in listed if c.pk in may_upload]}


def _query(search: str, status: str, sort: str, collection: str = "") -> str:
    """The page's filters and sort as a query string, for links that keep them."""
    params = {"q": search, "status": status, "collection": collection}
    if sort != selectors.DEFAULT_ORDERING:
        params["sort"] = sort
    return urlencode({key: value for key, value in params.items() if value})


def _href(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


def _sort_headers(
    search: str, status: str, sort: str, collection: str = ""
) -> dict[str, dict[str, str]]:
    """Per sortable column: the link that sorts by it (again: the other way) and aria-sort."""
    headers: dict[str, dict[str, str]] = {}
    for key in selectors.ORDERINGS:
        current = sort.removeprefix("-") == key
        descending = sort.startswith("-")
        # A first click sorts names A→Z, but sizes and dates largest / newest first.
        first = key if key in {"name", "status"} else f"-{key}"
        target = (key if descending else f"-{key}") if current else first
        headers[key] = {
            "href": "?" + _query(search, status, target, collection),
            "aria_sort": ("descending" if descending else "ascending") if current else "none",
        }
    return headers

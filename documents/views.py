"""Dashboard page for documents: the table is rendered here, uploads and live status via the API."""

from __future__ import annotations

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
from documents.models import DocumentStatus

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
    collection = request.GET.get("collection", "")
    if collection not in {str(c.pk) for c in choices["readable"]}:
        collection = ""
    documents = selectors.document_list(
        status=status or None,
        search=search or None,
        ordering=sort,
        readable=readable,
        collection=int(collection) if collection else None,
    )
    page = Paginator(documents, PAGE_SIZE).get_page(request.GET.get("page"))
    for document in page.object_list:
        document.type_label = formats.TYPE_LABELS.get(document.content_type, document.content_type)  # type: ignore[attr-defined]
    role = getattr(request.user, "role", "")
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
        "collections": choices["readable"] if len(choices["readable"]) > 1 else [],
        "upload_collections": choices["upload"] if len(choices["upload"]) > 1 else [],
        "sort_headers": _sort_headers(search, status, sort, collection),
        "page_query": _query(search, status, sort, collection),
        "sort_param": "" if sort == selectors.DEFAULT_ORDERING else sort,
        # For the script: where an upload goes (the API is asked with the same filter,
        # sort and page) and the link that shows an upload the filter hides.
        "sort": sort,
        "page_size": PAGE_SIZE,
        "clear_filter_href": _href(reverse("documents"), _query("", "", sort)),
        "waiting_notice": _waiting_notice(),
    }
    return render(request, "documents/list.html", context)


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

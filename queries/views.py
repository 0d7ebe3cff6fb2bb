"""Dashboard page for asking questions; answers stream from the ask API in the browser."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.collection_access import readable_collection_ids
from accounts.models import Collection, User
from documents.models import DocumentStatus
from documents.selectors import document_list

# The search API's mode names, with the words people know them by.
SEARCH_MODES = [
    ("hybrid", "Hybrid (recommended)"),
    ("lexical", "Keyword"),
    ("dense", "Semantic"),
]
# The filter is a plain <select>; past this many documents it lists the first ones by name.
FILTER_CHOICES = 500
IN_PROGRESS = [DocumentStatus.PENDING, DocumentStatus.PROCESSING]


@login_required
def ask_page(request: HttpRequest) -> HttpResponse:
    readable = readable_collection_ids(request.user if isinstance(request.user, User) else None)
    collections = Collection.objects.all()
    if readable is not None:
        collections = collections.filter(pk__in=sorted(readable))
    readable_collections = list(collections.values("id", "name"))
    ready = document_list(status=DocumentStatus.READY, readable=readable)
    ready = ready.order_by("filename", "id")
    documents = list(ready.values("id", "filename")[:FILTER_CHOICES])
    context = {
        "active": "ask",
        "modes": SEARCH_MODES,
        "documents": documents,
        # The collection picker, only when the person reads more than one collection.
        "collections": readable_collections if len(readable_collections) > 1 else [],
        "more_documents": len(documents) == FILTER_CHOICES and ready.count() > FILTER_CHOICES,
        "in_progress": not documents
        and document_list(readable=readable).filter(status__in=IN_PROGRESS).exists(),
        # Someone who reads only some collections is not told to upload: others may hold
        # documents they cannot read, which the page says nothing about.
        "restricted": readable is not None,
    }
    return render(request, "queries/ask.html", context)

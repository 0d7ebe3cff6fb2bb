"""Dashboard page for documents: the table is rendered here, uploads and live status via the API."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.permissions import ADMIN_ROLES, WRITER_ROLES
from documents import filetypes, selectors
from documents.models import DocumentStatus

PAGE_SIZE = 25
# Short names for the table's "type" column (the JS uses the same map for new rows).
TYPE_LABELS = {
    filetypes.PDF: "PDF",
    filetypes.DOCX: "Word",
    filetypes.PPTX: "PowerPoint",
    filetypes.XLSX: "Excel",
    filetypes.HTML: "HTML",
    filetypes.MARKDOWN: "Markdown",
    filetypes.TEXT: "Text",
    filetypes.CSV: "CSV",
}


@login_required
def document_list(request: HttpRequest) -> HttpResponse:
    search = selectors.clean_search(request.GET.get("q"))[:200]
    status = request.GET.get("status", "")
    if not selectors.valid_status(status):
        status = ""
    documents = selectors.document_list(status=status or None, search=search or None)
    page = Paginator(documents, PAGE_SIZE).get_page(request.GET.get("page"))
    for document in page.object_list:
        document.type_label = TYPE_LABELS.get(document.content_type, document.content_type)  # type: ignore[attr-defined]
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
        "type_labels": TYPE_LABELS,
        "filtered": bool(search or status),
    }
    return render(request, "documents/list.html", context)

"""Dashboard page for asking questions; answers stream from the ask API in the browser."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

# The search API's mode names, with the words people know them by.
SEARCH_MODES = [
    ("hybrid", "Hybrid (recommended)"),
    ("lexical", "Keyword"),
    ("dense", "Semantic"),
]


@login_required
def ask_page(request: HttpRequest) -> HttpResponse:
    context = {"active": "ask", "modes": SEARCH_MODES}
    return render(request, "queries/ask.html", context)

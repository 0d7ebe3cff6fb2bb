"""The API's default pagination: `?page=N&page_size=M` with count/next/previous/results."""

from typing import Any

from django.core.paginator import InvalidPage
from django.core.paginator import Paginator as DjangoPaginator
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.views import APIView


class StandardPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(
        self, queryset: Any, request: Request, view: APIView | None = None
    ) -> list[Any] | None:
        """As DRF's, but a page that does not exist says which pages do."""
        page_size = self.get_page_size(request)
        if not page_size:
            return None
        paginator: DjangoPaginator = self.django_paginator_class(queryset, page_size)
        asked = self.get_page_number(request, paginator)
        try:
            self.page = paginator.page(asked)
        except InvalidPage as exc:
            pages = paginator.num_pages
            raise NotFound(
                f"There is no page {str(asked)[:20]!r}; pages run from 1 to {pages} "
                f"({paginator.count} item{'s' if paginator.count != 1 else ''}, "
                f"{page_size} per page)."
            ) from exc
        if paginator.num_pages > 1 and self.template is not None:
            self.display_page_controls = True
        self.request = request
        return list(self.page)

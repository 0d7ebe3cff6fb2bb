"""The API's default pagination: `?page=N&page_size=M` with count/next/previous/results.

`page_size` is 50 unless asked; a value that is not a whole number from 1 to 200 is a 400
(`invalid`, `fields` naming `page_size`), above 200 too: a client asking for 1,000 and
silently getting 200 would take the list for complete, so the 400 names the maximum instead
of capping. An empty `?page_size=` counts as not given. A page that does not exist is a 404
saying which pages do.
"""

import re
from typing import Any

from django.core.paginator import InvalidPage
from django.core.paginator import Paginator as DjangoPaginator
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.views import APIView

from config.exceptions import invalid_parameter

_WHOLE_NUMBER = re.compile(r"[0-9]+")


class StandardPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int:
        """The asked page size, or a 400 saying which sizes there are."""
        name = self.page_size_query_param or "page_size"
        asked = request.query_params.get(name, "").strip()
        if not asked:
            return self.page_size
        if not _WHOLE_NUMBER.fullmatch(asked) or not asked.strip("0"):
            raise invalid_parameter(
                name,
                f"{name} must be a whole number from 1 to {self.max_page_size}; "
                f"got {asked[:20]!r}.",
            )
        digits = asked.lstrip("0")
        if len(digits) > len(str(self.max_page_size)) or int(digits) > self.max_page_size:
            raise invalid_parameter(
                name,
                f"{name} can be at most {self.max_page_size} (got {digits[:20]}); "
                "ask for the next pages with ?page=.",
            )
        return int(digits)

    def paginate_queryset(
        self, queryset: Any, request: Request, view: APIView | None = None
    ) -> list[Any] | None:
        """As DRF's, but a page that does not exist says which pages do."""
        page_size = self.get_page_size(request)
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

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Items per page, 1 to {self.max_page_size} ({self.page_size} when not "
                    "given); any other value is a 400."
                )
                parameter["schema"].update(
                    {"minimum": 1, "maximum": self.max_page_size, "default": self.page_size}
                )
        return parameters

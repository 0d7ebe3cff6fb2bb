"""Reads for the query log."""

from __future__ import annotations

from django.db.models import QuerySet

from queries.models import Query
from queries.services import Caller


def history_for(caller: Caller) -> QuerySet[Query]:
    """A caller's own queries: an API key sees what it asked, a person what they asked."""
    queries = Query.objects.select_related("feedback")
    if caller.api_key_prefix:
        return queries.filter(api_key_prefix=caller.api_key_prefix)
    if caller.user is None:
        return queries.none()
    return queries.filter(user=caller.user, api_key_prefix="")

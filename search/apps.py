from django.apps import AppConfig


class SearchConfig(AppConfig):
    """The per-tenant vector index and BM25, chunk links, retrieval, fusion, highlighting."""

    name = "search"

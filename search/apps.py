from django.apps import AppConfig


class SearchConfig(AppConfig):
    """The per-tenant vector index and BM25, chunk links, retrieval, fusion, highlighting."""

    name = "search"

    def ready(self) -> None:
        # Each compaction also stores the tenant's BM25 matrix (search/compaction_store.py).
        from search.compaction_store import store_after_compaction
        from search.index import index_compacted

        index_compacted.connect(store_after_compaction, dispatch_uid="search.compaction_store")

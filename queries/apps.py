from django.apps import AppConfig


class QueriesConfig(AppConfig):
    name = "queries"

    def ready(self) -> None:
        # Each compaction also stores the tenant's BM25 matrix (search/bm25_store.py).
        from search.bm25_store import store_after_compaction
        from search.index import index_compacted

        index_compacted.connect(store_after_compaction, dispatch_uid="search.bm25_store")

from django.apps import AppConfig


class QueriesConfig(AppConfig):
    name = "queries"

    def ready(self) -> None:
        # Each compaction also stores the tenant's BM25 matrix (queries/bm25_store.py).
        from documents.index import index_compacted
        from queries.bm25_store import store_after_compaction

        index_compacted.connect(store_after_compaction, dispatch_uid="queries.bm25_store")

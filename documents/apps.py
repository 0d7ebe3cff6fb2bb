from django.apps import AppConfig
from django.conf import settings


def _check_embedder() -> None:
    """Readiness: the platform's default embedder embeds a word (cached for a minute)."""
    from documents.embedder_choice import backend_options
    from documents.embeddings import get_embedder

    name = str(settings.EMBEDDING_BACKEND)
    get_embedder(name, **backend_options(name)).embed_query("readiness")


class DocumentsConfig(AppConfig):
    name = "documents"

    def ready(self) -> None:
        from celery.signals import worker_process_init

        from config.health import register_check

        # Every process registers the ingestion metrics, so /metrics always names them.
        from documents import metrics  # noqa: F401
        from documents.sandbox import start_sandbox

        register_check("embedder", _check_embedder, critical=False, cache_seconds=60.0)
        # Each worker process gets its sandbox host up front, not on its first document.
        worker_process_init.connect(
            lambda **_: start_sandbox(), dispatch_uid="documents.start_sandbox", weak=False
        )

from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "documents"

    def ready(self) -> None:
        # Every process registers the ingestion metrics, so /metrics always names them.
        from documents import metrics  # noqa: F401

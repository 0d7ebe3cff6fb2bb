from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "documents"

    def ready(self) -> None:
        from celery.signals import worker_process_init

        # Every process registers the ingestion metrics, so /metrics always names them.
        from documents import metrics  # noqa: F401
        from documents.sandbox import start_sandbox

        # Each worker process gets its sandbox host up front, not on its first document.
        worker_process_init.connect(
            lambda **_: start_sandbox(), dispatch_uid="documents.start_sandbox", weak=False
        )

"""The Celery app. Tasks sent from a tenant's context run in that tenant's schema."""

from __future__ import annotations

import os

from celery.signals import worker_process_init
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = CeleryApp("diplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _start_extraction_sandbox(**_: object) -> None:
    # Each worker process gets its sandbox host up front, not on its first document.
    from documents.sandbox import start_sandbox

    start_sandbox()

"""The Celery app. Tasks sent from a tenant's context run in that tenant's schema."""

from __future__ import annotations

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = CeleryApp("diplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

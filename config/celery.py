"""The Celery app. Tasks sent from a tenant's context run in that tenant's schema.

The apps connect their own worker hooks in their AppConfig.ready() (Celery's Django fixup
runs django.setup() before the worker starts): tenants switches each task to its schema
(tenants/celery_signals.py), documents starts the extraction sandbox in each pool process.
Here: logging, the metrics server and the queue heartbeat.
"""

from __future__ import annotations

import os
from typing import Any

from celery.signals import (
    setup_logging,
    worker_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)
from tenant_schemas_celery.app import CeleryApp

from config.metrics_server import forget_process, start_metrics_server
from config.workers import Heartbeat

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = CeleryApp("diplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _serve_worker_metrics(**_: object) -> None:
    # In the worker's main process, before the pool starts (never in beat or the web).
    # The apps' ready() has named their series already (documents.metrics, ...).
    start_metrics_server()


_heartbeat: list[Any] = []


@worker_ready.connect
def _announce_worker_queues(sender: Any = None, **_: object) -> None:
    # Readiness, the documents page and `manage.py ingest` read this to tell a person when
    # no worker takes the queue their documents wait in (config/workers.py).
    queues = list(app.amqp.queues.consume_from)
    heartbeat = Heartbeat(queues)
    heartbeat.start()
    _heartbeat.append(heartbeat)


@worker_shutdown.connect
def _retract_worker_queues(**_: object) -> None:
    while _heartbeat:
        _heartbeat.pop().stop()


@worker_process_shutdown.connect
def _forget_worker_process_metrics(pid: int, **_: object) -> None:
    forget_process(pid)


@setup_logging.connect
def _use_django_logging(**_: object) -> None:
    # Connecting this stops Celery from installing its own plain-text root handler, so
    # worker and beat lines use config.logging's format (JSON in production).
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)

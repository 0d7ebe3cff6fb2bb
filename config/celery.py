"""The Celery app. Tasks sent from a tenant's context run in that tenant's schema."""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import Token
from typing import Any

import structlog
from celery.signals import (
    setup_logging,
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = CeleryApp("diplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# tenant-schemas-celery switches to the task's tenant before it runs; when that tenant was
# deleted meanwhile (a compaction scheduled seconds before `evaluate` dropped its scratch
# tenant, say), its lookup raised inside the signal (logged as an error) and the task then
# failed as "sent without a tenant". Now the task is marked instead, and tenants.tasks'
# `require_tenant` skips it with an info line.
task_prerun.disconnect(sender=None, dispatch_uid="tenant_schemas_switch_schema")


@task_prerun.connect(dispatch_uid="di_switch_schema")
def _switch_schema(task: Any, kwargs: Any = None, **rest: Any) -> None:
    from tenant_schemas_celery.app import get_schema_name_from_task, switch_schema

    from tenants.db import use_public_schema
    from tenants.models import Tenant

    try:
        switch_schema(task, kwargs, **rest)
    except Tenant.DoesNotExist:
        use_public_schema()
        task.request.tenant_gone = get_schema_name_from_task(task, kwargs)


@worker_process_init.connect
def _start_extraction_sandbox(**_: object) -> None:
    # Each worker process gets its sandbox host up front, not on its first document.
    from documents.sandbox import start_sandbox

    start_sandbox()


@worker_init.connect
def _serve_worker_metrics(**_: object) -> None:
    # In the worker's main process, before the pool starts (never in beat or the web).
    import documents.metrics  # noqa: F401 - names the ingestion series before any sample
    from config.metrics_server import start_metrics_server

    start_metrics_server()


_heartbeat: list[Any] = []


@worker_ready.connect
def _announce_worker_queues(sender: Any = None, **_: object) -> None:
    # Readiness, the documents page and `manage.py ingest` read this to tell a person when
    # no worker takes the queue their documents wait in (config/workers.py).
    from config.workers import Heartbeat

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
    from config.metrics_server import forget_process

    forget_process(pid)


@setup_logging.connect
def _use_django_logging(**_: object) -> None:
    # Connecting this stops Celery from installing its own plain-text root handler, so
    # worker and beat lines use config.logging's format (JSON in production).
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


# Context tokens per running task, so postrun restores what was bound before (an eagerly
# run task inside a request keeps the request's request_id afterwards).
_task_log_context: dict[str, Mapping[str, Token[Any]]] = {}


@task_prerun.connect
def _bind_task_context(task_id: str, task: Any, **_: object) -> None:
    # Runs after tenant-schemas-celery's own task_prerun handler has switched the schema.
    from tenants.db import current_schema

    _task_log_context[task_id] = structlog.contextvars.bind_contextvars(
        task_id=task_id, task=task.name, schema=current_schema()
    )


@task_postrun.connect
def _unbind_task_context(task_id: str, **_: object) -> None:
    tokens = _task_log_context.pop(task_id, None)
    if tokens is not None:
        structlog.contextvars.reset_contextvars(**tokens)

"""Celery hooks that put every task in its tenant: connected by TenantsConfig.ready().

tenant-schemas-celery switches to the task's tenant before it runs; when that tenant was
deleted meanwhile (a compaction scheduled seconds before `evaluate` dropped its scratch
tenant, say), its lookup raised inside the signal (logged as an error) and the task then
failed as "sent without a tenant". Here the task is marked instead, and
tenants.tasks.require_tenant skips it with an info line. When the database does not answer
the lookup (a restart, a failover), the task is marked too, and require_tenant has it retried
later instead of failing it as "sent without a tenant". Then the task's id, name and schema
are bound to every log line it writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import Token
from typing import Any

import structlog
from celery.signals import task_postrun, task_prerun
from django.db import InterfaceError, OperationalError
from tenant_schemas_celery.app import get_schema_name_from_task, switch_schema

from tenants.db import current_schema, use_public_schema
from tenants.models import Tenant

# Context tokens per running task, so postrun restores what was bound before (an eagerly
# run task inside a request keeps the request's request_id afterwards).
_task_log_context: dict[str, Mapping[str, Token[Any]]] = {}


def _enter_task(task_id: str, task: Any, kwargs: Any = None, **rest: Any) -> None:
    try:
        switch_schema(task, kwargs, task_id=task_id, **rest)
    except Tenant.DoesNotExist:
        use_public_schema()
        task.request.tenant_gone = get_schema_name_from_task(task, kwargs)
    except (OperationalError, InterfaceError) as exc:
        use_public_schema()
        task.request.tenant_unreachable = exc
    bind_log_context(task_id, task)


def bind_log_context(task_id: str, task: Any) -> None:
    """Bind the task's id, name and current schema to the log lines it writes."""
    _task_log_context[task_id] = structlog.contextvars.bind_contextvars(
        task_id=task_id, task=task.name, schema=current_schema()
    )


def leave_task(task_id: str, **_: object) -> None:
    tokens = _task_log_context.pop(task_id, None)
    if tokens is not None:
        structlog.contextvars.reset_contextvars(**tokens)


def connect() -> None:
    task_prerun.disconnect(sender=None, dispatch_uid="tenant_schemas_switch_schema")
    task_prerun.connect(_enter_task, dispatch_uid="tenants.enter_task", weak=False)
    task_postrun.connect(leave_task, dispatch_uid="tenants.leave_task", weak=False)

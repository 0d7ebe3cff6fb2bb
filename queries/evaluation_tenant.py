"""The scratch tenant an evaluation runs in: created for one run, dropped whatever happens.

Dropping survives what a run can throw at it: an error, a Ctrl-C (also a second one during
the clean-up), and a database connection left mid-query by the interrupt.
"""

from __future__ import annotations

import secrets
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection

from tenants.models import Tenant
from tenants.services import delete_tenant, provision_tenant


class EvaluationError(RuntimeError):
    """The run cannot produce meaningful scores; the message says why and what to do."""


class EvaluationInterrupted(EvaluationError):
    """Ctrl-C stopped the run; the message says what became of the scratch tenant."""


def scratch_schema() -> str:
    return f"eval_{secrets.token_hex(5)}"


@contextmanager
def scratch_tenant(
    label: str,
    *,
    embedding: str | None,
    keep: bool,
    warn: Callable[[str], None],
) -> Iterator[Tenant]:
    """A new enterprise-plan tenant, dropped on the way out unless `keep`.

    A KeyboardInterrupt inside becomes EvaluationInterrupted, whose sentence says whether
    the tenant is gone; after another failure a tenant left behind is named through `warn`.
    """
    schema = scratch_schema()
    host = schema.replace("_", "-")
    try:
        tenant = provision_tenant(
            schema_name=schema,
            name=f"Evaluation {label}"[:100],
            domain=f"{host}.{settings.TENANT_BASE_DOMAIN}",
            admin_email=f"eval@{host}.invalid",
            admin_password=secrets.token_urlsafe(24),
            plan="enterprise",
        ).tenant
        if embedding:
            Tenant.objects.filter(pk=tenant.pk).update(embedding_backend=embedding)
            tenant.refresh_from_db()
        yield tenant
    except KeyboardInterrupt:
        left = _leave(schema, keep)
        state = f"{left}" if left else "the scratch tenant was dropped."
        raise EvaluationInterrupted(f"Interrupted; nothing was scored, and {state}") from None
    except BaseException:
        left = _leave(schema, keep)
        if left:
            warn(f"After this failure, {left}")
        raise
    if not keep:
        left = _leave(schema, keep)
        if left:
            warn(f"Warning: {left}")


def _leave(schema: str, keep: bool) -> str | None:
    """Drop the tenant unless `keep`; None when it is gone, else a sentence on what to do."""
    remove = f"remove it with: python manage.py drop_tenant --schema {schema} --noinput"
    with _interrupts_deferred():
        try:
            exists = _drop_or_find(schema, keep)
        except Exception:
            # An interrupt can leave the connection mid-query ("another command is already in
            # progress"); a new connection can still drop the tenant.
            connection.close()
            try:
                exists = _drop_or_find(schema, keep)
            except Exception as exc:
                return f"the scratch tenant '{schema}' could not be dropped ({exc}); {remove}"
    if not exists:
        return None
    return f"the scratch tenant '{schema}' was kept (--keep); {remove}"


def _drop_or_find(schema: str, keep: bool) -> bool:
    """Whether the tenant still exists afterwards."""
    tenant = Tenant.objects.filter(schema_name=schema).first()
    if tenant is None:
        return False
    if keep:
        return True
    delete_tenant(tenant=tenant)
    return False


@contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """A second Ctrl-C waits for the clean-up to finish, then interrupts as usual."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    interrupted: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda number, _frame: interrupted.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        raise KeyboardInterrupt

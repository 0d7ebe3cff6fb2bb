"""Every backup leaves a row (operators.models.BackupRecord): the admin's list of the latest
backups, and the `backup_last_success_timestamp_seconds` gauge an alert watches."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.utils import timezone

from operators.backups.postgres import BackupError
from operators.metrics import BACKUP_LAST_SIZE, BACKUP_LAST_SUCCESS
from operators.models import BackupRecord

T = TypeVar("T")


def recorded(run: Callable[[], T], *, kind: str, tenant: str, destination: str) -> T:
    """Run a backup with its row: `running`, then `succeeded` (where, size, time) or
    `failed` with the reason."""
    row = BackupRecord.objects.create(kind=kind, tenant_schema=tenant, destination=destination)
    try:
        made = run()
    except BaseException as exc:
        reason = exc.message if isinstance(exc, BackupError) else f"{type(exc).__name__}: {exc}"
        BackupRecord.objects.filter(pk=row.pk).update(
            outcome=BackupRecord.Outcome.FAILED, finished_at=timezone.now(), detail=reason[:2000]
        )
        raise
    finished = timezone.now()
    BackupRecord.objects.filter(pk=row.pk).update(
        outcome=BackupRecord.Outcome.SUCCEEDED,
        finished_at=finished,
        location=str(getattr(made, "where", ""))[:600],
        size_bytes=getattr(made, "size", None),
        seconds=getattr(made, "seconds", None),
    )
    BACKUP_LAST_SUCCESS.labels(kind).set(finished.timestamp())
    BACKUP_LAST_SIZE.labels(kind).set(float(getattr(made, "size", 0) or 0))
    return made


def refresh_gauges() -> None:
    """The freshness gauges from the newest successful backup of each kind."""
    for kind in BackupRecord.Kind.values:
        newest = (
            BackupRecord.objects.filter(kind=kind, outcome=BackupRecord.Outcome.SUCCEEDED)
            .order_by("-finished_at")
            .first()
        )
        if newest is not None and newest.finished_at is not None:
            BACKUP_LAST_SUCCESS.labels(kind).set(newest.finished_at.timestamp())
            BACKUP_LAST_SIZE.labels(kind).set(float(newest.size_bytes or 0))

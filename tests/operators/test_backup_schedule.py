"""The scheduled backup (beat), its retention, the freshness gauges and the admin's list."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.utils import timezone
from prometheus_client import REGISTRY

from operators.backups import destinations, history
from operators.backups.postgres import BackupError
from operators.models import BackupRecord
from operators.tasks import _LOCK, scheduled_backup

ROOT = Path(__file__).resolve().parents[2]


def _old_backup(root: Path, days_ago: int) -> str:
    made = datetime.now(tz=UTC) - timedelta(days=days_ago)
    name = f"platform-{made:%Y%m%dT%H%M%SZ}"
    (root / name).mkdir(parents=True)
    (root / name / "manifest.json").write_text("{}")
    return name


def _gauge(name: str, kind: str = "platform") -> float | None:
    return REGISTRY.get_sample_value(name, {"kind": kind})


@pytest.mark.django_db
def test_the_scheduled_backup_saves_the_platform_and_keeps_the_newest(tmp_path: Path) -> None:
    for days in (3, 2, 1):
        _old_backup(tmp_path, days)
    with override_settings(BACKUP_DESTINATION=str(tmp_path), BACKUP_RETENTION="2"):
        where = scheduled_backup()
    names = destinations.parse(str(tmp_path)).names()
    assert len(names) == 2  # the newest old one and the new one
    assert Path(where).name == names[-1]
    assert json.loads((Path(where) / "manifest.json").read_text())["kind"] == "platform"
    row = BackupRecord.objects.get(location=where)
    assert row.outcome == BackupRecord.Outcome.SUCCEEDED
    assert abs((_gauge("backup_last_success_timestamp_seconds") or 0) - time.time()) < 120
    assert _gauge("backup_last_success_size_bytes") == row.size_bytes


def test_retention_by_age_keeps_recent_backups_and_always_the_newest(tmp_path: Path) -> None:
    from operators.backups.create import prune

    names = [_old_backup(tmp_path, days) for days in (40, 20, 10, 1)]
    bucket = destinations.parse(str(tmp_path))
    assert prune(bucket, "14d") == names[:2]
    assert prune(bucket, "0d") == [names[2]]  # the newest stays whatever the age
    assert bucket.names() == [names[3]]


@pytest.mark.django_db
def test_a_second_delivery_while_a_backup_runs_is_skipped(tmp_path: Path) -> None:
    cache.set(_LOCK, "1", timeout=60)
    try:
        with override_settings(BACKUP_DESTINATION=str(tmp_path)):
            assert scheduled_backup() == "skipped"
    finally:
        cache.delete(_LOCK)
    assert not list(tmp_path.iterdir())


@pytest.mark.django_db
def test_a_failed_backup_is_recorded_with_its_reason(tmp_path: Path) -> None:
    target = tmp_path / "file-not-folder"
    target.write_text("x")
    with override_settings(BACKUP_DESTINATION=str(target)), pytest.raises(BackupError):
        scheduled_backup()
    row = BackupRecord.objects.get()
    assert row.outcome == BackupRecord.Outcome.FAILED
    assert row.detail.endswith("is a file, not a folder; give a folder for backups.")


@pytest.mark.django_db
def test_the_gauges_follow_backups_made_by_other_processes() -> None:
    finished = timezone.now() - timedelta(hours=5)
    BackupRecord.objects.create(
        kind="tenant", destination="/b", outcome="succeeded", finished_at=finished, size_bytes=42
    )
    history.refresh_gauges()
    assert _gauge("backup_last_success_timestamp_seconds", "tenant") == finished.timestamp()
    assert _gauge("backup_last_success_size_bytes", "tenant") == 42


def _settings_with(**env: str) -> subprocess.CompletedProcess[str]:
    variables = {**os.environ, **env}
    code = "import django; django.setup(); from django.conf import settings; " + (
        "print(settings.CELERY_BEAT_SCHEDULE['operators-backup']['schedule'])"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT, env={**variables, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_beat_runs_the_backup_on_the_configured_cron_schedule() -> None:
    done = _settings_with(BACKUP_SCHEDULE="30 2 * * *", BACKUP_DESTINATION="/backups")
    assert done.returncode == 0, done.stderr
    assert "<crontab: 30 2 * * * (m/h/dM/MY/d)>" in done.stdout
    wrong = _settings_with(BACKUP_SCHEDULE="every night", BACKUP_DESTINATION="/backups")
    assert wrong.returncode != 0
    assert "give a cron expression of five fields" in wrong.stderr
    alone = _settings_with(BACKUP_SCHEDULE="30 2 * * *", BACKUP_DESTINATION="")
    assert "BACKUP_DESTINATION is not" in alone.stderr


@pytest.mark.django_db
def test_operators_see_the_latest_backups_in_admin(operator: Client) -> None:
    BackupRecord.objects.create(
        kind="platform",
        destination="s3://b/p",
        location="s3://b/p/platform-20261207T023000Z",
        outcome="succeeded",
        finished_at=timezone.now(),
        size_bytes=3 * 1024 * 1024,
        seconds=12.5,
    )
    BackupRecord.objects.create(
        kind="tenant", tenant_schema="acme", destination="/x", outcome="failed", detail="disk full"
    )
    page = operator.get("/admin/operators/backuprecord/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "s3://b/p/platform-20261207T023000Z" in text
    assert "3.0\xa0MB" in text
    assert "acme" in text
    assert "failed" in text
    assert operator.get("/admin/operators/backuprecord/add/").status_code == 403

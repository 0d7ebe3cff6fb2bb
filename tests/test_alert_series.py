"""Every application series the alert rules read exists on the real processes' metrics ports.

A real gunicorn (deploy/gunicorn.conf.py) and a real Celery worker run with
PROMETHEUS_MULTIPROC_DIR and METRICS_PORT as the image sets them; after some traffic (a search,
a document processed, the platform-gauge and backup-freshness tasks), each metric name an alert
in deploy/prometheus/alerts.yml reads is in one of their scrapes. Series of the exporters and
Prometheus itself are listed in tests/monitoring_series.py.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.utils import timezone
from django_tenants.utils import schema_context

from documents.models import Document
from operators.models import BackupRecord
from tests.accounts.helpers import key_header
from tests.conftest import ROOT, TenantHandle, WorkerProcess, worker_environment
from tests.factories import ApiKeyFactory, DocumentFactory
from tests.monitoring_series import EXPORTER_SERIES

pytestmark = [pytest.mark.celery_worker, pytest.mark.slow]

# Exported by others: postgres_exporter, redis_exporter, Prometheus.
EXTERNAL = EXPORTER_SERIES
_FUNCTIONS = {
    "sum", "rate", "clamp_min", "histogram_quantile", "by", "le", "max", "absent", "time",
    "increase", "and", "or", "on", "without", "status", "queue", "kind", "error", "backend",
    "outcome", "volume", "job",
}  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def alert_metrics() -> set[str]:
    """Metric names the alert expressions read (histograms by their base name)."""
    groups = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())["groups"]
    names: set[str] = set()
    for group in groups:
        for rule in group["rules"]:
            # Without label values, range durations ([5m]) and numbers (1e-9).
            expr = re.sub(r'"[^"]*"|\[[^\]]*\]|\b\d[\d.]*(?:e[-+]?\d+)?', " ", rule["expr"])
            for word in re.findall(r"[a-z_][a-z0-9_]*", expr):
                if word not in _FUNCTIONS and not word.isdigit():
                    names.add(word)
    return names


def _scrape(port: int) -> set[str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and line[0] != "#"
    }


@pytest.fixture
def processes(
    committed_db: None, committed_tenants: tuple[TenantHandle, TenantHandle], tmp_path: Path
) -> Iterator[tuple[int, int, str]]:
    """(web metrics port, worker metrics port, web port) of a gunicorn and a worker as the
    image runs them, on a queue prefix of their own."""
    prefix = f"series{time.monotonic_ns() % 10**8}-"
    web_metrics, worker_metrics, web_port = _free_port(), _free_port(), _free_port()
    (tmp_path / "web").mkdir()
    (tmp_path / "worker").mkdir()
    env = {**worker_environment(), "QUEUE_PREFIX": prefix}
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application",
         "-c", "deploy/gunicorn.conf.py", "--bind", f"127.0.0.1:{web_port}"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**env, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "web"),
             "METRICS_PORT": str(web_metrics), "WEB_CONCURRENCY": "1"},
    )  # fmt: skip
    worker = WorkerProcess(
        tmp_path / "worker.log", concurrency=1, name="series",
        env={"QUEUE_PREFIX": prefix, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "worker"),
             "METRICS_PORT": str(worker_metrics)},
    )  # fmt: skip
    try:
        worker.start()
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{web_port}/health/live", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or web.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.3)
        yield web_metrics, worker_metrics, prefix, web_port  # type: ignore[misc]
    finally:
        worker.stop()
        web.terminate()
        web.wait(timeout=30)


def test_every_application_series_an_alert_reads_is_exported(
    processes: Any, committed_tenants: tuple[TenantHandle, TenantHandle]
) -> None:
    from config.celery import app

    web_metrics, worker_metrics, prefix, web_port = processes
    alpha = committed_tenants[0]
    with schema_context(alpha.schema):
        key = ApiKeyFactory(tenant=alpha, scopes=["read"]).raw
        DocumentFactory(filename="series.txt", chunks=["wing flutter at high speed"])
    BackupRecord.objects.create(
        kind="platform", destination="/b", outcome="succeeded", finished_at=timezone.now(),
        size_bytes=1,
    )  # fmt: skip
    request = urllib.request.Request(
        f"http://127.0.0.1:{web_port}/api/v1/search/",
        data=b'{"query": "wing flutter"}',
        headers={"Host": alpha.domain, "Content-Type": "application/json",
                 **{"Authorization": key_header(key)["HTTP_AUTHORIZATION"]}},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    try:
        for task in ("operators.collect_platform_gauges", "operators.backup_freshness"):
            app.send_task(task, queue=f"{prefix}maintenance").get(timeout=60)
        exported = _scrape(web_metrics) | _scrape(worker_metrics)
    finally:
        BackupRecord.objects.filter(destination="/b").delete()
        with schema_context(alpha.schema):
            Document.objects.filter(filename="series.txt").delete()
    wanted = alert_metrics() - EXTERNAL
    missing = sorted(
        name for name in wanted
        if not any(series == name or series.startswith(f"{name}_") for series in exported)
    )  # fmt: skip
    assert not missing, f"alerts read series nobody exports: {missing}"

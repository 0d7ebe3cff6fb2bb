"""Prometheus metrics of a whole pod/container on an internal port (`METRICS_PORT`, e.g. 9808).

Web and workers run several processes (gunicorn workers, Celery's prefork pool), and
ingestion timings are only ever observed in Celery workers, so one process's /metrics is
not the pod's. With `PROMETHEUS_MULTIPROC_DIR` set (the image sets it), every process
writes its samples there and the server started here -- by the gunicorn master
(deploy/gunicorn.conf.py) or the Celery worker's main process (config/celery.py) --
aggregates them on each scrape. Prometheus scrapes that port directly, never through the
load balancer, and needs no Host header.
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server


def multiprocess_mode() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def metrics_port() -> int:
    return int(os.environ.get("METRICS_PORT", "0") or 0)


def metrics_registry() -> CollectorRegistry:
    """Every process's samples in multiprocess mode, else this process's own."""
    if not multiprocess_mode():
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def start_metrics_server() -> bool:
    """Serve /metrics on METRICS_PORT when set; False when turned off."""
    port = metrics_port()
    if not port:
        return False
    start_http_server(port, registry=metrics_registry())
    return True


def forget_process(pid: int) -> None:
    """Drop a finished process's live gauges (multiprocess mode only)."""
    if multiprocess_mode():
        multiprocess.mark_process_dead(pid)

"""The series the alerts and the Grafana dashboard may read, and the metric names a PromQL
expression reads (used by tests/test_deploy.py and tests/test_alert_series.py).

Application series come from the prometheus_client registry once the modules that declare
them are imported; the exporters' series are listed here, checked against the versions
deploy/docker-compose.prod.yml pins.
"""

from __future__ import annotations

import importlib
import re

from django_prometheus.middleware import Metrics
from prometheus_client import REGISTRY

# Exported by others: postgres_exporter v0.15.0, redis_exporter v1.62.0, Prometheus itself.
EXPORTER_SERIES = {
    "up",  # Prometheus, per scrape target
    "pg_up",  # postgres_exporter
    "pg_stat_activity_count",  # pg_stat_activity, by datname and state
    "pg_settings_max_connections",  # pg_settings
    "pg_replication_lag_seconds",  # replication collector (0 on a primary)
    "redis_up",  # redis_exporter
    "redis_memory_used_bytes",  # INFO used_memory
    "redis_memory_max_bytes",  # INFO maxmemory (0: unset)
    "redis_connected_clients",  # INFO connected_clients
}

# The modules that declare the application's metrics (besides django-prometheus' own).
METRIC_MODULES = (
    "documents.metrics",
    "queries.metrics",
    "operators.metrics",
    "operators.monitoring",
)

# The series each kind of metric is scraped as (prometheus_client names a family without them).
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
}

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", re.IGNORECASE
)
_IDENTIFIER = re.compile(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"}
_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression (or Grafana `label_values(metric, label)`) reads."""
    found = _LABEL_VALUES.match(expr)
    if found:
        return {found.group(1)}
    text = _STRING.sub(" ", expr)
    text = _RANGE.sub(" ", _MATCHERS.sub(" ", text))
    text = _GROUPING.sub(" ", text)
    return {
        match.group(1)
        for match in _IDENTIFIER.finditer(text)
        if match.group(2) is None and match.group(1).lower() not in _KEYWORDS
    }


def application_series() -> set[str]:
    """Every series name the web and worker processes can export, from the registry."""
    for module in METRIC_MODULES:
        importlib.import_module(module)
    Metrics.get_instance()  # django-prometheus registers its metrics when first instantiated
    return {
        family.name + suffix
        for family in REGISTRY.collect()
        for suffix in _SUFFIXES.get(family.type, ("",))
    }

"""Prometheus metrics for search and ask (exported by django-prometheus' /metrics endpoint)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

QUERY_RESPONSE_SECONDS = Histogram(
    "query_response_seconds",
    "Time to answer a search or ask request, cached or not (failed ones are not observed).",
    ["mode", "backend"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

QUERY_FAILURES = Counter(
    "query_failures",
    "Searches and asks accepted and then not answered, by kind and reason "
    "(index_unavailable, server_error, cancelled).",
    ["kind", "error"],
)

# Every (kind, error) at 0 from the start: an alert's rate() has a series to read before the
# first failure (a labelled counter is otherwise absent until it is first incremented).
for _kind in ("search", "ask"):
    for _error in ("index_unavailable", "server_error", "cancelled"):
        QUERY_FAILURES.labels(kind=_kind, error=_error)

"""gunicorn settings; every value can be overridden on the command line or by env."""

import gc
import os
from typing import Any

# Loads the optional .env file like manage.py does (a module named `config` would clash
# with gunicorn's own `config` setting, hence the alias).
import config.env as _dotenv  # noqa: F401
from config.logging import log_format, logging_config

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
keepalive = 5
# Workers are not recycled by default: each keeps per-tenant search caches (BM25 matrices,
# query IDF tables, vector snapshots; all bounded, see docs/search.md "Latency") that take
# seconds to rebuild. Set GUNICORN_MAX_REQUESTS to recycle anyway (e.g. against a leak); a
# new worker warms the recently active tenants before it accepts requests.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
errorlog = "-"
# Master and worker messages in the app's format (JSON in production); the app's own
# `request_finished` lines (config/request_context.py) replace gunicorn's access log.
accesslog = None
logconfig_dict = logging_config(
    json_logs=log_format() == "json", level=os.environ.get("LOG_LEVEL", "INFO")
)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn's control socket (for `gunicornc`) defaults to one path per user, so two servers
# on a machine (make run beside a benchmark, or two pods sharing a home directory) would take
# it from each other. Off unless GUNICORN_CONTROL_SOCKET names a path of this server's own.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]


def post_worker_init(worker: Any) -> None:
    # Single queries gain nothing from BLAS or FAISS threads, and their p99 suffers from
    # contention (search/threads.py).
    from search.threads import serve_searches

    serve_searches()
    # Build the recently active tenants' search caches before accepting requests, for at
    # most SEARCH_WARMUP_SECONDS (search/warmup.py). Requests meanwhile wait for, or go to,
    # another worker; the heartbeat keeps the arbiter from taking this for a hang.
    from queries.warmup import warm_before_serving

    warm_before_serving(worker.notify)
    # Everything loaded so far lives as long as the worker: keep it out of the cyclic
    # garbage collector's full passes, which otherwise walk it every few hundred requests
    # (a ~50-100 ms pause with a 100k-chunk tenant loaded).
    gc.collect()
    gc.freeze()


def when_ready(server: object) -> None:
    # The pod's metrics (every worker's, see config/metrics_server.py) on METRICS_PORT.
    from config.metrics_server import start_metrics_server

    start_metrics_server()


def child_exit(server: object, worker: Any) -> None:
    from config.metrics_server import forget_process

    forget_process(worker.pid)

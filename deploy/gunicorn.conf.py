"""gunicorn settings; every value can be overridden on the command line or by env."""

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
max_requests = 2000
max_requests_jitter = 200
errorlog = "-"
# Master and worker messages in the app's format (JSON in production); the app's own
# `request_finished` lines (config/request_context.py) replace gunicorn's access log.
accesslog = None
logconfig_dict = logging_config(
    json_logs=log_format() == "json", level=os.environ.get("LOG_LEVEL", "INFO")
)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker: object) -> None:
    # Single queries gain nothing from FAISS threads, and their p99 suffers from contention.
    from documents.vectorindex.faiss_loader import faiss

    faiss.omp_set_num_threads(1)


def when_ready(server: object) -> None:
    # The pod's metrics (every worker's, see config/metrics_server.py) on METRICS_PORT.
    from config.metrics_server import start_metrics_server

    start_metrics_server()


def child_exit(server: object, worker: Any) -> None:
    from config.metrics_server import forget_process

    forget_process(worker.pid)

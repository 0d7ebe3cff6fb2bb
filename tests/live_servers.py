"""Real server processes for tests that count or route database connections: gunicorn as the
image runs it, and PgBouncer in front of the test database."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
from django.db import connection

from tests.conftest import ROOT, libpq_params, worker_environment


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def backends(application: str) -> list[int]:
    """Server process ids of the connections opened under `application`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s ORDER BY pid",
            [application],
        )
        return [int(row[0]) for row in cursor.fetchall()]


def application_name(kind: str) -> str:
    return f"di-{kind}-{os.getpid()}-{time.monotonic_ns() % 10**6}"


class Gunicorn:
    """deploy/gunicorn.conf.py as the image runs it, with `workers` x `threads`."""

    def __init__(
        self, *, workers: int, threads: int, log: Path, env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.application = application_name("web")
        env = {
            **worker_environment(),
            "PGAPPNAME": self.application,
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_THREADS": str(threads),
            "DB_CONN_MAX_AGE": "60",
            **(env or {}),
        }
        env.pop("METRICS_PORT", None)
        self.log = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application",
             "-c", "deploy/gunicorn.conf.py", "--bind", f"127.0.0.1:{self.port}"],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(self.url("/health/live"), timeout=2)
                return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"gunicorn did not start; see {log}") from None
                time.sleep(0.3)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def call(self, host: str, path: str, headers: dict[str, str], body: bytes | None = None):
        request = urllib.request.Request(
            self.url(path), data=body,
            headers={"Host": host, "Content-Type": "application/json", **headers},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def pgbouncer_binary() -> str | None:
    """Debian's pgbouncer (apt-get install pgbouncer) lives in /usr/sbin."""
    return shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")


class PgBouncer:
    """PgBouncer in `mode` in front of the test database, as database `alias` with a pool of
    one server connection, so every client that gets through shares that one."""

    def __init__(self, *, mode: str, alias: str) -> None:
        binary = pgbouncer_binary()
        assert binary is not None
        self.alias, self.port = alias, free_port()
        # Readable by the user PgBouncer switches to (it refuses to run as root).
        self.folder = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
        self.folder.chmod(0o777)
        params = libpq_params()
        host = params["host"] or "127.0.0.1"
        (self.folder / "users.txt").write_text('"postgres" ""\n')
        (self.folder / "pgbouncer.ini").write_text(
            f"[databases]\n"
            f"{alias} = host={host} port={params['port'] or 5432} dbname={params['dbname']} "
            f"pool_size=1\n"
            f"[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.folder}/users.txt\nadmin_users = postgres\n"
            f"pool_mode = {mode}\nmax_client_conn = 50\nserver_reset_query = DISCARD ALL\n"
            f"logfile = {self.folder}/pgbouncer.log\npidfile = {self.folder}/pgbouncer.pid\n"
        )
        command = [binary, str(self.folder / "pgbouncer.ini")]
        if os.geteuid() == 0:
            # A unix socket's folder is its server's own: run as that user to reach it.
            owner = Path(host).stat().st_uid if host.startswith("/") else None
            command[1:1] = ["-u", pwd.getpwuid(owner).pw_name if owner else "nobody"]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"pgbouncer did not start; see {self.folder}") from None
                time.sleep(0.1)

    def environment(self, conn_max_age: int) -> dict[str, str]:
        """What makes the platform's processes connect through this PgBouncer."""
        return {
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{self.port}/{self.alias}",
            "DATABASE_NAME": self.alias,
            "DB_CONN_MAX_AGE": str(conn_max_age),
        }

    def server_connections(self) -> int:
        """How many connections to PostgreSQL PgBouncer holds for the alias (SHOW SERVERS on
        its admin console, which speaks the simple query protocol only)."""
        with psycopg.connect(
            host="127.0.0.1", port=self.port, dbname="pgbouncer", user="postgres", autocommit=True
        ) as admin:
            result = admin.pgconn.exec_(b"SHOW SERVERS")
            names = [result.fname(i) for i in range(result.nfields)]
            column = names.index(b"database")
            return sum(
                1 for row in range(result.ntuples)
                if result.get_value(row, column) == self.alias.encode()
            )  # fmt: skip

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

"""A whole platform of a fault test's own: PostgreSQL, Redis, gunicorn and a Celery worker.

The shared servers the rest of the suite uses are never stopped; a fault test stops and
starts these instead. PostgreSQL is the embedded server's binaries (pgserver) on a data
folder in the test's temporary directory, listening on a free loopback port as a managed
server would; Redis is the embedded redis-server on a unix socket in the same folder. Web
and worker are the production commands (gunicorn with deploy/gunicorn.conf.py, DEBUG off;
`celery worker`), talking to them only through DATABASE_URL and REDIS_URL.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config import embedded
from tests.conftest import PASSWORD, ROOT

PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Answer:
    """One HTTP answer, and how long it took to arrive."""

    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)


class PrivatePostgres:
    """A PostgreSQL cluster in `root`, on a free loopback port; stopped and started at will."""

    def __init__(self, root: Path) -> None:
        self.var_dir = root / "var"
        self.data = self.var_dir / "pgdata"
        self.port = free_port()
        # pgserver runs the server as its own system user when started by root.
        self.user = "pgserver" if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{embedded.DB_NAME}"

    def create(self) -> None:
        embedded.postgres_database(self.var_dir)  # initdb and the database, on a unix socket
        embedded.stop_postgres(self.var_dir)
        self.start()

    def _pg_ctl(self, *args: str) -> None:
        from pgserver._commands import POSTGRES_BIN_PATH

        command = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.data), *args]
        subprocess.run(command, check=True, capture_output=True, timeout=60, user=self.user)

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.data}"
        self._pg_ctl("-w", "-l", str(self.data / "server.log"), "-o", options, "start")

    def stop(self) -> None:
        """Fast shutdown: clients are disconnected, open transactions rolled back."""
        self._pg_ctl("-w", "-m", "fast", "stop")

    def remove(self) -> None:
        embedded.stop_postgres(self.var_dir)


class PrivateRedis:
    def __init__(self, root: Path) -> None:
        self.var_dir = root / "var"
        self.url = ""

    def start(self) -> None:
        self.url = embedded.redis_url(self.var_dir)

    def stop(self) -> None:
        embedded.stop_redis(self.var_dir)

    def running(self) -> bool:
        return embedded.redis_answers(embedded.redis_socket(self.var_dir))


class PrivatePlatform:
    """Migrated stores, one tenant with an owner, a web server and a worker."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.postgres = PrivatePostgres(root)
        self.redis = PrivateRedis(root)
        self.port = free_port()
        self.schema = "fault_" + secrets.token_hex(3)
        self.host = f"{self.schema.replace('_', '-')}.localhost"
        self.email = f"owner@{self.host}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.token = ""

    def environment(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DATABASE_NAME", "METRICS_PORT", "PROMETHEUS_MULTIPROC_DIR"}
        }
        env.update(
            DATABASE_URL=self.postgres.url,
            REDIS_URL=self.redis.url,
            MEDIA_ROOT=str(self.root / "media"),
            INDEX_ROOT=str(self.root / "indexes"),
            QUEUE_PREFIX=f"{self.schema}-",
            CACHE_KEY_PREFIX=self.schema,
            DEBUG="false",
            DI_TESTING="1",
            PYTHONUNBUFFERED="1",
            WEB_CONCURRENCY="2",
            GUNICORN_THREADS="4",
        )
        return env

    def manage(self, *args: str) -> None:
        subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.environment(),
            check=True,
            capture_output=True,
            timeout=300,
        )

    def start(self) -> None:
        self.postgres.create()
        self.redis.start()
        self.manage("migrate_schemas", "--noinput", "-v", "0")
        self.manage(
            *("create_tenant", "--schema", self.schema, "--name", "Fault Test"),
            *("--domain", self.host, "--admin-email", self.email, "--admin-password", PASSWORD),
        )
        self.start_worker()
        self.start_web()
        self.sign_in()

    def _spawn(self, name: str, command: list[str]) -> None:
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.processes[name] = subprocess.Popen(
            command, cwd=ROOT, env=self.environment(), stdout=log, stderr=subprocess.STDOUT
        )

    def start_web(self) -> None:
        self._spawn(
            "web",
            [
                *(PYTHON, "-m", "gunicorn", "config.wsgi:application"),
                *("-c", str(ROOT / "deploy" / "gunicorn.conf.py")),
                *("--bind", f"127.0.0.1:{self.port}"),
            ],
        )
        self._wait_for("web", lambda: self.get("/health/live", host="127.0.0.1").status == 200)

    def start_worker(self) -> None:
        node = f"fault-{uuid.uuid4().hex[:8]}@%h"
        command = [PYTHON, "-m", "celery", "-A", "config", "worker", "-l", "INFO"]
        self._spawn("worker", [*command, "--concurrency", "1", "--without-gossip", "-n", node])
        log = self.root / "worker.log"
        self._wait_for("worker", lambda: b" ready." in log.read_bytes())

    def _wait_for(self, name: str, ready: Any, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"the {name} process exited; see {self.root / name}.log")
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the {name} process did not start; see {self.root / name}.log")

    def alive(self) -> dict[str, bool]:
        return {name: process.poll() is None for name, process in self.processes.items()}

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.redis.stop()
        self.postgres.remove()

    # --- HTTP ---------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        host: str | None = None,
        timeout: float = 30,
    ) -> Answer:
        sent = {"Host": host or self.host, **(headers or {})}
        if self.token and "Authorization" not in sent:
            sent["Authorization"] = f"Bearer {self.token}"
        sent = {name: value for name, value in sent.items() if value}  # "" sends none
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=body, headers=sent, method=method
        )
        began = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body = response.read()
                took = time.monotonic() - began
                return Answer(response.status, dict(response.headers), body, took)
        except urllib.error.HTTPError as error:
            return Answer(error.code, dict(error.headers), error.read(), time.monotonic() - began)

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.request("GET", path, **kwargs)

    def post_json(self, path: str, data: object, **kwargs: Any) -> Answer:
        headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
        return self.request("POST", path, body=json.dumps(data).encode(), headers=headers, **kwargs)

    def sign_in(self) -> Answer:
        answer = self.post_json(
            "/api/v1/auth/token/",
            {"email": self.email, "password": PASSWORD},
            headers={"Authorization": ""},
        )
        if answer.status == 200:
            self.token = answer.json()["access"]
        return answer

    def upload(self, name: str, data: bytes) -> Answer:
        boundary = uuid.uuid4().hex
        body = (
            (
                f"--{boundary}\r\n"
                f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return self.request(
            "POST",
            "/api/v1/documents/?allow_duplicate=1",
            body=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )

    def document(self, document_id: int) -> dict[str, Any]:
        answer = self.get(f"/api/v1/documents/{document_id}/")
        assert answer.status == 200, answer.body
        body: dict[str, Any] = answer.json()
        return body

    def wait_final(self, document_id: int, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            answer = self.get(f"/api/v1/documents/{document_id}/")
            if answer.status == 200 and answer.json()["status"] in {"ready", "failed"}:
                body: dict[str, Any] = answer.json()
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"document {document_id} still in flight: {answer.body!r}")
            time.sleep(0.5)

"""Shared fixtures: tenants (rolled back or committed), host-routed clients, a Celery worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_django.fixtures
from django.conf import settings
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from documents.models import Document
from tenants.db import use_public_schema
from tenants.models import Tenant
from tenants.services import delete_tenant, provision_tenant

ROOT = Path(__file__).resolve().parent.parent
_COMMITTED_FIXTURES = frozenset({"committed_db", "committed_tenants", "celery_worker"})
_databases_for_test = pytest_django.fixtures._get_databases_for_test


def _databases_including_committed(test: pytest.Item) -> tuple[Any, bool]:
    # pytest-django creates the test database only for tests that ask for `db`; tests that
    # write in autocommit (for worker processes) need it too, or they would hit the real one.
    if _COMMITTED_FIXTURES & set(getattr(test, "fixturenames", ())):
        return ("default",), False
    return _databases_for_test(test)


pytest_django.fixtures._get_databases_for_test = _databases_including_committed
PASSWORD = "Correct-horse-42"


@dataclass
class TenantHandle:
    tenant: Tenant
    domain: str
    admin_email: str
    password: str = PASSWORD

    @property
    def schema(self) -> str:
        return self.tenant.schema_name

    def client(self, **defaults: Any) -> Client:
        """A test client whose requests are routed to this tenant by host name."""
        return Client(HTTP_HOST=self.domain, **defaults)

    def logged_in_client(self) -> Client:
        client = self.client()
        with schema_context(self.schema):
            assert client.login(username=self.admin_email, password=self.password)
        return client


def _provision(schema: str) -> TenantHandle:
    domain = f"{schema.replace('_', '-')}.localhost"
    email = f"owner@{schema.replace('_', '-')}.test"
    result = provision_tenant(
        schema_name=schema,
        name=schema.title(),
        domain=domain,
        admin_email=email,
        admin_password=PASSWORD,
    )
    return TenantHandle(tenant=result.tenant, domain=domain, admin_email=email)


@pytest.fixture
def make_tenant(db: None) -> Callable[[str], TenantHandle]:
    """Provision tenants inside the test's transaction (rolled back afterwards, DDL too)."""

    def make(schema: str) -> TenantHandle:
        return _provision(schema)

    return make


@pytest.fixture(scope="session", autouse=True)
def _isolated_file_roots(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Uploaded files and index files of this test run live in a temporary folder."""
    root = tmp_path_factory.mktemp("data")
    settings.MEDIA_ROOT = str(root / "media")
    settings.INDEX_ROOT = str(root / "indexes")


@pytest.fixture(autouse=True)
def _public_schema_after_test() -> Iterator[None]:
    yield
    use_public_schema()


@pytest.fixture(autouse=True)
def _fresh_readiness() -> None:
    """Readiness caches slow checks for seconds; each test starts without an old answer."""
    from config import health

    for check in health._checks.values():
        check.last = None


@pytest.fixture
def committed_db(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Database access in autocommit, for tests whose other processes must see the writes.

    Unlike `transactional_db`, nothing is flushed afterwards (a flush would also wipe the
    session's committed tenants); such tests clean up what they create.
    """
    with django_db_blocker.unblock():
        assert str(connection.settings_dict["NAME"]).startswith("test_"), "not the test database"
        yield


@pytest.fixture(scope="session")
def committed_tenants(
    django_db_setup: None, django_db_blocker: Any
) -> Iterator[tuple[TenantHandle, TenantHandle]]:
    """Two tenants committed for the whole session, for tests that need other processes."""
    with django_db_blocker.unblock():
        assert str(connection.settings_dict["NAME"]).startswith("test_"), "not the test database"
        use_public_schema()
        handles = (_provision("iso_alpha"), _provision("iso_beta"))
    yield handles
    with django_db_blocker.unblock():
        use_public_schema()
        for handle in handles:
            tenant = Tenant.objects.filter(pk=handle.tenant.pk).first()
            if tenant is not None:
                delete_tenant(tenant=tenant)


@pytest.fixture
def alpha(
    committed_db: None, committed_tenants: tuple[TenantHandle, TenantHandle]
) -> Iterator[TenantHandle]:
    """The committed tenant `iso_alpha`, for tests whose worker processes must see their rows;
    its documents are deleted afterwards. Tests that need the session's Celery worker ask for
    `celery_worker` too. (tests/browser has its own `alpha`, which keeps what was there.)"""
    handle = committed_tenants[0]
    yield handle
    with schema_context(handle.schema):
        Document.objects.all().delete()


def libpq_params() -> dict[str, Any]:
    """Connection parameters of the test database, for a psycopg connection of a test's own."""
    settings_dict = connection.settings_dict
    return {
        "dbname": settings_dict["NAME"],
        "user": settings_dict["USER"],
        "password": settings_dict["PASSWORD"] or None,
        "host": settings_dict["HOST"] or None,
        "port": settings_dict["PORT"] or None,
    }


def worker_environment() -> dict[str, str]:
    """Environment for a Celery worker subprocess that talks to this test run's stores."""
    env = dict(os.environ)
    env.update(
        DI_TESTING="1",
        DATABASE_NAME=str(connection.settings_dict["NAME"]),
        REDIS_URL=str(settings.REDIS_URL),
        QUEUE_PREFIX=str(settings.QUEUE_PREFIX),
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        INDEX_ROOT=str(settings.INDEX_ROOT),
        PYTHONUNBUFFERED="1",
    )
    return env


class WorkerProcess:
    """A real `celery -A config worker` subprocess consuming this test run's queues.

    Without `queues` it is started as operators start one, with no -Q: the settings declare
    every queue (with this run's QUEUE_PREFIX), so it consumes them all.
    """

    def __init__(
        self,
        log_path: Path,
        concurrency: int = 2,
        queues: list[str] | None = None,
        name: str = "test",
        env: dict[str, str] | None = None,
    ) -> None:
        self.log_path = log_path
        self.concurrency = concurrency
        self.queues = queues
        self.env = env or {}
        self.node = f"{name}-{os.getpid()}@"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-l",
            "INFO",
            "--concurrency",
            str(self.concurrency),
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"{self.node}%h",
        ]
        if self.queues is not None:
            command += ["-Q", ",".join(f"{settings.QUEUE_PREFIX}{q}" for q in self.queues)]
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        started_at = log.tell()  # after a restart, only this run's "ready" line counts
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**worker_environment(), **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready(started_at)

    def _wait_ready(self, offset: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"Celery worker exited early; see {self.log_path}")
            with self.log_path.open("rb") as written:
                written.seek(offset)
                if b" ready." in written.read():
                    return
            time.sleep(0.2)
        raise RuntimeError(f"Celery worker did not become ready; see {self.log_path}")

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        # Prefork children may outlive a SIGKILLed parent; make sure none keep consuming.
        subprocess.run(["pkill", "-9", "-f", self.node], check=False)


@pytest.fixture(scope="session")
def celery_worker(
    committed_tenants: tuple[TenantHandle, TenantHandle], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    worker = WorkerProcess(tmp_path_factory.mktemp("worker") / "worker.log")
    worker.start()
    yield worker
    worker.stop()

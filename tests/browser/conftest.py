"""Browser tests: a real gunicorn on a loopback port, the session's Celery worker, Chromium.

The server runs against the test database (tests.conftest.worker_environment) and the
committed tenants, so the worker, the server and this process all see the same rows.
Chromium resolves `*.localhost` to loopback, so tenants are reached by host name.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django_tenants.utils import schema_context

from accounts.models import ApiKey
from documents.models import Document
from documents.services import delete_document
from queries.models import Query
from tests.conftest import ROOT, TenantHandle, WorkerProcess, worker_environment

CHROMIUM = "/usr/bin/chromium"
SUPPORT_EMAIL = "support@platform.test"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

try:
    from playwright import sync_api
except ImportError:  # pragma: no cover - dev requirements not installed
    sync_api = None  # type: ignore[assignment]


def _require_browser() -> None:
    if sync_api is None:
        pytest.skip("Playwright is missing: pip install -r requirements/dev.txt")
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is missing: apt-get update && apt-get install -y chromium")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"

    def tenant_url(self, handle: TenantHandle, path: str = "/") -> str:
        return self.url(handle.domain, path)


@pytest.fixture(scope="session")
def web_server(
    committed_tenants: tuple[TenantHandle, TenantHandle],
    celery_worker: WorkerProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    _require_browser()
    port = _free_port()
    log_path = tmp_path_factory.mktemp("web") / "gunicorn.log"
    env = worker_environment()
    # Several tests sign in from 127.0.0.1 within a minute; the limit itself has its own tests.
    env["RATELIMIT_LOGIN"] = "1000/m"
    # A deactivated workspace's page then offers a mail link (test_accessibility.py).
    env["SUPPORT_EMAIL"] = SUPPORT_EMAIL
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", "2", "--worker-class", "gthread",
        "--threads", "4", "--timeout", "60", "--access-logfile", "-",
    ]  # fmt: skip
    log = open(log_path, "ab")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = LiveServer(port=port, process=process, log_path=log_path)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited early; see {log_path}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=2):
                break
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start; see {log_path}") from None
            time.sleep(0.2)
    yield server
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def browser(web_server: LiveServer) -> Iterator[Any]:
    # Playwright's sync API keeps an event loop in this thread; Django would then refuse
    # ORM calls made by the tests' own setup code, which is safe here (no async code runs).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []

    def on_console(message: Any) -> None:
        # Django admin's own templates use style attributes that our CSP blocks (cosmetic);
        # the dashboard must have none.
        where = str((message.location or {}).get("url", "")) or page.url
        if message.type == "error" and "/admin/" not in where:
            problems.append(f"{where}: {message.text}")

    # A CSP violation or a script error would silently break the page; fail the test instead.
    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(f"{page.url}: {exc}"))
    yield page
    context.close()
    csp = [p for p in problems if "Content Security Policy" in p or "Refused" in p]
    assert not csp, "\n".join(csp)


@pytest.fixture(autouse=True)
def _close_connections_opened_beside_playwright() -> Iterator[None]:
    yield
    # While Playwright's loop runs, Django keys connections by async context, so ORM calls
    # made by these tests' fixtures open extra connections; close them, or the test
    # database cannot be dropped at the end of the session.
    connections.close_all()


@pytest.fixture
def alpha(
    committed_tenants: tuple[TenantHandle, TenantHandle], committed_db: None
) -> Iterator[TenantHandle]:
    """The committed tenant `iso_alpha`; what a test adds (documents, keys, queries) is removed."""
    handle = committed_tenants[0]
    with schema_context(handle.schema):
        before = set(Document.objects.values_list("id", flat=True))
        last_query = Query.objects.order_by("-id").values_list("id", flat=True).first() or 0
    yield handle
    with schema_context(handle.schema):
        Query.objects.filter(id__gt=last_query).delete()
        ApiKey.objects.filter(name__startswith="browser ").delete()
        added = Document.objects.exclude(id__in=before)
        # Deleting while the worker still writes chunks races with it; let ingestion finish.
        deadline = time.monotonic() + 60
        while added.filter(status__in=["pending", "processing"]).exists():
            if time.monotonic() > deadline:
                break
            time.sleep(0.3)
        for document in added:
            delete_document(document=document)


def log_in(page: Any, server: LiveServer, handle: TenantHandle, email: str, password: str) -> None:
    page.goto(server.tenant_url(handle, "/login/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/documents/")


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: a temporary folder, so that a test run leaves the working tree
    as it was, unless SCREENSHOTS_DIR names one (relative to the repository root).

    `make screenshots` sets SCREENSHOTS_DIR=docs/screenshots to refresh the README's pictures.
    """
    configured = os.environ.get("SCREENSHOTS_DIR")
    if not configured:
        return tmp_path_factory.mktemp("screenshots")
    folder = ROOT / configured  # an absolute path stays as it is
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def screenshot(screenshot_dir: Path) -> Callable[[Any, str], Path]:
    """`screenshot(page, "documents")` writes the whole page to <screenshot_dir>/documents.png."""

    def take(page: Any, name: str) -> Path:
        path = screenshot_dir / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take

"""Readiness names its checks and their state, never what went wrong (it answers any host)."""

from __future__ import annotations

import pytest
from django.test import Client

from config import health

pytestmark = pytest.mark.django_db


def _fail() -> None:
    raise ConnectionError('connection to server at "db-7.internal" (10.1.2.3), port 5432 failed')


@pytest.mark.parametrize(
    ("critical", "status", "state"), [(True, 503, "down"), (False, 200, "degraded")]
)
def test_a_failing_check_is_named_without_its_error(monkeypatch, caplog, critical, status, state):
    monkeypatch.setattr(health, "_checks", dict(health._checks))
    health.register_check("probe", _fail, critical=critical)
    response = Client(HTTP_HOST="127.0.0.1").get("/health/ready")
    assert response.status_code == status
    body = response.json()
    assert body["checks"]["probe"] == {
        "ok": False,
        "status": state,
        "ms": body["checks"]["probe"]["ms"],
    }
    assert body["status"] == ("unavailable" if critical else "degraded")
    text = response.content.decode()
    for secret in ("db-7.internal", "10.1.2.3", "5432", "ConnectionError"):
        assert secret not in text
    assert "db-7.internal" in caplog.text  # operators find it in the log


@pytest.fixture
def fresh_checks(monkeypatch):
    """Each test sees the checks as a newly started process does: nothing cached yet."""
    fresh = {
        name: health.Check(
            run=check.run, critical=check.critical, cache_seconds=check.cache_seconds
        )
        for name, check in health._checks.items()
    }
    monkeypatch.setattr(health, "_checks", fresh)
    return fresh


def _ready():
    response = Client(HTTP_HOST="127.0.0.1").get("/health/ready")
    return response.status_code, response.json()


def test_readiness_checks_the_index_storage_the_embedder_and_the_answers(fresh_checks):
    _status, body = _ready()
    assert {"database", "index_storage", "redis", "workers", "embedder", "answers"} <= set(
        body["checks"]
    )
    for name in ("database", "index_storage", "embedder", "answers"):
        assert body["checks"][name]["status"] == "ok", name
    # Which failures take the pod out of the load balancer, and which only report.
    assert {name for name, check in fresh_checks.items() if check.critical} == {
        "database", "index_storage",
    }  # fmt: skip


def test_index_storage_that_cannot_be_written_makes_the_pod_unready(
    fresh_checks, settings, tmp_path
):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings.INDEX_ROOT = str(blocker / "indexes")
    status, body = _ready()
    assert status == 503
    assert body["checks"]["index_storage"]["status"] == "down"


def test_a_failing_answer_provider_degrades_and_is_asked_at_most_once_a_minute(
    fresh_checks, settings, httpserver
):
    from queries.answerer_config import _build_answerer

    settings.ANSWER_BACKEND = "openai"
    settings.OPENAI_BASE_URL = httpserver.url_for("/v1")
    settings.OPENAI_API_KEY = "test-key"
    _build_answerer.cache_clear()
    try:
        httpserver.expect_request("/v1/models/" + settings.OPENAI_CHAT_MODEL).respond_with_json(
            {"error": {"message": "down"}}, status=503
        )
        status, body = _ready()
        assert status == 200
        assert body["checks"]["answers"]["status"] == "degraded"
        _ready()
        assert len(httpserver.log) == 1  # the second probe reused the first answer
    finally:
        _build_answerer.cache_clear()

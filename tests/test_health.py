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

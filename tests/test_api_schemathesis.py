"""Every API operation, fed what Schemathesis generates from /api/schema/, with valid and
invalid credentials: no 5xx, every answer as the schema declares it (status, media type,
headers, body), and nothing of another tenant in any answer.

Two tenants: `st_home`, whose write API key (its owner's) signs the valid requests, and
`st_other`, which holds a document, a chunk and a logged question carrying a canary word.
The canary must never appear in an answer on `st_home`'s host, nor in one to a request
without or with forged credentials on `st_other`'s host, nor to `st_home`'s key sent there.

Requests go through the real WSGI handler and middleware in this process, inside the test's
transaction (rolled back afterwards). Examples are drawn from a fixed seed and bounded per
operation (VALID_EXAMPLES, REFUSED_EXAMPLES) so the whole run takes about a minute.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django_tenants.utils import schema_context
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tenants.models import Tenant
from tests.accounts.helpers import fresh_rate_limits
from tests.conftest import TenantHandle
from tests.factories import ApiKeyFactory, DocumentFactory, QueryFactory

__all__ = ["fresh_rate_limits"]

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("fresh_rate_limits")]

VALID_EXAMPLES = 25  # per operation, with the home key; as many again of invalid input
REFUSED_EXAMPLES = 4  # per operation and kind of wrong credentials
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
APPLICATION = WSGIHandler()


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


@pytest.fixture
def tenants(make_tenant: Callable[[str], TenantHandle]) -> Iterator[dict[str, Any]]:
    home, other = make_tenant("st_home"), make_tenant("st_other")
    canary = f"quokka{secrets.token_hex(6)}"
    for handle in (home, other):
        # Generated requests come fast; the plan's query limit is not what is under test.
        Tenant.objects.filter(pk=handle.tenant.pk).update(plan="enterprise")
    with schema_context(other.schema):
        DocumentFactory(
            filename=f"{canary}.txt", chunks=[f"The {canary} budget is secret to this tenant."]
        )
        QueryFactory(text=f"where is the {canary} budget")
        other_key = ApiKeyFactory(scopes=["read", "write"]).raw
    with schema_context(home.schema):
        DocumentFactory(chunks=["The home budget is public to its own members."])
        home_key = ApiKeyFactory(scopes=["read", "write"]).raw
    yield {"home": home, "other": other, "canary": canary, "home_key": home_key}
    assert other_key  # st_other's own key exists, so its routes have a key to refuse


@contextlib.contextmanager
def one_connection_for_every_request() -> Iterator[None]:
    """As Django's test client does: requests run in the test's transaction, so they must
    not close the connection when they finish (Schemathesis calls the WSGI handler itself)."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield
    finally:
        for signal in (signals.request_started, signals.request_finished):
            signal.connect(close_old_connections)


def _schema(home: TenantHandle) -> Any:
    response = home.client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return schemathesis.openapi.from_dict(response.json())


def _exercise(
    operation: Any,
    examples: int,
    host: str,
    headers: dict[str, str],
    canary: str,
    mode: GenerationMode = GenerationMode.POSITIVE,
) -> int:
    """Send `examples` generated cases of `operation`; returns how many were sent."""
    sent = 0

    @_settings(examples)
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        nonlocal sent
        response = case.call(app=APPLICATION, base_url=f"http://{host}", headers=headers)
        sent += 1
        case.validate_response(response, checks=CHECKS, headers=headers)
        assert canary.encode() not in response.content, (
            f"{case.method} {case.formatted_path} leaked"
        )

    run()
    return sent


def test_every_operation_answers_as_its_schema_says_and_keeps_tenants_apart(
    tenants: dict[str, Any],
) -> None:
    home, other, canary = tenants["home"], tenants["other"], tenants["canary"]
    key = {"Authorization": f"Api-Key {tenants['home_key']}"}
    modes = [
        ("home key", home.domain, key, VALID_EXAMPLES),
        ("home key, invalid input", home.domain, key, -VALID_EXAMPLES),
        ("home key on the other host", other.domain, key, REFUSED_EXAMPLES),
        ("no credentials", other.domain, {}, REFUSED_EXAMPLES),
        ("forged key", other.domain, {"Authorization": "Api-Key di_forged"}, REFUSED_EXAMPLES),
        ("forged token", other.domain, {"Authorization": "Bearer e30.e30.x"}, REFUSED_EXAMPLES),
    ]
    operations = [result.ok() for result in _schema(home).get_all_operations()]
    began, sent = time.monotonic(), 0
    with one_connection_for_every_request():
        for operation in operations:
            for _mode, host, headers, examples in modes:
                mode = GenerationMode.NEGATIVE if examples < 0 else GenerationMode.POSITIVE
                sent += _exercise(operation, abs(examples), host, headers, canary, mode)
    print(
        f"\nschemathesis: {len(operations)} operations, {sent} requests "
        f"in {time.monotonic() - began:.0f} s"
    )
    assert len(operations) >= 20

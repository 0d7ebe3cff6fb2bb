"""Changes racing each other on real, committed PostgreSQL transactions: two owners demoting
each other, and one refresh token presented twice at once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connections
from django_tenants.utils import schema_context

from accounts.models import Role, User
from tests.accounts.helpers import bearer, tokens_for
from tests.conftest import TenantHandle
from tests.factories import UserFactory

TRIALS = 6


@pytest.fixture
def alpha(alpha: TenantHandle) -> Iterator[TenantHandle]:
    """The shared committed tenant (tests/conftest.py); afterwards its provisioned owner is its
    only person again, an active owner."""
    yield alpha
    with schema_context(alpha.schema):
        User.objects.exclude(email=alpha.admin_email).delete()
        User.objects.filter(email=alpha.admin_email).update(role=Role.OWNER, is_active=True)


def _at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run `calls` in threads released together; each thread has its own connection."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.parametrize("action", ["demote", "deactivate"])
def test_two_owners_acting_on_each_other_at_once_leave_an_active_owner(alpha, action):
    with schema_context(alpha.schema):  # only these two are owners
        User.objects.filter(email=alpha.admin_email).update(role=Role.MEMBER)
    for trial in range(TRIALS):
        first = UserFactory(tenant=alpha, role=Role.OWNER, email=f"first{trial}@race.test")
        second = UserFactory(tenant=alpha, role=Role.OWNER, email=f"second{trial}@race.test")

        def act(actor: User, target: User) -> Callable[[], int]:
            def call() -> int:
                client = alpha.client()
                headers = bearer(alpha, actor)
                if action == "demote":
                    return client.patch(
                        f"/api/v1/members/{target.pk}/", {"role": "admin"},
                        content_type="application/json", **headers,
                    ).status_code  # fmt: skip
                return client.post(
                    f"/api/v1/members/{target.pk}/deactivate/", **headers
                ).status_code

            return call

        statuses = sorted(_at_once([act(first, second), act(second, first)]))
        with schema_context(alpha.schema):
            owners = User.objects.filter(role=Role.OWNER, is_active=True).count()
        assert owners == 1, f"trial {trial}: {owners} active owners, statuses {statuses}"
        # One change went through; the other was refused with a sentence (or found its
        # actor no longer an owner).
        assert statuses[0] == 200, statuses
        assert statuses[1] in (401, 403, 409), statuses
        with schema_context(alpha.schema):
            User.objects.filter(pk__in=[first.pk, second.pk]).update(role=Role.MEMBER)


def test_one_refresh_token_presented_twice_at_once_succeeds_once(alpha):
    with schema_context(alpha.schema):
        owner = User.objects.get(email=alpha.admin_email)
    for _ in range(TRIALS):
        refresh = tokens_for(alpha, owner)["refresh"]

        def call(refresh: str = refresh) -> int:
            return (
                alpha.client()
                .post(
                    "/api/v1/auth/token/refresh/",
                    {"refresh": refresh},
                    content_type="application/json",
                )
                .status_code
            )

        assert sorted(_at_once([call, call])) == [200, 401]

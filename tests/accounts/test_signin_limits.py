"""Sign-in, password-check and reset-link limits (accounts/signin_limits.py): guessing is
slowed at every door, and nobody can lock another person out."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.test import override_settings
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.signin_limits import account_key
from tests.accounts.helpers import bearer, owner_of
from tests.conftest import PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

WRONG = "wrong-password"


def _login(handle, email, password=WRONG, ip="10.0.0.1"):
    return handle.client().post(
        "/api/v1/auth/token/",
        {"email": email, "password": password},
        content_type="application/json",
        REMOTE_ADDR=ip,
    )


def _folds_like_sign_in(handle, variant: str, email: str) -> bool:
    """Whether sign-in's lookup (PostgreSQL UPPER) takes `variant` to `email`'s account."""
    with schema_context(handle.schema):
        return User.objects.filter(email__iexact=variant, email=email).exists()


@override_settings(RATELIMIT_LOGIN="3/h", RATELIMIT_LOGIN_IP="100/h")
def test_look_alike_spellings_of_an_email_share_its_budget(make_tenant):
    acme = make_tenant("sl_alike")
    viewer = UserFactory(tenant=acme, role="viewer", email="viewer@sl-alike.test")
    # U+0131 (dotless i) and U+017F (long s): PostgreSQL's UPPER folds them to I and S.
    variants = ["v\u0131ewer@sl-alike.test", "viewer@sl-alike.te\u017ft", "VIEWER@SL-ALIKE.TEST"]
    assert all(_folds_like_sign_in(acme, v, viewer.email) for v in variants), (
        "this database's UPPER() does not fold the look-alikes; the test needs one that does"
    )
    with schema_context(acme.schema):
        assert {account_key(v) for v in variants} == {f"user:{viewer.pk}"}
    assert [_login(acme, v).status_code for v in variants] == [401, 401, 401]
    # Each spelling reached the same account, so its budget is spent for this address.
    assert _login(acme, viewer.email, password=PASSWORD).status_code == 429
    assert _login(acme, "v\u0131ewer@sl-alike.te\u017ft", password=PASSWORD).status_code == 429


def test_the_database_folds_look_alikes_as_the_test_above_assumes():
    with connection.cursor() as cursor:
        cursor.execute("SELECT UPPER(%s)", ["v\u0131ewer@alpha.te\u017ft"])
        assert cursor.fetchone()[0] == "VIEWER@ALPHA.TEST"


@override_settings(RATELIMIT_LOGIN="3/h", RATELIMIT_LOGIN_IP="100/h")
def test_only_failed_sign_ins_count_against_an_account(make_tenant):
    acme = make_tenant("sl_success")
    for _ in range(6):  # right every time: never limited
        assert _login(acme, acme.admin_email, password=PASSWORD).status_code == 200
    assert _login(acme, acme.admin_email).status_code == 401
    assert _login(acme, acme.admin_email, password=PASSWORD).status_code == 200


@override_settings(RATELIMIT_LOGIN="3/h", RATELIMIT_LOGIN_IP="100/h")
def test_the_dashboard_login_counts_failures_and_takes_back_a_success(make_tenant):
    acme = make_tenant("sl_page")
    page = acme.client()
    for _ in range(5):
        ok = page.post(
            "/login/", {"username": acme.admin_email, "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
        )
        assert ok.status_code == 302
        page.post("/logout/")
    for expected in (200, 200, 200, 429):  # the form shown again, then the refusal
        bad = page.post(
            "/login/", {"username": acme.admin_email, "password": WRONG}, REMOTE_ADDR="10.0.0.1"
        )
        assert bad.status_code == expected


@override_settings(RATELIMIT_LOGIN="3/h")
def test_guessing_the_current_password_with_a_stolen_token_is_limited(make_tenant):
    acme = make_tenant("sl_pw")
    owner = owner_of(acme)
    client = acme.client()

    def change(current, ip):
        return client.post(
            "/api/v1/auth/password/",
            {"current_password": current, "new_password": "Another-horse-77"},
            content_type="application/json",
            REMOTE_ADDR=ip,
            **bearer(acme, owner),
        )

    # Counted per account from every address: spreading guesses does not help.
    assert [change(f"guess-{n}", f"10.0.1.{n}").status_code for n in range(4)] == [
        400, 400, 400, 429,
    ]  # fmt: skip
    assert change(PASSWORD, "10.0.1.9").status_code == 429  # not even the right one, for now
    with schema_context(acme.schema):
        assert User.objects.get(pk=owner.pk).check_password(PASSWORD)  # unchanged


@override_settings(RATELIMIT_LOGIN="3/h", RATELIMIT_PASSWORD_RESET="2/h")
def test_asking_for_reset_links_never_locks_anyone_out_of_signing_in(make_tenant, settings):
    settings.PASSWORD_RESET_DELIVERY = "tests.accounts.test_signin_limits.record_reset"
    SENT.clear()
    acme = make_tenant("sl_forgot")
    attacker = acme.client()
    for n in range(10):
        page = attacker.post(
            "/password/forgot/", {"email": acme.admin_email}, REMOTE_ADDR=f"10.0.2.{n}"
        )
        assert page.status_code == 302  # the same answer every time
    assert len(SENT) == 2  # the account's budget of links, not ten mails a minute
    # The owner's right password still works from anywhere, the attacker's address included.
    assert _login(acme, acme.admin_email, password=PASSWORD, ip="10.0.2.1").status_code == 200
    assert not mail.outbox


@override_settings(RATELIMIT_PASSWORD_RESET_IP="3/h")
def test_reset_requests_are_limited_per_address(make_tenant):
    acme = make_tenant("sl_forgot_ip")
    client = acme.client()
    statuses = [
        client.post(
            "/password/forgot/", {"email": f"u{n}@x.test"}, REMOTE_ADDR="10.0.3.1"
        ).status_code
        for n in range(4)
    ]
    assert statuses == [302, 302, 302, 429]
    assert _login(acme, acme.admin_email, password=PASSWORD, ip="10.0.3.1").status_code == 200


SENT: list[str] = []


def record_reset(*, user: User, link: str) -> None:
    SENT.append(link)

"""Rate limits: sign-in per address and account, API per caller, ask per plan, Redis down."""

from __future__ import annotations

import logging
import re

import pytest
from django.conf import settings
from django.test import RequestFactory, override_settings
from django_tenants.utils import tenant_context

from accounts import ratecounters, ratelimits
from accounts.ratelimits import RateLimited, check_ask_rate, client_ip
from tests.accounts.helpers import bearer, key_header, owner_of
from tests.factories import ApiKeyFactory

pytestmark = pytest.mark.django_db

ONE_SENTENCE = r"Too many {what}; try again in (\d+) seconds?\."


def _assert_one_sentence(message: str, what: str, retry_after: str | None = None) -> None:
    """The 429 message is a single sentence, whose wait matches Retry-After when given."""
    match = re.fullmatch(ONE_SENTENCE.format(what=re.escape(what)), message)
    assert match, message
    assert "Expected available" not in message
    if retry_after is not None:
        assert match.group(1) == retry_after


DEAD_REDIS = {
    **settings.CACHES,
    "dead": {
        **settings.CACHES["default"],
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {
            **settings.CACHES["default"]["OPTIONS"],
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
        },
    },
}


def _login(handle, email, ip="10.0.0.1", password="wrong-password", **extra):  # noqa: S107
    return handle.client().post(
        "/api/v1/auth/token/",
        {"email": email, "password": password},
        content_type="application/json",
        REMOTE_ADDR=ip,
        **extra,
    )


@override_settings(RATELIMIT_LOGIN="3/h")
def test_failed_sign_ins_are_limited_per_address_and_account(make_tenant):
    acme = make_tenant("rl_a")
    target = acme.admin_email
    statuses = [_login(acme, target, ip="10.0.0.1").status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    limited = _login(acme, target, ip="10.0.0.1", password="Correct-horse-42")
    assert limited.status_code == 429  # from that address, even the right password waits
    assert limited.json()["error"]["code"] == "throttled"
    assert 1 <= int(limited["Retry-After"]) <= 3600
    _assert_one_sentence(
        limited.json()["error"]["message"], "sign-in attempts", limited["Retry-After"]
    )
    # The person, from their own address, is not locked out by someone else's failures.
    assert _login(acme, target, ip="10.9.9.9", password="Correct-horse-42").status_code == 200
    assert _login(acme, target, ip="10.9.9.9").status_code == 401


@override_settings(RATELIMIT_LOGIN_IP="3/h")
def test_sign_in_is_limited_per_ip_across_emails_including_the_dashboard(make_tenant):
    acme = make_tenant("rl_b")
    for n in range(3):
        assert _login(acme, f"user{n}@rl-b.test").status_code == 401
    assert _login(acme, acme.admin_email, password="Correct-horse-42").status_code == 429
    page = acme.client().post(
        "/login/", {"username": "x@rl-b.test", "password": "y"}, REMOTE_ADDR="10.0.0.1"
    )
    assert page.status_code == 429
    assert b"Too many sign-in attempts" in page.content
    assert b"Expected available" not in page.content
    assert "Retry-After" in page


@override_settings(RATELIMIT_LOGIN_IP="2/h")
def test_forwarded_for_counts_only_behind_a_trusted_proxy(make_tenant):
    acme = make_tenant("rl_c")
    # Without a trusted proxy a client cannot dodge the limit by inventing X-Forwarded-For.
    spoofed = [
        _login(acme, f"u{n}@rl-c.test", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
        for n in range(3)
    ]
    assert spoofed == [401, 401, 429]
    with override_settings(TRUSTED_PROXY_COUNT=1):
        proxied = [
            _login(
                acme, f"p{n}@rl-c.test", ip="10.0.0.99", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}"
            ).status_code
            for n in range(3)
        ]
    assert proxied == [401, 401, 401]


def test_client_ip_takes_the_address_the_trusted_proxies_saw():
    factory = RequestFactory()
    request = factory.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 1.2.3.4")
    assert client_ip(request) == "10.0.0.2"
    with override_settings(TRUSTED_PROXY_COUNT=1):
        assert client_ip(request) == "1.2.3.4"
    with override_settings(TRUSTED_PROXY_COUNT=2):
        assert client_ip(request) == "6.6.6.6"
    with override_settings(TRUSTED_PROXY_COUNT=3):
        assert client_ip(request) == "10.0.0.2"  # fewer hops than proxies: do not guess


@override_settings(RATELIMIT_API="3/h")
def test_api_limit_per_caller_with_headers(make_tenant):
    acme = make_tenant("rl_d")
    headers = bearer(acme, owner_of(acme))
    responses = [acme.client().get("/api/v1/tenant/", **headers) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r["X-RateLimit-Remaining"] for r in responses[:3]] == ["2", "1", "0"]
    assert responses[0]["X-RateLimit-Limit"] == "3"
    assert int(responses[3]["Retry-After"]) >= 1
    assert responses[3].json()["error"]["message"].startswith("Too many requests; try again in")
    # An API key is a separate caller with its own budget.
    key = key_header(ApiKeyFactory(tenant=acme, scopes=["read"]).raw)
    assert acme.client().get("/api/v1/tenant/", **key).status_code == 200


def test_ask_limit_follows_the_tenant_plan(make_tenant):
    acme = make_tenant("rl_e")
    acme.tenant.plan = "free"  # 30 questions a minute
    request = RequestFactory().post("/api/v1/ask/")
    request.tenant = acme.tenant
    with tenant_context(acme.tenant):
        for _ in range(30):
            check_ask_rate(request)
        with pytest.raises(RateLimited) as raised:
            check_ask_rate(request)
    assert raised.value.status_code == 429
    _assert_one_sentence(
        str(raised.value.detail),
        "searches and questions for this workspace's plan",
        str(raised.value.wait),
    )


@override_settings(CACHES=DEAD_REDIS, RATELIMIT_USE_CACHE="dead")
def test_redis_down_fails_open_for_the_api_with_a_warning(make_tenant, caplog, monkeypatch):
    acme = make_tenant("rl_f")
    monkeypatch.setattr(ratelimits, "_last_warning", 0.0)
    headers = bearer(acme, owner_of(acme))
    with caplog.at_level(logging.WARNING, logger="accounts.ratelimits"):
        response = acme.client().get("/api/v1/tenant/", **headers)
    assert response.status_code == 200
    assert "Rate limiting skipped" in caplog.text

    request = RequestFactory().post("/api/v1/ask/")
    request.tenant = acme.tenant
    check_ask_rate(request)  # fails open too: no exception


@override_settings(CACHES=DEAD_REDIS, RATELIMIT_USE_CACHE="dead")
def test_redis_down_fails_closed_for_sign_in_with_a_503(make_tenant):
    acme = make_tenant("rl_g")
    response = _login(acme, acme.admin_email, password="Correct-horse-42")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "rate_limit_unavailable"
    assert response["Retry-After"] == "60"
    page = acme.client().post("/login/", {"username": acme.admin_email, "password": "x"})
    assert page.status_code == 503


def _plan(handle, plan):
    handle.tenant.plan = plan
    handle.tenant.save(update_fields=["plan"])


def _search(handle, headers):
    return handle.client().post(
        "/api/v1/search/", {"query": "anything"}, content_type="application/json", **headers
    )


def test_a_search_counts_once_against_the_plan_with_the_api_limit_in_one_round_trip(make_tenant):
    acme = make_tenant("rl_h")
    _plan(acme, "free")  # 30 questions a minute
    headers = bearer(acme, owner_of(acme))
    statuses = [_search(acme, headers).status_code for _ in range(31)]
    assert statuses == [200] * 30 + [429]  # counted twice, the 16th would be refused
    refused = _search(acme, headers)
    _assert_one_sentence(
        refused.json()["error"]["message"],
        "searches and questions for this workspace's plan",
        refused["Retry-After"],
    )
    assert refused["X-RateLimit-Remaining"] == "0"


@override_settings(RATELIMIT_API="2/h")
def test_a_request_refused_by_the_api_limit_does_not_use_the_plan(make_tenant):
    acme = make_tenant("rl_i")
    _plan(acme, "free")
    headers = bearer(acme, owner_of(acme))
    statuses = [_search(acme, headers).status_code for _ in range(4)]
    assert statuses == [200, 200, 429, 429]
    # Only the two searches that went through used the plan's 30 questions.
    request = RequestFactory().post("/api/v1/ask/")
    request.tenant = acme.tenant
    with tenant_context(acme.tenant):
        for _ in range(28):
            check_ask_rate(request)
        with pytest.raises(RateLimited):
            check_ask_rate(request)


def test_counters_start_a_window_and_report_the_time_left(make_tenant):
    acme = make_tenant("rl_j")
    counter = ratecounters.Counter("probe", "someone", "2/h")
    with tenant_context(acme.tenant):
        usages = [(ratecounters.count([counter]) or [])[0] for _ in range(3)]
    assert [u.count for u in usages] == [1, 2, 3]
    assert [u.should_limit for u in usages] == [False, False, True]
    assert 3500 < usages[2].seconds_left <= 3600
    with pytest.raises(ValueError, match="not of the form"):
        ratecounters.parse_rate("often")
    assert ratecounters.parse_rate("10/5m") == (10, 300)


def test_rate_limited_is_one_sentence_with_the_wait_rounded_up():
    assert str(RateLimited(1, "requests").detail) == "Too many requests; try again in 1 second."
    limited = RateLimited(12.2, "sign-in attempts")
    assert str(limited.detail) == "Too many sign-in attempts; try again in 13 seconds."
    assert limited.wait == 13
    assert str(RateLimited(None, "requests").detail).endswith("in 1 second.")

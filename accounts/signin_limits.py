"""Limits on signing in, password checks and reset links: they stop guessing without letting
anyone lock a person out.

- **Sign-in** (token endpoint and dashboard login): every attempt counts against the client
  address (`RATELIMIT_LOGIN_IP`, whatever the account), and every *failed* attempt against
  the pair (client address, account) (`RATELIMIT_LOGIN`); a sign-in that succeeds takes its
  count back. Someone failing on purpose from their own address therefore cannot lock a
  person out: the right password from anywhere else still works.
- **The account** is the one the email resolves to, with the lookup sign-in itself uses
  (case-insensitive in PostgreSQL, which also folds the long s and the dotless i), so every
  spelling that reaches an account shares its budget. An email without an account is keyed
  on its NFKC case-folded form.
- **Changing a password**: each wrong `current_password` counts against the account from any
  address (`RATELIMIT_LOGIN`), so a stolen token cannot be used to guess the password and
  take the account over.
- **Forgotten password**: requests per client address (`RATELIMIT_PASSWORD_RESET_IP`, `429`
  above it) and links sent per account (`RATELIMIT_PASSWORD_RESET`; above it no link is sent
  and the page answers as always, revealing nothing). Neither touches a sign-in budget.

When Redis cannot be reached these fail closed with `503`: they are what stops guessing.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from rest_framework.request import Request

from accounts import ratecounters
from accounts.models import User
from accounts.ratecounters import Counter, Usage
from accounts.ratelimits import RateLimited, RateLimitUnavailable, client_ip, django_request

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    """A counted attempt; `succeeded()` takes its failure count back."""

    failure: Counter

    def succeeded(self) -> None:
        try:
            ratecounters.uncount(self.failure)
        except Exception as exc:  # the attempt then stays counted: harmless
            logger.warning("Could not take back a sign-in attempt's count: %s", exc)


def account_key(email: str) -> str:
    """Whose budget an email spends: the account it signs in to, else its folded form."""
    email = email.strip()
    user_id = User.objects.filter(email__iexact=email).values_list("pk", flat=True).first()
    if user_id is not None:
        return f"user:{user_id}"
    return "email:" + unicodedata.normalize("NFKC", email).casefold()


def _count(counters: list[Counter], what: str) -> list[Usage]:
    try:
        usages = ratecounters.count(counters)
    except Exception as exc:
        logger.warning("Sign-in limits unavailable, refusing: the cache is unreachable (%s).", exc)
        raise RateLimitUnavailable() from exc
    for usage in usages or []:
        if usage.should_limit:
            raise RateLimited(usage.seconds_left, what)
    return usages or []


def check_login_rate(request: HttpRequest | Request, email: str) -> Attempt:
    """Count a sign-in attempt (raise RateLimited / RateLimitUnavailable); call
    `succeeded()` on the result when the password was right."""
    address = client_ip(django_request(request))
    failure = Counter(
        "login-failures", f"{address}|{account_key(email)}", str(settings.RATELIMIT_LOGIN)
    )
    per_address = Counter("login-ip", address, str(settings.RATELIMIT_LOGIN_IP))
    _count([per_address, failure], "sign-in attempts")
    return Attempt(failure)


def check_password_rate(user: User) -> Attempt:
    """Count a check of `user`'s current password; `succeeded()` when it was right."""
    failure = Counter("password-check", f"user:{user.pk}", str(settings.RATELIMIT_LOGIN))
    _count([failure], "password attempts")
    return Attempt(failure)


def check_reset_rate(request: HttpRequest) -> None:
    """Count a forgotten-password request against the client address."""
    address = client_ip(request)
    counter = Counter("reset-ip", address, str(settings.RATELIMIT_PASSWORD_RESET_IP))
    _count([counter], "password reset requests")


def may_send_reset_link(user: User) -> bool:
    """Count a reset link for `user`; False once the account's budget is spent."""
    counter = Counter("reset-account", f"user:{user.pk}", str(settings.RATELIMIT_PASSWORD_RESET))
    try:
        _count([counter], "password reset links")
    except RateLimited:
        return False
    return True

"""Tenant-bound JWTs (simplejwt) and the checks every token passes before it is trusted.

Every token carries two extra claims, copied from the refresh token into its access tokens:

- `tenant`: the schema of the workspace that issued it. A token is refused (401) on any other
  workspace's host, on every request and on refresh, because user ids repeat across schemas.
- `pwd`: a keyed fingerprint of the user's password hash. Changing (or resetting) a password
  changes the hash, so every token issued before the change stops working at once, on every
  request and on refresh, without a database write per token.
"""

from __future__ import annotations

from typing import Any

from django.utils.crypto import salted_hmac
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.tokens import RefreshToken, Token

from accounts.models import User

TENANT_CLAIM = "tenant"
PASSWORD_CLAIM = "pwd"  # noqa: S105 - a claim name, not a secret


def password_fingerprint(user: User) -> str:
    """Short keyed digest of the stored password hash; changes whenever the password does."""
    return salted_hmac(
        "accounts.tokens.password", user.password or "", algorithm="sha256"
    ).hexdigest()[:20]


def issue_tokens(*, user: User, schema: str) -> dict[str, str]:
    """A fresh refresh/access pair for `user`, bound to the workspace `schema`."""
    refresh = RefreshToken.for_user(user)  # records an OutstandingToken in this schema
    refresh[TENANT_CLAIM] = schema
    refresh[PASSWORD_CLAIM] = password_fingerprint(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def check_tenant_claim(token: Token | dict[str, Any], schema: str) -> None:
    """Refuse a token issued by another workspace (or by none)."""
    if token.get(TENANT_CLAIM) != schema:
        raise InvalidToken(
            "This token was issued for another workspace; sign in on this workspace's address.",
            code="token_wrong_tenant",
        )


def check_password_claim(token: Token | dict[str, Any], user: User) -> None:
    """Refuse a token issued before the user's latest password change."""
    if token.get(PASSWORD_CLAIM) != password_fingerprint(user):
        raise InvalidToken(
            "Your password was changed after this token was issued; sign in again.",
            code="token_revoked",
        )


def parse_refresh_token(raw: str) -> RefreshToken:
    """Decode and verify a refresh token (signature, expiry, blacklist), or raise 401."""
    try:
        return RefreshToken(raw)  # type: ignore[arg-type]  # simplejwt accepts str
    except TokenError as exc:
        raise InvalidToken(
            "This refresh token is invalid, expired or already used; sign in again.",
            code="token_not_valid",
        ) from exc

"""Tenant-bound JWTs (simplejwt) and the checks every token passes before it is trusted.

Every token carries two extra claims, copied from the refresh token into its access tokens:

- `tenant`: the schema of the workspace that issued it. A token is refused (401) on any other
  workspace's host, on every request and on refresh, because user ids repeat across schemas.
- `pwd`: a keyed fingerprint of the user's password hash. Changing (or resetting) a password
  changes the hash, so every token issued before the change stops working at once, on every
  request and on refresh, without a database write per token.
- `fam`: the family, i.e. the id of the refresh token a sign-in issued; rotation keeps it.
  A refresh token is spent atomically (one blacklist row); presenting a spent one again means
  it was copied, so every refresh token of its family is revoked.

Deactivating a person sets `User.access_revoked_at`: tokens issued until then stay refused
after a reactivation, although they have not expired yet.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.crypto import salted_hmac
from rest_framework_simplejwt.exceptions import InvalidToken, TokenBackendError, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken, Token

from accounts.models import User

TENANT_CLAIM = "tenant"
PASSWORD_CLAIM = "pwd"  # noqa: S105 - a claim name, not a secret
FAMILY_CLAIM = "fam"


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
    refresh[FAMILY_CLAIM] = refresh[api_settings.JTI_CLAIM]
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


def check_not_revoked(token: Token | dict[str, Any], user: User) -> None:
    """Refuse a token issued before the user's access was last turned off."""
    revoked = user.access_revoked_at
    if revoked is not None and int(token.get("iat", 0)) <= int(revoked.timestamp()):
        raise InvalidToken(
            "Your access was turned off after this token was issued; sign in again.",
            code="token_revoked",
        )


def verified_refresh_token(raw: str) -> RefreshToken:
    """Decode a refresh token, checking signature, expiry and type but not whether it was
    spent (claim_refresh_token does that, atomically)."""
    try:
        token_backend.decode(raw, verify=True)  # type: ignore[arg-type]  # str is accepted
        refresh = RefreshToken(raw, verify=False)  # type: ignore[arg-type]  # str is accepted
        Token.verify(refresh)  # expiry and type, without BlacklistMixin's check
    except (TokenError, TokenBackendError) as exc:
        raise InvalidToken(
            "This refresh token is invalid or expired; sign in again.", code="token_not_valid"
        ) from exc
    return refresh


def claim_refresh_token(refresh: RefreshToken, user: User) -> None:
    """Spend `refresh` (one blacklist row, so two concurrent refreshes cannot both succeed);
    a token spent before revokes its whole family and is refused."""
    jti = refresh[api_settings.JTI_CLAIM]
    outstanding = OutstandingToken.objects.filter(jti=jti, user=user).first()
    if outstanding is None:
        raise InvalidToken(
            "This refresh token is invalid, expired or already used; sign in again.",
            code="token_not_valid",
        )
    _, created = BlacklistedToken.objects.get_or_create(token=outstanding)
    if not created:
        revoke_family(user=user, family=str(refresh.get(FAMILY_CLAIM, jti)))
        raise InvalidToken(
            "This refresh token was already used, so it may have been copied: every session "
            "of that sign-in was ended. Sign in again.",
            code="token_reused",
        )


def revoke_family(*, user: User, family: str) -> int:
    """Blacklist `user`'s unspent refresh tokens of `family`; returns how many."""
    revoked = 0
    live = OutstandingToken.objects.filter(
        user=user, blacklistedtoken__isnull=True, expires_at__gt=timezone.now()
    )
    for outstanding in live:
        try:
            payload = token_backend.decode(outstanding.token, verify=False)  # type: ignore[arg-type]
        except TokenBackendError:
            continue
        if payload.get(FAMILY_CLAIM, payload.get(api_settings.JTI_CLAIM)) == family:
            BlacklistedToken.objects.get_or_create(token=outstanding)
            revoked += 1
    return revoked


def rotated(refresh: RefreshToken) -> dict[str, str]:
    """A new pair from a spent refresh token: same claims (tenant, password, family)."""
    if FAMILY_CLAIM not in refresh:  # issued before families: it starts its own
        refresh[FAMILY_CLAIM] = refresh[api_settings.JTI_CLAIM]
    access = str(refresh.access_token)
    refresh.set_jti()
    refresh.set_exp()
    refresh.set_iat()
    refresh.outstand()
    return {"access": access, "refresh": str(refresh)}


def parse_refresh_token(raw: str) -> RefreshToken:
    """Decode and verify a refresh token (signature, expiry, blacklist), or raise 401."""
    try:
        return RefreshToken(raw)  # type: ignore[arg-type]  # simplejwt accepts str
    except TokenError as exc:
        raise InvalidToken(
            "This refresh token is invalid, expired or already used; sign in again.",
            code="token_not_valid",
        ) from exc

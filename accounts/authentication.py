"""DRF authentication for the tenant API: tenant-bound JWTs and per-tenant API keys.

Both run on every API request (settings REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]),
so a route added later is covered without doing anything. A credential that is present but
wrong (forged, expired, revoked, from another workspace) is always a 401, never ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token

from accounts.models import ApiKey, User
from accounts.tokens import check_not_revoked, check_password_claim, check_tenant_claim
from config import sqlrows

API_KEY_PREFIX = "di_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def current_schema(request: Request) -> str | None:
    tenant = getattr(request._request, "tenant", None)
    return getattr(tenant, "schema_name", None)


class TenantJWTAuthentication(JWTAuthentication):
    """simplejwt's Bearer authentication, refusing tokens from other workspaces."""

    www_authenticate_realm = "api"

    def authenticate(self, request: Request) -> tuple[User, Token] | None:  # type: ignore[override]
        header = self.get_header(request)
        if header is None:
            return None
        raw_token = self.get_raw_token(header)
        if raw_token is None:
            return None
        try:
            token = self.get_validated_token(raw_token)
        except InvalidToken as exc:
            raise InvalidToken(
                "Your access token is invalid or expired; refresh it or sign in again.",
                code="token_not_valid",
            ) from exc
        schema = current_schema(request)
        check_tenant_claim(token, schema or "")
        user = self.get_user(token)
        return user, token

    def get_user(self, validated_token: Token) -> User:  # type: ignore[override]
        user_id = validated_token.get(api_settings.USER_ID_CLAIM)
        user = User.objects.filter(pk=user_id).first() if user_id is not None else None
        if user is None or not user.is_active:
            raise AuthenticationFailed(
                "This account no longer has access to the workspace.", code="user_inactive"
            )
        check_password_claim(validated_token, user)
        check_not_revoked(validated_token, user)
        return user


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def generate_api_key() -> tuple[str, str]:
    """A new (prefix, full key). The secret part has 256 bits of entropy."""
    prefix = secrets.token_hex(6)
    return prefix, f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


def _prefix_of(raw_key: str) -> str | None:
    if not raw_key.startswith(API_KEY_PREFIX):
        return None
    parts = raw_key.split("_", 2)
    return parts[1] if len(parts) == 3 and parts[1] and parts[2] else None


def _key_with_creator(prefix: str) -> ApiKey | None:
    """The key and the person it acts as, in one query, fresh on every request.

    Plain SQL (config/sqlrows.py): this runs on every API-key request, and building the ORM
    query cost four times running it.
    """
    key_columns = sqlrows.columns(ApiKey, "k")
    sql = (
        f"SELECT {', '.join(key_columns + sqlrows.columns(User, 'u'))} "  # noqa: S608
        f"FROM {sqlrows.table(ApiKey)} AS k "
        f"JOIN {sqlrows.table(User)} AS u ON u.id = k.created_by_id WHERE k.prefix = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    key = sqlrows.instance(ApiKey, row[: len(key_columns)])
    key.created_by = sqlrows.instance(User, row[len(key_columns) :])
    return key


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Api-Key <key>` or `X-API-Key: <key>`.

    request.user is the admin who created the key (so uploads have an owner and
    IsAuthenticated passes), read fresh on every request; request.auth is the ApiKey. What
    the request may do is the key's `scopes` limited by the creator's current role
    (accounts.permissions), so demoting the creator narrows the key at once. A key stops
    working when it is revoked, expires, or its creator is deactivated.
    """

    keyword = "Api-Key"

    def authenticate(self, request: Request) -> tuple[User | AnonymousUser, ApiKey] | None:
        raw_key = self._raw_key(request)
        if raw_key is None:
            return None
        prefix = _prefix_of(raw_key)
        key = _key_with_creator(prefix) if prefix else None
        if key is None or not hmac.compare_digest(key.key_hash, hash_api_key(raw_key)):
            raise AuthenticationFailed(
                "This API key is not valid for this workspace.", code="api_key_invalid"
            )
        now = timezone.now()
        if key.revoked_at is not None:
            raise AuthenticationFailed(
                "This API key was revoked; ask an admin for a new one.", code="api_key_revoked"
            )
        if key.expires_at is not None and key.expires_at <= now:
            raise AuthenticationFailed(
                "This API key has expired; ask an admin for a new one.", code="api_key_expired"
            )
        if not key.created_by.is_active:
            raise AuthenticationFailed(
                "The person who created this API key no longer has access; ask an admin "
                "for a new key.",
                code="api_key_owner_inactive",
            )
        if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
            # At most one write a minute per key, whatever the request rate.
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now
        return key.created_by, key

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'

    def _raw_key(self, request: Request) -> str | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == self.keyword.lower():
            return value.strip() or ""
        explicit = request.META.get("HTTP_X_API_KEY")
        return explicit.strip() if explicit is not None else None

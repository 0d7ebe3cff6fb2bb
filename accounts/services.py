"""Writes for accounts: members (invite, role, deactivate), API keys, token revocation.

Each service takes keyword-only arguments, runs in one transaction, and refuses a forbidden
change with `ActionRefused` (a DRF error carrying the status and a sentence).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import APIException
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.authentication import generate_api_key, hash_api_key
from accounts.models import ApiKey, Role, User


class ActionRefused(APIException):
    def __init__(self, message: str, *, code: str, status: int = 409) -> None:
        self.status_code = status
        super().__init__(detail=message, code=code)


def _active_owner_count() -> int:
    return User.objects.filter(role=Role.OWNER, is_active=True).count()


def _require_can_manage(*, actor: User, target: User) -> None:
    if target.role == Role.OWNER and actor.role != Role.OWNER:
        raise ActionRefused(
            "Only an owner can change or deactivate another owner.",
            code="owner_protected",
            status=403,
        )


def _require_not_last_owner(target: User, *, action: str) -> None:
    if target.role == Role.OWNER and target.is_active and _active_owner_count() <= 1:
        raise ActionRefused(
            f"You cannot {action} the workspace's last owner; make someone else an owner first.",
            code="last_owner",
        )


@transaction.atomic
def invite_member(*, email: str, role: str, full_name: str = "", invited_by: User) -> User:
    """Create a member with no usable password; they choose one through the invitation link."""
    email = User.objects.normalize_email(email).lower()
    if role == Role.OWNER and invited_by.role != Role.OWNER:
        raise ActionRefused(
            "Only an owner can invite another owner.", code="owner_protected", status=403
        )
    if User.objects.filter(email__iexact=email).exists():
        raise ActionRefused(f"{email} is already a member of this workspace.", code="member_exists")
    return User.objects.create_user(email=email, password=None, role=role, full_name=full_name)


@transaction.atomic
def change_member_role(*, actor: User, member: User, role: str) -> User:
    member = User.objects.select_for_update().get(pk=member.pk)
    if role == member.role:
        return member
    _require_can_manage(actor=actor, target=member)
    if role == Role.OWNER and actor.role != Role.OWNER:
        raise ActionRefused(
            "Only an owner can make someone an owner.", code="owner_protected", status=403
        )
    _require_not_last_owner(member, action="demote")
    member.role = role
    member.save(update_fields=["role"])
    return member


@transaction.atomic
def deactivate_member(*, actor: User, member: User) -> User:
    """Turn off a member's access: sessions, access and refresh tokens, and their API keys."""
    member = User.objects.select_for_update().get(pk=member.pk)
    if member.pk == actor.pk:
        raise ActionRefused(
            "You cannot deactivate yourself; ask another admin.", code="self_deactivation"
        )
    _require_can_manage(actor=actor, target=member)
    _require_not_last_owner(member, action="deactivate")
    if member.is_active:
        member.is_active = False
        member.save(update_fields=["is_active"])
        revoke_refresh_tokens(user=member)
    return member


@transaction.atomic
def reactivate_member(*, actor: User, member: User) -> User:
    member = User.objects.select_for_update().get(pk=member.pk)
    _require_can_manage(actor=actor, target=member)
    if not member.is_active:
        member.is_active = True
        member.save(update_fields=["is_active"])
    return member


def revoke_refresh_tokens(*, user: User) -> int:
    """Blacklist every outstanding refresh token of `user` in this workspace."""
    outstanding = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    tokens = [BlacklistedToken(token=token) for token in outstanding]
    BlacklistedToken.objects.bulk_create(tokens, ignore_conflicts=True)
    return len(tokens)


@transaction.atomic
def create_api_key(
    *, name: str, scopes: list[str], created_by: User, expires_at: datetime | None = None
) -> tuple[ApiKey, str]:
    """A new key and its plaintext, which is returned only this once."""
    prefix, raw_key = generate_api_key()
    api_key = ApiKey(
        name=name,
        prefix=prefix,
        key_hash=hash_api_key(raw_key),
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
        created_by=created_by,
    )
    api_key.full_clean()
    api_key.save()
    return api_key, raw_key


@transaction.atomic
def revoke_api_key(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key

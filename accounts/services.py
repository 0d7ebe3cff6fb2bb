"""Writes for accounts: members (invite, role, deactivate), API keys, token revocation.

Each service takes keyword-only arguments, runs in one transaction, and refuses a forbidden
change with `ActionRefused` (config.errors: a sentence, a code and the HTTP status).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.authentication import generate_api_key, hash_api_key
from accounts.collection_access import UnknownCollection
from accounts.models import ApiKey, Collection, Role, User
from config.errors import Refused


class ActionRefused(Refused):
    """A member or key change refused: 409 by default, 403 when the caller may not."""


def _locked(actor: User, member: User) -> tuple[User, User, int]:
    """Fresh rows of `actor` and `member`, locked with every active owner in one statement
    (rows in id order, so two changes never wait on each other in a cycle), and the number
    of active owners. Two owners demoting each other at once then run one after the other,
    and the second sees the first's change."""
    rows = {
        user.pk: user
        for user in User.objects.select_for_update()
        .filter(Q(pk__in=[actor.pk, member.pk]) | Q(role=Role.OWNER, is_active=True))
        .order_by("pk")
    }
    owners = sum(1 for user in rows.values() if user.role == Role.OWNER and user.is_active)
    actor = rows[actor.pk]
    if not actor.is_active or actor.role not in (Role.OWNER, Role.ADMIN):
        raise ActionRefused(  # changed by someone else while this request waited
            "Your own role or access changed meanwhile; reload and try again.",
            code="permission_denied",
            status=403,
        )
    return actor, rows[member.pk], owners


def _require_can_manage(*, actor: User, target: User) -> None:
    if target.role == Role.OWNER and actor.role != Role.OWNER:
        raise ActionRefused(
            "Only an owner can change or deactivate another owner.",
            code="owner_protected",
            status=403,
        )


def _require_not_last_owner(target: User, *, owners: int, action: str) -> None:
    if target.role == Role.OWNER and target.is_active and owners <= 1:
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
def update_member(
    *, actor: User, member: User, role: str | None = None, full_name: str | None = None
) -> User:
    """Change a member's role and/or name; owners are protected from admins either way."""
    actor, member, owners = _locked(actor, member)
    changes_role = role is not None and role != member.role
    changes_name = full_name is not None and full_name != member.full_name
    if not (changes_role or changes_name):
        return member
    _require_can_manage(actor=actor, target=member)
    if changes_role:
        if role == Role.OWNER and actor.role != Role.OWNER:
            raise ActionRefused(
                "Only an owner can make someone an owner.", code="owner_protected", status=403
            )
        _require_not_last_owner(member, owners=owners, action="demote")
        member.role = str(role)
    if changes_name:
        member.full_name = str(full_name)
    member.save(
        update_fields=[f for f, on in (("role", changes_role), ("full_name", changes_name)) if on]
    )
    return member


def change_member_role(*, actor: User, member: User, role: str) -> User:
    return update_member(actor=actor, member=member, role=role)


@transaction.atomic
def deactivate_member(*, actor: User, member: User) -> User:
    """Turn off a member's access: sessions, access and refresh tokens, and their API keys."""
    actor, member, owners = _locked(actor, member)
    if member.pk == actor.pk:
        raise ActionRefused(
            "You cannot deactivate yourself; ask another admin.", code="self_deactivation"
        )
    _require_can_manage(actor=actor, target=member)
    _require_not_last_owner(member, owners=owners, action="deactivate")
    if member.is_active:
        member.is_active = False
        member.access_revoked_at = timezone.now()  # its tokens stay refused after reactivation
        member.save(update_fields=["is_active", "access_revoked_at"])
        revoke_refresh_tokens(user=member)
    return member


def check_reinvitable(*, actor: User, member: User) -> None:
    """Refuse a new invitation link unless `member` is invited and has not chosen a password."""
    _require_can_manage(actor=actor, target=member)
    if not member.is_active:
        raise ActionRefused(
            f"{member.email} is deactivated; reactivate them before sending a new link.",
            code="member_inactive",
        )
    if member.has_usable_password():
        raise ActionRefused(
            f'{member.email} has already chosen a password; they can use "Forgot your '
            'password?" on the sign-in page instead.',
            code="already_joined",
        )


@transaction.atomic
def reactivate_member(*, actor: User, member: User) -> User:
    actor, member, _owners = _locked(actor, member)
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
    *,
    name: str,
    scopes: list[str],
    created_by: User,
    expires_at: datetime | None = None,
    collection_ids: Sequence[int] | None = None,
) -> tuple[ApiKey, str]:
    """A new key and its plaintext, which is returned only this once.

    With `collection_ids` the key reads only those collections (accounts/collection_access.py).
    """
    collections = _key_collections(collection_ids)
    prefix, raw_key = generate_api_key()
    api_key = ApiKey(
        name=name,
        prefix=prefix,
        key_hash=hash_api_key(raw_key),
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
        created_by=created_by,
        collections_limited=collections is not None,
    )
    api_key.full_clean()
    with transaction.atomic():
        api_key.save()
        if collections:
            api_key.collections.set(collections)
    return api_key, raw_key


def _key_collections(collection_ids: Sequence[int] | None) -> list[Collection] | None:
    if collection_ids is None:
        return None
    wanted = sorted(set(collection_ids))
    if not wanted:
        raise UnknownCollection(
            "No collection is chosen, so the key could read nothing; choose at least one, or "
            "all collections (no collection_ids) for a key that reads every collection its "
            "creator reads."
        )
    found = {c.pk: c for c in Collection.objects.filter(pk__in=wanted)}
    missing = [str(i) for i in wanted if i not in found]
    if missing:
        raise UnknownCollection(
            f"There is no collection {', '.join(missing)} in this workspace; list the "
            "collections to get their ids."
        )
    return [found[i] for i in wanted]


@transaction.atomic
def revoke_api_key(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key

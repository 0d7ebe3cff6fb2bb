"""Role- and scope-based permissions for the tenant API (DRF permission classes).

Roles: owner > admin > member > viewer. Viewers search and ask; members also upload and
delete their own documents; admins and owners manage members, API keys and settings.
API keys act for machines: scope `read` (search, ask, list) or `write` (also upload).

A key acts as the person who created it (`request.user`, loaded fresh on every request by
accounts.authentication), and may never do more than that person's *current* role allows:
its rights are its scopes intersected with its creator's role. A `write` key whose creator
was demoted to viewer can only read; one whose creator is now a member changes only the
documents that member uploaded. Every refusal sets `self.message` to the real reason.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.models import Role

WRITER_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.MEMBER})
ADMIN_ROLES = frozenset({Role.OWNER, Role.ADMIN})
READ_SCOPES = frozenset({"read", "write"})

NO_SCOPE_KEY = (
    "This API key has neither the read nor the write scope; ask an admin for a key with one."
)
READ_ONLY_KEY = (
    "This API key has only the read scope, so it can search, ask and list but not upload, "
    "change or delete documents; use a key with the write scope."
)
VIEWER_PERSON = (
    "Viewers can search and ask but not upload, change or delete documents; ask an admin "
    "to make you a member."
)
MEMBER_PERSON = (
    "Members can change or delete only the documents they uploaded themselves; ask an admin "
    "to do it for you."
)
KEY_NOT_FOR_ADMIN = (
    "API keys cannot do this; an owner or admin has to sign in (with an access token or the "
    "dashboard) to do it."
)
NOT_ADMIN_PERSON = (
    "Only the workspace's owners and admins can do this; ask one of them to do it for you."
)
KEY_NOT_FOR_PERSON = (
    "API keys cannot use this endpoint; it is for people signed in with an access token or "
    "the dashboard."
)


def key_scopes(request: Request) -> frozenset[str] | None:
    """The scopes of the API key that authenticated the request, or None for a person."""
    scopes = getattr(request.auth, "scopes", None)
    return frozenset(scopes) if scopes is not None else None


def _role(request: Request) -> str | None:
    user = request.user
    if not user or not user.is_authenticated or not user.is_active:
        return None
    return str(getattr(user, "role", ""))


def _role_label(role: str) -> str:
    return str(Role(role).label).lower() if role in Role.values else role or "no role"


def _creator(request: Request) -> str:
    return str(getattr(request.user, "email", "") or "unknown")


def _demoted_key_creator(request: Request, role: str) -> str:
    return (
        f"This API key's creator ({_creator(request)}) is now a {_role_label(role)} and may no "
        "longer change documents, so neither may the key; ask an admin for a new key."
    )


def _member_key_creator(request: Request) -> str:
    return (
        f"This API key's creator ({_creator(request)}) is now a member, who may change or "
        "delete only the documents they uploaded, and this one was uploaded by someone else; "
        "ask an admin to do it."
    )


class CanRead(BasePermission):
    """Any active member of the tenant, or an API key (read or write scope)."""

    message = "Sign in to this workspace (or use one of its API keys) to do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        scopes = key_scopes(request)
        if scopes is not None and not scopes & READ_SCOPES:
            self.message = NO_SCOPE_KEY
            return False
        return _role(request) is not None


class CanWrite(BasePermission):
    """Reads for every member; changes for owners, admins and members, or `write` keys.

    A key's rights never exceed its creator's current role (see the module docstring).
    """

    message = "Sign in to this workspace (or use one of its API keys) to do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        role = _role(request)
        scopes = key_scopes(request)
        if role is None:
            return False
        if scopes is not None and not scopes & READ_SCOPES:
            self.message = NO_SCOPE_KEY
            return False
        if request.method in SAFE_METHODS:
            return True
        if scopes is not None and "write" not in scopes:
            self.message = READ_ONLY_KEY
            return False
        if role not in WRITER_ROLES:
            self.message = VIEWER_PERSON if scopes is None else _demoted_key_creator(request, role)
            return False
        return True

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        if not self.has_permission(request, view):  # never looser than the view-level check
            return False
        if _role(request) in ADMIN_ROLES:
            return True
        # Members (and keys created by a member) change only what the member uploaded.
        owner_id = getattr(obj, "uploaded_by_id", None)
        if owner_id is not None and owner_id == request.user.pk:
            return True
        is_key = key_scopes(request) is not None
        self.message = _member_key_creator(request) if is_key else MEMBER_PERSON
        return False


class IsTenantAdmin(BasePermission):
    """Owners and admins only; API keys never manage members or keys."""

    message = NOT_ADMIN_PERSON

    def has_permission(self, request: Request, view: APIView) -> bool:
        if key_scopes(request) is not None:
            self.message = KEY_NOT_FOR_ADMIN
            return False
        return _role(request) in ADMIN_ROLES


class IsPerson(BasePermission):
    """A signed-in person (JWT or session), not an API key: for profile and password changes."""

    message = "Sign in to this workspace to do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if key_scopes(request) is not None:
            self.message = KEY_NOT_FOR_PERSON
            return False
        return _role(request) is not None

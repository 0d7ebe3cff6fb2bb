"""Role- and scope-based permissions for the tenant API (DRF permission classes).

Roles: owner > admin > member > viewer. Viewers search and ask; members also upload and
delete their own documents; admins and owners manage members, API keys and settings.
API keys act for machines: scope `read` (search, ask, list) or `write` (also upload).
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.models import Role

WRITER_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.MEMBER})
ADMIN_ROLES = frozenset({Role.OWNER, Role.ADMIN})


def key_scopes(request: Request) -> frozenset[str] | None:
    """The scopes of the API key that authenticated the request, or None for a person."""
    scopes = getattr(request.auth, "scopes", None)
    return frozenset(scopes) if scopes is not None else None


def _role(request: Request) -> str | None:
    user = request.user
    if not user or not user.is_authenticated or not user.is_active:
        return None
    return str(getattr(user, "role", ""))


class CanRead(BasePermission):
    """Any active member of the tenant, or an API key (read or write scope)."""

    message = "Sign in to this workspace (or use one of its API keys) to do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        scopes = key_scopes(request)
        if scopes is not None:
            return bool(scopes & {"read", "write"})
        return _role(request) is not None


class CanWrite(BasePermission):
    """Reads for every member; changes for owners, admins and members, or `write` keys."""

    message = "Your role can search and ask but not change documents; ask an admin."

    def has_permission(self, request: Request, view: APIView) -> bool:
        scopes = key_scopes(request)
        if scopes is not None:
            return "write" in scopes or (request.method in SAFE_METHODS and "read" in scopes)
        role = _role(request)
        if role is None:
            return False
        return request.method in SAFE_METHODS or role in WRITER_ROLES

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        if request.method in SAFE_METHODS or key_scopes(request) is not None:
            return True
        if _role(request) in ADMIN_ROLES:
            return True
        # Members change only what they uploaded themselves.
        owner_id = getattr(obj, "uploaded_by_id", None)
        return owner_id is not None and owner_id == request.user.pk


class IsTenantAdmin(BasePermission):
    """Owners and admins only; API keys never manage members or keys."""

    message = "Only the workspace's owners and admins can do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if key_scopes(request) is not None:
            return False
        return _role(request) in ADMIN_ROLES


class IsPerson(BasePermission):
    """A signed-in person (JWT or session), not an API key: for profile and password changes."""

    message = "This endpoint is for people signed in with a token or session, not API keys."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return key_scopes(request) is None and _role(request) is not None

"""Dashboard pages for owners and admins: API keys, members and the workspace's time zone
(server-rendered forms).

They call the same services as the API, so the rules (owners protected, last owner kept,
no self-deactivation) hold on both.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.collection_access import UnknownCollection
from accounts.forms import TICKED_ONE_DELETED, ApiKeyForm, InviteForm, RoleForm, TimeZoneForm
from accounts.invitations import deliver_invitation, password_set_link
from accounts.models import ApiKey, Collection, Role, User
from accounts.permissions import ADMIN_ROLES
from accounts.services import (
    ActionRefused,
    change_member_role,
    check_reinvitable,
    create_api_key,
    deactivate_member,
    invite_member,
    reactivate_member,
    revoke_api_key,
)
from tenants.middleware import refusal
from tenants.models import Tenant
from tenants.services import set_time_zone
from tenants.time_zones import time_zone_names, zone_of

View = Callable[..., HttpResponse]


def admin_required(view: View) -> View:
    """Signed-in owners and admins only; others get a 403 page that says why."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if getattr(request.user, "role", None) not in ADMIN_ROLES:
            return refusal(
                request,
                status=403,
                code="permission_denied",
                message="Only the workspace's owners and admins can open this page.",
            )
        return view(request, *args, **kwargs)

    return wrapper


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # admin_required guarantees a signed-in person
    return request.user


def _no_store(response: HttpResponse) -> HttpResponse:
    # Pages that show a secret once must not be kept by the browser or a proxy.
    response["Cache-Control"] = "no-store"
    return response


# --- API keys ------------------------------------------------------------------------------


# The raw key of a key just created, kept server-side (database sessions) from the create
# POST to the page it redirects to, which shows it once; never put in a URL.
NEW_KEY_SESSION = "accounts:new_api_key"


@admin_required
def api_keys(request: HttpRequest) -> HttpResponse:
    """Create (POST, then redirect: a reload does not create another key) and list keys."""
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _api_key, raw_key = create_api_key(
                name=form.cleaned_data["name"],
                scopes=sorted(form.cleaned_data["scopes"]),
                created_by=_actor(request),
                collection_ids=form.cleaned_data["key_collections"],
            )
        except UnknownCollection:  # a ticked collection was deleted while the form was open
            form.add_error("collection_ids", TICKED_ONE_DELETED)
        else:
            request.session[NEW_KEY_SESSION] = raw_key
            return _no_store(redirect("api-keys-page"))
    new_key = request.session.pop(NEW_KEY_SESSION, None) if request.method == "GET" else None
    keys = ApiKey.objects.select_related("created_by").prefetch_related("collections")
    collections = list(Collection.objects.all())
    context = {
        "active": "api-keys",
        "form": form,
        "new_key": new_key,
        "keys": keys,
        # The picker, when there is a choice; the column, when a key or the picker needs it.
        "collections": collections if len(collections) > 1 else [],
        "ticked": {str(value) for value in form["collection_ids"].value() or []},
        "show_collections": len(collections) > 1 or keys.filter(collections_limited=True).exists(),
    }
    return _no_store(render(request, "accounts/api_keys.html", context))


@admin_required
@require_POST
def revoke_key(request: HttpRequest, pk: int) -> HttpResponse:
    api_key = get_object_or_404(ApiKey, pk=pk)
    revoke_api_key(api_key=api_key)
    messages.success(request, f"The key '{api_key.name}' ({api_key.display_prefix}) is revoked.")
    return redirect("api-keys-page")


# --- members ---------------------------------------------------------------------------------


def _role_choices(actor: User) -> list[tuple[str, str]]:
    # Only owners may hand out the owner role; offering it to admins would only fail later.
    return [(v, label) for v, label in Role.choices if v != Role.OWNER or actor.role == Role.OWNER]


# The one-time link of a member just invited, kept server-side like a new API key.
NEW_INVITE_SESSION = "accounts:new_invite"


@admin_required
def members(request: HttpRequest) -> HttpResponse:
    """Invite (POST, then redirect) and list members; the workspace's time zone form too."""
    actor = _actor(request)
    form = InviteForm(request.POST or None)
    form.fields["role"].choices = _role_choices(actor)  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        try:
            new_member = invite_member(invited_by=actor, **form.cleaned_data)
        except ActionRefused as exc:
            form.add_error("email", exc.message)
        else:
            link = password_set_link(request, new_member)
            deliver_invitation(user=new_member, link=link, invited_by=actor)
            # Shown once by the page this redirects to: a reload does not invite again.
            request.session[NEW_INVITE_SESSION] = {"user_id": new_member.pk, "link": link}
            return _no_store(redirect("members-page"))
    shown = request.session.pop(NEW_INVITE_SESSION, None) if request.method == "GET" else None
    invited = User.objects.filter(pk=shown["user_id"]).first() if shown else None
    return _members_page(
        request,
        form=form,
        invite_link=shown["link"] if invited is not None and shown else None,
        invited=invited,
    )


def _workspace(request: HttpRequest) -> Tenant:
    tenant = getattr(request, "tenant", None)
    assert isinstance(tenant, Tenant)  # dashboard pages are served on a tenant's host only
    return tenant


def _members_page(
    request: HttpRequest,
    *,
    form: InviteForm | None = None,
    time_zone_form: TimeZoneForm | None = None,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    actor = _actor(request)
    if form is None:
        form = InviteForm()
    if time_zone_form is None:
        time_zone_form = TimeZoneForm(initial={"time_zone": zone_of(_workspace(request)).key})
    context = {
        "active": "members",
        "form": form,
        "time_zone_form": time_zone_form,
        "time_zone_names": time_zone_names(),
        "members": User.objects.order_by("email"),
        "role_choices": _role_choices(actor),
        **extra,
    }
    return _no_store(render(request, "accounts/members.html", context, status=status))


# --- workspace settings ----------------------------------------------------------------------


@admin_required
@require_POST
def workspace_time_zone(request: HttpRequest) -> HttpResponse:
    """Set the zone whose calendar days the analytics count; the Members page shows the form."""
    form = TimeZoneForm(request.POST)
    if not form.is_valid():
        return _members_page(request, time_zone_form=form, status=400)
    tenant = set_time_zone(tenant=_workspace(request), time_zone=form.cleaned_data["time_zone"])
    messages.success(
        request, f"The workspace's time zone is now {tenant.time_zone}; analytics count days there."
    )
    return redirect("members-page")


def _member_action(request: HttpRequest, pk: int, action: Callable[[User], str]) -> HttpResponse:
    member = get_object_or_404(User, pk=pk)
    try:
        messages.success(request, action(member))
    except ActionRefused as exc:
        messages.error(request, exc.message)
    return redirect("members-page")


@admin_required
@require_POST
def member_role(request: HttpRequest, pk: int) -> HttpResponse:
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the listed roles.")
        return redirect("members-page")

    def change(member: User) -> str:
        updated = change_member_role(
            actor=_actor(request), member=member, role=form.cleaned_data["role"]
        )
        return f"{updated.email} is now {updated.get_role_display().lower()}."

    return _member_action(request, pk, change)


@admin_required
@require_POST
def member_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    def deactivate(member: User) -> str:
        deactivate_member(actor=_actor(request), member=member)
        return f"{member.email} can no longer sign in; their documents are kept."

    return _member_action(request, pk, deactivate)


@admin_required
@require_POST
def member_invite_link(request: HttpRequest, pk: int) -> HttpResponse:
    """A new one-time link for someone invited who lost theirs, shown like a new invitation."""
    member = get_object_or_404(User, pk=pk)
    actor = _actor(request)
    try:
        check_reinvitable(actor=actor, member=member)
    except ActionRefused as exc:
        messages.error(request, exc.message)
        return redirect("members-page")
    link = password_set_link(request, member)
    deliver_invitation(user=member, link=link, invited_by=actor)
    request.session[NEW_INVITE_SESSION] = {"user_id": member.pk, "link": link}
    return _no_store(redirect("members-page"))


@admin_required
@require_POST
def member_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    def reactivate(member: User) -> str:
        reactivate_member(actor=_actor(request), member=member)
        return f"{member.email} can sign in again."

    return _member_action(request, pk, reactivate)

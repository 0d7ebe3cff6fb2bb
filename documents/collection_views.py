"""The Collections page for owners and admins (server-rendered forms): create, rename and
delete collections, and choose who reads each and who may upload into it.

It calls the same services as the API (documents/collection_services.py), so the rules (one
default collection that cannot be deleted, unique names, documents moved or deleted with a
collection) hold on both; a refusal is shown as the service's sentence.
"""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.models import COLLECTION_ORDER, Collection, CollectionMember, Role, User
from accounts.workspace_views import admin_required
from config.errors import AppError
from documents import collection_services

PAGE = "collections-page"


@admin_required
def collections_page(request: HttpRequest) -> HttpResponse:
    """List collections with their documents and members; POST creates one."""
    if request.method == "POST":
        try:
            made = collection_services.create_collection(name=request.POST.get("name", ""))
        except AppError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"The collection '{made.name}' is created.")
        return redirect(PAGE)
    members = CollectionMember.objects.select_related("user").order_by("user__email")
    collections = list(
        Collection.objects.annotate(document_count=Count("documents"))
        .order_by(*COLLECTION_ORDER)
        .prefetch_related(Prefetch("members", queryset=members))
    )
    # Owners and admins read every collection already; the others can be added, each to
    # the collections they do not read yet.
    people = list(
        User.objects.filter(is_active=True)
        .exclude(role__in=[Role.OWNER, Role.ADMIN])
        .order_by("email")
    )
    for collection in collections:
        present = {member.user_id for member in collection.members.all()}
        collection.addable = [p for p in people if p.pk not in present]  # type: ignore[attr-defined]
    context = {"active": "collections", "collections": collections, "people": people}
    return render(request, "documents/collections.html", context)


def _done(request: HttpRequest, call: collection_services.Call, success: str) -> HttpResponse:
    try:
        call()
    except AppError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    return redirect(PAGE)


@admin_required
@require_POST
def rename_collection(request: HttpRequest, pk: int) -> HttpResponse:
    collection = get_object_or_404(Collection, pk=pk)
    name = request.POST.get("name", "")
    return _done(
        request,
        lambda: collection_services.rename_collection(collection=collection, name=name),
        f"The collection is now named '{' '.join(name.split())}'.",
    )


@admin_required
@require_POST
def delete_collection(request: HttpRequest, pk: int) -> HttpResponse:
    collection = get_object_or_404(Collection, pk=pk)
    choice: collection_services.DocumentsChoice = (
        "delete" if request.POST.get("documents") == "delete" else "move"
    )
    try:
        result = collection_services.delete_collection(collection=collection, documents=choice)
    except AppError as exc:
        messages.error(request, exc.message)
        return redirect(PAGE)
    fate = (
        f"{result.moved} document(s) moved to the default collection"
        if choice == "move"
        else f"{result.deleted} document(s) deleted"
    )
    messages.success(
        request,
        f"The collection '{collection.name}' is deleted: {fate}, {result.kept} kept in their "
        "other collections.",
    )
    return redirect(PAGE)


@admin_required
@require_POST
def add_member(request: HttpRequest, pk: int) -> HttpResponse:
    collection = get_object_or_404(Collection, pk=pk)
    user_id = request.POST.get("user_id", "")
    person = User.objects.filter(pk=int(user_id)).first() if user_id.isdigit() else None
    if person is None:
        messages.error(request, "Choose a person of this workspace to add.")
        return redirect(PAGE)
    if CollectionMember.objects.filter(collection=collection, user=person).exists():
        messages.error(
            request,
            f"{person.email} already reads '{collection.name}'; change whether they may upload "
            "with the button in its table.",
        )
        return redirect(PAGE)
    can_upload = request.POST.get("can_upload") == "on"
    return _done(
        request,
        lambda: collection_services.set_member(
            collection=collection, user=person, can_upload=can_upload
        ),
        f"{person.email} reads '{collection.name}'"
        + (" and may upload into it." if can_upload else "."),
    )


@admin_required
@require_POST
def set_upload_right(request: HttpRequest, pk: int, user_id: int) -> HttpResponse:
    collection = get_object_or_404(Collection, pk=pk)
    member = get_object_or_404(CollectionMember, collection=collection, user_id=user_id)
    can_upload = request.POST.get("can_upload") == "1"
    return _done(
        request,
        lambda: collection_services.set_upload_right(member=member, can_upload=can_upload),
        f"{member.user.email} "
        + ("may now upload into" if can_upload else "now only reads")
        + f" '{collection.name}'.",
    )


@admin_required
@require_POST
def remove_member(request: HttpRequest, pk: int, user_id: int) -> HttpResponse:
    collection = get_object_or_404(Collection, pk=pk)
    member = get_object_or_404(CollectionMember, collection=collection, user_id=user_id)
    return _done(
        request,
        lambda: collection_services.remove_member(collection=collection, user=member.user),
        f"{member.user.email} no longer reads '{collection.name}'.",
    )

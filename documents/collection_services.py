"""Writes for collections: create, rename, delete (moving or deleting its documents), members.

Owners and admins call these (the API checks the role). Anything that changes which
documents a collection holds bumps the index state's `access_seq` in the same transaction,
so the response cache never answers from before the change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef

from accounts.collection_access import default_collection
from accounts.models import Collection, CollectionMember, Role, User
from config.errors import AppError, Refused
from documents import index_changes
from documents.models import Document
from documents.services import delete_document

MAX_NAME = 100
DocumentsChoice = Literal["move", "delete"]
Call = Callable[[], object]  # a service call a page runs, showing its refusal if it raises


class InvalidCollection(AppError):
    status = 400
    code = "invalid"


def _clean_name(name: str) -> str:
    cleaned = " ".join(str(name).split())
    if not cleaned:
        raise InvalidCollection("Give the collection a name, such as HR or Support.")
    if len(cleaned) > MAX_NAME:
        raise InvalidCollection(
            f"A collection's name can be at most {MAX_NAME} characters; this one has "
            f"{len(cleaned)}."
        )
    return cleaned


def _taken(name: str) -> Refused:
    return Refused(
        f"There is already a collection named '{name}' in this workspace; choose another name.",
        code="duplicate_name",
    )


def _save_name(collection: Collection, name: str) -> Collection:
    cleaned = _clean_name(name)
    clash = Collection.objects.filter(name__iexact=cleaned).exclude(pk=collection.pk)
    if clash.exists():
        raise _taken(cleaned)
    collection.name = cleaned
    try:
        with transaction.atomic():
            collection.save()
    except IntegrityError as exc:  # a concurrent request took the name first
        raise _taken(cleaned) from exc
    return collection


def create_collection(*, name: str) -> Collection:
    return _save_name(Collection(), name)


def rename_collection(*, collection: Collection, name: str) -> Collection:
    return _save_name(collection, name)


@dataclass(frozen=True)
class CollectionDeleted:
    moved: int  # documents that now live in the default collection
    deleted: int  # documents deleted with it
    kept: int  # documents that stay in their other collections


def delete_collection(*, collection: Collection, documents: DocumentsChoice) -> CollectionDeleted:
    """Delete a collection. Its documents that are in no other collection move to the
    default collection (`move`) or are deleted (`delete`); the others stay where they also
    are. The default collection cannot be deleted."""
    if collection.is_default:
        raise Refused(
            f"'{collection.name}' is the workspace's default collection, which everyone reads; "
            "it cannot be deleted, but it can be renamed.",
            code="default_collection",
        )
    with transaction.atomic():
        through = Document.collections.through
        here = through.objects.filter(collection_id=collection.pk).values("document_id")
        elsewhere = through.objects.filter(document_id=OuterRef("pk")).exclude(
            collection_id=collection.pk
        )
        held = Document.objects.filter(id__in=here).annotate(elsewhere=Exists(elsewhere))
        only_here = list(held.filter(elsewhere=False))
        kept = held.filter(elsewhere=True).count()
        if documents == "move" and only_here:
            default = default_collection()
            through.objects.bulk_create(
                [through(document_id=d.pk, collection_id=default.pk) for d in only_here],
                ignore_conflicts=True,
            )
        for document in only_here if documents == "delete" else []:
            delete_document(document=document)
        collection.delete()
        index_changes.access_changed()
    moved = len(only_here) if documents == "move" else 0
    return CollectionDeleted(moved=moved, deleted=len(only_here) - moved, kept=kept)


def _check_can_be_added(user: User) -> None:
    if not user.is_active:
        raise InvalidCollection(
            f"{user.email} is deactivated in this workspace; reactivate them first."
        )
    if str(user.role) in (Role.OWNER, Role.ADMIN):
        raise InvalidCollection(
            f"Owners and admins read every collection already: {user.email} is an "
            f"{user.get_role_display().lower()}, so they read and upload into every collection "
            "without being added.",
            code="reads_every_collection",
        )


def set_member(
    *, collection: Collection, user: User, can_upload: bool | None = None
) -> tuple[CollectionMember, bool]:
    """Let `user` read the collection; True if new. `can_upload` sets whether they may upload
    into it; None leaves an existing member's right as it is (a new one reads only). Owners
    and admins are refused: they read and upload everywhere already."""
    _check_can_be_added(user)
    with transaction.atomic():
        member, created = CollectionMember.objects.get_or_create(
            collection=collection, user=user, defaults={"can_upload": bool(can_upload)}
        )
        if not created and can_upload is not None and member.can_upload != can_upload:
            member.can_upload = can_upload
            member.save(update_fields=["can_upload"])
    return member, created


def set_upload_right(*, member: CollectionMember, can_upload: bool) -> CollectionMember:
    """Let a member of the collection upload into it, or make them read only."""
    if member.can_upload != can_upload:
        member.can_upload = can_upload
        member.save(update_fields=["can_upload"])
    return member


def remove_member(*, collection: Collection, user: User) -> None:
    CollectionMember.objects.filter(collection=collection, user=user).delete()


def set_document_collections(*, document: Document, collections: list[Collection]) -> Document:
    """Put a document in exactly these collections (at least one)."""
    if not collections:
        raise InvalidCollection(
            f"'{document.filename}' must stay in at least one collection; name one, such as "
            "the default collection."
        )
    with transaction.atomic():
        document.collections.set(collections)
        index_changes.access_changed()
    return document

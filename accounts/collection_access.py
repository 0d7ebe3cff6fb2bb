"""Which collections a caller may read, and into which ones they may upload.

`readable_collection_ids` is the one answer to "what may this caller read": the documents
API, search, ask and the response cache all filter through it (documents in none of the
returned collections do not exist for the caller). Owners and admins read every collection;
members and viewers read the default collection and those they are a member of. An API key
acts as its creator and, when it was created for some collections (`collections_limited`),
reads only those of them its creator may read: nothing once they are all deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Exists, OuterRef, Q, Value

from accounts.models import ApiKey, Collection, CollectionMember, Role, User
from config.errors import AppError, Forbidden

DEFAULT_COLLECTION_NAME = "General"
_EVERYTHING_ROLES = frozenset({Role.OWNER, Role.ADMIN})


class UnknownCollection(AppError):
    status = 400
    code = "unknown_collection"


def default_collection() -> Collection:
    """The workspace's default collection (made if a restored old schema lacks it)."""
    found = Collection.objects.filter(is_default=True).first()
    if found is not None:
        return found
    collection, _created = Collection.objects.get_or_create(
        is_default=True, defaults={"name": DEFAULT_COLLECTION_NAME}
    )
    return collection


def key_of(auth: Any) -> ApiKey | None:
    """The API key behind a request's `auth`, or None for a person."""
    return auth if isinstance(auth, ApiKey) else None


def _reads_everything(user: User) -> bool:
    return str(user.role) in _EVERYTHING_ROLES


def readable_collection_ids(
    user: User | None, api_key: ApiKey | None = None
) -> frozenset[int] | None:
    """The ids of the collections `user` (or `api_key`, acting for them) may read.

    None means every collection of the workspace, so callers need no filter at all (the
    case of every workspace that never made a second collection). No user is an in-process
    caller (a management command, an evaluation run), which reads everything.
    """
    if user is None:
        return None
    everything = _reads_everything(user)
    limited = api_key is not None and api_key.collections_limited
    if everything and not limited:
        return None
    member = Exists(CollectionMember.objects.filter(collection=OuterRef("pk"), user=user))
    in_key = (
        Exists(
            ApiKey.collections.through.objects.filter(
                collection_id=OuterRef("pk"), apikey_id=api_key.pk
            )
        )
        if limited and api_key is not None
        else Value(True)
    )
    rows = list(
        Collection.objects.annotate(member=member, in_key=in_key)
        .order_by()
        .values_list("id", "is_default", "member", "in_key")
    )
    readable = frozenset(
        collection_id
        for collection_id, is_default, is_member, key_allows in rows
        if key_allows and (everything or is_default or is_member)
    )
    return None if len(readable) == len(rows) else readable


def narrowed(
    readable: frozenset[int] | None, wanted: Sequence[int] | None
) -> frozenset[int] | None:
    """The collections a call reads when it asks for `wanted` only (None: no narrowing);
    ids the caller cannot read are dropped, as if they did not exist."""
    if wanted is None:
        return readable
    return frozenset(wanted) if readable is None else readable.intersection(wanted)


def can_read(readable: frozenset[int] | None, collection_id: int) -> bool:
    return readable is None or collection_id in readable


def upload_collection_ids(user: User) -> frozenset[int]:
    """The collections a person may upload into: every one for owners and admins; for
    members the default one and those where their membership has `can_upload`; none for
    viewers."""
    if str(user.role) == Role.VIEWER:
        return frozenset()
    collections = Collection.objects.all()
    if not _reads_everything(user):
        mine = CollectionMember.objects.filter(user=user, can_upload=True)
        collections = collections.filter(
            Q(is_default=True) | Q(pk__in=mine.values("collection_id"))
        )
    return frozenset(collections.values_list("pk", flat=True))


def _unknown(collection_id: int) -> UnknownCollection:
    return UnknownCollection(
        f"There is no collection {collection_id} in this workspace that you can read; list "
        "the collections to get their ids."
    )


def _key_needs_collection_ids(readable: frozenset[int]) -> UnknownCollection:
    """A key limited to collections other than the default one, uploading without naming one."""
    names = list(
        Collection.objects.filter(pk__in=sorted(readable))
        .order_by("name", "pk")
        .values_list("pk", "name")[:5]
    )
    if not names:
        return UnknownCollection(
            "This API key reads no collection any more (its collections were deleted), so it "
            "cannot upload; create a key for the collections it should upload into.",
            code="collection_required",
        )
    shown = ", ".join(f"{pk} ('{name}')" for pk, name in names)
    return UnknownCollection(
        "This API key is limited to some collections, so an upload names one: send "
        f"collection_ids with one of the key's collections, such as {shown}.",
        code="collection_required",
    )


def upload_targets(
    user: User, api_key: ApiKey | None, collection_ids: Sequence[int] | None
) -> list[Collection]:
    """The collections an upload goes into: `collection_ids`, or the default one.

    Refuses an id the caller cannot read with the same 400 as one that does not exist, and a
    collection they may read but not upload into with a 403. Owners and admins upload
    anywhere, others into the default collection and those where their membership has
    `can_upload`; a key limited to some collections uploads only into those, and without
    `collection_ids` (when the default collection is not one of them) is told to name one.
    """
    readable = readable_collection_ids(user, api_key)
    if not collection_ids:
        default = default_collection()
        if not can_read(readable, default.pk):
            raise _key_needs_collection_ids(readable or frozenset())
        targets = [default]
    else:
        wanted = sorted(set(collection_ids))
        found = {c.pk: c for c in Collection.objects.filter(pk__in=wanted)}
        for collection_id in wanted:
            if collection_id not in found or not can_read(readable, collection_id):
                raise _unknown(collection_id)
        targets = [found[collection_id] for collection_id in wanted]
    if _reads_everything(user):
        return targets
    uploaders = set(
        CollectionMember.objects.filter(
            user=user, can_upload=True, collection__in=targets
        ).values_list("collection_id", flat=True)
    )
    for collection in targets:
        if not (collection.is_default or collection.pk in uploaders):
            raise Forbidden(
                f"You may read the '{collection.name}' collection but not upload into it; ask "
                "an owner or admin to let you upload there.",
                code="collection_forbidden",
            )
    return targets

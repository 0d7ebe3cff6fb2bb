"""Collections: list and read (anyone, the collections they may read); create, rename, delete
and choose who reads them (owners and admins)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import COLLECTION_ORDER, Collection, CollectionMember, User
from accounts.permissions import CanRead, IsTenantAdmin
from config.openapi import (
    BODY_ERROR_RESPONSES,
    ERROR_RESPONSES,
    LIST_ERROR_RESPONSES,
    error_response,
)
from documents import collection_services
from documents.api_access import ReadableView


class CollectionSerializer(serializers.ModelSerializer[Collection]):
    document_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Collection
        fields = ["id", "name", "is_default", "document_count", "created_at"]
        read_only_fields = fields


class CollectionInput(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200, trim_whitespace=True)


class CollectionDeletedSerializer(serializers.Serializer[Any]):
    moved = serializers.IntegerField(help_text="Documents moved to the default collection.")
    deleted = serializers.IntegerField(help_text="Documents deleted with the collection.")
    kept = serializers.IntegerField(help_text="Documents that stay in their other collections.")


class CollectionMemberSerializer(serializers.ModelSerializer[CollectionMember]):
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = CollectionMember
        fields = ["user_id", "email", "can_upload", "created_at"]
        read_only_fields = fields


class CollectionMemberInput(serializers.Serializer[Any]):
    user_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    can_upload = serializers.BooleanField(
        required=False,
        help_text="Whether they may upload into it; when left out, a new member reads only and "
        "an existing one keeps their right.",
    )


class CollectionMemberUpdate(serializers.Serializer[Any]):
    can_upload = serializers.BooleanField(help_text="Whether they may upload into it.")


def _by_method(request: Request) -> list[BasePermission]:
    return [CanRead()] if request.method in SAFE_METHODS else [IsTenantAdmin()]


class _CollectionView(ReadableView):
    def get_permissions(self) -> list[BasePermission]:
        return _by_method(self.request)

    def readable_collections(self) -> QuerySet[Collection]:
        collections = Collection.objects.annotate(document_count=Count("documents")).order_by(
            *COLLECTION_ORDER
        )
        if self.readable is not None:
            collections = collections.filter(pk__in=sorted(self.readable))
        return collections

    def collection(self, pk: int) -> Collection:
        """The collection, or a 404 for one the caller may not read."""
        return get_object_or_404(self.readable_collections(), pk=pk)


@extend_schema_view(
    get=extend_schema(responses={200: CollectionSerializer(many=True), **LIST_ERROR_RESPONSES}),
    post=extend_schema(
        request=CollectionInput,
        responses={
            201: CollectionSerializer,
            **ERROR_RESPONSES,
            **BODY_ERROR_RESPONSES,
            409: error_response("Another collection has this name (`duplicate_name`)."),
        },
    ),
)
@extend_schema(tags=["collections"])
class CollectionListView(_CollectionView, generics.ListCreateAPIView[Collection]):
    """The collections the caller may read, default first; POST makes one (owners, admins)."""

    serializer_class = CollectionSerializer

    def get_queryset(self) -> QuerySet[Collection]:
        return self.readable_collections()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = CollectionInput(data=request.data)
        data.is_valid(raise_exception=True)
        created = collection_services.create_collection(name=data.validated_data["name"])
        collection = self.readable_collections().get(pk=created.pk)
        return Response(CollectionSerializer(collection).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["collections"])
class CollectionDetailView(_CollectionView):
    """One collection; PATCH renames it, DELETE deletes it (owners and admins)."""

    @extend_schema(responses={200: CollectionSerializer, **ERROR_RESPONSES})
    def get(self, request: Request, pk: int) -> Response:
        return Response(CollectionSerializer(self.collection(pk)).data)

    @extend_schema(
        request=CollectionInput,
        responses={
            200: CollectionSerializer,
            **ERROR_RESPONSES,
            **BODY_ERROR_RESPONSES,
            409: error_response("Another collection has this name (`duplicate_name`)."),
        },
    )
    def patch(self, request: Request, pk: int) -> Response:
        collection = self.collection(pk)
        data = CollectionInput(data=request.data)
        data.is_valid(raise_exception=True)
        name = data.validated_data["name"]
        collection = collection_services.rename_collection(collection=collection, name=name)
        return Response(CollectionSerializer(collection).data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "documents",
                str,
                enum=["move", "delete"],
                required=True,
                description="what becomes of documents in no other collection: `move` to the "
                "default collection, or `delete`",
            )
        ],
        responses={
            200: CollectionDeletedSerializer,
            **ERROR_RESPONSES,
            409: error_response("The default collection cannot be deleted (`default_collection`)."),
        },
    )
    def delete(self, request: Request, pk: int) -> Response:
        collection = self.collection(pk)
        choice = request.query_params.get("documents", "")
        if choice not in ("move", "delete"):
            raise ValidationError(
                {
                    "documents": [
                        "Say what becomes of the collection's documents: ?documents=move moves "
                        "them to the default collection, ?documents=delete deletes them."
                    ]
                }
            )
        result = collection_services.delete_collection(
            collection=collection, documents="move" if choice == "move" else "delete"
        )
        return Response(CollectionDeletedSerializer(result).data)


@extend_schema_view(
    get=extend_schema(
        responses={200: CollectionMemberSerializer(many=True), **LIST_ERROR_RESPONSES}
    ),
    post=extend_schema(
        request=CollectionMemberInput,
        responses={
            200: CollectionMemberSerializer,
            201: CollectionMemberSerializer,
            **ERROR_RESPONSES,
            **BODY_ERROR_RESPONSES,
        },
        description="Let a person read the collection (201). For someone who already reads it, "
        "the answer is 200 and only a `can_upload` the body gives changes (PATCH "
        "`members/<user_id>/` says so explicitly). Owners and admins are refused (400 "
        "`reads_every_collection`): they read every collection already.",
    ),
)
@extend_schema(tags=["collections"])
class CollectionMemberListView(_CollectionView, generics.ListCreateAPIView[CollectionMember]):
    """Who reads a collection besides owners and admins; POST adds a person or updates them."""

    serializer_class = CollectionMemberSerializer

    def get_permissions(self) -> list[BasePermission]:
        return [IsTenantAdmin()]

    def get_queryset(self) -> QuerySet[CollectionMember]:
        collection = self.collection(int(self.kwargs["pk"]))
        return CollectionMember.objects.filter(collection=collection).select_related("user")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        collection = self.collection(int(self.kwargs["pk"]))
        data = CollectionMemberInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = User.objects.filter(pk=data.validated_data["user_id"]).first()
        if user is None:
            message = (
                f"There is no person with id {data.validated_data['user_id']} in this "
                "workspace; list the members to get their ids."
            )
            raise ValidationError({"user_id": [message]})
        member, created = collection_services.set_member(
            collection=collection, user=user, can_upload=data.validated_data.get("can_upload")
        )
        answer = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(CollectionMemberSerializer(member).data, status=answer)


@extend_schema(tags=["collections"])
class CollectionMemberDetailView(_CollectionView):
    """PATCH: whether the person may upload into the collection; DELETE: they no longer read
    it (unless an owner or admin)."""

    def get_permissions(self) -> list[BasePermission]:
        return [IsTenantAdmin()]

    @extend_schema(
        request=CollectionMemberUpdate,
        responses={200: CollectionMemberSerializer, **ERROR_RESPONSES, **BODY_ERROR_RESPONSES},
    )
    def patch(self, request: Request, pk: int, user_id: int) -> Response:
        collection = self.collection(pk)
        member = get_object_or_404(
            CollectionMember.objects.select_related("user"), collection=collection, user_id=user_id
        )
        data = CollectionMemberUpdate(data=request.data)
        data.is_valid(raise_exception=True)
        member = collection_services.set_upload_right(
            member=member, can_upload=data.validated_data["can_upload"]
        )
        return Response(CollectionMemberSerializer(member).data)

    @extend_schema(responses={204: None, **ERROR_RESPONSES})
    def delete(self, request: Request, pk: int, user_id: int) -> Response:
        collection = self.collection(pk)
        member = get_object_or_404(CollectionMember, collection=collection, user_id=user_id)
        collection_services.remove_member(collection=collection, user=member.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

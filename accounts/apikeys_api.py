"""API keys for machine clients, managed by owners and admins. The key is shown once."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import ApiKey, ApiKeyScope, User
from accounts.permissions import IsTenantAdmin
from accounts.services import create_api_key, revoke_api_key
from config.openapi import BODY_ERROR_RESPONSES, ERROR_RESPONSES, LIST_ERROR_RESPONSES


class ApiKeySerializer(serializers.ModelSerializer):
    prefix = serializers.CharField(source="display_prefix", help_text="The key starts with this.")
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ApiKeyScope.choices))
    created_by = serializers.EmailField(source="created_by.email")
    is_active = serializers.SerializerMethodField()
    collection_ids = serializers.SerializerMethodField(
        help_text="The collections the key reads (of those its creator reads); null: every "
        "collection its creator reads."
    )

    class Meta:
        model = ApiKey
        fields = [
            "id", "name", "prefix", "scopes", "expires_at", "last_used_at", "revoked_at",
            "created_by", "created_at", "is_active", "collection_ids",
        ]  # fmt: skip
        read_only_fields = fields

    def get_is_active(self, api_key: ApiKey) -> bool:
        expired = api_key.expires_at is not None and api_key.expires_at <= timezone.now()
        return api_key.revoked_at is None and not expired

    def get_collection_ids(self, api_key: ApiKey) -> list[int] | None:
        if not api_key.collections_limited:
            return None
        return sorted(collection.pk for collection in api_key.collections.all())


class NewApiKeySerializer(ApiKeySerializer):
    """A key just created, with its plaintext (documentation only)."""

    key = serializers.CharField(help_text="The secret key. Shown only now; store it safely.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.MultipleChoiceField(choices=ApiKeyScope.choices, allow_empty=False)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    collection_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        allow_null=True,
        default=None,
        max_length=1000,
        help_text="Only these collections: the key reads nothing else. Absent or null: every "
        "collection its creator reads.",
    )

    def validate_expires_at(self, value: Any) -> Any:
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("The expiry must be in the future.")
        return value


@extend_schema_view(
    get=extend_schema(responses={200: ApiKeySerializer(many=True), **LIST_ERROR_RESPONSES}),
    post=extend_schema(
        request=ApiKeyCreateSerializer,
        responses={201: NewApiKeySerializer, **ERROR_RESPONSES, **BODY_ERROR_RESPONSES},
    ),
)
@extend_schema(tags=["api keys"])
class ApiKeyListView(generics.ListCreateAPIView[ApiKey]):
    """The workspace's API keys (newest first, revoked ones included); POST creates one."""

    permission_classes = [IsTenantAdmin]
    serializer_class = ApiKeySerializer

    def get_queryset(self) -> QuerySet[ApiKey]:
        return ApiKey.objects.select_related("created_by").prefetch_related("collections")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ApiKeyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assert isinstance(request.user, User)  # IsTenantAdmin guarantees a signed-in person
        api_key, raw_key = create_api_key(
            name=data.validated_data["name"],
            scopes=sorted(data.validated_data["scopes"]),
            expires_at=data.validated_data["expires_at"],
            created_by=request.user,
            collection_ids=data.validated_data["collection_ids"],
        )
        body = {**ApiKeySerializer(api_key).data, "key": raw_key}
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(responses={200: ApiKeySerializer, **ERROR_RESPONSES}),
    delete=extend_schema(
        responses={204: OpenApiResponse(description="Revoked."), **ERROR_RESPONSES}
    ),
)
@extend_schema(tags=["api keys"])
class ApiKeyDetailView(generics.RetrieveDestroyAPIView[ApiKey]):
    """One API key; DELETE revokes it at once (the record is kept for the audit trail)."""

    permission_classes = [IsTenantAdmin]
    serializer_class = ApiKeySerializer

    def get_queryset(self) -> QuerySet[ApiKey]:
        return ApiKey.objects.select_related("created_by").prefetch_related("collections")

    def perform_destroy(self, instance: ApiKey) -> None:
        revoke_api_key(api_key=instance)

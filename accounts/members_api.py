"""Member management for owners and admins: list, invite, change role, (de)activate."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.invitations import deliver_invitation, password_set_link
from accounts.models import Role, User
from accounts.permissions import IsTenantAdmin
from accounts.services import (
    check_reinvitable,
    deactivate_member,
    invite_member,
    reactivate_member,
    update_member,
)
from config.openapi import (
    BODY_ERROR_RESPONSES,
    ERROR_RESPONSES,
    LIST_ERROR_RESPONSES,
    error_response,
)


class MemberSerializer(serializers.ModelSerializer):
    has_password = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id", "email", "full_name", "role", "is_active", "has_password", "date_joined",
            "last_login",
        ]  # fmt: skip
        read_only_fields = fields

    def get_has_password(self, user: User) -> bool:
        return user.has_usable_password()


class InvitedMemberSerializer(MemberSerializer):
    """What an invitation returns (documentation only)."""

    password_set_url = serializers.CharField(
        help_text="One-time link where the new member chooses a password."
    )

    class Meta(MemberSerializer.Meta):
        fields = [*MemberSerializer.Meta.fields, "password_set_url"]


class InviteSerializer(serializers.Serializer):
    email = serializers.EmailField()
    full_name = serializers.CharField(max_length=200, required=False, default="")
    role = serializers.ChoiceField(choices=Role.choices, default=Role.MEMBER)


class MemberUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    full_name = serializers.CharField(max_length=200, required=False, allow_blank=True)


OWNER_PROTECTED = (
    "The caller is not an owner or admin (`permission_denied`), or the change needs an owner "
    "(`owner_protected`)."
)


def _actor(request: Request) -> User:
    assert isinstance(request.user, User)  # IsTenantAdmin guarantees a signed-in person
    return request.user


@extend_schema_view(
    get=extend_schema(responses={200: MemberSerializer(many=True), **LIST_ERROR_RESPONSES}),
    post=extend_schema(
        request=InviteSerializer,
        responses={
            201: InvitedMemberSerializer,
            **ERROR_RESPONSES,
            **BODY_ERROR_RESPONSES,
            403: error_response(f"{OWNER_PROTECTED} Only an owner can invite an owner."),
            409: error_response("Someone with this email is already a member (`member_exists`)."),
        },
    ),
)
@extend_schema(tags=["members"])
class MemberListView(generics.ListCreateAPIView[User]):
    """Everyone in the workspace; POST invites someone and returns their password-set link."""

    permission_classes = [IsTenantAdmin]
    serializer_class = MemberSerializer

    def get_queryset(self) -> QuerySet[User]:
        return User.objects.order_by("email")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = InviteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        actor = _actor(request)
        member = invite_member(invited_by=actor, **data.validated_data)
        link = password_set_link(request._request, member)
        deliver_invitation(user=member, link=link, invited_by=actor)
        body = {**MemberSerializer(member).data, "password_set_url": link}
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(responses={200: MemberSerializer, **ERROR_RESPONSES}),
    patch=extend_schema(
        request=MemberUpdateSerializer,
        responses={
            200: MemberSerializer,
            **ERROR_RESPONSES,
            **BODY_ERROR_RESPONSES,
            403: error_response(
                f"{OWNER_PROTECTED} Only an owner can change an owner or make someone one."
            ),
            409: error_response(
                "The role change would leave the workspace without an active owner (`last_owner`)."
            ),
        },
    ),
)
@extend_schema(tags=["members"])
class MemberDetailView(generics.RetrieveAPIView[User]):
    """One member; PATCH changes their role or name (owners are protected from admins)."""

    permission_classes = [IsTenantAdmin]
    serializer_class = MemberSerializer
    queryset = User.objects.all()

    def patch(self, request: Request, pk: int) -> Response:
        member = self.get_object()
        data = MemberUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = update_member(
            actor=_actor(request),
            member=member,
            role=data.validated_data.get("role"),
            full_name=data.validated_data.get("full_name"),
        )
        return Response(MemberSerializer(member).data)


class _MemberActionView(generics.GenericAPIView[User]):
    permission_classes = [IsTenantAdmin]
    serializer_class = MemberSerializer
    queryset = User.objects.all()


@extend_schema(
    request=None,
    responses={
        200: MemberSerializer,
        **ERROR_RESPONSES,
        403: error_response(f"{OWNER_PROTECTED} Only an owner can deactivate an owner."),
        409: error_response(
            "You cannot deactivate yourself (`self_deactivation`), nor the workspace's last "
            "active owner (`last_owner`)."
        ),
    },
    tags=["members"],
)
class MemberDeactivateView(_MemberActionView):
    """Turn off a member's access (data and uploads are kept); their API keys stop working."""

    def post(self, request: Request, pk: int) -> Response:
        member = deactivate_member(actor=_actor(request), member=self.get_object())
        return Response(MemberSerializer(member).data)


@extend_schema(
    request=None,
    responses={
        200: MemberSerializer,
        **ERROR_RESPONSES,
        403: error_response(f"{OWNER_PROTECTED} Only an owner can reactivate an owner."),
    },
    tags=["members"],
)
class MemberReactivateView(_MemberActionView):
    """Give a deactivated member their access back."""

    def post(self, request: Request, pk: int) -> Response:
        member = reactivate_member(actor=_actor(request), member=self.get_object())
        return Response(MemberSerializer(member).data)


@extend_schema(
    request=None,
    responses={
        200: InvitedMemberSerializer,
        **ERROR_RESPONSES,
        403: error_response(f"{OWNER_PROTECTED} Only an owner can re-invite an owner."),
        409: error_response(
            "They have already chosen a password (`already_joined`), or are deactivated "
            "(`member_inactive`)."
        ),
    },
    tags=["members"],
)
class MemberInviteLinkView(_MemberActionView):
    """A new password-set link for someone invited who lost theirs (delivered as an invitation)."""

    def post(self, request: Request, pk: int) -> Response:
        member = self.get_object()
        actor = _actor(request)
        check_reinvitable(actor=actor, member=member)
        link = password_set_link(request._request, member)
        deliver_invitation(user=member, link=link, invited_by=actor)
        return Response({**MemberSerializer(member).data, "password_set_url": link})

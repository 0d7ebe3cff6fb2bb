"""Account endpoints of the tenant API: sign-in tokens, the caller's profile, the workspace."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from accounts.authentication import current_schema
from accounts.models import User
from accounts.permissions import CanRead, IsPerson
from accounts.services import revoke_refresh_tokens
from accounts.signin_limits import check_login_rate, check_password_rate
from accounts.tokens import (
    check_not_revoked,
    check_password_claim,
    check_tenant_claim,
    claim_refresh_token,
    issue_tokens,
    parse_refresh_token,
    rotated,
    verified_refresh_token,
)
from config.openapi import BODY_ERROR_RESPONSES, ERROR_RESPONSES


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="Short-lived Bearer token for API calls.")
    refresh = serializers.CharField(help_text="Exchange at /auth/token/refresh/ for a new pair.")


class RefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class CredentialsSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class PasswordChangeSerializer(serializers.Serializer):
    current_password = serializers.CharField(trim_whitespace=False)
    new_password = serializers.CharField(trim_whitespace=False)


def _schema(request: Request) -> str:
    return current_schema(request) or ""


class TokenObtainView(APIView):
    """Sign in with email and password; returns a token pair bound to this workspace."""

    permission_classes = [AllowAny]

    @extend_schema(
        request=CredentialsSerializer,
        responses={200: TokenPairSerializer, **ERROR_RESPONSES, **BODY_ERROR_RESPONSES},
        auth=[],
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = CredentialsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        email = data.validated_data["email"]
        attempt = check_login_rate(request, email)
        user = authenticate(
            request._request, username=email, password=data.validated_data["password"]
        )
        if not isinstance(user, User):
            raise AuthenticationFailed(
                "The email or password is incorrect.", code="invalid_credentials"
            )
        attempt.succeeded()
        update_last_login(User, user)  # as a dashboard sign-in does (the members page shows it)
        return Response(issue_tokens(user=user, schema=_schema(request)))


class TokenRefreshView(APIView):
    """Exchange a refresh token for a new pair; the old refresh token stops working."""

    permission_classes = [AllowAny]

    @extend_schema(
        request=RefreshInputSerializer,
        responses={200: TokenPairSerializer, **ERROR_RESPONSES, **BODY_ERROR_RESPONSES},
        auth=[],
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        refresh = verified_refresh_token(data.validated_data["refresh"])
        check_tenant_claim(refresh, _schema(request))
        user = User.objects.filter(pk=refresh.get(jwt_settings.USER_ID_CLAIM)).first()
        if user is None or not user.is_active:
            raise AuthenticationFailed(
                "This account no longer has access to the workspace.", code="user_inactive"
            )
        check_password_claim(refresh, user)
        check_not_revoked(refresh, user)
        claim_refresh_token(refresh, user)
        return Response(rotated(refresh))


class LogoutView(APIView):
    """Sign out: the refresh token is blacklisted (access tokens expire on their own)."""

    permission_classes = [AllowAny]

    @extend_schema(
        request=RefreshInputSerializer,
        responses={
            204: OpenApiResponse(description="Signed out."),
            **ERROR_RESPONSES,
            **BODY_ERROR_RESPONSES,
        },
        auth=[],
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        refresh = parse_refresh_token(data.validated_data["refresh"])
        check_tenant_claim(refresh, _schema(request))
        refresh.blacklist()
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name", "role", "date_joined", "last_login"]
        read_only_fields = ["id", "email", "role", "date_joined", "last_login"]


class MeView(APIView):
    """The signed-in person (JWT or dashboard session; API keys have no profile)."""

    permission_classes = [IsPerson]

    @extend_schema(responses={200: MeSerializer, **ERROR_RESPONSES}, tags=["auth"])
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)

    @extend_schema(
        request=MeSerializer,
        responses={200: MeSerializer, **ERROR_RESPONSES, **BODY_ERROR_RESPONSES},
        tags=["auth"],
    )
    def patch(self, request: Request) -> Response:
        serializer = MeSerializer(request.user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data)


class PasswordChangeView(APIView):
    """Change your password. Every token issued before stops working; a new pair is returned."""

    permission_classes = [IsPerson]

    @extend_schema(
        request=PasswordChangeSerializer,
        responses={200: TokenPairSerializer, **ERROR_RESPONSES, **BODY_ERROR_RESPONSES},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        user = request.user
        assert isinstance(user, User)  # IsPerson guarantees a signed-in person
        data = PasswordChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attempt = check_password_rate(user)  # only wrong guesses keep counting
        if not user.check_password(data.validated_data["current_password"]):
            raise serializers.ValidationError(
                {"current_password": ["Your current password is not correct."]}
            )
        attempt.succeeded()
        try:
            validate_password(data.validated_data["new_password"], user)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"new_password": list(exc.messages)}) from exc
        user.set_password(data.validated_data["new_password"])
        user.save(update_fields=["password"])
        revoke_refresh_tokens(user=user)
        return Response(issue_tokens(user=user, schema=_schema(request)))


class TenantInfoView(APIView):
    """The workspace the caller is signed in to, and who they are."""

    permission_classes = [CanRead]

    class OutputSerializer(serializers.Serializer):
        schema = serializers.CharField()
        name = serializers.CharField()
        plan = serializers.CharField()
        email = serializers.EmailField()
        role = serializers.CharField()

    @extend_schema(responses={200: OutputSerializer, **ERROR_RESPONSES}, tags=["workspace"])
    def get(self, request: Request) -> Response:
        tenant = request.tenant
        data = {
            "schema": tenant.schema_name,
            "name": tenant.name,
            "plan": tenant.plan,
            "email": request.user.email,  # type: ignore[union-attr]
            "role": request.user.role,  # type: ignore[union-attr]
        }
        return Response(self.OutputSerializer(data).data)

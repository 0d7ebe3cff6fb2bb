"""Account endpoints of the tenant API."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class TenantInfoView(APIView):
    """The workspace the caller is signed in to, and who they are."""

    class OutputSerializer(serializers.Serializer):
        schema = serializers.CharField()
        name = serializers.CharField()
        plan = serializers.CharField()
        email = serializers.EmailField()
        role = serializers.CharField()

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

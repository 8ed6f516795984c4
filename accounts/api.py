from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import Role
from helpline import gate


class MeSerializer(serializers.Serializer[Any]):
    username = serializers.CharField()
    organisation = serializers.CharField(source="organisation.name")
    role = serializers.ChoiceField(choices=Role.choices)
    permissions = serializers.ListField(child=serializers.CharField())


class MeView(APIView):
    @extend_schema(
        summary="The authenticated account",
        description="Who the token or session belongs to, its organisation, role and permissions.",
        responses=MeSerializer,
        examples=[
            OpenApiExample(
                "Worker",
                value={"username": "demo-worker", "organisation": "Demo Helpline", "role": "worker", "permissions": []},
            )
        ],
    )
    def get(self, request: Request) -> Response:
        user = gate.signed_in_user(request)
        me = {
            "username": user.username,
            "organisation": user.organisation,
            "role": user.role,
            "permissions": sorted(user.get_all_permissions()),
        }
        return Response(MeSerializer(me).data)

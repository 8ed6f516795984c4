"""The API schema lists the errors each operation can answer with, not only its success."""

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated


class ErrorSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField()


INVALID = OpenApiResponse(
    OpenApiTypes.OBJECT, description="Invalid input: each field (or detail) with what is wrong with it."
)
NOT_AUTHENTICATED = OpenApiResponse(ErrorSerializer, description="No token, or one that is wrong, expired or revoked.")
FORBIDDEN = OpenApiResponse(
    ErrorSerializer, description="Your role may not do this (or, signed in by session, the CSRF token is missing)."
)
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="Nothing by that id that you may see.")
THROTTLED = OpenApiResponse(ErrorSerializer, description="Too many requests: wait and retry.")


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for code, response in self._error_responses().items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses

    def _error_responses(self) -> dict[str, OpenApiResponse]:
        errors = {}
        if self.method not in SAFE_METHODS or self._query_parameters():
            errors["400"] = INVALID
        if {} not in self.get_auth():
            errors["401"] = NOT_AUTHENTICATED
            # Unsafe methods: a session without its CSRF token is refused too.
            roles_checked = any(type(permission) is not IsAuthenticated for permission in self.view.get_permissions())
            if roles_checked or self.method not in SAFE_METHODS:
                errors["403"] = FORBIDDEN
        if "{" in self.path:
            errors["404"] = NOT_FOUND
        if self.view.get_throttles():
            errors["429"] = THROTTLED
        return errors

    def _query_parameters(self) -> set[str]:
        """Query parameters the view reads and may refuse, a pagination cursor among them."""
        return {parameter["name"] for parameter in self._get_parameters() if parameter["in"] == "query"}

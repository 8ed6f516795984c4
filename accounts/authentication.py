from typing import Any

from drf_spectacular.authentication import SessionScheme
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request

from accounts.selectors import two_factor_exempt


class VerifiedSessionAuthentication(SessionAuthentication):
    """Session authentication that counts only sessions past the second factor."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        if user.is_verified() or two_factor_exempt(user):
            return result
        return None


class VerifiedSessionScheme(SessionScheme):
    """Describes the session authentication in the OpenAPI schema."""

    target_class = "accounts.authentication.VerifiedSessionAuthentication"
    name = "sessionAuth"

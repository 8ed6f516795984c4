import time
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.middleware import is_verified
from django_otp.models import Device

from accounts.selectors import two_factor_exempt
from accounts.sso import SSO_MFA

LOGIN_AT = "login_at"


class UserLanguageMiddleware:
    """Every request in the signed-in user's language (``User.language``), the site's default for anyone else.

    Not the browser's Accept-Language or a URL prefix: the choice is the user's, wherever they sign in.
    The response already varies on the session cookie, which is what the language follows.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user: Any = request.user
        # The API answers in English, however its caller signed in: clients read its texts as data.
        personal = user.is_authenticated and not request.path_info.startswith("/api/")
        language = user.interface_language if personal else settings.LANGUAGE_CODE
        # override, not activate: the thread's language is restored afterwards, for whatever it serves next.
        with translation.override(language):
            request.LANGUAGE_CODE = translation.get_language()
            response = self.get_response(request)
            response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response


class OTPMiddleware:
    """django-otp's middleware, but without a query of its own: the device the session was verified with
    (``DEVICE_ID_SESSION_KEY``) must still be one of the user's confirmed devices, which ``accounts.backends``
    reads with the user. ``request.user.otp_device`` loads that device only if something asks for it. A session
    signed in through an identity provider whose ID token proved a second factor (``accounts.sso``) is verified
    while the account is still linked to that provider and the provider is enabled.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request.user = SimpleLazyObject(partial(self._verify, request, request.user))  # type: ignore[assignment]
        return self.get_response(request)

    @staticmethod
    def _verify(request: HttpRequest, user: Any) -> Any:
        user.otp_device = None
        user.is_verified = partial(is_verified, user)
        if not user.is_authenticated:
            return user
        # Signed in through a provider whose ID token proved a second factor, and still linked to it.
        if request.session.get(SSO_MFA) in getattr(user, "sso_providers", ()):
            user.is_verified = lambda: True
            return user
        persistent_id = request.session.get(DEVICE_ID_SESSION_KEY)
        # A user read otherwise than by accounts.backends has no devices listed: not verified.
        confirmed = [*getattr(user, "totp_devices", ()), *getattr(user, "static_devices", ())]
        if persistent_id in confirmed:
            user.otp_device = SimpleLazyObject(partial(Device.from_persistent_id, persistent_id))
        elif persistent_id:
            del request.session[DEVICE_ID_SESSION_KEY]
        return user


class SessionLifetimeMiddleware:
    """End a session a fixed time after login, however active it is.

    The idle timeout is the session age itself, renewed on every request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.user.is_authenticated:
            login_at = request.session.get(LOGIN_AT, 0)
            if time.time() - login_at > settings.SESSION_ABSOLUTE_LIFETIME:
                logout(request)
                messages.info(request, _("Your session has ended. Please log in again."))
                return HttpResponseRedirect(f"{reverse('login')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


class TwoFactorRequiredMiddleware:
    """Pages need a verified second factor; enrol first if there is no device yet.

    The API is left to its authentication classes, which ignore unverified sessions.
    """

    open_views = {"login", "logout", "sso_start", "sso_callback", "two_factor_setup", "two_factor_verify", "healthz"}

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        user: Any = request.user
        if not user.is_authenticated or user.is_verified() or two_factor_exempt(user):
            return None
        match = request.resolver_match
        if match is None or match.view_name in self.open_views or request.path.startswith("/api/"):
            return None
        target = "two_factor_verify" if user.totpdevice_set.filter(confirmed=True).exists() else "two_factor_setup"
        return HttpResponseRedirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")


class NoStoreForAuthenticatedMiddleware:
    """Nothing a signed-in user sees may be kept by a browser or proxy cache."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if request.user.is_authenticated:
            add_never_cache_headers(response)
        return response

"""A drafted form posted after its author's session ended is kept, not lost on the way to the login page.

While someone is signed in (both factors), a signed cookie names them as the user last signed in on this browser.
A drafted form posted here without a session (it ended, idle or at its absolute lifetime) that passes the CSRF
check is kept under a random token, whose signed cookie lives an hour; the login page then leads back to the
form. When that user logs in again here the form becomes their draft (drafts/signals.py) and the page shows it;
when anyone else logs in, it is deleted. Logging out deletes both cookies.
"""

import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseBase
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import resolve_url
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _

from accounts.selectors import two_factor_exempt
from drafts import services
from drafts.registry import drafted_form_posted_to
from drafts.selectors import draft_keep, kept_form_lifetime

SALT = "drafts.cookies"


def _cookie_name(name: str) -> str:
    """Bound to this host alone where cookies go over HTTPS only, as the session's is."""
    return f"__Host-{name}" if settings.SESSION_COOKIE_SECURE else name


LAST_USER = "drafts_user"
KEPT = "drafts_kept"


def _set_cookie(response: HttpResponseBase, name: str, value: str, seconds: float) -> None:
    response.set_signed_cookie(
        _cookie_name(name),
        value,
        salt=SALT + name,
        max_age=int(seconds),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def _cookie(request: HttpRequest, name: str, seconds: float) -> str:
    return str(request.get_signed_cookie(_cookie_name(name), default="", salt=SALT + name, max_age=int(seconds)))


def kept_cookie(request: HttpRequest) -> tuple[int, str] | None:
    """The user the kept forms of this browser belong to, and their token."""
    user_id, _colon, token = _cookie(request, KEPT, kept_form_lifetime().total_seconds()).partition(":")
    return (int(user_id), token) if user_id.isdigit() and token else None


def _last_user(request: HttpRequest) -> int | None:
    user_id = _cookie(request, LAST_USER, draft_keep().total_seconds())
    return int(user_id) if user_id.isdigit() else None


def _to_login(response: HttpResponseBase) -> bool:
    location = response.get("Location", "") if response.status_code == 302 else ""
    return bool(location) and urlsplit(location).path == resolve_url(settings.LOGIN_URL)


class KeepFormsPostedAfterSessionEndMiddleware:
    """Placed after the CSRF, authentication and OTP middleware and before the session lifetime's, which ends a
    session by answering with the login page itself."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        user: Any = request.user
        if user.is_authenticated:
            # Not on the login's own answer, where the user is not yet the OTP middleware's, with is_verified().
            if getattr(user, "is_verified", bool)() or two_factor_exempt(user):
                _set_cookie(response, LAST_USER, str(user.pk), draft_keep().total_seconds())
            if _cookie_name(KEPT) in request.COOKIES:  # claimed or deleted at login
                response.delete_cookie(_cookie_name(KEPT), samesite="Lax")
        elif request.resolver_match is not None and request.resolver_match.view_name == "logout":
            for name in (LAST_USER, KEPT):
                response.delete_cookie(_cookie_name(name), samesite="Lax")
        elif request.method == "POST" and _to_login(response):
            self._keep(request, response)
        return response

    def _keep(self, request: HttpRequest, response: HttpResponseBase) -> None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return
        found = drafted_form_posted_to(match.view_name, match.kwargs)
        user_id = _last_user(request)
        if found is None or user_id is None:
            return
        # The session's end may have answered before the CSRF check ran: only a genuine post is kept.
        if CsrfViewMiddleware(self.get_response).process_view(request, match.func, match.args, match.kwargs):
            return
        form, record_id = found
        kept = kept_cookie(request)
        token = kept[1] if kept and kept[0] == user_id else secrets.token_urlsafe(32)
        if not services.form_keep(user_id=user_id, key=form.key(record_id), data=form.kept(request.POST), token=token):
            return
        _set_cookie(response, KEPT, f"{user_id}:{token}", kept_form_lifetime().total_seconds())
        response["Location"] = redirect_to_login(form.page(record_id))["Location"]
        messages.info(request, _("What you typed is kept: log in again to find it in the form."))

import time
from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.lockout import ADDRESS_LOCKED_OUT
from accounts.middleware import LOGIN_AT
from accounts.sso import SSO_MFA
from audit.models import Action
from audit.services import access_log_record


@receiver(user_logged_in)
def record_login(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    request.session[LOGIN_AT] = time.time()
    # Only a sign-in through the provider vouches for the second factor, and it says so after this login.
    request.session.pop(SSO_MFA, None)
    access_log_record(action=Action.LOGIN, request=request, actor=user)


@receiver(user_logged_out)
def record_logout(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None:
        access_log_record(action=Action.LOGOUT, request=request, actor=user)


@receiver(user_login_failed)
def record_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = str(credentials.get("username", ""))[:150]
    actor = get_user_model().objects.filter(username=username).first()
    access_log_record(action=Action.LOGIN_FAILED, request=request, actor=actor, username=username)


@receiver(user_locked_out)
def record_locked_out(
    sender: Any, request: HttpRequest, username: str | None, ip_address: str | None, **kwargs: Any
) -> None:
    username = (username or "")[:150]
    actor = get_user_model().objects.filter(username=username).first()
    # Says when the address itself is locked out, for every username, after failures across usernames.
    detail = {"lockout": "address"} if getattr(request, ADDRESS_LOCKED_OUT, False) else None
    access_log_record(action=Action.LOCKED_OUT, request=request, actor=actor, username=username, detail=detail)

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from accounts.models import Organisation, User
from accounts.roles import Role
from audit.models import Action
from audit.services import access_log_record

BACKUP_DEVICE_NAME = "backup"


@transaction.atomic
def user_create(
    *,
    organisation: Organisation,
    username: str,
    role: Role,
    password: str | None,
    actor: Any = None,
    request: HttpRequest | None = None,
    is_demo: bool = False,
) -> User:
    """A new account. Without a password the account cannot log in until one is set."""
    user = User(organisation=organisation, username=username, role=role, is_demo=is_demo)
    user.is_staff = role == Role.ADMINISTRATOR
    if password is None:
        user.set_unusable_password()
    else:
        validate_password(password, user)
        user.set_password(password)
    user.full_clean()
    user.save()
    access_log_record(action=Action.CREATE, request=request, actor=actor, obj=user, detail={"role": role})
    return user


@transaction.atomic
def user_set_role(*, user: User, role: Role, actor: Any, request: HttpRequest | None = None) -> User:
    previous = user.role
    user.role = role
    user.is_staff = role == Role.ADMINISTRATOR
    user.save(update_fields=["role", "is_staff"])
    access_log_record(action=Action.CHANGE, request=request, actor=actor, obj=user, detail={"role": [previous, role]})
    return user


@transaction.atomic
def user_set_language(*, user: User, language: str, request: HttpRequest | None = None) -> User:
    """The language of the user's pages, notifications and e-mails; empty for the site's default."""
    if language and language not in dict(settings.LANGUAGES):
        raise ValidationError(
            _("“%(language)s” is not one of the languages offered."),
            code="invalid_language",
            params={"language": language},
        )
    previous = user.language
    user.language = language
    user.save(update_fields=["language"])
    access_log_record(
        action=Action.CHANGE, request=request, actor=user, obj=user, detail={"language": [previous, language]}
    )
    return user


@transaction.atomic
def two_factor_device_for_enrolment(*, user: User) -> TOTPDevice:
    """The unconfirmed authenticator the user is enrolling, created on first use."""
    device, _ = TOTPDevice.objects.get_or_create(user=user, confirmed=False, defaults={"name": "authenticator"})
    return device


@transaction.atomic
def two_factor_enrol(*, request: HttpRequest, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm the authenticator with a code from it; return fresh backup codes, or None if the code is wrong."""
    user: Any = request.user
    # Locked so that two submissions of the same code cannot confirm two devices.
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user)
    if device.confirmed or not device.verify_token(token):
        access_log_record(action=Action.TWO_FACTOR_FAILED, request=request, detail={"step": "enrolment"})
        return None
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _backup_codes_replace(user)
    request.session.cycle_key()
    otp_login(request, device)
    access_log_record(action=Action.TWO_FACTOR_ENROLLED, request=request, obj=device)
    return codes


@transaction.atomic
def two_factor_verify(*, request: HttpRequest, token: str) -> bool:
    from django_otp import match_token

    user: Any = request.user
    device = match_token(user, token.replace(" ", ""))
    if device is None:
        access_log_record(action=Action.TWO_FACTOR_FAILED, request=request)
        return False
    request.session.cycle_key()
    otp_login(request, device)
    access_log_record(
        action=Action.TWO_FACTOR, request=request, detail={"backup_code": isinstance(device, StaticDevice)}
    )
    return True


@transaction.atomic
def backup_codes_regenerate(*, request: HttpRequest) -> list[str]:
    codes = _backup_codes_replace(request.user)
    access_log_record(action=Action.CHANGE, request=request, object_type="two_factor.backup_codes")
    return codes


def _backup_codes_replace(user: Any) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(user=user, name=BACKUP_DEVICE_NAME, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(10)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@transaction.atomic
def api_token_issue(*, user: User, lifetime: timedelta, actor: Any = None) -> str:
    """A new API token for a service account; only its hash is stored."""
    instance, token = AuthToken.objects.create(user=user, expiry=lifetime)
    access_log_record(
        action=Action.TOKEN_ISSUED,
        actor=actor,
        obj=user,
        detail={"token_key": instance.token_key, "expiry": instance.expiry.isoformat()},
    )
    return token


@transaction.atomic
def api_tokens_revoke(*, user: User, actor: Any = None) -> int:
    count, _ = AuthToken.objects.filter(user=user).delete()
    access_log_record(action=Action.CHANGE, actor=actor, obj=user, detail={"api_tokens_revoked": count})
    return count


@transaction.atomic
def two_factor_reset(*, user: User, request: HttpRequest) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    access_log_record(action=Action.CHANGE, request=request, obj=user, detail={"two_factor": "reset"})

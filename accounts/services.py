import logging
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from accounts.models import Invitation, InvitationReason, Organisation, User
from accounts.roles import Role
from accounts.selectors import invitation_token_hash, invitation_usable, invitation_waiting
from audit.models import Action
from audit.services import access_log_record
from notifications.services import AccountEvent, account_change_notify

logger = logging.getLogger(__name__)

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
def user_invite(
    *,
    organisation: Organisation,
    username: str,
    role: Role,
    actor: Any,
    request: HttpRequest | None = None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    language: str = "",
) -> tuple[User, str]:
    """A new account without a password, and the invitation token with which its owner sets one.

    Nobody but the holder of the link ever chooses the password. The organisation's supervisors are told.
    """
    user = User(
        organisation=organisation,
        username=username,
        role=role,
        first_name=first_name,
        last_name=last_name,
        email=email,
        language=language,
        is_staff=role == Role.ADMINISTRATOR,
    )
    user.set_unusable_password()
    user.full_clean()
    user.save()
    entry = access_log_record(
        action=Action.CREATE, request=request, actor=actor, obj=user, detail={"role": role, "invitation": True}
    )
    token = _invitation_issue(user=user, reason=InvitationReason.NEW_ACCOUNT, actor=actor)
    account_change_notify(event=AccountEvent.CREATED, user=user, actor=actor, entry=entry, role=role)
    return user, token


# What an administrator may change on an account; the password is never one of them.
EDITABLE = ("first_name", "last_name", "email", "language", "role", "is_active")


@transaction.atomic
def user_update(*, user: User, values: dict[str, Any], actor: Any, request: HttpRequest | None = None) -> User:
    """Change an account's details, role or activation. Role and activation changes are told to the supervisors."""
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise ValueError(f"Not editable here: {sorted(unknown)}")
    # Locked so that two administrators saving the same account each see what the other changed.
    current = User.objects.select_for_update().get(pk=user.pk)
    changed = {
        name: (getattr(current, name), value) for name, value in values.items() if getattr(current, name) != value
    }
    if not changed:
        return current
    for name, (_previous, value) in changed.items():
        setattr(current, name, value)
    current.is_staff = current.is_superuser or current.role == Role.ADMINISTRATOR
    current.full_clean(exclude=["password"], validate_unique=False)
    current.save(update_fields=[*changed, "is_staff"])
    detail: dict[str, Any] = {"fields": sorted(changed)}
    detail.update({name: list(changed[name]) for name in ("role", "is_active") if name in changed})
    entry = access_log_record(action=Action.CHANGE, request=request, actor=actor, obj=current, detail=detail)
    if "role" in changed:
        previous, role = changed["role"]
        account_change_notify(
            event=AccountEvent.ROLE_CHANGED, user=current, actor=actor, entry=entry, previous=previous, role=role
        )
    if "is_active" in changed:
        event = AccountEvent.ACTIVATED if current.is_active else AccountEvent.DEACTIVATED
        account_change_notify(event=event, user=current, actor=actor, entry=entry)
    return current


def user_set_role(*, user: User, role: Role, actor: Any, request: HttpRequest | None = None) -> User:
    return user_update(user=user, values={"role": role}, actor=actor, request=request)


@transaction.atomic
def user_password_reset(*, user: User, actor: Any, request: HttpRequest | None = None) -> str:
    """The password stops working at once (and every session with it); its owner sets a new one from the invitation."""
    user.set_unusable_password()
    user.save(update_fields=["password"])
    entry = access_log_record(
        action=Action.CHANGE, request=request, actor=actor, obj=user, detail={"password": "reset"}
    )
    token = _invitation_issue(user=user, reason=InvitationReason.PASSWORD_RESET, actor=actor)
    account_change_notify(event=AccountEvent.PASSWORD_RESET, user=user, actor=actor, entry=entry)
    return token


@transaction.atomic
def two_factor_reset(*, user: User, actor: Any, request: HttpRequest | None = None) -> str:
    """A lost phone: authenticator, backup codes and password go; the owner starts again from the invitation.

    The password goes too, so that a password alone (perhaps stolen with the phone) cannot enrol a new authenticator.
    """
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    user.set_unusable_password()
    user.save(update_fields=["password"])
    detail = {"two_factor": "reset", "password": "reset"}
    entry = access_log_record(action=Action.CHANGE, request=request, actor=actor, obj=user, detail=detail)
    token = _invitation_issue(user=user, reason=InvitationReason.TWO_FACTOR_RESET, actor=actor)
    account_change_notify(event=AccountEvent.TWO_FACTOR_RESET, user=user, actor=actor, entry=entry)
    return token


def _invitation_issue(*, user: User, reason: InvitationReason, actor: Any) -> str:
    """A fresh single-use token for the account, replacing any invitation still waiting; only its hash is kept."""
    Invitation.objects.filter(user=user, used_at__isnull=True).delete()
    token = secrets.token_urlsafe(32)
    Invitation.objects.create(
        user=user,
        reason=reason,
        token_hash=invitation_token_hash(token),
        created_by=actor,
        expires_at=timezone.now() + settings.INVITATION_LIFETIME,
    )
    return token


class InvitationInvalid(Exception):
    """The link is unknown, used, expired or for an account that has been deactivated."""


@transaction.atomic
def invitation_accept(*, token: str, password: str, request: HttpRequest) -> User:
    """Set the password of the invitation's account and use the invitation up.

    Raises InvitationInvalid for a link that cannot be used, ValidationError for a password the validators refuse.
    """
    # Locked so that the same link submitted twice at once sets one password, not two.
    invitation = invitation_usable(token, for_update=True)
    if invitation is None:
        raise InvitationInvalid
    user = invitation.user
    validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    invitation.used_at = timezone.now()
    invitation.save(update_fields=["used_at"])
    access_log_record(
        action=Action.PASSWORD_CHANGED,
        request=request,
        actor=user,
        obj=user,
        detail={"invitation": invitation.pk, "reason": invitation.reason},
    )
    return user


def invitation_email(*, user: User, link: str) -> bool:
    """E-mail the invitation link to the account's owner, in their language. Returns whether it went."""
    invitation = invitation_waiting(user)
    if not user.email or invitation is None:
        return False
    context = {"user": user, "link": link, "expires_at": invitation.expires_at}
    with translation.override(user.interface_language):
        subject = " ".join(render_to_string("accounts/invitation_email_subject.txt", context).split())
        body = render_to_string("accounts/invitation_email_body.txt", context)
    try:
        EmailMessage(subject, body, to=[user.email]).send()
    except Exception:
        # The administrator is told on the page and hands the link over instead.
        logger.exception("The invitation e-mail to user %s could not be sent", user.pk)
        return False
    return True


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

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from accounts.models import Invitation, InvitationReason, Organisation, User
from accounts.roles import Role
from accounts.selectors import invitation_token_hash, invitation_usable, supervisors_active
from audit.models import Action
from audit.services import access_log_record
from helpline import gate
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
    actor: User | None = None,
    request: HttpRequest | None = None,
    is_demo: bool = False,
) -> User:
    """A new account. Without a password the account cannot log in until one is set."""
    user = User(organisation=organisation, username=username, role=role, is_demo=is_demo)
    user.set_staff_status()
    if password is None:
        user.set_unusable_password()
    else:
        validate_password(password, user)
        user.set_password(password)
    user.full_clean()
    user.save()
    access_log_record(action=Action.CREATE, request=request, actor=actor, obj=user, detail={"role": role})
    return user


@dataclass(frozen=True)
class InvitationSent:
    """An invitation issued to the account's own address. Its link went there and nowhere else: not to the caller."""

    user: User
    address: str
    emailed: bool


def invitation_address_validate(
    *, address: str, organisation: Organisation, actor: User | None, user: User | None = None
) -> None:
    """Where an account's invitations go: a mailbox of its owner's, used by no other account of the organisation.

    The acting administrator's own address is refused (unless the account is their own), so that nobody sends
    another person's invitation to themselves. Raises ValidationError with a message for the form.
    """
    if not address:
        raise ValidationError(
            _("An e-mail address is needed: the invitation link is sent there, and shown to nobody."),
            code="email_required",
        )
    acting_for_another = actor is not None and (user is None or actor.pk != user.pk)
    if acting_for_another and actor is not None and actor.email.casefold() == address.casefold():
        raise ValidationError(
            _("This is your own address. The invitation link must go to the person's own mailbox, never to yours."),
            code="email_of_actor",
        )
    others = User.objects.filter(organisation=organisation, email__iexact=address)
    if user is not None:
        others = others.exclude(pk=user.pk)
    if others.exists():
        raise ValidationError(
            _("Another account of the organisation has this address. Each invitation goes to its owner's mailbox."),
            code="email_of_another_account",
        )


def supervision_require(*, organisation: Organisation, actor: User | None) -> None:
    """An account is added or reset only where an active supervisor is told of it.

    Otherwise an administrator who had demoted or deactivated the supervisors could give themselves, unseen, a new
    account or another's. Deployment operators (superusers) may act: they are the ones who add a supervisor.
    Raises ValidationError with a message for the form.
    """
    if (actor is not None and actor.is_superuser) or supervisors_active(organisation):
        return
    raise ValidationError(
        _("Your organisation has no active supervisor to be told of this: a deployment operator must add one first."),
        code="no_supervisor",
    )


@transaction.atomic
def user_invite(
    *,
    organisation: Organisation,
    username: str,
    role: Role,
    email: str,
    actor: User | None,
    request: HttpRequest | None = None,
    first_name: str = "",
    last_name: str = "",
    language: str = "",
) -> InvitationSent:
    """A new account without a password, and an invitation e-mailed to its address, with which its owner sets one.

    Nobody but the holder of the link ever chooses the password, and the link goes only to the account's address.
    The organisation's supervisors are told, with that address.
    """
    supervision_require(organisation=organisation, actor=actor)
    invitation_address_validate(address=email, organisation=organisation, actor=actor)
    user = User(
        organisation=organisation,
        username=username,
        role=role,
        first_name=first_name,
        last_name=last_name,
        email=email,
        language=language,
    )
    user.set_staff_status()
    user.set_unusable_password()
    user.full_clean()
    user.save()
    emailed = _invitation_send(user=user, reason=InvitationReason.NEW_ACCOUNT, actor=actor, request=request)
    detail = {"role": role, "invitation": True, "email": email, "emailed": emailed}
    entry = access_log_record(action=Action.CREATE, request=request, actor=actor, obj=user, detail=detail)
    account_change_notify(events=[AccountEvent.CREATED], user=user, actor=actor, entry=entry, role=role, email=email)
    return InvitationSent(user=user, address=email, emailed=emailed)


# What an administrator may change on an account; the password is never one of them.
EDITABLE = ("first_name", "last_name", "email", "language", "role", "is_active")


@transaction.atomic
def user_update(*, user: User, values: dict[str, Any], actor: User | None, request: HttpRequest | None = None) -> User:
    """Change an account's details, role or activation.

    Changes of address, role and activation are told to the supervisors (those before the change and after it), the
    other administrators and the account's owner; a new address ends any invitation waiting. Leaving the organisation
    without an active supervisor is allowed, but then no account is added or reset until an operator adds one.
    """
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
    previous = {name: old for name, (old, _new) in changed.items()}
    supervisors_before = supervisors_active(current.organisation)
    if values.get("email") and "email" in changed:  # without an address, an account gets no invitation
        invitation_address_validate(
            address=values["email"], organisation=current.organisation, actor=actor, user=current
        )
    for name, (_previous, value) in changed.items():
        setattr(current, name, value)
    current.set_staff_status()
    current.full_clean(exclude=["password"], validate_unique=False)
    current.save(update_fields=[*changed, "is_staff"])
    detail: dict[str, Any] = {"fields": sorted(changed)}
    detail.update({name: list(changed[name]) for name in ("role", "is_active", "email") if name in changed})
    if "email" in changed:
        # A link sent to the old address must not outlive it.
        detail["invitations_withdrawn"] = _invitations_withdraw(current)
    entry = access_log_record(action=Action.CHANGE, request=request, actor=actor, obj=current, detail=detail)
    events = []
    if "email" in changed:
        events.append(AccountEvent.EMAIL_CHANGED)
    if "role" in changed:
        events.append(AccountEvent.ROLE_CHANGED)
    if "is_active" in changed:
        events.append(AccountEvent.ACTIVATED if current.is_active else AccountEvent.DEACTIVATED)
    if events:
        account_change_notify(
            events=events,
            user=current,
            actor=actor,
            entry=entry,
            previous=previous.get("role", ""),
            role=current.role,
            previous_email=previous.get("email", ""),
            email=current.email,
            supervisors_before=supervisors_before,
        )
    return current


def user_set_role(*, user: User, role: Role, actor: User, request: HttpRequest | None = None) -> User:
    return user_update(user=user, values={"role": role}, actor=actor, request=request)


@transaction.atomic
def user_password_reset(*, user: User, actor: User, request: HttpRequest | None = None) -> InvitationSent:
    """The password and the API tokens stop working at once (and every session with them); its owner sets a new
    password from the invitation e-mailed to the account's address, which must pass ``invitation_address_validate``.
    """
    supervision_require(organisation=user.organisation, actor=actor)
    invitation_address_validate(address=user.email, organisation=user.organisation, actor=actor, user=user)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    revoked, _deleted = AuthToken.objects.filter(user=user).delete()
    emailed = _invitation_send(user=user, reason=InvitationReason.PASSWORD_RESET, actor=actor, request=request)
    detail = {"password": "reset", "api_tokens_revoked": revoked, "email": user.email, "emailed": emailed}
    entry = access_log_record(action=Action.CHANGE, request=request, actor=actor, obj=user, detail=detail)
    account_change_notify(events=[AccountEvent.PASSWORD_RESET], user=user, actor=actor, entry=entry, email=user.email)
    return InvitationSent(user=user, address=user.email, emailed=emailed)


@transaction.atomic
def two_factor_reset(*, user: User, actor: User, request: HttpRequest | None = None) -> InvitationSent:
    """A lost phone: authenticator, backup codes, password and API tokens go; the owner starts again from the
    invitation e-mailed to the account's address.

    The password goes too, so that a password alone (perhaps stolen with the phone) cannot enrol a new authenticator.
    """
    supervision_require(organisation=user.organisation, actor=actor)
    invitation_address_validate(address=user.email, organisation=user.organisation, actor=actor, user=user)
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    user.set_unusable_password()
    user.save(update_fields=["password"])
    revoked, _deleted = AuthToken.objects.filter(user=user).delete()
    emailed = _invitation_send(user=user, reason=InvitationReason.TWO_FACTOR_RESET, actor=actor, request=request)
    detail = {
        "two_factor": "reset",
        "password": "reset",
        "api_tokens_revoked": revoked,
        "email": user.email,
        "emailed": emailed,
    }
    entry = access_log_record(action=Action.CHANGE, request=request, actor=actor, obj=user, detail=detail)
    account_change_notify(events=[AccountEvent.TWO_FACTOR_RESET], user=user, actor=actor, entry=entry, email=user.email)
    return InvitationSent(user=user, address=user.email, emailed=emailed)


@sensitive_variables("token", "link", "context", "body")
def _invitation_send(*, user: User, reason: InvitationReason, actor: User | None, request: HttpRequest | None) -> bool:
    """A fresh single-use link for the account, replacing any invitation still waiting, e-mailed to its address.

    The token lives only in this call and in the message: the database keeps its hash, nothing returns or logs it.
    If the message cannot be sent the invitation is withdrawn at once (a new reset sends another); returns whether
    it went.
    """
    Invitation.objects.filter(user=user, used_at__isnull=True).delete()
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        user=user,
        reason=reason,
        token_hash=invitation_token_hash(token),
        created_by=actor,
        expires_at=timezone.now() + settings.INVITATION_LIFETIME,
    )
    path = reverse("invitation_accept", args=[token])
    # Outside a request (a shell, a test) there is no host to name: the path alone.
    link = request.build_absolute_uri(path) if request is not None else path
    context = {"user": user, "link": link, "expires_at": invitation.expires_at}
    with translation.override(user.interface_language):
        subject = " ".join(render_to_string("accounts/invitation_email_subject.txt", context).split())
        body = render_to_string("accounts/invitation_email_body.txt", context)
    try:
        EmailMessage(subject, body, to=[user.email]).send()
    except Exception:
        logger.exception("The invitation e-mail to user %s could not be sent", user.pk)
        _invitations_withdraw(user)
        return False
    return True


def _invitations_withdraw(user: User) -> int:
    """End the account's waiting invitation, if any, now; the row stays, so the sign-in line says so."""
    return Invitation.objects.filter(user=user, used_at__isnull=True, expires_at__gt=timezone.now()).update(
        expires_at=timezone.now()
    )


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
    user = gate.signed_in_user(request)
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

    user = gate.signed_in_user(request)
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
    codes = _backup_codes_replace(gate.signed_in_user(request))
    access_log_record(action=Action.CHANGE, request=request, object_type="two_factor.backup_codes")
    return codes


def _backup_codes_replace(user: User) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(user=user, name=BACKUP_DEVICE_NAME, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(10)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@transaction.atomic
def api_token_issue(*, user: User, lifetime: timedelta, actor: User | None = None) -> str:
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
def api_tokens_revoke(*, user: User, actor: User | None = None) -> int:
    count, _ = AuthToken.objects.filter(user=user).delete()
    access_log_record(action=Action.CHANGE, actor=actor, obj=user, detail={"api_tokens_revoked": count})
    return count

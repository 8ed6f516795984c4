import hashlib

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Invitation, Organisation, User
from accounts.roles import Role
from audit.models import AccessLog, Action

INVITATION_OBJECT_TYPE = "accounts.invitation"


def two_factor_exempt(user: User) -> bool:
    """Demo accounts may skip the second factor, and only in development."""
    return bool(settings.DEBUG and user.is_demo)


def organisations_visible_to(user: User) -> QuerySet[Organisation]:
    if user.is_superuser:
        return Organisation.objects.all()
    return Organisation.objects.filter(pk=user.organisation_id)


def users_visible_to(user: User) -> QuerySet[User]:
    if user.is_superuser:
        return User.objects.all()
    if user.role in (Role.ADMINISTRATOR, Role.SUPERVISOR):
        # Deployment operators (superusers) are nobody's to manage but their own.
        return User.objects.filter(organisation_id=user.organisation_id, is_superuser=False)
    return User.objects.filter(pk=user.pk)


def supervisors_active(organisation: Organisation | None) -> list[int]:
    """The ids of the organisation's active supervisors: those told of changes to its accounts."""
    return list(
        User.objects.filter(organisation=organisation, role=Role.SUPERVISOR, is_active=True).values_list(
            "pk", flat=True
        )
    )


def invitation_token_hash(token: str) -> str:
    """Tokens are 256 random bits, so a plain SHA-256 is enough to keep them out of the database."""
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_usable(token: str, *, for_update: bool = False) -> Invitation | None:
    """The invitation of this token if it can still be used: not used, not expired, its account active."""
    invitations = Invitation.objects.select_related("user")
    if for_update:
        invitations = invitations.select_for_update(of=("self",))
    return invitations.filter(
        token_hash=invitation_token_hash(token),
        used_at__isnull=True,
        expires_at__gt=timezone.now(),
        user__is_active=True,
    ).first()


def invitation_waiting(user: User) -> Invitation | None:
    """The account's invitation not used yet (expired or not): there is at most one."""
    return Invitation.objects.filter(user=user, used_at__isnull=True).first()


def invitation_refusals_exceeded(address: str) -> bool:
    """Whether this address has had as many invitation links refused recently as a login may fail.

    Counted in the access log, so the limit holds across every web process.
    """
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    refusals = AccessLog.objects.filter(
        action=Action.REFUSED, object_type=INVITATION_OBJECT_TYPE, address=address, at__gte=since
    )
    return refusals.count() >= settings.AXES_FAILURE_LIMIT

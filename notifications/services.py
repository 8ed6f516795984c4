from collections.abc import Collection
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateformat import format as date_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy
from psycopg.types.json import Jsonb

from accounts.models import User, language_to_activate
from accounts.roles import Role
from audit.models import AccessLog
from cases.models import ResponseStep, Risk, Status
from notifications.models import Kind, Notification
from notifications.selectors import digest_figures, digest_is_empty
from referrals.models import Referral

COLUMNS = [
    "recipient_id",
    "kind",
    "case_id",
    "step_id",
    "referral_id",
    "subject_key",
    "day",
    "text",
    "detail",
    "created_at",
]
BATCH = 500


def _step_overdue_text(language: str, reference: str, step: str, due_at: datetime | None) -> str:
    """The reminder as its recipient reads it: kept as text, so written in their language."""
    with translation.override(language_to_activate(language)):
        due = date_format(timezone.localtime(due_at), "d M H:i")
        return _("%(reference)s: %(step)s was due %(due)s") % {"reference": reference, "step": step, "due": due}


def _follow_up_text(language: str, reference: str, agency: str, follow_up_on: date | None) -> str:
    with translation.override(language_to_activate(language)):
        return _("%(reference)s: follow up the referral to %(agency)s (due %(due)s)") % {
            "reference": reference,
            "agency": agency,
            "due": date_format(follow_up_on, "d M") if follow_up_on else "",
        }


def _overdue_steps(now: datetime) -> list[Notification]:
    """Steps still to do past their due time, for the case's assignee (unassigned cases wait for the digest)."""
    steps = (
        ResponseStep.objects.overdue(now)
        .filter(case__assigned_to__is_active=True)
        .exclude(case__status=Status.CLOSED)
        .values_list(
            "pk",
            "case_id",
            "case__reference",
            "case__assigned_to_id",
            "case__assigned_to__language",
            "step_type__label",
            "due_at",
        )
    )
    return [
        Notification(
            recipient_id=owner_id,
            kind=Kind.STEP_OVERDUE,
            case_id=case_id,
            step_id=pk,
            subject_key=f"step:{pk}",
            text=_step_overdue_text(language, reference, label, due_at),
        )
        for pk, case_id, reference, owner_id, language, label, due_at in steps
    ]


def _follow_ups_due(today: date) -> list[Notification]:
    """Referrals still under way whose follow-up date has passed, for their owner."""
    referrals = (
        Referral.objects.follow_up_overdue(today)
        .filter(owner__is_active=True)
        .values_list("pk", "case_id", "case__reference", "owner_id", "owner__language", "agency__name", "follow_up_on")
    )
    return [
        Notification(
            recipient_id=owner_id,
            kind=Kind.REFERRAL_FOLLOW_UP,
            case_id=case_id,
            referral_id=pk,
            subject_key=f"referral:{pk}",
            text=_follow_up_text(language, reference, agency, follow_up_on),
        )
        for pk, case_id, reference, owner_id, language, agency, follow_up_on in referrals
    ]


def _values(n: Notification, day: date, now: datetime) -> list[Any]:
    """One row in the order of COLUMNS."""
    return [
        n.recipient_id,
        n.kind,
        n.case_id,
        n.step_id,
        n.referral_id,
        n.subject_key,
        day,
        n.text,
        Jsonb(n.detail),
        now,
    ]


def _insert_once(candidates: list[Notification], day: date, now: datetime) -> int:
    """INSERT ... ON CONFLICT DO NOTHING: what this day already has is left alone. Returns how many were new."""
    created = 0
    for start in range(0, len(candidates), BATCH):
        batch = candidates[start : start + BATCH]
        rows = [_values(n, day, now) for n in batch]
        placeholders = ", ".join(["(" + ", ".join(["%s"] * len(COLUMNS)) + ")"] * len(rows))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Notification._meta.db_table} ({', '.join(COLUMNS)}) VALUES {placeholders} "  # noqa: S608
                "ON CONFLICT DO NOTHING RETURNING id",
                [value for row in rows for value in row],
            )
            created += len(cursor.fetchall())
    return created


@transaction.atomic
def reminders_create(*, now: datetime | None = None) -> int:
    """A notification for each overdue step and referral follow-up, at most one per item and local day.

    INSERT ... ON CONFLICT DO NOTHING: a second run, or two at once, adds nothing; a worker that dies
    half-way commits nothing. Returns how many were new.
    """
    now = now or timezone.now()
    day = timezone.localdate(now)
    return _insert_once(_overdue_steps(now) + _follow_ups_due(day), day, now)


# The count is named "n": ngettext_lazy picks singular or plural when the text is formatted.
DIGEST_PARTS = [
    (
        "new_high_risk",
        ngettext_lazy("%(n)d new high or critical risk case", "%(n)d new high or critical risk cases", "n"),
    ),
    (
        "overdue_step_cases",
        ngettext_lazy("%(n)d open case with overdue steps", "%(n)d open cases with overdue steps", "n"),
    ),
    ("overdue_follow_ups", ngettext_lazy("%(n)d overdue referral follow-up", "%(n)d overdue referral follow-ups", "n")),
    (
        "pending_closures",
        ngettext_lazy("%(n)d closure waiting for approval", "%(n)d closures waiting for approval", "n"),
    ),
]


def digest_text(figures: dict[str, Any], day: date) -> str:
    """The digest in one line, in the active language (the recipient's: see ``digests_create``)."""
    parts = [str(text % {"n": figures[key]}) for key, text in DIGEST_PARTS if figures[key]]
    return _("Daily digest for %(day)s: %(parts)s.") % {"day": date_format(day, "d M"), "parts": ", ".join(parts)}


@transaction.atomic
def digests_create(*, now: datetime | None = None) -> int:
    """Each active supervisor's daily digest of their organisation, at most one per supervisor and local day.

    A supervisor with nothing to report gets none. The figures are counted once per organisation and
    kept on the notification, so the e-mail says what the app says. Returns how many were new.
    """
    now = now or timezone.now()
    day = timezone.localdate(now)
    supervisors = User.objects.filter(role=Role.SUPERVISOR, is_active=True).order_by("organisation_id", "pk")
    figures_of: dict[int, dict[str, Any]] = {}
    candidates = []
    for supervisor in supervisors:
        if supervisor.organisation_id not in figures_of:
            figures_of[supervisor.organisation_id] = digest_figures(supervisor.organisation_id, now)
        figures = figures_of[supervisor.organisation_id]
        if digest_is_empty(figures):
            continue
        with translation.override(supervisor.interface_language):
            text = digest_text(figures, day)
        candidates.append(
            Notification(
                recipient_id=supervisor.pk,
                kind=Kind.SUPERVISOR_DIGEST,
                subject_key=f"digest:{supervisor.pk}",
                text=text,
                detail=figures,
            )
        )
    return _insert_once(candidates, day, now)


def digest_links(detail: dict[str, Any]) -> dict[str, Any]:
    """Where each figure of a digest leads: the lists behind the counts, and the cases named."""
    return {
        "new_cases": [
            {
                **case,
                "path": reverse("case_detail", args=[case["id"]]),
                "risk_label": str(dict(Risk.choices).get(case.get("risk"), case.get("risk", ""))).lower(),
            }
            for case in detail.get("new_high_risk_cases", [])
        ],
        "overdue_steps_path": reverse("case_list") + "?" + urlencode({"overdue": "true"}),
        "overdue_follow_ups_path": reverse("referral_list") + "?" + urlencode({"scope": "all", "overdue": "1"}),
        "closure_requests_path": reverse("closure_request_list"),
    }


class AccountEvent(StrEnum):
    """Changes to an account that the organisation's supervisors are told of."""

    CREATED = "created"
    ROLE_CHANGED = "role_changed"
    EMAIL_CHANGED = "email_changed"
    DEACTIVATED = "deactivated"
    ACTIVATED = "activated"
    PASSWORD_RESET = "password_reset"  # noqa: S105 (an event, not a password)
    TWO_FACTOR_RESET = "two_factor_reset"


# Each text that sends an invitation names the address it went to, so that a supervisor sees whose mailbox it is.
ACCOUNT_EVENT_TEXTS = {
    AccountEvent.CREATED: gettext_lazy(
        "%(actor)s added the account %(user)s, role %(role)s, and sent its invitation link to %(email)s."
    ),
    AccountEvent.ROLE_CHANGED: gettext_lazy("%(actor)s changed the role of %(user)s from %(previous)s to %(role)s."),
    AccountEvent.EMAIL_CHANGED: gettext_lazy(
        "%(actor)s changed the e-mail address of %(user)s from %(previous_email)s to %(email)s."
    ),
    AccountEvent.DEACTIVATED: gettext_lazy("%(actor)s deactivated the account %(user)s."),
    AccountEvent.ACTIVATED: gettext_lazy("%(actor)s reactivated the account %(user)s."),
    AccountEvent.PASSWORD_RESET: gettext_lazy(
        "%(actor)s reset the password of %(user)s, who sets a new one from an invitation link sent to %(email)s."
    ),
    AccountEvent.TWO_FACTOR_RESET: gettext_lazy(
        "%(actor)s reset the two-factor login of %(user)s, who sets a new password from an invitation link "
        "sent to %(email)s and enrols a new authenticator."
    ),
}


# A change of these is told to the account's owner as well: the invitation tells them of the others.
SUBJECT_TOLD = frozenset(
    {AccountEvent.ROLE_CHANGED, AccountEvent.EMAIL_CHANGED, AccountEvent.DEACTIVATED, AccountEvent.ACTIVATED}
)


def account_change_notify(
    *,
    events: list[AccountEvent],
    user: User,
    actor: User | None,
    entry: AccessLog,
    role: str = "",
    previous: str = "",
    email: str = "",
    previous_email: str = "",
    supervisors_before: Collection[int] = (),
) -> int:
    """Tell the organisation's active supervisors, before the change (``supervisors_before``) and after it, its
    other active administrators and, of a change to their account, the person themselves; in each one's language,
    e-mailed after commit.

    So demoting or deactivating the only supervisor still tells them, and no administrator changes an account
    unseen by the others. One notification per recipient and access log entry, telling each of its events.
    Returns how many were made.
    """
    from notifications.tasks import send_notification_email

    now = timezone.now()
    told = (
        Q(role=Role.SUPERVISOR, is_active=True)
        | Q(pk__in=supervisors_before)
        | Q(role=Role.ADMINISTRATOR, is_active=True) & ~Q(pk=actor.pk if actor is not None else None)
    )
    if SUBJECT_TOLD.intersection(events):
        told |= Q(pk=user.pk)
    recipients = User.objects.filter(told, organisation_id=user.organisation_id).order_by("pk")
    notifications = []
    for recipient in recipients:
        with translation.override(recipient.interface_language):
            values = {
                "actor": actor.get_username() if actor is not None else _("the system"),
                "user": user.get_username(),
                "role": str(Role(role).label) if role else "",
                "previous": str(Role(previous).label) if previous else "",
                "email": email or _("no address"),
                "previous_email": previous_email or _("no address"),
            }
            text = " ".join(str(ACCOUNT_EVENT_TEXTS[event]) % values for event in events)
        notifications.append(
            Notification(
                recipient=recipient,
                kind=Kind.ACCOUNT_CHANGED,
                subject_key=f"account:{entry.pk}:{recipient.pk}",
                day=timezone.localdate(now),
                text=text[: Notification._meta.get_field("text").max_length],
                detail={"events": [str(event) for event in events], "user": user.pk},
            )
        )
    for notification in Notification.objects.bulk_create(notifications):
        send_notification_email.delay_on_commit(notification.pk)
    return len(notifications)


def debrief_request_notify(*, user: User, request_id: int) -> int:
    """Tell the person's active supervisors, but themselves, that they asked for a debrief; in each one's language,
    e-mailed after commit. No figure goes with it: how much the person has heard is on the exposure page only.

    One notification per recipient and request (``request_id``, the person's answer to the prompt). Returns how
    many were made.
    """
    from notifications.tasks import send_notification_email

    now = timezone.now()
    recipients = (
        User.objects.filter(organisation_id=user.organisation_id, role=Role.SUPERVISOR, is_active=True)
        .exclude(pk=user.pk)
        .order_by("pk")
    )
    notifications = []
    for recipient in recipients:
        with translation.override(recipient.interface_language):
            text = _("%(user)s asked for a debrief.") % {"user": user.get_username()}
        notifications.append(
            Notification(
                recipient=recipient,
                kind=Kind.DEBRIEF_REQUEST,
                subject_key=f"debrief:{request_id}:{recipient.pk}",
                day=timezone.localdate(now),
                text=text,
                detail={"user": user.pk},
            )
        )
    for notification in Notification.objects.bulk_create(notifications):
        send_notification_email.delay_on_commit(notification.pk)
    return len(notifications)


def notification_send_email(*, notification_id: int) -> bool:
    """E-mail one notification to its recipient, never twice. Returns whether this call sent it.

    The claim (``emailed_at``) commits before the message goes to the mail server, so a second
    call, a redelivered task or the next beat run finds it taken: never twice. A worker killed
    before that commit leaves no claim (the database rolls back an uncommitted transaction of a
    dead connection), so the next run sends it. The one gap left is a crash between the commit
    and the server's acceptance: the reminder stays in the app but is not mailed. The mail
    connection is opened before the claim to keep that gap to the hand-over itself. The other
    order (send, then commit) would close the gap but send twice after such a crash.
    When the server refuses the message, the claim is released and the next run tries again.
    """
    notification = (
        Notification.objects.filter(pk=notification_id, emailed_at__isnull=True)
        .select_related("recipient", "case")
        .first()
    )
    if notification is None or not notification.recipient.email:
        return False
    with translation.override(notification.recipient.interface_language):
        subject, body = _email_text(notification)
    with get_connection() as mail:
        claimed_at = timezone.now()
        with transaction.atomic():
            claimed = Notification.objects.filter(pk=notification_id, emailed_at__isnull=True).update(
                emailed_at=claimed_at
            )
        if not claimed:
            return False  # another worker took it in the meantime
        try:
            EmailMessage(subject, body, to=[notification.recipient.email], connection=mail).send()
        except Exception:
            Notification.objects.filter(pk=notification_id, emailed_at=claimed_at).update(emailed_at=None)
            raise
    return True


def _email_text(notification: Notification) -> tuple[str, str]:
    """Subject and body of a notification's e-mail, in the active language."""
    if notification.kind == Kind.SUPERVISOR_DIGEST:
        context = {"notification": notification, "detail": notification.detail, **digest_links(notification.detail)}
        templates = ("notifications/digest_subject.txt", "notifications/digest_body.txt")
    elif notification.kind == Kind.ACCOUNT_CHANGED:
        context = {"notification": notification}
        templates = ("notifications/account_subject.txt", "notifications/account_body.txt")
    elif notification.kind == Kind.DEBRIEF_REQUEST:
        context = {"notification": notification}
        templates = ("notifications/debrief_subject.txt", "notifications/debrief_body.txt")
    else:
        context = {"notification": notification, "path": reverse("case_detail", args=[notification.case_id])}
        templates = ("notifications/email_subject.txt", "notifications/email_body.txt")
    return " ".join(render_to_string(templates[0], context).split()), render_to_string(templates[1], context)


def notification_mark_read(*, user: User, notification_id: int) -> bool:
    """Mark one of the user's own notifications read; False if it is not theirs or does not exist."""
    found = Notification.objects.filter(pk=notification_id, recipient=user)
    if not found.exists():
        return False
    found.filter(read_at__isnull=True).update(read_at=timezone.now())
    return True


def notifications_mark_all_read(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())

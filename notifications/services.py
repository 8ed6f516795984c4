from datetime import date, datetime
from typing import Any

from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import ResponseStep, Status, StepStatus
from notifications.models import Kind, Notification
from referrals.models import Referral
from referrals.services import ACTIVE

COLUMNS = ["recipient_id", "kind", "case_id", "step_id", "referral_id", "subject_key", "day", "text", "created_at"]
BATCH = 500


def _overdue_steps(now: datetime) -> list[Notification]:
    """Steps still to do past their due time, for the case's assignee (unassigned cases wait for the digest)."""
    steps = (
        ResponseStep.objects.filter(status=StepStatus.TODO, due_at__lt=now, case__assigned_to__is_active=True)
        .exclude(case__status=Status.CLOSED)
        .values_list("pk", "case_id", "case__reference", "case__assigned_to_id", "step_type__label", "due_at")
    )
    return [
        Notification(
            recipient_id=owner_id,
            kind=Kind.STEP_OVERDUE,
            case_id=case_id,
            step_id=pk,
            subject_key=f"step:{pk}",
            text=_("%(reference)s: %(step)s was due %(due)s")
            % {"reference": reference, "step": label, "due": timezone.localtime(due_at).strftime("%d %b %H:%M")},
        )
        for pk, case_id, reference, owner_id, label, due_at in steps
    ]


def _follow_ups_due(today: date) -> list[Notification]:
    """Referrals still under way whose follow-up date has passed, for their owner."""
    referrals = Referral.objects.filter(status__in=ACTIVE, follow_up_on__lt=today, owner__is_active=True).values_list(
        "pk", "case_id", "case__reference", "owner_id", "agency__name", "follow_up_on"
    )
    return [
        Notification(
            recipient_id=owner_id,
            kind=Kind.REFERRAL_FOLLOW_UP,
            case_id=case_id,
            referral_id=pk,
            subject_key=f"referral:{pk}",
            text=_("%(reference)s: follow up the referral to %(agency)s (due %(due)s)")
            % {"reference": reference, "agency": agency, "due": f"{follow_up_on:%d %b}"},
        )
        for pk, case_id, reference, owner_id, agency, follow_up_on in referrals
    ]


@transaction.atomic
def reminders_create(*, now: datetime | None = None) -> int:
    """A notification for each overdue step and referral follow-up, at most one per item and local day.

    INSERT ... ON CONFLICT DO NOTHING: a second run, or two at once, adds nothing; a worker that dies
    half-way commits nothing. Returns how many were new.
    """
    now = now or timezone.now()
    day = timezone.localdate(now)
    candidates = _overdue_steps(now) + _follow_ups_due(day)
    created = 0
    for start in range(0, len(candidates), BATCH):
        batch = candidates[start : start + BATCH]
        rows = [[getattr(n, column) for column in COLUMNS[:6]] + [day, n.text, now] for n in batch]
        placeholders = ", ".join(["(" + ", ".join(["%s"] * len(COLUMNS)) + ")"] * len(rows))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Notification._meta.db_table} ({', '.join(COLUMNS)}) VALUES {placeholders} "  # noqa: S608
                "ON CONFLICT DO NOTHING RETURNING id",
                [value for row in rows for value in row],
            )
            created += len(cursor.fetchall())
    return created


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
    context = {"notification": notification, "path": reverse("case_detail", args=[notification.case_id])}
    subject = " ".join(render_to_string("notifications/email_subject.txt", context).split())
    body = render_to_string("notifications/email_body.txt", context)
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


def notification_mark_read(*, user: Any, notification_id: int) -> bool:
    """Mark one of the user's own notifications read; False if it is not theirs or does not exist."""
    found = Notification.objects.filter(pk=notification_id, recipient=user)
    if not found.exists():
        return False
    found.filter(read_at__isnull=True).update(read_at=timezone.now())
    return True


def notifications_mark_all_read(*, user: Any) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())

"""Reminders: once per overdue item and local day; each e-mailed once to its owner."""

from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import User
from cases.models import Case, Status, Term
from helpline.celery import app
from notifications import services
from notifications.models import Kind, Notification
from notifications.tasks import send_reminders
from referrals.models import ReferralStatus
from tests.notifications.conftest import open_case, overdue_referral, overdue_step, step_done

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def locmem_email(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def case(owners: dict[str, User]) -> Case:
    return open_case(owners["worker"])


def test_one_reminder_per_item_and_day(owners: dict[str, User], case: Case) -> None:
    step = overdue_step(case)
    referral = overdue_referral(case, owners["supervisor"])

    assert services.reminders_create() == 2

    by_kind = {n.kind: n for n in Notification.objects.all()}
    assert by_kind[Kind.STEP_OVERDUE].step == step
    assert by_kind[Kind.STEP_OVERDUE].recipient == owners["worker"]  # the case's assignee
    assert by_kind[Kind.REFERRAL_FOLLOW_UP].referral == referral
    assert by_kind[Kind.REFERRAL_FOLLOW_UP].recipient == owners["supervisor"]  # the referral's owner
    assert {n.day for n in by_kind.values()} == {timezone.localdate()}


def test_run_twice_still_once(owners: dict[str, User], case: Case) -> None:
    overdue_step(case)
    overdue_referral(case, owners["worker"])

    assert services.reminders_create() == 2
    assert services.reminders_create() == 0
    assert Notification.objects.count() == 2


def test_the_next_day_brings_a_new_reminder(owners: dict[str, User], case: Case) -> None:
    overdue_step(case)
    overdue_referral(case, owners["worker"])
    now = timezone.now()

    services.reminders_create(now=now)
    assert services.reminders_create(now=now + timedelta(days=1)) == 2
    assert services.reminders_create(now=now + timedelta(days=1)) == 0
    assert (
        sorted(Notification.objects.values_list("day", flat=True))
        == [timezone.localdate(now)] * 2 + [timezone.localdate(now + timedelta(days=1))] * 2
    )


def test_nothing_for_done_steps_closed_referrals_or_what_is_not_yet_due(owners: dict[str, User], case: Case) -> None:
    step_done(overdue_step(case, code="done"))
    overdue_step(case, code="later", hours_late=-2)
    for status in (ReferralStatus.COMPLETED, ReferralStatus.DECLINED, ReferralStatus.WITHDRAWN, ReferralStatus.DRAFT):
        overdue_referral(case, owners["worker"], status=status)
    overdue_referral(case, owners["worker"], days_late=0)  # due today: not yet late

    assert services.reminders_create() == 0


def test_nothing_for_unassigned_or_closed_cases(owners: dict[str, User], case: Case) -> None:
    unassigned = open_case(owners["supervisor"])  # a supervisor's new case is not assigned
    assert unassigned.assigned_to is None
    overdue_step(unassigned)
    overdue_step(case)
    reason = Term.objects.filter(vocabulary="closure_reason").first()
    Case.objects.filter(pk=case.pk).update(status=Status.CLOSED, closure_reason=reason, closed_at=timezone.now())

    assert services.reminders_create() == 0


def test_the_text_holds_no_free_text_from_the_case(owners: dict[str, User], case: Case) -> None:
    overdue_step(case)
    overdue_referral(case, owners["worker"])
    services.reminders_create()

    for notification in Notification.objects.all():
        assert notification.text.startswith(f"{case.reference}: ")
        assert "FREE TEXT" not in notification.text
    assert "Step notif-test was due" in Notification.objects.get(kind=Kind.STEP_OVERDUE).text
    assert "Test Police" in Notification.objects.get(kind=Kind.REFERRAL_FOLLOW_UP).text


def test_the_email_goes_to_the_owner_once(owners: dict[str, User], case: Case) -> None:
    overdue_step(case)
    services.reminders_create()
    notification = Notification.objects.get()

    assert services.notification_send_email(notification_id=notification.pk) is True
    assert services.notification_send_email(notification_id=notification.pk) is False

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.org"]
    assert case.reference in message.subject
    assert f"/cases/{case.pk}/" in message.body
    assert "FREE TEXT" not in f"{message.subject}\n{message.body}"
    notification.refresh_from_db()
    assert notification.emailed_at is not None


def test_a_refused_email_is_tried_again(owners: dict[str, User], case: Case) -> None:
    overdue_step(case)
    services.reminders_create()
    notification = Notification.objects.get()

    with (
        mock.patch("django.core.mail.backends.locmem.EmailBackend.send_messages", side_effect=OSError),
        pytest.raises(OSError),
    ):
        services.notification_send_email(notification_id=notification.pk)
    notification.refresh_from_db()
    assert notification.emailed_at is None

    assert services.notification_send_email(notification_id=notification.pk) is True
    assert len(mail.outbox) == 1


def test_no_email_without_an_address(owners: dict[str, User], case: Case) -> None:
    User.objects.filter(pk=owners["worker"].pk).update(email="")
    overdue_step(case)
    services.reminders_create()

    assert services.notification_send_email(notification_id=Notification.objects.get().pk) is False
    assert mail.outbox == []


def test_the_beat_task_creates_and_mails_once(
    owners: dict[str, User], case: Case, django_capture_on_commit_callbacks: Any
) -> None:
    overdue_step(case)
    overdue_referral(case, owners["supervisor"])
    app.conf.task_always_eager = True
    try:
        for _ in range(2):
            with django_capture_on_commit_callbacks(execute=True):
                send_reminders.apply()
    finally:
        app.conf.task_always_eager = False

    assert Notification.objects.count() == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.org", "sofia@example.org"]

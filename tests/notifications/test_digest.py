"""The supervisors' daily digest: new high-risk cases, overdue work, pending closures; once per supervisor a day."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organisation, User
from accounts.roles import Role
from cases import services as case_services
from cases.models import Case, ClosureRequest, ClosureStatus, ResponseStep, Status, StepStatus, Term
from helpline.celery import app
from notifications import services
from notifications.models import Kind, Notification
from notifications.selectors import digest_figures
from notifications.tasks import send_supervisor_digests
from referrals.models import Referral, ReferralStatus
from tests.factories import UserFactory
from tests.notifications.conftest import open_case, overdue_referral, overdue_step, step_done
from tests.notifications.test_worker import Workers, waiting_on_a_lock
from tests.workers import wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def locmem_email(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def reason() -> Term:
    return Term.objects.get(vocabulary="closure_reason", code="resolved")


def risky_case(owner: User, risk: str = "high", hours_ago: float = 0) -> Case:
    case = case_services.case_open(
        actor=owner, facts={"risk_level": risk, "incident_description": "FREE TEXT NEVER MAILED"}, text_decision="keep"
    )
    if hours_ago:
        Case.objects.filter(pk=case.pk).update(created_at=timezone.now() - timedelta(hours=hours_ago))
    return case


def close(case: Case, supervisor: User) -> None:
    case_services.case_set_status(actor=supervisor, case=case, status=Status.CLOSED, closure_reason=reason())


@pytest.fixture
def world(owners: dict[str, User], other_org: Organisation) -> dict[str, Any]:
    """A home organisation with something of every kind, and cases that must not count."""
    alice, sofia = owners["worker"], owners["supervisor"]
    sam = UserFactory.create(
        username="sam", role=Role.SUPERVISOR, organisation=sofia.organisation, email="sam@example.org"
    )
    UserFactory.create(
        username="gone",
        role=Role.SUPERVISOR,
        organisation=sofia.organisation,
        email="gone@example.org",
        is_active=False,
    )
    olivia = UserFactory.create(
        username="olivia", role=Role.SUPERVISOR, organisation=other_org, email="olivia@example.org"
    )
    new_high = risky_case(alice, "high", hours_ago=2)
    new_critical = risky_case(alice, "critical", hours_ago=23)
    risky_case(alice, "medium")  # new, but not high risk
    risky_case(alice, "critical", hours_ago=25)  # high risk, but not new
    imported = risky_case(alice, "high")  # entered today, but history: its first contact was long ago
    Case.objects.filter(pk=imported.pk).update(first_contact_at=timezone.now() - timedelta(days=400))
    closed_new = risky_case(alice, "high")
    close(closed_new, sofia)  # new and high risk when it came in, closed since: still counted

    late = open_case(alice)
    overdue_step(late, code="digest-a")
    overdue_step(late, code="digest-b")  # two late steps, one case
    late_unassigned = open_case(sofia)  # nobody's reminder: the digest is where it shows
    overdue_step(late_unassigned)
    step_done(overdue_step(open_case(alice)))
    overdue_step(open_case(alice), hours_late=-3)  # not yet due
    closed_late = open_case(alice)
    overdue_step(closed_late)
    close(closed_late, sofia)

    follow_up_case = open_case(alice)
    overdue_referral(follow_up_case, alice)
    overdue_referral(follow_up_case, sofia, status=ReferralStatus.ACKNOWLEDGED, days_late=5)
    overdue_referral(follow_up_case, alice, status=ReferralStatus.COMPLETED)
    overdue_referral(follow_up_case, alice, days_late=0)

    waiting = risky_case(alice, "critical", hours_ago=30)
    case_services.closure_request_create(
        actor=alice, case=waiting, closure_reason=reason(), comment="COMMENT NOT MAILED"
    )
    sent_back = risky_case(alice, "high", hours_ago=30)
    case_services.closure_request_create(actor=alice, case=sent_back, closure_reason=reason())
    case_services.closure_request_send_back(actor=sofia, case=sent_back, comment="Not yet.")

    return {
        "home_supervisors": [sofia, sam],
        "olivia": olivia,
        "new_cases": [new_high, new_critical, closed_new],
        "waiting": waiting,
    }


def independent_counts(organisation_id: int) -> dict[str, int]:
    """The digest's figures, counted row by row in Python rather than by the digest's queries."""
    now = timezone.now()
    cases = list(Case.objects.filter(organisation_id=organisation_id))
    by_id = {case.pk: case for case in cases}
    late_cases = {
        step.case_id
        for step in ResponseStep.objects.all()
        if step.case_id in by_id
        and step.status == StepStatus.TODO
        and step.due_at is not None
        and step.due_at < now
        and by_id[step.case_id].status != Status.CLOSED
    }
    return {
        "new_high_risk": sum(
            1
            for c in cases
            if c.created_at >= now - timedelta(hours=24)
            and c.first_contact_at >= now - timedelta(days=7)
            and c.risk_level in ("high", "critical")
        ),
        "overdue_step_cases": len(late_cases),
        "overdue_follow_ups": sum(
            1
            for r in Referral.objects.all()
            if r.case_id in by_id
            and r.status in ("sent", "acknowledged", "in_progress")
            and r.follow_up_on is not None
            and r.follow_up_on < timezone.localdate()
        ),
        "pending_closures": sum(
            1 for c in ClosureRequest.objects.all() if c.case_id in by_id and c.status == ClosureStatus.PENDING
        ),
    }


def test_figures_match_an_independent_count(world: dict[str, Any], owners: dict[str, User]) -> None:
    organisation_id = owners["supervisor"].organisation_id
    figures = digest_figures(organisation_id, timezone.now())
    expected = independent_counts(organisation_id)
    assert {key: figures[key] for key in expected} == expected
    # And the world was built to give these, so the count above is not vacuous.
    assert expected == {"new_high_risk": 3, "overdue_step_cases": 2, "overdue_follow_ups": 2, "pending_closures": 1}
    assert [c["reference"] for c in figures["new_high_risk_cases"]] == [
        c.reference for c in sorted(world["new_cases"], key=lambda c: Case.objects.get(pk=c.pk).created_at)
    ]
    assert figures["pending_closure_cases"] == [{"id": world["waiting"].pk, "reference": world["waiting"].reference}]


def test_one_digest_per_active_supervisor_with_something_to_report(world: dict[str, Any]) -> None:
    assert services.digests_create() == 2  # sofia and sam; not the inactive one; olivia's helpline has nothing
    digests = Notification.objects.filter(kind=Kind.SUPERVISOR_DIGEST)
    assert {n.recipient for n in digests} == set(world["home_supervisors"])
    for digest in digests:
        assert digest.day == timezone.localdate()
        assert digest.case_id is None
        assert digest.text.endswith(
            "3 new high or critical risk cases, 2 open cases with overdue steps, "
            "2 overdue referral follow-ups, 1 closure waiting for approval."
        )


def test_another_organisation_gets_its_own_figures(world: dict[str, Any], owners: dict[str, User]) -> None:
    risky_case(owners["other_worker"], "critical")
    services.digests_create()
    theirs = Notification.objects.get(recipient=world["olivia"])
    assert theirs.detail["new_high_risk"] == 1
    assert theirs.detail == digest_figures(world["olivia"].organisation_id, timezone.now())
    assert theirs.text.endswith(": 1 new high or critical risk case.")


def test_run_twice_the_same_day_still_once(world: dict[str, Any]) -> None:
    now = timezone.now()
    assert services.digests_create(now=now) == 2
    assert services.digests_create(now=now) == 0
    assert services.digests_create(now=now + timedelta(minutes=5)) == 0
    assert Notification.objects.filter(kind=Kind.SUPERVISOR_DIGEST).count() == 2
    assert services.digests_create(now=now + timedelta(days=1)) == 2


def test_the_beat_task_twice_mails_each_supervisor_once(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    app.conf.task_always_eager = True
    try:
        for _ in range(2):
            with django_capture_on_commit_callbacks(execute=True):
                send_supervisor_digests.apply()
    finally:
        app.conf.task_always_eager = False
    assert sorted(m.to[0] for m in mail.outbox) == ["sam@example.org", "sofia@example.org"]
    assert not Notification.objects.filter(kind=Kind.SUPERVISOR_DIGEST, emailed_at__isnull=True).exists()


def test_the_email_names_cases_and_links_without_free_text(world: dict[str, Any], owners: dict[str, User]) -> None:
    services.digests_create()
    digest = Notification.objects.get(recipient=owners["supervisor"])
    assert services.notification_send_email(notification_id=digest.pk) is True
    assert services.notification_send_email(notification_id=digest.pk) is False
    (message,) = mail.outbox
    assert message.subject.startswith("Daily digest")
    for case in world["new_cases"]:
        assert f"{case.reference} " in message.body and reverse("case_detail", args=[case.pk]) in message.body
    assert reverse("closure_request_list") in message.body
    assert "/cases/?overdue=true" in message.body
    assert "/referrals/?scope=all&overdue=1" in message.body
    assert "Closure waiting for your approval: 1" in message.body
    assert "FREE TEXT" not in message.body and "COMMENT NOT MAILED" not in message.body


def test_the_in_app_digest_links_to_the_lists(world: dict[str, Any], client_for: Any) -> None:
    services.digests_create()
    page = client_for("supervisor").get(reverse("notification_list")).content.decode()
    assert "Daily digest for" in page
    assert reverse("closure_request_list") in page
    assert reverse("case_detail", args=[world["new_cases"][0].pk]) in page
    assert "Closures waiting for approval: 1" in page
    assert "Daily digest" not in client_for("worker").get(reverse("notification_list")).content.decode()


def test_nothing_to_report_means_no_digest(owners: dict[str, User]) -> None:
    open_case(owners["worker"])  # a medium case, nothing late, nothing waiting
    assert services.digests_create() == 0
    assert not Notification.objects.exists()


def test_the_digest_is_scheduled_daily_in_the_morning() -> None:
    entry = app.conf.beat_schedule["supervisor-digest"]
    assert entry["task"] == "notifications.tasks.send_supervisor_digests"
    assert entry["schedule"].hour == {7} and entry["schedule"].minute == {30}


# A real worker, killed half-way, then the task run twice by a fresh one.


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_killed_worker_and_two_runs_still_give_one_digest_and_one_mail_each(
    world: dict[str, Any], tmp_path: Path
) -> None:
    workers = Workers(tmp_path)
    try:
        first = workers.start()
        with transaction.atomic():
            # Held until the worker is dead: its INSERT waits for it.
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {Notification._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
            send_supervisor_digests.apply_async(queue=workers.queue)
            assert wait_for(waiting_on_a_lock), "the worker never reached the INSERT"
            workers.kill(first)
        assert not Notification.objects.exists()  # a dead worker commits nothing

        workers.start()
        send_supervisor_digests.apply_async(queue=workers.queue)
        send_supervisor_digests.apply_async(queue=workers.queue)  # beat's run and a retry, say
        assert wait_for(
            lambda: (
                Notification.objects.filter(kind=Kind.SUPERVISOR_DIGEST, emailed_at__isnull=False).count() == 2
                and len(workers.mails()) >= 2
            )
        ), workers.mails()
        workers.wait_until_idle()
        assert sorted(
            Notification.objects.filter(kind=Kind.SUPERVISOR_DIGEST).values_list("recipient__username", flat=True)
        ) == ["sam", "sofia"]
        assert len(workers.mails()) == 2, workers.mails()
    finally:
        workers.stop_all()

"""Exposure care: hard contacts per person in a shift and a week, the organisation's thresholds, the prompt to take a
break, the request for a debrief, and who may see the figures."""

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organisation, User
from accounts.roles import Role
from audit.models import AccessLog, Action
from cases.models import Case, Contact, Term
from notifications.models import Kind, Notification
from supervision.models import ExposurePromptAnswer, PromptAnswer
from supervision.prompt import SESSION_KEY
from supervision.selectors import exposure_of, exposure_prompt_due
from tests.cases.test_page_queries import CASE_PAGE_QUERIES
from tests.conftest import login_verified
from tests.factories import OrganisationFactory, UserFactory
from tests.supervision.conftest import make_case

PROMPT = "You have heard a lot of hard things this shift."
# The session; the user with their authenticators and unread notifications; the notifications.
NOTIFICATION_PAGE_QUERIES = 3


def hard_case(worker: User, *, risk_level: str = "high", self_harm: bool = False) -> Case:
    case = make_case(
        worker.organisation,
        assigned_to=worker,
        first_contact_at=timezone.now() - timedelta(days=10),
        risk_level=risk_level,
        created_by=worker,
    )
    if self_harm:
        Case.objects.filter(pk=case.pk).update(self_harm=True)
    return case


def contacts(case: Case, worker: User, *moments: datetime) -> None:
    channel = Term.objects.get(vocabulary="channel", code="phone", organisation=None)
    for at in moments:
        Contact.objects.create(case=case, at=at, channel=channel, worker=worker)


def hours_ago(*hours: float) -> list[datetime]:
    now = timezone.now()
    return [now - timedelta(hours=h) for h in hours]


def set_thresholds(organisation: Organisation, *, shift: int, week: int, hours: int = 8) -> None:
    Organisation.objects.filter(pk=organisation.pk).update(
        exposure_shift_threshold=shift, exposure_week_threshold=week, exposure_shift_hours=hours
    )
    organisation.refresh_from_db()


@pytest.fixture
def heard(personas: dict[str, User]) -> dict[str, User]:
    """Alice: 3 hard contacts this shift, 5 this week; Sofia: 1 and 1; Bob: none; Oscar (other organisation): 4."""
    alice, sofia, oscar = personas["worker"], personas["supervisor"], personas["other_worker"]
    bob = UserFactory.create(username="bob", role=Role.WORKER, organisation=alice.organisation)
    high, critical_lowered = hard_case(alice), hard_case(alice, risk_level="critical")
    # Lowered after the calls: what was heard stays hard (the database's "once high or critical" flag sticks).
    Case.objects.filter(pk=critical_lowered.pk).update(risk_level="low")
    self_harm, low = hard_case(alice, risk_level="medium", self_harm=True), hard_case(alice, risk_level="low")
    contacts(high, alice, *hours_ago(1, 2))
    contacts(critical_lowered, alice, *hours_ago(20))
    contacts(self_harm, alice, *hours_ago(7.5, 100))
    contacts(self_harm, alice, *hours_ago(24 * 7 + 1))  # more than a week ago
    contacts(low, alice, *hours_ago(0.5, 1, 1.5, 3))  # not a hard case
    contacts(high, sofia, *hours_ago(4))
    contacts(low, bob, *hours_ago(1))
    foreign = hard_case(oscar)
    contacts(foreign, oscar, *hours_ago(1, 1, 1, 1))
    return {"alice": alice, "sofia": sofia, "bob": bob, "oscar": oscar}


def test_hard_contacts_are_counted_per_person_in_the_shift_and_the_week(heard: dict[str, User]) -> None:
    assert Case.objects.filter(closure_needs_approval=True, risk_level="low").exists()
    board = exposure_of(heard["alice"].organisation)
    rows = {row.user.username: (row.shift, row.week) for row in board.people}
    assert rows == {"alice": (3, 5), "sofia": (1, 1), "bob": (0, 0)}  # active caseworkers; nobody elsewhere
    assert not board.over  # the defaults: 6 in a shift, 20 in a week


def test_the_thresholds_and_the_shift_length_are_the_organisations(heard: dict[str, User]) -> None:
    home = heard["alice"].organisation
    set_thresholds(home, shift=3, week=50)
    over = {row.user.username: (row.over_shift, row.over_week) for row in exposure_of(home).over}
    assert over == {"alice": (True, False)}  # reaching the threshold is enough
    set_thresholds(home, shift=50, week=5)
    assert [(row.user.username, row.over_shift, row.over_week) for row in exposure_of(home).over] == [
        ("alice", False, True)
    ]
    set_thresholds(home, shift=4, week=50, hours=24)  # a longer shift takes in the contact of 20 hours ago
    (alice,) = exposure_of(home).over
    assert (alice.shift, alice.week) == (4, 5)
    assert exposure_of(heard["oscar"].organisation).people[0].shift == 4  # counted for their own organisation only


def test_the_administrator_sets_the_thresholds_and_a_zero_is_refused(
    client_for: Any, personas: dict[str, User]
) -> None:
    home = personas["administrator"].organisation
    admin = client_for("administrator")
    url = reverse("admin:accounts_organisation_change", args=[home.pk])
    form = {"country": "IT", "exposure_shift_hours": "10", "exposure_shift_threshold": "4"}
    refused = admin.post(url, {**form, "exposure_week_threshold": "0"})
    assert refused.status_code == 200 and "errornote" in refused.content.decode()
    assert admin.post(url, {**form, "exposure_week_threshold": "15"}).status_code == 302
    home.refresh_from_db()
    assert (home.exposure_shift_hours, home.exposure_shift_threshold, home.exposure_week_threshold) == (10, 4, 15)
    change = AccessLog.objects.filter(action=Action.CHANGE, object_type="accounts.organisation").latest("id")
    assert set(change.detail["fields"]) == {
        "exposure_shift_hours",
        "exposure_shift_threshold",
        "exposure_week_threshold",
    }


def test_the_prompt_is_due_over_a_threshold_until_answered_for_the_shift(heard: dict[str, User]) -> None:
    alice, sofia = heard["alice"], heard["sofia"]
    assert not exposure_prompt_due(alice)
    set_thresholds(alice.organisation, shift=3, week=50)
    alice.refresh_from_db()
    assert exposure_prompt_due(alice)
    answer = ExposurePromptAnswer.objects.create(user=alice, answer=PromptAnswer.PUT_AWAY)
    assert not exposure_prompt_due(alice)
    # A shift later it comes back, if the count is still over: here the week's, the shift's having passed.
    ExposurePromptAnswer.objects.filter(pk=answer.pk).update(at=timezone.now() - timedelta(hours=9))
    set_thresholds(alice.organisation, shift=50, week=5)
    alice.refresh_from_db()
    assert exposure_prompt_due(alice)
    assert not exposure_prompt_due(sofia)


@pytest.fixture
def over(heard: dict[str, User]) -> dict[str, User]:
    set_thresholds(heard["alice"].organisation, shift=3, week=50)
    return heard


def test_the_worker_is_offered_a_break_on_every_page_without_a_query_and_can_put_it_away(
    client_for: Any, over: dict[str, User], django_assert_max_num_queries: Any
) -> None:
    worker = client_for("worker")
    home = worker.get(reverse("home")).content.decode()
    assert PROMPT in home
    # Every page shows it, from the session alone: the page of notifications runs no query more for it.
    with django_assert_max_num_queries(NOTIFICATION_PAGE_QUERIES):
        page = worker.get(reverse("notification_list")).content.decode()
    assert PROMPT in page
    case = Case.objects.filter(assigned_to=over["alice"], risk_level="high").get()
    with CaptureQueriesContext(connection) as with_prompt:
        case_page = worker.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert PROMPT in case_page and len(with_prompt) <= CASE_PAGE_QUERIES
    session = worker.session
    raised = session.pop(SESSION_KEY)
    session.save()
    with CaptureQueriesContext(connection) as without_prompt:
        assert PROMPT not in worker.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert len(with_prompt) == len(without_prompt)
    session[SESSION_KEY] = raised
    session.save()
    # The figures are not the worker's to see: the prompt has none, and their page has no link to them.
    assert f'href="{reverse("supervision:exposure")}"' not in page + home
    last = AccessLog.objects.latest("id").pk
    response = worker.post(reverse("supervision:exposure_put_away"), {"next": reverse("case_detail", args=[case.pk])})
    assert response.status_code == 302 and response["Location"] == reverse("case_detail", args=[case.pk])
    assert PROMPT not in worker.get(reverse("home")).content.decode()  # counted again: answered for this shift
    (answer,) = ExposurePromptAnswer.objects.filter(user=over["alice"])
    assert answer.answer == PromptAnswer.PUT_AWAY
    assert AccessLog.objects.filter(pk__gt=last, action=Action.CREATE, object_type="supervision.exposurepromptanswer")
    assert not Notification.objects.filter(kind=Kind.DEBRIEF_REQUEST).exists()


def test_a_contact_that_crosses_the_threshold_brings_the_prompt(
    client_for: Any, heard: dict[str, User], personas: dict[str, User]
) -> None:
    set_thresholds(heard["alice"].organisation, shift=4, week=50)
    worker = client_for("worker")
    assert PROMPT not in worker.get(reverse("home")).content.decode()  # 3 in the shift
    case = Case.objects.filter(assigned_to=heard["alice"], self_harm=True).get()
    channel = Term.objects.get(vocabulary="channel", code="phone", organisation=None)
    at = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    posted = worker.post(
        reverse("case_contact_add", args=[case.pk]), {"at": at, "channel": channel.pk, "contact_type": "counselling"}
    )
    assert posted.status_code == 302, posted.content.decode()[:500]
    assert PROMPT in worker.get(reverse("notification_list")).content.decode()
    # Only the session holds it: the next page counts nothing.
    assert isinstance(worker.session[SESSION_KEY], float)


def test_a_debrief_request_tells_the_supervisors_of_the_organisation(
    client_for: Any, over: dict[str, User], settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from helpline.celery import app

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    alice = over["alice"]
    home = alice.organisation
    second = UserFactory.create(username="sam", role=Role.SUPERVISOR, organisation=home, email="sam@example.org")
    UserFactory.create(username="gone", role=Role.SUPERVISOR, organisation=home, is_active=False)
    UserFactory.create(username="other-sup", role=Role.SUPERVISOR, organisation=over["oscar"].organisation)
    worker = client_for("worker")
    assert PROMPT in worker.get(reverse("home")).content.decode()
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = worker.post(
                reverse("supervision:debrief_request"), {"next": "https://evil.example/"}, follow=True
            )
    finally:
        app.conf.task_always_eager = False
    assert response.redirect_chain[-1][0] == reverse("home")  # never another site
    page = response.content.decode()
    assert "Your supervisors have been asked for a debrief." in page and PROMPT not in page
    told = Notification.objects.filter(kind=Kind.DEBRIEF_REQUEST)
    assert set(told.values_list("recipient__username", flat=True)) == {"sofia", "sam"}
    assert {n.text for n in told} == {"alice asked for a debrief."}  # no figure goes with it
    (message,) = [m for m in mail.outbox if m.to == [second.email]]
    assert "alice asked for a debrief." in message.body
    assert ExposurePromptAnswer.objects.get(user=alice).answer == PromptAnswer.DEBRIEF
    # The supervisors' page says who asked.
    board = client_for("supervisor").get(reverse("supervision:exposure")).content.decode()
    assert "asked for a debrief" in board


def test_a_supervisor_asking_for_a_debrief_tells_the_other_supervisors_or_says_there_is_none(
    client_for: Any, over: dict[str, User]
) -> None:
    set_thresholds(over["alice"].organisation, shift=1, week=50)
    response = client_for("supervisor").post(reverse("supervision:debrief_request"), follow=True)
    assert "There is no other supervisor to tell in the app" in response.content.decode()
    assert not Notification.objects.filter(kind=Kind.DEBRIEF_REQUEST).exists()


def test_the_figures_are_shown_to_supervisors_of_the_organisation_and_each_look_is_logged(
    client_for: Any, over: dict[str, User]
) -> None:
    supervisor = client_for("supervisor")
    last = AccessLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
    page = supervisor.get(reverse("supervision:exposure"))
    assert page.status_code == 200
    rows = {row.user.username: (row.shift, row.week) for row in page.context["board"].people}
    assert rows == {"alice": (3, 5), "sofia": (1, 1), "bob": (0, 0)}
    assert [row.user.username for row in page.context["board"].over] == ["alice"]
    (view,) = AccessLog.objects.filter(id__gt=last)
    assert (view.action, view.object_type, view.actor_id) == (Action.VIEW, "exposure", over["sofia"].pk)
    assert view.object_id == str(over["alice"].organisation_id)


def test_another_organisations_supervisor_sees_nothing_of_this_one(over: dict[str, User]) -> None:
    other = OrganisationFactory.create(name="Other Helpline")
    olivia = UserFactory.create(username="olivia", role=Role.SUPERVISOR, organisation=other)
    page = login_verified(Client(), olivia).get(reverse("supervision:exposure"))
    assert page.status_code == 200
    assert [row.user.username for row in page.context["board"].people] == ["olivia", "oscar"]
    text = page.content.decode()
    assert "alice" not in text and "Home Helpline" not in text and "bob" not in text


@pytest.mark.parametrize("persona", ["worker", "analyst", "administrator", "other_administrator"])
def test_nobody_else_sees_the_figures_on_a_page_or_in_the_workload_api(
    client_for: Any, over: dict[str, User], persona: str
) -> None:
    client = client_for(persona)
    last = AccessLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
    assert client.get(reverse("supervision:exposure")).status_code == 404
    assert list(AccessLog.objects.filter(id__gt=last).values_list("action", flat=True)) == [Action.REFUSED]
    api = client.get(reverse("api-workload"))
    if api.status_code == 200:  # administrators read the workload figures: never anyone's exposure
        assert "exposure" not in api.content.decode() and "shift" not in api.content.decode()


def test_a_debrief_is_asked_for_once_a_shift_however_often_the_button_is_pressed(
    client_for: Any, over: dict[str, User]
) -> None:
    worker = client_for("worker")
    for _ in range(3):
        response = worker.post(reverse("supervision:debrief_request"), follow=True)

    assert "You asked for a debrief earlier in this shift" in response.content.decode()
    assert Notification.objects.filter(kind=Kind.DEBRIEF_REQUEST).count() == 1  # sofia, told once
    assert ExposurePromptAnswer.objects.filter(user=over["alice"]).count() == 1


def test_administrators_never_see_in_the_access_log_who_was_offered_a_break(
    client_for: Any, over: dict[str, User]
) -> None:
    client_for("worker").post(reverse("supervision:debrief_request"))
    client_for("supervisor").get(reverse("supervision:exposure"))
    exposure_rows = AccessLog.objects.filter(object_type__in=["exposure", "supervision.exposurepromptanswer"])
    assert exposure_rows.count() == 2

    page = client_for("administrator").get(reverse("admin:audit_accesslog_changelist"), {"all": ""})
    shown = client_for("administrator").get(reverse("admin:audit_accesslog_change", args=[exposure_rows[0].pk]))

    assert "exposure" not in page.content.decode()
    assert shown.status_code == 404

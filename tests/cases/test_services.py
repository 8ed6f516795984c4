"""Case services: references, playbook, lifecycle, concurrency, identifiers and free text."""

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import User
from audit.models import AccessLog, Action
from cases import services
from cases.models import Case, CaseActivity, Note, Status, StepStatus, Term
from cases.playbook import BASE_STEPS

pytestmark = pytest.mark.django_db


def term(vocabulary: str, code: str) -> Term:
    return Term.objects.get(vocabulary=vocabulary, code=code)


def open_case(actor: User, **facts: Any) -> Case:
    return services.case_open(actor=actor, facts={"risk_level": "medium", **facts})


def step_codes(case: Case) -> set[str]:
    return set(case.steps.values_list("step_type__code", flat=True))


def test_references_count_per_organisation_and_year(personas: dict[str, User]) -> None:
    first = open_case(personas["worker"], first_contact_at=timezone.now())
    second = open_case(personas["supervisor"], first_contact_at=timezone.now())
    other = open_case(personas["other_worker"], first_contact_at=timezone.now())
    year = timezone.now().year
    assert [first.reference, second.reference] == [f"SX-{year}-00001", f"SX-{year}-00002"]
    assert other.reference == f"SX-{year}-00001"
    older = open_case(personas["worker"], first_contact_at=timezone.now().replace(year=year - 1))
    assert older.reference == f"SX-{year - 1}-00001"


def test_a_worker_opens_an_open_case_assigned_to_them(personas: dict[str, User]) -> None:
    case = open_case(personas["worker"], channel=term("channel", "chat"))
    assert (case.status, case.assigned_to, case.organisation) == (
        Status.OPEN,
        personas["worker"],
        personas["worker"].organisation,
    )
    assert case.contacts.get().channel.code == "chat"  # the first contact is recorded
    assert AccessLog.objects.filter(action=Action.CREATE, object_id=str(case.pk)).exists()
    assert CaseActivity.objects.filter(case=case, kind="opened").exists()


BASE = set(BASE_STEPS)


@pytest.mark.parametrize(
    ("facts", "extra"),
    [
        ({}, set()),
        ({"victim_age": 12}, {"trusted_adult"}),
        ({"victim_age": 13}, set()),
        ({"risk_level": "high"}, {"follow_up"}),
        ({"risk_level": "critical"}, {"follow_up"}),
        ({"content_distributed": "yes"}, {"removal_request", "hash_submission"}),
        ({"victim_paid": "yes"}, {"no_further_payment"}),
        ({"self_harm": True}, {"safety_plan"}),
        (
            {"victim_age": 11, "risk_level": "high", "victim_paid": "yes"},
            {"trusted_adult", "follow_up", "no_further_payment"},
        ),
    ],
)
def test_playbook_creates_the_steps_the_facts_call_for(
    personas: dict[str, User], facts: dict[str, Any], extra: set[str]
) -> None:
    case = open_case(personas["worker"], **facts)
    assert step_codes(case) == BASE | extra


def test_follow_up_of_a_high_risk_case_is_due_within_24_hours(personas: dict[str, User]) -> None:
    before = timezone.now()
    case = open_case(personas["worker"], risk_level="high")
    due = case.steps.get(step_type__code="follow_up").due_at
    assert due is not None
    assert before + timedelta(hours=23, minutes=59) <= due <= timezone.now() + timedelta(hours=24)


def test_playbook_adds_steps_when_facts_change_and_keeps_the_done_ones(personas: dict[str, User]) -> None:
    worker = personas["worker"]
    case = open_case(worker)
    police = case.steps.get(step_type__code="report_police")
    services.step_update(actor=worker, step=police, status=StepStatus.DONE)
    case.refresh_from_db()
    services.case_update(actor=worker, case=case, version=case.version, facts={"content_distributed": "yes"})
    assert step_codes(case) == BASE | {"removal_request", "hash_submission"}
    police.refresh_from_db()
    assert (police.status, police.done_by) == (StepStatus.DONE, worker)


def test_a_stale_edit_is_refused_and_the_first_is_kept(personas: dict[str, User]) -> None:
    case = open_case(personas["worker"], victim_age=15)
    read_by_both = case.version
    services.case_update(actor=personas["worker"], case=case, version=read_by_both, facts={"victim_age": 16})
    with pytest.raises(services.StaleVersion, match="changed by someone else"):
        services.case_update(actor=personas["supervisor"], case=case, version=read_by_both, facts={"victim_age": 17})
    case.refresh_from_db()
    assert (case.victim_age, case.version) == (16, read_by_both + 1)


@pytest.mark.parametrize(
    ("facts", "field"),
    [
        ({"victim_age": 130}, "victim_age"),
        ({"victim_age": 14, "victim_age_unknown": "minor"}, "victim_age"),
        ({"victim_country": "XX"}, "victim_country"),
        ({"victim_country": "IT", "victim_region": "FR-75"}, "victim_region"),
        ({"victim_country": "IT", "victim_region": "IT-ZZ"}, "victim_region"),
        ({"first_contact_at": timezone.now() + timedelta(days=2)}, "first_contact_at"),
    ],
)
def test_bad_facts_are_refused_by_field_and_nothing_is_saved(
    personas: dict[str, User], facts: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as error:
        open_case(personas["worker"], **facts)
    assert field in error.value.message_dict
    assert not Case.objects.exists()


def test_a_term_from_the_wrong_taxonomy_is_refused(personas: dict[str, User]) -> None:
    with pytest.raises(ValidationError) as error:
        open_case(personas["worker"], channel=term("platform", "instagram"))
    assert "channel" in error.value.message_dict


def test_status_lifecycle(personas: dict[str, User]) -> None:
    worker = personas["worker"]
    case = open_case(worker)
    with pytest.raises(ValidationError, match="reason"):
        services.case_set_status(actor=worker, case=case, status=Status.CLOSED)
    with pytest.raises(ValidationError, match="cannot become"):
        services.case_set_status(actor=worker, case=case, status=Status.REOPENED)
    case = services.case_set_status(actor=worker, case=case, status=Status.WAITING)
    case = services.case_set_status(
        actor=worker, case=case, status=Status.CLOSED, closure_reason=term("closure_reason", "resolved")
    )
    assert case.closed_at is not None
    case = services.case_set_status(actor=worker, case=case, status=Status.REOPENED)
    assert (case.closed_at, case.closure_reason) == (None, None)
    moves = list(CaseActivity.objects.filter(case=case, kind="status").values_list("detail__to", flat=True))
    assert moves == ["waiting", "closed", "reopened"]


@pytest.mark.parametrize("current", list(Status))
def test_every_forbidden_move_is_refused(personas: dict[str, User], current: Status) -> None:
    case = open_case(personas["worker"])
    Case.objects.filter(pk=case.pk).update(
        status=current,
        closure_reason=term("closure_reason", "resolved") if current == Status.CLOSED else None,
        closed_at=timezone.now() if current == Status.CLOSED else None,
    )
    for target in set(Status) - services.TRANSITIONS[current] - {Status.CLOSED}:
        with pytest.raises(ValidationError):
            services.case_set_status(actor=personas["worker"], case=case, status=target)


def test_cases_are_assigned_only_within_the_organisation(personas: dict[str, User]) -> None:
    case = open_case(personas["supervisor"])
    assert (case.status, case.assigned_to) == (Status.NEW, None)
    with pytest.raises(ValidationError):
        services.case_assign(actor=personas["supervisor"], case=case, assignee=personas["other_worker"])
    with pytest.raises(ValidationError):
        services.case_assign(actor=personas["supervisor"], case=case, assignee=personas["analyst"])
    case = services.case_assign(actor=personas["supervisor"], case=case, assignee=personas["worker"])
    assert (case.status, case.assigned_to) == (Status.OPEN, personas["worker"])


def test_offender_identifiers_link_cases_whatever_their_spelling(personas: dict[str, User]) -> None:
    from tests.helpers import linked_cases

    worker = personas["worker"]
    first, second, third = (open_case(worker) for _ in range(3))
    foreign = open_case(personas["other_worker"])
    services.offender_identifier_add(actor=worker, case=first, kind="username", value="@Dark_Angel99")
    services.offender_identifier_add(actor=worker, case=second, kind="username", value="dark_angel99 ")
    services.offender_identifier_add(actor=worker, case=third, kind="username", value="someone_else")
    services.offender_identifier_add(
        actor=personas["other_worker"], case=foreign, kind="username", value="dark_angel99"
    )
    linked = linked_cases(worker, first)
    assert [c["pk"] for c in next(iter(linked.values()))] == [second.pk]  # never the other organisation's case
    identifier = first.offender_identifiers.get()
    assert identifier.value == "@Dark_Angel99"
    assert identifier.value_hash != "dark_angel99" and len(identifier.value_hash) == 64


def test_profile_links_normalise_scheme_and_www() -> None:
    a = services.identifier_hash("profile_link", "https://www.instagram.com/some.one/")
    b = services.identifier_hash("profile_link", "instagram.com/some.one")
    assert a == b


def test_a_note_with_a_phone_number_must_be_decided(personas: dict[str, User]) -> None:
    worker = personas["worker"]
    case = open_case(worker)
    text = "Mother called from 333 123 4567, the offender wrote to sam@example.com"
    with pytest.raises(services.IdentifiersFound) as found:
        services.note_add(actor=worker, case=case, text=text)
    assert {f.kind for f in found.value.findings} == {"phone", "email"}
    assert not Note.objects.exists()

    redacted = services.note_add(actor=worker, case=case, text=text, text_decision="redact")
    assert "333" not in redacted.text and "sam@example.com" not in redacted.text
    assert redacted.text.startswith("Mother called from [")

    kept = services.note_add(actor=worker, case=case, text=text, text_decision="keep")
    assert kept.text == text
    assert kept.identifiers_kept == ["email", "phone"]
    choices = AccessLog.objects.filter(object_id=str(case.pk), detail__has_key="identifiers")
    assert sorted(choices.values_list("detail__identifiers", flat=True)) == ["keep", "redact"]


def test_the_incident_description_is_checked_too(personas: dict[str, User]) -> None:
    with pytest.raises(services.IdentifiersFound):
        open_case(personas["worker"], incident_description="He lives at 12 High Street")
    case = services.case_open(
        actor=personas["worker"],
        facts={"incident_description": "He lives at 12 High Street"},
        text_decision="redact",
    )
    assert "High Street" not in case.incident_description


def test_contact_validation(personas: dict[str, User]) -> None:
    worker = personas["worker"]
    case = open_case(worker)
    with pytest.raises(ValidationError):
        services.contact_add(
            actor=worker, case=case, at=timezone.now() + timedelta(days=1), channel=term("channel", "phone")
        )
    with pytest.raises(ValidationError):
        services.contact_add(actor=worker, case=case, at=timezone.now(), channel=term("platform", "tiktok"))
    services.contact_add(
        actor=worker, case=case, at=timezone.now(), channel=term("channel", "phone"), duration_minutes=12
    )
    assert case.contacts.count() == 1

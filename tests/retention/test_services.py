"""Retention: what a policy erases, what it keeps, legal holds, dry runs and running twice."""

from collections import Counter
from datetime import datetime
from typing import Any

import pghistory.models
import pytest
from django.apps import apps
from django.core.exceptions import ValidationError

from accounts.models import User
from audit.models import AccessLog, Action
from cases.models import Case, CasePlatform, ClosureRequest, Note, OffenderIdentifier
from referrals.models import Referral, ReferralTransition, TakedownItem
from retention import services
from retention.models import LegalHold, RetentionPolicy
from retention.selectors import ERASED, TARGETS, months_before
from tests.retention.conftest import Made, make_case, tables_holding

pytestmark = pytest.mark.django_db


def erase_logs() -> list[AccessLog]:
    return list(AccessLog.objects.filter(action=Action.ERASE).order_by("id"))


def state(case: Case) -> dict[str, Any]:
    """Everything about a case that a policy may change, and the facts it must not."""
    case.refresh_from_db()
    referral = Referral.objects.get(case=case)
    return {
        "incident_description": case.incident_description,
        "notes": list(Note.objects.filter(case=case).values_list("text", flat=True)),
        "identifiers": list(OffenderIdentifier.objects.filter(case=case).values_list("value", "value_hash")),
        "links": list(TakedownItem.objects.filter(referral=referral).values_list("link", flat=True)),
        "referral_notes": list(ReferralTransition.objects.filter(referral=referral).values_list("note", flat=True)),
        "closure_comments": list(
            ClosureRequest.objects.filter(case=case).order_by("id").values_list("comment", "decision_comment")
        ),
        "facts": facts(case),
    }


def facts(case: Case) -> dict[str, Any]:
    referral = Referral.objects.get(case=case)
    return {
        "status": case.status,
        "closed_at": case.closed_at,
        "first_contact_at": case.first_contact_at,
        "risk_level": case.risk_level,
        "victim_age": case.victim_age,
        "victim_gender": case.victim_gender,
        "victim_country": case.victim_country,
        "platforms": list(CasePlatform.objects.filter(case=case).values_list("platform_id", "role")),
        "referral": (referral.kind, referral.status, referral.sent_at, referral.agency_id),
        "items": list(
            TakedownItem.objects.filter(referral=referral).values_list("platform_id", "content_type", "status")
        ),
        "steps": list(case.steps.order_by("id").values_list("step_type_id", "status")),
        "contacts": case.contacts.count(),
        "transitions": list(
            ReferralTransition.objects.filter(referral=referral).values_list("from_status", "to_status", "at")
        ),
    }


def assert_erased(made: Made) -> None:
    after = state(made.case)
    assert after["incident_description"] == ""
    assert after["notes"] == []
    assert after["identifiers"] == []
    assert after["links"] == [""]
    assert set(after["referral_notes"]) == {""}
    for comment, decision in after["closure_comments"]:
        assert comment == ""
        assert decision in ("", ERASED)


def assert_untouched(made: Made) -> None:
    after = state(made.case)
    assert after["incident_description"] == made.texts["incident_description"]
    assert after["notes"] == [made.texts["note"]]
    assert after["identifiers"] == [(made.texts["identifier"], made.texts["identifier_hash"])]
    assert after["links"] == [made.texts["link"]]
    assert made.texts["referral_note"] in after["referral_notes"]


@pytest.fixture
def worker(personas: dict[str, User]) -> User:
    return personas["worker"]


def test_erases_closed_cases_past_the_policy_and_nothing_else(personas: dict[str, User], now: datetime) -> None:
    worker, other = personas["worker"], personas["other_worker"]
    RetentionPolicy.objects.create(organisation=other.organisation, months_after_closure=36)
    old = make_case(worker, "alpha", closed_months_ago=25, now=now)
    high = make_case(worker, "hotel", closed_months_ago=30, supervisor=personas["supervisor"], now=now)
    recent = make_case(worker, "bravo", closed_months_ago=23, now=now)
    still_open = make_case(worker, "charlie", closed_months_ago=None, now=months_before(now, 40))
    other_recent = make_case(other, "delta", closed_months_ago=30, now=now)  # their policy: 36 months
    other_old = make_case(other, "echo", closed_months_ago=37, now=now)
    kept_facts = {m.case.pk: facts(m.case) for m in (old, high, recent, still_open, other_recent, other_old)}

    for organisation in (worker.organisation, other.organisation):
        services.retention_apply(organisation=organisation, now=now)

    for made in (old, high, other_old):
        assert_erased(made)
    for made in (recent, still_open, other_recent):
        assert_untouched(made)
    # The facts that statistics count are the same for every case, erased or not.
    assert {pk: facts(Case.objects.get(pk=pk)) for pk in kept_facts} == kept_facts
    assert [c.comment for c in ClosureRequest.objects.filter(case=high.case)] == ["", ""]
    assert sorted(c.decision_comment for c in ClosureRequest.objects.filter(case=high.case)) == ["", ERASED]

    logs = erase_logs()
    assert sorted(log.object_id for log in logs) == sorted(str(m.case.pk) for m in (old, high, other_old))
    by_case = {log.object_id: log for log in logs}
    log = by_case[str(old.case.pk)]
    assert (log.actor, log.organisation_id, log.object_type) == (None, worker.organisation_id, "cases.case")
    assert log.detail["erased"] == {
        "incident_description": 1,
        "notes": 1,
        "offender_identifiers": 1,
        "referral_notes": 2,  # the comment on sending, and "Drafted" that the draft was given
        "takedown_links": 1,
    }
    assert log.detail["history_rows"] > 0
    assert (log.detail["policy"], log.detail["months_after_closure"]) == ("default", 24)
    assert by_case[str(high.case.pk)].detail["erased"]["closure_comments"] == 2
    assert by_case[str(other_old.case.pk)].organisation_id == other.organisation_id
    assert by_case[str(other_old.case.pk)].detail["policy"] == "organisation"
    # The log says how much, never what.
    for log in logs:
        for made in (old, high, other_old):
            for text in made.texts.values():
                assert text not in str(log.detail)


def test_an_erasure_turns_away_an_edit_begun_before_it(worker: User, now: datetime) -> None:
    made = make_case(worker, "alpha", closed_months_ago=25, now=now)
    version = made.case.version
    services.retention_apply(organisation=worker.organisation, now=now)
    made.case.refresh_from_db()
    assert made.case.version == version + 1


def test_a_policy_erases_only_the_kinds_it_names(worker: User, now: datetime) -> None:
    RetentionPolicy.objects.create(
        organisation=worker.organisation,
        months_after_closure=12,
        erase_notes=False,
        erase_incident_descriptions=False,
        erase_offender_identifiers=True,
        erase_takedown_links=True,
    )
    made = make_case(worker, "alpha", closed_months_ago=13, now=now)
    not_yet = make_case(worker, "bravo", closed_months_ago=11, now=now)

    outcome = services.retention_apply(organisation=worker.organisation, now=now)

    after = state(made.case)
    assert after["incident_description"] == made.texts["incident_description"]
    assert after["notes"] == [made.texts["note"]]
    assert made.texts["referral_note"] in after["referral_notes"]
    assert after["identifiers"] == []
    assert after["links"] == [""]
    assert_untouched(not_yet)
    assert outcome.cases == 1
    assert erase_logs()[0].detail["erased"] == {"offender_identifiers": 1, "takedown_links": 1}
    assert tables_holding(made.texts["identifier"]) == []
    assert tables_holding(made.texts["link"]) == []
    assert tables_holding(made.texts["note"]) != []


def test_a_policy_that_erases_nothing_erases_nothing(worker: User, now: datetime) -> None:
    RetentionPolicy.objects.create(
        organisation=worker.organisation,
        erase_notes=False,
        erase_incident_descriptions=False,
        erase_offender_identifiers=False,
        erase_takedown_links=False,
    )
    made = make_case(worker, "alpha", closed_months_ago=30, now=now)
    assert services.retention_apply(organisation=worker.organisation, now=now).cases == 0
    assert list(services.retention_plan(organisation=worker.organisation, now=now)) == []
    assert_untouched(made)


def test_legal_hold_keeps_a_case_until_released(personas: dict[str, User], now: datetime) -> None:
    worker, administrator = personas["worker"], personas["administrator"]
    held = make_case(worker, "alpha", closed_months_ago=30, now=now)
    free = make_case(worker, "bravo", closed_months_ago=30, now=now)
    hold = services.legal_hold_set(actor=administrator, case=held.case, reason="Police investigation")
    hold_id = hold.pk

    assert [e.reference for e in services.retention_plan(organisation=worker.organisation, now=now)] == [
        free.case.reference
    ]
    services.retention_apply(organisation=worker.organisation, now=now)
    assert_untouched(held)
    assert_erased(free)

    services.legal_hold_release(actor=administrator, hold=hold)
    assert not LegalHold.objects.exists()
    services.retention_apply(organisation=worker.organisation, now=now)
    assert_erased(held)

    changes = AccessLog.objects.filter(action=Action.CHANGE, object_type="cases.case", object_id=str(held.case.pk))
    assert [log.detail["legal_hold"] for log in changes.filter(actor=administrator).order_by("id")] == [
        "set",
        "released",
    ]
    assert "Police investigation" not in str([log.detail for log in changes])
    # The hold, its reason and its release stay in the hold's own history.
    events = apps.get_model("retention", "LegalHoldEvent").objects.filter(pgh_obj_id=hold_id)
    assert sorted(events.values_list("pgh_label", flat=True)) == ["delete", "insert"]


def test_legal_hold_needs_a_reason(personas: dict[str, User], now: datetime) -> None:
    made = make_case(personas["worker"], "alpha", closed_months_ago=30, now=now)
    with pytest.raises(ValidationError):
        services.legal_hold_set(actor=personas["administrator"], case=made.case, reason="   ")
    with pytest.raises(ValidationError):
        services.legal_hold_set(actor=personas["administrator"], case=made.case, reason="x" * 501)
    assert not LegalHold.objects.exists()


def test_a_second_hold_changes_the_reason(personas: dict[str, User], now: datetime) -> None:
    made = make_case(personas["worker"], "alpha", closed_months_ago=30, now=now)
    first = services.legal_hold_set(actor=personas["administrator"], case=made.case, reason="Court order")
    second = services.legal_hold_set(actor=personas["administrator"], case=made.case, reason="Court order, extended")
    assert first.pk == second.pk
    assert LegalHold.objects.get().reason == "Court order, extended"


def test_dry_run_lists_what_the_run_erases_and_changes_nothing(personas: dict[str, User], now: datetime) -> None:
    worker = personas["worker"]
    old = make_case(worker, "alpha", closed_months_ago=25, now=now)
    high = make_case(worker, "hotel", closed_months_ago=30, supervisor=personas["supervisor"], now=now)
    make_case(worker, "bravo", closed_months_ago=23, now=now)
    before = database_counts()

    plan = list(services.retention_plan(organisation=worker.organisation, now=now, batch_size=1))

    assert database_counts() == before
    assert_untouched(old)
    assert [(e.reference, e.closed_at) for e in plan] == [
        (old.case.reference, old.case.closed_at),
        (high.case.reference, high.case.closed_at),
    ]
    assert plan[0].counts["notes"] == 1
    assert plan[1].counts["closure_comments"] == 2

    services.retention_apply(organisation=worker.organisation, now=now)
    logs = {log.object_id: log.detail for log in erase_logs()}
    for erasure in plan:
        detail = logs[str(erasure.case_id)]
        assert detail["erased"] == {k: n for k, n in erasure.counts.items() if k != "history_rows"}
        assert detail["history_rows"] == erasure.counts["history_rows"]


def database_counts() -> dict[str, int]:
    """The number of rows of every table that erasing touches, and of the audit and history tables."""
    models = {target.model_class for target in TARGETS} | {AccessLog, pghistory.models.Context}
    return {model._meta.label: model._default_manager.count() for model in models}


def test_running_twice_erases_and_logs_once(personas: dict[str, User], now: datetime) -> None:
    worker = personas["worker"]
    made = [make_case(worker, f"case{name}", closed_months_ago=30, now=now) for name in "abcdefg"]
    held = make_case(worker, "held", closed_months_ago=30, now=now)
    services.legal_hold_set(actor=personas["administrator"], case=held.case, reason="Court order")

    first = services.retention_apply(organisation=worker.organisation, now=now, batch_size=3)
    snapshot = database_counts(), [state(m.case) for m in made]
    second = services.retention_apply(organisation=worker.organisation, now=now, batch_size=3)

    assert (first.cases, second.cases) == (7, 0)
    assert first.counts["notes"] == 7
    assert second.counts == Counter()
    assert (database_counts(), [state(m.case) for m in made]) == snapshot
    assert len(erase_logs()) == 7


def test_no_erased_text_is_left_anywhere_in_the_database(personas: dict[str, User], now: datetime) -> None:
    worker = personas["worker"]
    erased = make_case(worker, "alpha", closed_months_ago=30, supervisor=personas["supervisor"], now=now)
    kept = make_case(worker, "bravo", closed_months_ago=3, now=now)
    # An edit of the description leaves the earlier text in the history only.
    Case.objects.filter(pk=erased.case.pk).update(incident_description="Second version alpha words")
    erased.texts["second_description"] = "Second version alpha words"
    for text in erased.texts.values():
        assert tables_holding(text), text  # the search finds what is there

    services.retention_apply(organisation=worker.organisation, now=now)

    for kind, text in erased.texts.items():
        assert tables_holding(text) == [], kind
    assert "cases_noteevent" in tables_holding(kept.texts["note"])


def test_history_left_with_text_is_erased_even_when_the_live_row_is_empty(worker: User, now: datetime) -> None:
    made = make_case(worker, "alpha", closed_months_ago=30, now=now)
    Case.objects.filter(pk=made.case.pk).update(incident_description="")  # emptied by hand; the history keeps it
    RetentionPolicy.objects.create(
        organisation=worker.organisation,
        erase_notes=False,
        erase_offender_identifiers=False,
        erase_takedown_links=False,
    )
    assert tables_holding(made.texts["incident_description"]) == ["cases_caseevent"]
    services.retention_apply(organisation=worker.organisation, now=now)
    assert tables_holding(made.texts["incident_description"]) == []
    assert erase_logs()[0].detail["erased"] == {}
    assert erase_logs()[0].detail["history_rows"] >= 1


def test_a_run_that_runs_out_of_time_stops_between_batches_and_goes_on_from_there(worker: User, now: datetime) -> None:
    made = [make_case(worker, name, closed_months_ago=30, now=now) for name in ("alpha", "bravo", "charlie")]
    outcome = services.retention_apply(organisation=worker.organisation, now=now, batch_size=2, deadline=0)
    assert (outcome.cases, outcome.finished, outcome.after) == (2, False, made[1].case.pk)
    outcome = services.retention_apply(
        organisation=worker.organisation, now=now, batch_size=2, deadline=0, after=outcome.after
    )
    assert (outcome.cases, outcome.finished) == (1, True)
    assert services.retention_apply(organisation=worker.organisation, now=now).cases == 0
    assert len(erase_logs()) == 3


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (datetime(2026, 3, 31, 10), 1, datetime(2026, 2, 28, 10)),
        (datetime(2026, 3, 31, 10), 25, datetime(2024, 2, 29, 10)),
        (datetime(2026, 1, 15), 24, datetime(2024, 1, 15)),
        (datetime(2026, 1, 15), 13, datetime(2024, 12, 15)),
    ],
)
def test_months_before(moment: datetime, months: int, expected: datetime) -> None:
    assert months_before(moment, months) == expected


def test_a_policy_keeps_months_in_range(personas: dict[str, User]) -> None:
    administrator = personas["administrator"]
    for months in (0, 241):
        policy = RetentionPolicy(organisation=administrator.organisation, months_after_closure=months)
        with pytest.raises(ValidationError):
            services.retention_policy_save(actor=administrator, policy=policy, changed=["months_after_closure"])
    assert not RetentionPolicy.objects.exists()

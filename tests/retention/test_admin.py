"""Administrators set their own organisation's policy and legal holds, and see no other organisation's."""

from typing import Any

import pytest
from django.urls import reverse

from accounts.models import User
from audit.models import AccessLog, Action
from cases.models import Case
from cases.services import case_open
from retention.models import LegalHold, RetentionPolicy
from retention.services import legal_hold_set

pytestmark = pytest.mark.django_db

POLICY = {
    "months_after_closure": "36",
    "erase_notes": "on",
    "erase_incident_descriptions": "on",
    "erase_takedown_links": "on",
}


@pytest.fixture
def policies(personas: dict[str, User]) -> dict[str, RetentionPolicy]:
    return {
        key: RetentionPolicy.objects.create(organisation=personas[key].organisation, months_after_closure=months)
        for key, months in (("administrator", 30), ("other_administrator", 48))
    }


@pytest.fixture
def cases(personas: dict[str, User]) -> dict[str, Case]:
    return {key: case_open(actor=personas[key], facts={"risk_level": "low"}) for key in ("worker", "other_worker")}


def test_without_a_policy_the_page_says_the_default_applies(client_for: Any) -> None:
    page = client_for("administrator").get(reverse("admin:retention_retentionpolicy_changelist"))
    assert "no policy of its own" in page.content.decode()
    assert "24 months" in page.content.decode()


def test_administrator_adds_the_policy_of_their_own_organisation(client_for: Any, personas: dict[str, User]) -> None:
    client = client_for("administrator")
    response = client.post(reverse("admin:retention_retentionpolicy_add"), POLICY)
    assert response.status_code == 302, response.content.decode()[:2000]
    policy = RetentionPolicy.objects.get()
    assert (policy.organisation, policy.months_after_closure, policy.updated_by) == (
        personas["administrator"].organisation,
        36,
        personas["administrator"],
    )
    assert policy.contents == ["notes", "incident_description", "takedown_links"]
    log = AccessLog.objects.get(action=Action.CREATE, object_type="retention.retentionpolicy")
    assert log.detail["months_after_closure"] == 36
    # One policy per organisation: the next one is a change, not a second policy.
    assert client.get(reverse("admin:retention_retentionpolicy_add")).status_code == 403


@pytest.mark.parametrize("months", ["0", "241", "many", ""])
def test_a_period_out_of_range_is_refused(client_for: Any, months: str) -> None:
    response = client_for("administrator").post(
        reverse("admin:retention_retentionpolicy_add"), {**POLICY, "months_after_closure": months}
    )
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not RetentionPolicy.objects.exists()


def test_administrator_sees_and_edits_only_their_own_policy(
    client_for: Any, policies: dict[str, RetentionPolicy]
) -> None:
    client = client_for("administrator")
    own, foreign = policies["administrator"], policies["other_administrator"]
    listing = client.get(reverse("admin:retention_retentionpolicy_changelist")).content.decode()
    assert reverse("admin:retention_retentionpolicy_change", args=[own.pk]) in listing
    assert reverse("admin:retention_retentionpolicy_change", args=[foreign.pk]) not in listing

    assert client.get(reverse("admin:retention_retentionpolicy_change", args=[foreign.pk])).status_code == 404
    response = client.post(reverse("admin:retention_retentionpolicy_change", args=[foreign.pk]), POLICY)
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.months_after_closure == 48
    assert AccessLog.objects.filter(action=Action.REFUSED, object_id=str(foreign.pk)).exists()

    response = client.post(reverse("admin:retention_retentionpolicy_change", args=[own.pk]), POLICY)
    assert response.status_code == 302
    own.refresh_from_db()
    assert (own.months_after_closure, own.erase_offender_identifiers) == (36, False)
    log = AccessLog.objects.get(action=Action.CHANGE, object_type="retention.retentionpolicy")
    assert set(log.detail["fields"]) == {"months_after_closure", "erase_offender_identifiers"}


def test_nobody_deletes_a_policy(client_for: Any, policies: dict[str, RetentionPolicy]) -> None:
    own = policies["administrator"]
    response = client_for("administrator").post(
        reverse("admin:retention_retentionpolicy_delete", args=[own.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert RetentionPolicy.objects.filter(pk=own.pk).exists()


def test_administrator_puts_a_case_of_their_organisation_on_hold(
    client_for: Any, personas: dict[str, User], cases: dict[str, Case]
) -> None:
    case = cases["worker"]
    response = client_for("administrator").post(
        reverse("admin:retention_legalhold_add"),
        {"case_reference": case.reference.lower(), "reason": "Police investigation"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    hold = LegalHold.objects.get()
    assert (hold.case, hold.reason, hold.set_by) == (case, "Police investigation", personas["administrator"])
    log = AccessLog.objects.get(action=Action.CHANGE, object_type="cases.case", object_id=str(case.pk))
    assert log.detail == {"legal_hold": "set", "hold": hold.pk}


@pytest.mark.parametrize(
    ("which", "reason", "error"),
    [
        ("other_worker", "Police investigation", "No case of your organisation has this reference."),
        ("nonexistent", "Police investigation", "No case of your organisation has this reference."),
        ("worker", "", "This field is required."),
    ],
)
def test_a_hold_on_a_foreign_or_unknown_case_or_without_reason_is_refused(
    client_for: Any, cases: dict[str, Case], which: str, reason: str, error: str
) -> None:
    reference = cases[which].reference if which in cases else "SX-1999-99999"
    if which == "other_worker":
        Case.objects.filter(pk=cases["other_worker"].pk).update(reference="SX-2020-77777")
        reference = "SX-2020-77777"
    response = client_for("administrator").post(
        reverse("admin:retention_legalhold_add"), {"case_reference": reference, "reason": reason}
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not LegalHold.objects.exists()


def test_a_case_already_on_hold_is_refused(client_for: Any, personas: dict[str, User], cases: dict[str, Case]) -> None:
    legal_hold_set(actor=personas["administrator"], case=cases["worker"], reason="Court order")
    response = client_for("administrator").post(
        reverse("admin:retention_legalhold_add"), {"case_reference": cases["worker"].reference, "reason": "Again"}
    )
    assert response.status_code == 200
    assert "already on legal hold" in response.content.decode()
    assert LegalHold.objects.get().reason == "Court order"


def test_administrator_sees_changes_and_releases_only_their_own_holds(
    client_for: Any, personas: dict[str, User], cases: dict[str, Case]
) -> None:
    own = legal_hold_set(actor=personas["administrator"], case=cases["worker"], reason="Court order")
    foreign = legal_hold_set(actor=personas["other_administrator"], case=cases["other_worker"], reason="Inquiry")
    client = client_for("administrator")

    listing = client.get(reverse("admin:retention_legalhold_changelist")).content.decode()
    assert "Court order" in listing
    assert "Inquiry" not in listing
    for view in ("change", "delete", "history"):
        assert client.get(reverse(f"admin:retention_legalhold_{view}", args=[foreign.pk])).status_code == 404
    assert (
        client.post(reverse("admin:retention_legalhold_delete", args=[foreign.pk]), {"post": "yes"}).status_code == 404
    )
    assert LegalHold.objects.filter(pk=foreign.pk).exists()

    response = client.post(
        reverse("admin:retention_legalhold_change", args=[own.pk]), {"reason": "Court order, extended"}
    )
    assert response.status_code == 302
    assert LegalHold.objects.get(pk=own.pk).reason == "Court order, extended"

    response = client.post(reverse("admin:retention_legalhold_delete", args=[own.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not LegalHold.objects.filter(pk=own.pk).exists()
    details = [
        log.detail["legal_hold"]
        for log in AccessLog.objects.filter(
            action=Action.CHANGE, object_id=str(cases["worker"].pk), actor=personas["administrator"]
        ).order_by("id")
    ]
    assert details == ["set", "reason changed", "released"]


def test_releasing_several_holds_at_once_logs_each(
    client_for: Any, personas: dict[str, User], cases: dict[str, Case]
) -> None:
    second = case_open(actor=personas["worker"], facts={"risk_level": "low"})
    holds = [
        legal_hold_set(actor=personas["administrator"], case=case, reason="Court order")
        for case in (cases["worker"], second)
    ]
    response = client_for("administrator").post(
        reverse("admin:retention_legalhold_changelist"),
        {"action": "delete_selected", "_selected_action": [h.pk for h in holds], "post": "yes"},
    )
    assert response.status_code == 302
    assert not LegalHold.objects.exists()
    assert AccessLog.objects.filter(action=Action.CHANGE, detail__legal_hold="released").count() == 2


@pytest.mark.parametrize("persona", ["worker", "supervisor", "analyst"])
def test_other_roles_never_see_retention(client_for: Any, persona: str) -> None:
    client = client_for(persona)
    for name in ("admin:retention_retentionpolicy_changelist", "admin:retention_legalhold_changelist"):
        assert client.get(reverse(name)).status_code == 404

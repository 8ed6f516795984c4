"""The staff pages of a case, as a worker and a supervisor use them."""

from typing import Any

import pytest
from django.urls import reverse

from accounts.models import User
from audit.models import AccessLog, Action
from cases import services
from cases.models import Case, Note, Term

pytestmark = pytest.mark.django_db


def term_id(vocabulary: str, code: str) -> int:
    return Term.objects.get(vocabulary=vocabulary, code=code).pk


def form_data(**extra: Any) -> dict[str, Any]:
    return {
        "first_contact_at": "2026-11-20T21:40",
        "risk_level": "high",
        "channel": term_id("channel", "phone"),
        "reporter_type": term_id("reporter_type", "parent"),
        "victim_age": "12",
        "victim_gender": "female",
        "victim_complied": "unknown",
        "victim_paid": "no",
        "content_distributed": "unknown",
        "extorted_again": "unknown",
        "offender_known_offline": "unknown",
        "organised_network_suspected": "unknown",
        "platforms_first_contact": [term_id("platform", "roblox")],
        **extra,
    }


def test_open_a_case_on_a_live_call(client_for: Any, personas: dict[str, User]) -> None:
    client = client_for("worker")
    assert client.get(reverse("case_new")).status_code == 200
    response = client.post(reverse("case_new"), form_data())
    case = Case.objects.get()
    assert response["Location"] == reverse("case_detail", args=[case.pk])
    assert (case.victim_age, case.risk_level, case.assigned_to) == (12, "high", personas["worker"])
    assert list(case.platforms.values_list("platform__code", "role")) == [("roblox", "first_contact")]
    page = client.get(response["Location"]).content.decode()
    assert "Parent or trusted adult involved" in page  # 12 and under
    assert "Follow-up contact" in page  # high risk
    assert AccessLog.objects.filter(action=Action.VIEW, object_id=str(case.pk)).exists()


def test_a_description_with_identifiers_asks_before_saving(client_for: Any) -> None:
    client = client_for("worker")
    data = form_data(incident_description="The offender's number is +39 333 123 4567.")
    warned = client.post(reverse("case_new"), data)
    assert warned.status_code == 200
    page = warned.content.decode()
    assert "phone number" in page and "Remove them and save" in page
    assert not Case.objects.exists()
    client.post(reverse("case_new"), {**data, "text_decision": "redact"})
    assert Case.objects.get().incident_description == "The offender's number is [phone number removed]."


def test_bad_form_input_is_explained_and_nothing_saved(client_for: Any) -> None:
    response = client_for("worker").post(
        reverse("case_new"), form_data(victim_age="200", victim_country="IT", victim_region="FR-75")
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "between 0 and 120" in page or "less than or equal to" in page
    assert not Case.objects.exists()


def test_second_save_of_the_same_version_is_refused_with_a_message(client_for: Any, personas: dict[str, User]) -> None:
    case = services.case_open(actor=personas["worker"], facts={"victim_age": 15})
    first, second = client_for("worker"), client_for("supervisor")
    edit = reverse("case_edit", args=[case.pk])
    version = case.version
    assert first.post(edit, form_data(victim_age="16", version=version)).status_code == 302
    refused = second.post(edit, form_data(victim_age="17", version=version))
    assert refused.status_code == 200
    page = refused.content.decode()
    assert "changed by someone else" in page
    assert 'value="17"' in page  # what the second person typed is still in the form
    case.refresh_from_db()
    assert case.victim_age == 16


def test_notes_with_a_phone_number_redact_or_keep(client_for: Any, personas: dict[str, User]) -> None:
    # National numbers are read as the case's country's: a British mobile (not one of the ranges kept for
    # drama, which are not valid numbers) on a British victim's case.
    case = services.case_open(actor=personas["worker"], facts={"victim_country": "GB"})
    client = client_for("worker")
    url = reverse("case_note_add", args=[case.pk])
    warned = client.post(url, {"text": "Dad's mobile 07911 123456"})
    assert warned.status_code == 400
    assert "phone number" in warned.content.decode()
    assert not Note.objects.exists()
    client.post(url, {"text": "Dad's mobile 07911 123456", "text_decision": "redact"})
    assert Note.objects.get().text == "Dad's mobile [phone number removed]"


def test_steps_and_status_from_the_case_page(client_for: Any, personas: dict[str, User]) -> None:
    case = services.case_open(actor=personas["worker"], facts={})
    client = client_for("worker")
    step = case.steps.get(step_type__code="preserve_evidence")
    client.post(reverse("case_step_update", args=[case.pk, step.pk]), {"status": "done"})
    step.refresh_from_db()
    assert (step.status, step.done_by) == ("done", personas["worker"])
    refused = client.post(reverse("case_status", args=[case.pk]), {"status": "closed"})
    assert refused.status_code == 400
    assert "reason for closing" in refused.content.decode()
    client.post(
        reverse("case_status", args=[case.pk]),
        {"status": "closed", "closure_reason": term_id("closure_reason", "resolved")},
    )
    case.refresh_from_db()
    assert case.status == "closed"


def test_only_supervisors_assign(client_for: Any, personas: dict[str, User]) -> None:
    case = services.case_open(actor=personas["supervisor"], facts={})
    url = reverse("case_assign", args=[case.pk])
    assert client_for("worker").post(url, {"assigned_to": personas["worker"].pk}).status_code == 404
    client_for("supervisor").post(url, {"assigned_to": personas["worker"].pk})
    case.refresh_from_db()
    assert case.assigned_to == personas["worker"]
    client_for("supervisor").post(url, {"assigned_to": personas["other_worker"].pk})
    case.refresh_from_db()
    assert case.assigned_to == personas["worker"]  # not a choice: nothing changed


def test_history_page_shows_the_recorded_versions(client_for: Any, personas: dict[str, User]) -> None:
    case = services.case_open(actor=personas["worker"], facts={"victim_age": 15})
    services.case_update(actor=personas["worker"], case=case, version=case.version, facts={"victim_age": 16})
    page = client_for("supervisor").get(reverse("case_history", args=[case.pk])).content.decode()
    assert "victim_age" in page
    assert "Case update" in page


def test_searching_the_list_is_logged(client_for: Any, personas: dict[str, User]) -> None:
    client_for("worker").get(reverse("case_list"), {"reference": "SX-2026"})
    entry = AccessLog.objects.get(action=Action.VIEW, object_type="cases.case")
    assert entry.detail == {"query": "reference=SX-2026"}


def test_overdue_steps_are_visible_in_the_list(client_for: Any, personas: dict[str, User]) -> None:
    from datetime import timedelta

    from django.utils import timezone

    late = services.case_open(actor=personas["worker"], facts={"risk_level": "high"})
    fine = services.case_open(actor=personas["worker"], facts={"risk_level": "high"})
    late.steps.filter(step_type__code="follow_up").update(due_at=timezone.now() - timedelta(hours=1))
    client = client_for("worker")
    page = client.get(reverse("case_list")).content.decode()
    assert page.count('class="overdue-mark"') == 1
    listed = client.get(reverse("case_list"), {"overdue": "true"}).content.decode()
    assert reverse("case_detail", args=[late.pk]) in listed
    assert reverse("case_detail", args=[fine.pk]) not in listed
    api = client.get(reverse("api-case-list"), {"overdue": "true"}).json()["results"]
    assert [c["id"] for c in api] == [late.pk]


def test_the_case_list_filters_show_what_was_asked(client_for: Any, personas: dict[str, User]) -> None:
    from cases.filters import CaseFilter

    mine = services.case_open(actor=personas["worker"], facts={"risk_level": "high"})
    theirs = services.case_open(actor=personas["supervisor"], facts={"risk_level": "high"})
    services.case_assign(actor=personas["supervisor"], case=mine, assignee=personas["worker"])
    client = client_for("worker")
    asked = {"reference": "SX", "status": "new", "risk_level": "high", "mine": "true", "platform": "instagram"}
    page = client.get(reverse("case_list"), {**asked, "contact_from": "2000-01-01"}).content.decode()
    for shown in [
        'name="reference" id="id_reference" value="SX"',
        '<option value="new" selected>',
        '<option value="high" selected>',
        'name="mine" value="true" checked',
        'name="overdue" value="true">',
        '<option value="instagram" selected>',
        'name="contact_from" id="id_contact_from" value="2000-01-01"',
    ]:
        assert shown in page
    # A day the filter takes in another format is shown as a date field shows it, and sent again so.
    page = client.get(reverse("case_list"), {"contact_to": "05/01/2025"}).content.decode()
    assert 'name="contact_to" id="id_contact_to" value="2025-05-01"' in page  # 1 May, as written in English
    # The checkbox sends what the filter takes: only the worker's own case.
    page = client.get(reverse("case_list"), {"mine": "true"}).content.decode()
    assert reverse("case_detail", args=[mine.pk]) in page and reverse("case_detail", args=[theirs.pk]) not in page
    # Every filter the list shows as a field is in the form.
    for name in set(CaseFilter.base_filters) - set(CaseFilter.LABELLED):
        assert f'name="{name}"' in page
    wrong = client.get(reverse("case_list"), {"risk_level": "extreme", "contact_to": "2025-13-01"})
    assert wrong.status_code == 400
    html = wrong.content.decode()
    assert 'id="id_risk_level" aria-invalid="true"' in html and 'value="2025-13-01" aria-invalid="true"' in html
    # Each refusal named as its filter is.
    assert "<li>Risk: Select a valid choice. extreme is not one of the available choices.</li>" in html
    assert "<li>First contact to: Enter a valid date.</li>" in html


def test_home_lists_the_workers_open_cases(client_for: Any, personas: dict[str, User]) -> None:
    mine = services.case_open(actor=personas["worker"], facts={})
    closed = services.case_open(actor=personas["worker"], facts={})
    services.case_set_status(
        actor=personas["worker"],
        case=closed,
        status="closed",
        closure_reason=Term.objects.get(vocabulary="closure_reason", code="resolved"),
    )
    colleague = services.case_open(actor=personas["supervisor"], facts={})
    page = client_for("worker").get(reverse("home")).content.decode()
    assert reverse("case_detail", args=[mine.pk]) in page
    assert reverse("case_detail", args=[closed.pk]) not in page
    assert reverse("case_detail", args=[colleague.pk]) not in page
    assert "Your open cases" not in client_for("analyst").get(reverse("home")).content.decode()

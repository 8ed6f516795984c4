"""Edge cases found in review: odd dates, retired terms, unknown fields, and writes across organisations."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from audit.models import AccessLog, Action
from cases import services
from cases.models import Case, Contact, Note, OffenderIdentifier, Term

pytestmark = pytest.mark.django_db


def test_dates_before_2000_are_refused(personas: dict[str, User], client_for: Any) -> None:
    worker = personas["worker"]
    with pytest.raises(ValidationError) as error:
        services.case_open(actor=worker, facts={"first_contact_at": datetime(1, 1, 1, tzinfo=UTC)})
    assert "first_contact_at" in error.value.message_dict
    response = client_for("worker").post(
        reverse("api-case-list"), {"first_contact_at": "0001-01-01T00:00:00Z"}, content_type="application/json"
    )
    assert response.status_code == 400
    case = services.case_open(actor=worker, facts={})
    chat = Term.objects.get(vocabulary="channel", code="chat")
    with pytest.raises(ValidationError):
        services.contact_add(actor=worker, case=case, at=datetime(1999, 12, 31, tzinfo=UTC), channel=chat)
    assert not Case.objects.exclude(pk=case.pk).exists()


def test_garbage_page_cursor_shows_the_first_page_with_an_error(client_for: Any) -> None:
    client = client_for("worker")
    for garbage in ("2024-13-45T00:00:00+00:00|5", "2024-01-01T00:00:00+00:00|²", "2024-01-01T00:00:00|5"):
        response = client.get(reverse("case_list"), {"before": garbage})
        assert response.status_code == 400
        assert "This link to older cases is not valid" in response.content.decode()


def test_a_deactivated_term_stays_on_the_case_when_it_is_edited(client_for: Any, personas: dict[str, User]) -> None:
    money = Term.objects.get(vocabulary="demand", code="money")
    case = services.case_open(actor=personas["worker"], facts={"demands": [money]})
    Term.objects.filter(pk=money.pk).update(active=False)
    money.refresh_from_db()
    form = client_for("worker").get(reverse("case_edit", args=[case.pk])).context["form"]
    assert money.pk in [value for value, _label in form.fields["demands"].choices]  # still offered: saving keeps it
    assert form.initial["demands"] == [money]
    case.refresh_from_db()
    services.case_update(actor=personas["worker"], case=case, version=case.version, facts={"demands": [money]})
    assert list(case.demands.all()) == [money]
    other = services.case_open(actor=personas["worker"], facts={})
    with pytest.raises(ValidationError) as error:
        services.case_update(actor=personas["worker"], case=other, version=other.version, facts={"demands": [money]})
    assert "demands" in error.value.message_dict


def test_changing_the_country_rechecks_the_region(personas: dict[str, User]) -> None:
    case = services.case_open(actor=personas["worker"], facts={"victim_country": "IT", "victim_region": "IT-RM"})
    with pytest.raises(ValidationError) as error:
        services.case_update(actor=personas["worker"], case=case, version=case.version, facts={"victim_country": "FR"})
    assert "victim_region" in error.value.message_dict


def test_moving_a_due_time_keeps_who_did_the_step(personas: dict[str, User]) -> None:
    case = services.case_open(actor=personas["worker"], facts={})
    step = case.steps.get(step_type__code="stop_contact")
    step = services.step_update(actor=personas["worker"], step=step, status="done")
    later = timezone.now() + timedelta(days=1)
    step = services.step_update(actor=personas["supervisor"], step=step, status="done", due_at=later)
    assert (step.done_by, step.due_at) == (personas["worker"], later)


def test_very_long_text_is_refused(personas: dict[str, User], client_for: Any) -> None:
    case = services.case_open(actor=personas["worker"], facts={})
    with pytest.raises(ValidationError):
        services.note_add(actor=personas["worker"], case=case, text="a" * 20_001)
    response = client_for("worker").post(
        reverse("api-case-list"), {"incident_description": "b" * 20_001}, content_type="application/json"
    )
    assert response.status_code == 400
    assert not Note.objects.exists()


def test_fields_a_case_does_not_have_are_refused(client_for: Any) -> None:
    response = client_for("worker").post(
        reverse("api-case-list"), {"victim_name": "Someone", "risk_level": "low"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"victim_name": ["Not a field of a case."]}
    assert not Case.objects.exists()


def test_reading_parts_of_a_case_through_the_api_is_logged(client_for: Any, personas: dict[str, User]) -> None:
    case = services.case_open(actor=personas["worker"], facts={})
    client = client_for("supervisor")
    for part in ("notes", "steps", "contacts"):
        client.get(reverse(f"api-case-{part}", args=[case.pk]))
    parts = AccessLog.objects.filter(action=Action.VIEW, actor=personas["supervisor"], object_id=str(case.pk))
    assert sorted(parts.values_list("detail__part", flat=True)) == ["contacts", "notes", "steps"]


def writes(case: Case, step_id: int, platform_id: int, channel_id: int) -> list[tuple[str, dict[str, Any]]]:
    return [
        (reverse("case_note_add", args=[case.pk]), {"text": "a note"}),
        (reverse("case_contact_add", args=[case.pk]), {"at": "2026-01-01T10:00", "channel": channel_id}),
        (reverse("case_identifier_add", args=[case.pk]), {"kind": "username", "value": "x", "platform": platform_id}),
        (reverse("case_status", args=[case.pk]), {"status": "waiting"}),
        (reverse("case_assign", args=[case.pk]), {"assigned_to": ""}),
        (reverse("case_step_update", args=[case.pk, step_id]), {"status": "done"}),
        (reverse("case_edit", args=[case.pk]), {"risk_level": "critical", "version": case.version}),
    ]


@pytest.mark.parametrize("persona", ["other_worker", "other_administrator", "analyst", "administrator"])
def test_nobody_outside_the_case_can_write_to_it(client_for: Any, personas: dict[str, User], persona: str) -> None:
    case = services.case_open(actor=personas["worker"], facts={"risk_level": "low"})
    step = case.steps.get(step_type__code="stop_contact")
    platform = Term.objects.get(vocabulary="platform", code="tiktok")
    channel = Term.objects.get(vocabulary="channel", code="phone")
    client = client_for(persona)
    for url, data in writes(case, step.pk, platform.pk, channel.pk):
        assert client.post(url, data).status_code == 404, url
    api = [
        (reverse("api-case-notes", args=[case.pk]), {"text": "a note"}),
        (reverse("api-case-contacts", args=[case.pk]), {"at": "2026-01-01T10:00:00Z", "channel": "phone"}),
    ]
    for url, data in api:
        assert client.post(url, data, content_type="application/json").status_code in (403, 404), url
    patch = client.patch(
        reverse("api-case-detail", args=[case.pk]),
        {"risk_level": "critical", "version": case.version},
        content_type="application/json",
    )
    assert patch.status_code in (403, 404)
    case.refresh_from_db()
    step.refresh_from_db()
    assert (case.risk_level, case.status, case.assigned_to, step.status) == ("low", "open", personas["worker"], "todo")
    assert not Note.objects.exists() and not OffenderIdentifier.objects.exists()
    assert Contact.objects.filter(case=case).count() == 0


def test_search_by_reference_in_its_usual_forms(client_for: Any, personas: dict[str, User]) -> None:
    first = services.case_open(actor=personas["worker"], facts={})
    second = services.case_open(actor=personas["worker"], facts={})
    client = client_for("worker")

    def found(text: str) -> set[int]:
        return {c["id"] for c in client.get(reverse("api-case-list"), {"reference": text}).json()["results"]}

    year = timezone.localdate().year
    assert found(first.reference) == {first.pk}
    assert found(first.reference.lower()) == {first.pk}
    assert found("2") == {second.pk}  # the number alone
    assert found(f"{year}-0000") == {first.pk, second.pk}  # year and the start of the number
    assert found("SX-1999") == set()
    assert found("00001") == {first.pk}

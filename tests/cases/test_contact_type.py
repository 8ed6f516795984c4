"""The type of a contact (counselling, silent, information...), which the figures for Child Helpline International
count apart: on the case page with and without htmx, through the API, and by default."""

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from cases import services
from cases.models import Case, Contact, ContactType, Term

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def case(personas: dict[str, User]) -> Case:
    return services.case_open(actor=personas["worker"], facts={"risk_level": "low"})


def phone() -> int:
    return Term.objects.get(vocabulary="channel", code="phone", organisation=None).pk


def test_the_case_page_offers_the_type_with_counselling_chosen(client_for: Any, case: Case) -> None:
    page = client_for("worker").get(reverse("case_detail", args=[case.pk])).content.decode()
    assert 'name="contact_type"' in page
    assert '<option value="counselling" selected>Counselling</option>' in page
    assert '<option value="silent">Silent</option>' in page


def test_without_javascript_the_type_is_recorded_and_the_page_comes_back(client_for: Any, case: Case) -> None:
    client = client_for("worker")
    data = {"at": "2026-01-01T10:00", "channel": phone(), "contact_type": "silent"}
    response = client.post(reverse("case_contact_add", args=[case.pk]), data)
    assert (response.status_code, response["Location"]) == (302, reverse("case_detail", args=[case.pk]))
    assert Contact.objects.get(case=case).contact_type == ContactType.SILENT
    assert "Silent: Phone" in client.get(reverse("case_detail", args=[case.pk])).content.decode()


def test_with_htmx_the_type_is_recorded_and_shown_in_the_timeline(client_for: Any, case: Case) -> None:
    data = {"at": "2026-01-01T10:00", "channel": phone(), "contact_type": "information", "duration_minutes": "4"}
    response = client_for("worker").post(reverse("case_contact_add", args=[case.pk]), data, headers=HTMX)
    assert response.status_code == 200
    assert "Information or referral only: Phone, 4 min" in response.content.decode()
    assert Contact.objects.get(case=case).contact_type == ContactType.INFORMATION


def test_a_form_without_the_type_records_counselling_and_a_wrong_type_is_refused(client_for: Any, case: Case) -> None:
    client = client_for("worker")
    url = reverse("case_contact_add", args=[case.pk])
    assert client.post(url, {"at": "2026-01-01T10:00", "channel": phone()}).status_code == 302
    assert Contact.objects.get(case=case).contact_type == ContactType.COUNSELLING
    wrong = client.post(url, {"at": "2026-01-01T11:00", "channel": phone(), "contact_type": "chatty"}, headers=HTMX)
    assert wrong.status_code == 400
    assert "Select a valid choice" in wrong.content.decode()
    assert Contact.objects.filter(case=case).count() == 1


def test_the_api_reads_and_writes_the_type(client_for: Any, case: Case) -> None:
    client: Client = client_for("worker")
    url = reverse("api-case-contacts", args=[case.pk])
    made = client.post(
        url,
        {"at": "2026-01-01T10:00:00Z", "channel": "phone", "contact_type": "abusive"},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    assert made.json()["contact_type"] == "abusive"
    plain = client.post(url, {"at": "2026-01-01T11:00:00Z", "channel": "phone"}, content_type="application/json")
    assert plain.json()["contact_type"] == "counselling"
    bad = client.post(
        url,
        {"at": "2026-01-01T12:00:00Z", "channel": "phone", "contact_type": "chatty"},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "contact_type" in bad.json()
    assert [c["contact_type"] for c in client.get(url).json()] == ["abusive", "counselling"]


def test_the_service_refuses_an_unknown_type(personas: dict[str, User], case: Case) -> None:
    channel = Term.objects.get(pk=phone())
    with pytest.raises(ValidationError):
        services.contact_add(actor=personas["worker"], case=case, at=timezone.now(), channel=channel, contact_type="x")

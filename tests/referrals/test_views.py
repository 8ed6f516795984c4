"""Referral pages as a worker uses them: draft, consent, send, record the answer, list."""

from typing import Any

import pytest
from django.urls import reverse

from accounts.models import User
from cases import services as case_services
from cases.models import Case, Term
from referrals import services
from referrals.models import Agency, Referral

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(personas: dict[str, User]) -> Case:
    return case_services.case_open(actor=personas["worker"], facts={})


def test_draft_consent_send_and_complete_from_the_pages(client_for: Any, personas: dict[str, User], case: Case) -> None:
    client = client_for("worker")
    police = Agency.objects.get(code="polizia_postale")
    response = client.post(reverse("referral_new", args=[case.pk]), {"kind": "police", "agency": police.pk})
    referral = Referral.objects.get()
    assert response["Location"] == reverse("referral_detail", args=[referral.pk])
    assert (referral.status, referral.owner) == ("draft", personas["worker"])

    refused = client.post(reverse("referral_transition", args=[referral.pk]), {"to": "sent"})
    assert refused.status_code == 400
    assert "Record consent before sending" in refused.content.decode()

    client.post(reverse("referral_consent", args=[referral.pk]), {"consent": "guardian"})
    client.post(reverse("referral_transition", args=[referral.pk]), {"to": "sent"})
    client.post(
        reverse("referral_transition", args=[referral.pk]),
        {"to": "acknowledged", "external_reference": "PP/2026/0042"},
    )
    client.post(
        reverse("referral_transition", args=[referral.pk]), {"to": "completed", "outcome": "investigation_opened"}
    )
    referral.refresh_from_db()
    assert (referral.status, referral.outcome, referral.external_reference) == (
        "completed",
        "investigation_opened",
        "PP/2026/0042",
    )
    page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "Investigation opened" in page
    assert case.steps.get(step_type__code="report_police").status == "done"


def test_takedown_items_from_the_page(client_for: Any, personas: dict[str, User], case: Case) -> None:
    referral = services.referral_create(
        actor=personas["worker"],
        case=case,
        kind="takedown",
        agency=Agency.objects.get(code="esafety"),
        consent="victim",
    )
    services.referral_transition(actor=personas["worker"], referral=referral, to="sent")
    client = client_for("worker")
    instagram = Term.objects.get(vocabulary="platform", code="instagram")
    bad = client.post(
        reverse("referral_item_add", args=[referral.pk]),
        {"platform": instagram.pk, "link": "not a link at all", "content_type": "image"},
    )
    assert bad.status_code == 400
    assert not referral.items.exists()
    client.post(
        reverse("referral_item_add", args=[referral.pk]),
        {"platform": instagram.pk, "link": "https://instagram.com/p/abc", "content_type": "image"},
    )
    item = referral.items.get()
    client.post(reverse("referral_item_update", args=[referral.pk, item.pk]), {"status": "removed"})
    referral.refresh_from_db()
    assert (referral.status, referral.outcome) == ("completed", "removed")
    case.refresh_from_db()
    assert case.status == "open"


def test_list_mine_and_organisation(client_for: Any, personas: dict[str, User], case: Case) -> None:
    police = Agency.objects.get(code="polizia_postale")
    mine = services.referral_create(actor=personas["worker"], case=case, kind="police", agency=police)
    theirs = services.referral_create(actor=personas["supervisor"], case=case, kind="police", agency=police)
    client = client_for("worker")
    page = client.get(reverse("referral_list")).content.decode()
    assert reverse("referral_detail", args=[mine.pk]) in page
    assert reverse("referral_detail", args=[theirs.pk]) not in page
    everyone = client.get(reverse("referral_list"), {"scope": "all"}).content.decode()
    assert reverse("referral_detail", args=[theirs.pk]) in everyone
    other = client_for("other_worker").get(reverse("referral_list"), {"scope": "all"}).content.decode()
    assert reverse("referral_detail", args=[mine.pk]) not in other


@pytest.mark.parametrize("persona", ["other_worker", "analyst", "administrator"])
def test_nobody_outside_the_case_changes_its_referrals(
    client_for: Any, personas: dict[str, User], case: Case, persona: str
) -> None:
    police = Agency.objects.get(code="polizia_postale")
    referral = services.referral_create(actor=personas["worker"], case=case, kind="police", agency=police)
    client = client_for(persona)
    assert client.post(reverse("referral_consent", args=[referral.pk]), {"consent": "victim"}).status_code == 404
    assert client.post(reverse("referral_transition", args=[referral.pk]), {"to": "withdrawn"}).status_code == 404
    assert (
        client.post(reverse("referral_new", args=[case.pk]), {"kind": "police", "agency": police.pk}).status_code == 404
    )
    referral.refresh_from_db()
    assert (referral.status, referral.consent, Referral.objects.count()) == ("draft", "", 1)


def test_printable_summary_is_anonymised_and_logged(client_for: Any, personas: dict[str, User], case: Case) -> None:
    from audit.models import AccessLog, Action

    case_services.offender_identifier_add(actor=personas["worker"], case=case, kind="username", value="@dark_angel99")
    referral = services.referral_create(
        actor=personas["worker"], case=case, kind="police", agency=Agency.objects.get(code="ceop")
    )
    page = client_for("supervisor").get(reverse("referral_summary", args=[referral.pk])).content.decode()
    assert case.reference in page and "@dark_angel99" in page
    assert "<script>" not in page  # the print button's script is a file
    entry = AccessLog.objects.get(action=Action.PRINT)
    assert (entry.actor, entry.object_id) == (personas["supervisor"], str(referral.pk))


def test_referrals_show_on_the_case_timeline(client_for: Any, personas: dict[str, User], case: Case) -> None:
    referral = services.referral_create(
        actor=personas["worker"], case=case, kind="police", agency=Agency.objects.get(code="ceop"), consent="victim"
    )
    services.referral_transition(actor=personas["worker"], referral=referral, to="sent")
    page = client_for("worker").get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "Police report · CEOP" in page and ": Sent" in page


def test_consent_without_a_reason_is_refused_on_the_page(
    client_for: Any, personas: dict[str, User], case: Case
) -> None:
    referral = services.referral_create(
        actor=personas["worker"], case=case, kind="police", agency=Agency.objects.get(code="ceop")
    )
    response = client_for("worker").post(reverse("referral_consent", args=[referral.pk]), {"consent": "not_required"})
    assert response.status_code == 400
    assert "Say why consent is not required" in response.content.decode()
    referral.refresh_from_db()
    assert referral.consent == ""


def test_overdue_follow_ups_are_marked_in_the_list(client_for: Any, personas: dict[str, User], case: Case) -> None:
    from datetime import timedelta

    from django.utils import timezone

    referral = services.referral_create(
        actor=personas["worker"], case=case, kind="police", agency=Agency.objects.get(code="ceop"), consent="victim"
    )
    services.referral_transition(actor=personas["worker"], referral=referral, to="sent")
    client = client_for("worker")
    assert 'class="overdue-mark"' not in client.get(reverse("referral_list")).content.decode()
    Referral.objects.filter(pk=referral.pk).update(follow_up_on=timezone.localdate() - timedelta(days=1))
    assert client.get(reverse("referral_list")).content.decode().count('class="overdue-mark"') == 1

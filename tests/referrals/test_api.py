"""The referral API: scope, the status machine over HTTP, items, and bad input."""

from typing import Any

import pytest
from django.urls import reverse

from accounts.models import User
from cases import services as case_services
from cases.models import Case
from referrals.models import Referral

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(personas: dict[str, User]) -> Case:
    return case_services.case_open(actor=personas["worker"], facts={})


def post(client: Any, url: str, data: dict[str, Any]) -> Any:
    return client.post(url, data, content_type="application/json")


def test_referral_lifecycle_over_the_api(client_for: Any, case: Case) -> None:
    client = client_for("worker")
    created = post(client, reverse("api-referral-list"), {"case": case.pk, "kind": "takedown", "agency": "esafety"})
    assert created.status_code == 201, created.json()
    referral = created.json()
    transition = reverse("api-referral-transition", args=[referral["id"]])
    refused = post(client, transition, {"to": "sent"})
    assert refused.status_code == 400
    assert refused.json() == {"consent": ["Record consent before sending the referral."]}
    Referral.objects.filter(pk=referral["id"]).update(consent="victim")
    assert post(client, transition, {"to": "sent"}).json()["status"] == "sent"
    items = reverse("api-referral-items", args=[referral["id"]])
    item = post(
        client, items, {"platform": "instagram", "link": "https://instagram.com/p/abc", "content_type": "video"}
    )
    assert item.status_code == 201
    assert [i["link"] for i in client.get(items).json()] == ["https://instagram.com/p/abc"]
    wrong = post(client, transition, {"to": "completed", "outcome": "charges_laid"})
    assert wrong.status_code == 400 and "outcome" in wrong.json()
    done = post(client, transition, {"to": "completed", "outcome": "removed"}).json()
    assert (done["status"], done["outcome"]) == ("completed", "removed")
    assert post(client, transition, {"to": "sent"}).status_code == 400


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "police", "agency": "esafety"}, "agency"),  # a regulator is not the police
        ({"kind": "police", "agency": "no-such-agency"}, "agency"),
        ({"kind": "carrier pigeon", "agency": "polizia_postale"}, "kind"),
        ({"kind": "police", "agency": "polizia_postale", "consent": "maybe"}, "consent"),
        ({"kind": "police", "agency": "polizia_postale", "consent": "not_required"}, "consent_reason"),
        ({"kind": "police", "agency": "polizia_postale", "follow_up_on": "soon"}, "follow_up_on"),
        ({"kind": "takedown", "agency": "esafety\x00"}, "agency"),  # PostgreSQL text cannot hold a NUL
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(
    client_for: Any, case: Case, data: dict[str, Any], field: str
) -> None:
    response = post(client_for("worker"), reverse("api-referral-list"), {"case": case.pk, **data})
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Referral.objects.exists()


def test_a_case_of_another_organisation_cannot_be_referred(client_for: Any, personas: dict[str, User]) -> None:
    foreign = case_services.case_open(actor=personas["other_worker"], facts={})
    response = post(
        client_for("worker"), reverse("api-referral-list"), {"case": foreign.pk, "kind": "police", "agency": "ceop"}
    )
    assert response.status_code == 400
    assert "case" in response.json()
    assert not Referral.objects.exists()


def test_lists_stay_in_the_organisation(client_for: Any, personas: dict[str, User], case: Case) -> None:
    post(client_for("worker"), reverse("api-referral-list"), {"case": case.pk, "kind": "police", "agency": "ceop"})
    assert len(client_for("supervisor").get(reverse("api-referral-list")).json()["results"]) == 1
    assert client_for("other_worker").get(reverse("api-referral-list")).json()["results"] == []
    assert client_for("analyst").get(reverse("api-referral-list")).status_code == 403
    assert client_for("supervisor").get(reverse("api-referral-list"), {"agency": "ceop\x00"}).status_code == 400
    agencies = client_for("analyst").get(reverse("api-agencies")).json()
    assert {"polizia_postale", "esafety", "take_it_down", "stopncii"} <= {a["code"] for a in agencies}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"platform": "instagram", "link": "not a link", "content_type": "image"}, "link"),
        ({"platform": "myspace", "link": "https://x.test/a", "content_type": "image"}, "platform"),
        ({"platform": "insta\x00gram", "link": "https://x.test/a", "content_type": "image"}, "platform"),
        ({"platform": "instagram", "link": "https://x.test/a", "content_type": "poem"}, "content_type"),
        ({"platform": "instagram", "link": "https://x.test/a", "content_type": "image", "status": "removed"}, "status"),
    ],
)
def test_bad_items_are_refused(client_for: Any, case: Case, data: dict[str, Any], field: str) -> None:
    client = client_for("worker")
    referral = post(client, reverse("api-referral-list"), {"case": case.pk, "kind": "takedown", "agency": "esafety"})
    response = post(client, reverse("api-referral-items", args=[referral.json()["id"]]), data)
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Referral.objects.get().items.exists()


def test_bad_transitions_are_refused(client_for: Any, case: Case) -> None:
    client = client_for("worker")
    referral = post(client, reverse("api-referral-list"), {"case": case.pk, "kind": "police", "agency": "ceop"}).json()
    url = reverse("api-referral-transition", args=[referral["id"]])
    assert post(client, url, {"to": "teleported"}).status_code == 400
    assert post(client, url, {}).json().keys() == {"to"}
    assert post(client, url, {"to": "completed", "outcome": "charges_laid"}).status_code == 400
    assert Referral.objects.get().status == "draft"

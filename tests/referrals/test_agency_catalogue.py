"""The agency catalogue: shared agencies are the operator's; an organisation adds its own, which nobody else sees,
and hides shared ones it does not work with."""

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse

from accounts.models import Organisation, User
from audit.models import AccessLog, Action
from cases import services as case_services
from cases.models import Case, Term
from referrals import services
from referrals.models import Agency, HiddenAgency, Referral

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(personas: dict[str, User]) -> Case:
    return case_services.case_open(actor=personas["worker"], facts={})


@pytest.fixture
def other_case(personas: dict[str, User]) -> Case:
    return case_services.case_open(actor=personas["other_worker"], facts={})


def own_agency(organisation: Organisation, code: str = "carabinieri_roma") -> Agency:
    return Agency.objects.create(organisation=organisation, code=code, name="Carabinieri, Roma", kind="police")


def catalogue(client: Client) -> dict[str, bool]:
    return {agency["code"]: agency["active"] for agency in client.get(reverse("api-agencies")).json()}


def refer(client: Client, case: Case, agency: str, kind: str = "police") -> Any:
    data = {"case": case.pk, "kind": kind, "agency": agency}
    return client.post(reverse("api-referral-list"), data, content_type="application/json")


def offered_on_the_referral_form(client: Client, case: Case) -> set[str]:
    form = client.get(reverse("referral_new", args=[case.pk])).context["form"]
    return set(form.fields["agency"].queryset.values_list("code", flat=True))


def test_an_administrator_cannot_change_a_shared_agency(client_for: Any) -> None:
    esafety = Agency.objects.get(code="esafety")
    before = model_to_dict(esafety)
    data = {"code": "esafety", "name": "Hacked", "kind": "police", "expected_response_days": "1", "active": ""}
    response = client_for("administrator").post(reverse("admin:referrals_agency_change", args=[esafety.pk]), data)
    assert response.status_code == 403
    esafety.refresh_from_db()
    assert model_to_dict(esafety) == before
    with pytest.raises(DatabaseError), transaction.atomic():
        Agency.objects.filter(pk=esafety.pk).update(code="hacked")


def test_an_organisations_own_agency_is_seen_and_used_by_it_alone(
    client_for: Any, personas: dict[str, User], home_org: Organisation, case: Case, other_case: Case
) -> None:
    data = {"code": "carabinieri_roma", "name": "Carabinieri, Roma", "kind": "police", "expected_response_days": "5"}
    response = client_for("administrator").post(reverse("admin:referrals_agency_add"), {**data, "active": "on"})
    assert response.status_code == 302
    agency = Agency.objects.get(code="carabinieri_roma")
    assert agency.organisation == home_org

    worker, other = client_for("worker"), client_for("other_worker")
    assert "carabinieri_roma" in catalogue(worker)
    assert "carabinieri_roma" in offered_on_the_referral_form(worker, case)
    assert refer(worker, case, "carabinieri_roma").status_code == 201

    assert "carabinieri_roma" not in catalogue(other)
    assert "carabinieri_roma" not in offered_on_the_referral_form(other, other_case)
    refused = refer(other, other_case, "carabinieri_roma")
    assert refused.status_code == 400
    assert "does not exist" in str(refused.json()["agency"])
    page = other.post(reverse("referral_new", args=[other_case.pk]), {"kind": "police", "agency": agency.pk})
    assert "Select a valid choice" in page.content.decode()
    with pytest.raises(ValidationError):
        services.referral_create(actor=personas["other_worker"], case=other_case, kind="police", agency=agency)
    assert not Referral.objects.filter(case=other_case).exists()
    assert (
        client_for("other_administrator").get(reverse("admin:referrals_agency_change", args=[agency.pk])).status_code
        == 404
    )


def test_an_own_agency_code_never_shadows_a_shared_one(client_for: Any, home_org: Organisation) -> None:
    data = {"code": "esafety", "name": "Our eSafety", "kind": "regulator", "expected_response_days": "5"}
    response = client_for("administrator").post(reverse("admin:referrals_agency_add"), data)
    assert response.status_code == 200
    assert "This code is already in use." in response.content.decode()
    with pytest.raises(IntegrityError), transaction.atomic():
        own_agency(home_org, code="esafety")


def test_hiding_a_shared_agency_is_for_the_organisation_alone(
    client_for: Any, personas: dict[str, User], home_org: Organisation, case: Case, other_case: Case
) -> None:
    police = Agency.objects.get(code="polizia_postale")
    earlier = services.referral_create(actor=personas["worker"], case=case, kind="police", agency=police)
    hide = {"action": "hide", "_selected_action": [police.pk], "index": "0"}
    assert client_for("administrator").post(reverse("admin:referrals_agency_changelist"), hide).status_code == 302
    assert HiddenAgency.objects.filter(organisation=home_org, agency=police).exists()
    assert AccessLog.objects.filter(
        action=Action.CHANGE, object_type="referrals.agency", detail={"hidden": True}
    ).exists()

    worker, other = client_for("worker"), client_for("other_worker")
    assert catalogue(worker)["polizia_postale"] is False
    assert "polizia_postale" not in offered_on_the_referral_form(worker, case)
    assert refer(worker, case, "polizia_postale").status_code == 400
    assert catalogue(other)["polizia_postale"] is True
    assert refer(other, other_case, "polizia_postale").status_code == 201
    # The referral made before keeps its agency.
    page = worker.get(reverse("referral_detail", args=[earlier.pk]))
    assert page.status_code == 200
    assert police.name in page.content.decode()


def test_another_organisations_platform_cannot_be_listed_for_takedown(
    client_for: Any, personas: dict[str, User], home_org: Organisation, other_case: Case
) -> None:
    Term.objects.create(organisation=home_org, vocabulary="platform", code="kik", label="Kik")
    client = client_for("other_worker")
    referral = refer(client, other_case, "esafety", kind="takedown").json()
    item = {"platform": "kik", "link": "https://kik.example/p/1", "content_type": "image"}
    response = client.post(reverse("api-referral-items", args=[referral["id"]]), item, content_type="application/json")
    assert response.status_code == 400
    assert "does not exist" in str(response.json()["platform"])
    assert not Referral.objects.get(pk=referral["id"]).items.exists()

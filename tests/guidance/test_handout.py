"""The guidance handout: which parts a case gets, in which words, and that nothing of the person is in it."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AccessLog, Action
from cases.models import Answer, Case, ResponseStep, Risk, StepStatus
from cases.pii import find_identifiers
from cases.services import note_add
from guidance.handout import build
from guidance.models import Audience, HandoutWording, Section
from referrals.models import Agency
from tests.factories import CaseFactory, OrganisationFactory, TermFactory

ALWAYS = [
    "not_their_fault",
    "no_more_images",
    "no_payment",
    "stop_contact",
    "preserve_evidence",
    "block",
    "report_police",
    "age_advice",
    "support",
    "contact",
]


def sections(handout: Any) -> list[str]:
    return [section for section, _text in handout.parts]


@pytest.mark.parametrize(
    ("facts", "added"),
    [
        ({}, []),
        ({"victim_paid": Answer.YES}, ["already_paid"]),
        ({"content_distributed": Answer.YES}, ["removal"]),
        ({"content_distributed": Answer.UNKNOWN, "victim_paid": Answer.NO}, []),
        ({"self_harm": True}, ["safety"]),
        ({"immediate_danger": True}, ["safety"]),
        ({"risk_level": Risk.CRITICAL}, ["safety"]),
        (
            {"victim_paid": Answer.YES, "content_distributed": Answer.YES, "self_harm": True},
            ["already_paid", "removal", "safety"],
        ),
    ],
)
def test_the_parts_follow_the_facts(home_org: Any, facts: dict[str, Any], added: list[str]) -> None:
    case = CaseFactory.create(organisation=home_org, victim_age=15, **facts)

    handout = build(case, audience=Audience.YOUNG_PERSON, language="en")

    assert set(sections(handout)) == set(ALWAYS) | set(added)
    assert sections(handout) == [section for section in Section.values if section in sections(handout)]  # in order


@pytest.mark.parametrize(
    ("age", "audience", "phrase"),
    [
        (10, Audience.PARENT, "children of 12 and under"),
        (12, Audience.PARENT, "children of 12 and under"),
        (13, Audience.PARENT, "Talk with your child openly"),
        (None, Audience.PARENT, "Talk with your child openly"),
        (10, Audience.YOUNG_PERSON, "Tell a parent or another adult you trust now"),
        (16, Audience.YOUNG_PERSON, "Talk to an adult you trust"),
    ],
)
def test_the_age_advice_differs_for_12_and_under(home_org: Any, age: int | None, audience: str, phrase: str) -> None:
    case = CaseFactory.create(organisation=home_org, victim_age=age)

    advice = dict(build(case, audience=audience, language="en").parts)["age_advice"]

    assert phrase in advice


def test_a_step_marked_not_applicable_leaves_its_part_out(home_org: Any, personas: Any) -> None:
    from cases.services import case_open

    case = case_open(actor=personas["worker"], facts={"risk_level": "low", "victim_age": 15})
    ResponseStep.objects.filter(case=case, step_type__code="report_police").update(status=StepStatus.NOT_APPLICABLE)

    assert "report_police" not in sections(build(case, audience=Audience.PARENT, language="en"))


def test_agencies_are_those_of_the_organisations_country(home_org: Any, other_org: Any) -> None:
    Agency.objects.create(organisation=other_org, code="theirs", name="Their Own Police", kind="police", country="IT")
    case = CaseFactory.create(organisation=home_org, content_distributed=Answer.YES)  # home_org is in Italy

    parts = dict(build(case, audience=Audience.PARENT, language="en").parts)

    assert "Polizia Postale e delle Comunicazioni" in parts["report_police"]
    assert "ACCCE" not in parts["report_police"]  # Australian
    assert "Their Own Police" not in parts["report_police"]  # another organisation's own entry
    assert "Telefono Azzurro" in parts["support"]


def test_italian_and_english(home_org: Any) -> None:
    case = CaseFactory.create(organisation=home_org, victim_age=10)

    english = build(case, audience=Audience.PARENT, language="en")
    italian = build(case, audience=Audience.PARENT, language="it")

    assert english.title == "What to do now: advice for parents and carers"
    assert italian.title == "Cosa fare ora: consigli per genitori e tutori"
    assert dict(italian.parts)["no_more_images"].startswith("Non inviate altre immagini")
    assert sections(english) == sections(italian)


def test_the_organisations_own_wording_replaces_the_guidance(home_org: Any) -> None:
    HandoutWording.objects.create(
        organisation=home_org,
        section=Section.CONTACT,
        audience=Audience.PARENT,
        language="en",
        text="Call {organisation} free on 116 111, any day. {unknown} stays.",
    )
    case = CaseFactory.create(organisation=home_org)

    contact = dict(build(case, audience=Audience.PARENT, language="en").parts)["contact"]
    young = dict(build(case, audience=Audience.YOUNG_PERSON, language="en").parts)["contact"]

    assert contact == f"Call {home_org.name} free on 116 111, any day. {{unknown}} stays."
    assert young == f"You can contact {home_org.name} again at any time."  # the other audience keeps the guidance


def test_nothing_of_the_person_or_of_the_case_text_reaches_it(home_org: Any, personas: Any) -> None:
    instagram = TermFactory.create(vocabulary="platform", code="instagram_h", label="Instagram")
    case = CaseFactory.create(
        organisation=home_org,
        victim_age=14,
        victim_paid=Answer.YES,
        content_distributed=Answer.YES,
        self_harm=True,
        platforms=[(instagram, "contact")],
        incident_description="Giulia Bianchi of Liceo Galilei, phone 333 123 4567, paid 200 EUR to marco_x99",
    )
    note_add(actor=personas["worker"], case=case, text="Her brother Luca knows", text_decision="keep")

    for audience in Audience.values:
        for language in ("en", "it"):
            text = build(case, audience=audience, language=language).text
            assert find_identifiers(text, region="IT") == [], text
            for fragment in ("Giulia", "Bianchi", "Galilei", "333", "marco_x99", "Luca", "200", "14"):
                assert fragment not in text
            assert "Instagram" in text  # the platform's name, from the catalogue


def test_the_page_shows_it_and_logs_the_view(home_org: Any, client_for: Any) -> None:
    case: Case = CaseFactory.create(organisation=home_org, victim_age=9)
    client: Client = client_for("worker")

    page = client.get(reverse("case_handout", args=[case.pk]), {"language": "it"})

    assert page.status_code == 200
    assert "Cosa fare ora: consigli per genitori e tutori" in page.content.decode()  # a parent's, for a child of 9
    viewed = AccessLog.objects.filter(action=Action.VIEW, object_id=str(case.pk)).latest("id")
    assert viewed.detail == {"handout": "parent", "language": "it"}


def test_giving_it_is_a_checklist_step_with_its_time(home_org: Any, client_for: Any, personas: Any) -> None:
    case = CaseFactory.create(organisation=home_org)
    client = client_for("worker")

    answer = client.post(reverse("case_handout", args=[case.pk]), {"audience": "young_person", "language": "en"})

    assert answer.status_code == 302 and answer["Location"] == reverse("case_detail", args=[case.pk])
    step = ResponseStep.objects.get(case=case, step_type__code="handout_given")
    assert (step.status, step.done_by) == (StepStatus.DONE, personas["worker"])
    assert step.done_at is not None
    assert step.reason == "Handout given: Young person, English"


def test_another_organisations_case_has_no_handout(home_org: Any, other_org: Any, client_for: Any) -> None:
    case = CaseFactory.create(organisation=other_org)
    client = client_for("worker")

    assert client.get(reverse("case_handout", args=[case.pk])).status_code == 404
    assert client.post(reverse("case_handout", args=[case.pk])).status_code == 404
    assert not ResponseStep.objects.filter(case=case, step_type__code="handout_given").exists()


def test_an_unknown_audience_or_language_falls_back_to_the_defaults(home_org: Any, client_for: Any) -> None:
    case = CaseFactory.create(organisation=OrganisationFactory.create(name="Home Helpline"), victim_age=16)

    page = client_for("worker").get(reverse("case_handout", args=[case.pk]), {"audience": "x", "language": "xx"})

    assert page.status_code == 200
    assert "What to do now: advice for you" in page.content.decode()


def test_administrators_edit_their_own_wording_and_see_the_guidances(home_org: Any, client_for: Any) -> None:
    client = client_for("administrator")
    fields = {"section": "contact", "audience": "parent", "language": "en", "text": "Call {organisation} on 116 111."}

    added = client.post(reverse("admin:guidance_handoutwording_add"), fields)
    again = client.post(reverse("admin:guidance_handoutwording_add"), {**fields, "text": "Another"})

    assert added.status_code == 302
    wording = HandoutWording.objects.get()
    assert wording.organisation == home_org
    assert again.status_code == 200 and "already has your own wording" in again.content.decode()
    page = client.get(reverse("admin:guidance_handoutwording_change", args=[wording.pk]))
    assert "You can come back to {organisation} at any time." in page.content.decode()
    assert AccessLog.objects.filter(action=Action.CREATE, object_id=str(wording.pk)).count() == 1

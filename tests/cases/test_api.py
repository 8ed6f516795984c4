"""The case API: scope, idempotent create, concurrency, validation and query counts."""

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from audit.models import AccessLog, Action
from cases import services
from cases.models import Case, Contact, Note, Term

pytestmark = pytest.mark.django_db

NEW_CASE = {
    "risk_level": "high",
    "channel": "chat",
    "reporter_type": "victim",
    "victim_age": 15,
    "victim_gender": "male",
    "victim_country": "IT",
    "victim_region": "IT-RM",
    "sextortion_type": "financial",
    "demands": ["money"],
    "threats": ["friends", "family"],
    "victim_paid": "yes",
    "payment_method": "gift_card",
    "platforms": [{"platform": "instagram", "role": "first_contact"}, {"platform": "snapchat", "role": "threats"}],
}


def post(client: Client, url: str, data: dict[str, Any], **headers: Any) -> Any:
    return client.post(url, data, content_type="application/json", **headers)


def test_create_and_read_a_case(client_for: Any, personas: dict[str, User]) -> None:
    client = client_for("worker")
    response = post(client, reverse("api-case-list"), NEW_CASE)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["reference"].startswith("SX-")
    assert body["assigned_to"] == "alice"
    assert sorted(body["threats"]) == ["family", "friends"]
    assert {"platform": "snapchat", "role": "threats"} in body["platforms"]
    assert "payment already made" in body["risk_flags"]
    steps = client.get(reverse("api-case-steps", args=[body["id"]])).json()
    assert {"follow_up", "no_further_payment"} <= {s["step"] for s in steps}


def test_idempotency_key_replay_returns_the_first_case(client_for: Any) -> None:
    client = client_for("worker")
    first = post(client, reverse("api-case-list"), NEW_CASE, HTTP_IDEMPOTENCY_KEY="intake-42")
    again = post(client, reverse("api-case-list"), NEW_CASE, HTTP_IDEMPOTENCY_KEY="intake-42")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Case.objects.count() == 1
    other = post(client, reverse("api-case-list"), NEW_CASE, HTTP_IDEMPOTENCY_KEY="intake-43")
    assert other.json()["id"] != first.json()["id"]


def test_update_needs_the_version_and_refuses_a_stale_one(client_for: Any) -> None:
    client = client_for("worker")
    case = post(client, reverse("api-case-list"), NEW_CASE).json()
    url = reverse("api-case-detail", args=[case["id"]])
    missing = client.patch(url, {"victim_age": 16}, content_type="application/json")
    assert missing.status_code == 400
    assert "version" in missing.json()
    ok = client.patch(url, {"victim_age": 16, "version": case["version"]}, content_type="application/json")
    assert ok.status_code == 200
    assert ok.json()["version"] == case["version"] + 1
    stale = client.patch(url, {"victim_age": 17, "version": case["version"]}, content_type="application/json")
    assert stale.status_code == 409
    assert "changed by someone else" in stale.json()["detail"]
    assert Case.objects.get().victim_age == 16


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"victim_age": -1}, "victim_age"),
        ({"victim_age": "fifteen"}, "victim_age"),
        ({"victim_age": 200}, "victim_age"),
        ({"risk_level": "extreme"}, "risk_level"),
        ({"channel": "pigeon"}, "channel"),
        ({"channel": "instagram"}, "channel"),  # a platform, not a channel
        ({"channel": "ch\x00at"}, "channel"),  # PostgreSQL text cannot hold a NUL
        ({"victim_country": "ZZ"}, "victim_country"),
        ({"victim_region": "FR-75"}, "victim_region"),
        ({"platforms": [{"platform": "instagram", "role": "bystander"}]}, "platforms"),
        ({"platforms": [{"platform": "insta\x00gram", "role": "threats"}]}, "platforms"),
        ({"first_contact_at": "yesterday"}, "first_contact_at"),
        ({"incident_description": "Call him on +39 333 123 4567"}, "incident_description"),
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(client_for: Any, change: dict[str, Any], field: str) -> None:
    response = post(client_for("worker"), reverse("api-case-list"), {**NEW_CASE, **change})
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Case.objects.exists()


def test_child_endpoints_validate_and_save_nothing_on_error(client_for: Any, personas: dict[str, User]) -> None:
    client = client_for("worker")
    case = services.case_open(actor=personas["worker"], facts={})
    contacts = reverse("api-case-contacts", args=[case.pk])
    assert post(client, contacts, {"at": "2020-01-01T10:00:00Z", "channel": "carrier-pigeon"}).status_code == 400
    assert post(client, contacts, {"at": "2999-01-01T10:00:00Z", "channel": "phone"}).status_code == 400
    assert post(client, contacts, {"channel": "phone"}).json().keys() == {"at"}
    assert not Contact.objects.filter(case=case).exclude(at=case.first_contact_at).exists()
    ok = post(client, contacts, {"at": "2024-01-01T10:00:00Z", "channel": "phone", "duration_minutes": 20})
    assert ok.status_code == 201

    notes = reverse("api-case-notes", args=[case.pk])
    assert post(client, notes, {"text": ""}).status_code == 400
    found = post(client, notes, {"text": "her number is 0412 345 678"})
    assert found.status_code == 400
    assert found.json()["identifiers_found"] == [
        {"kind": "phone", "label": "phone number", "start": 14, "end": 26, "offender_candidate": True}
    ]
    assert "0412" not in found.content.decode()
    assert post(client, notes, {"text": "x", "text_decision": "maybe"}).status_code == 400
    assert not Note.objects.exists()
    redacted = post(client, notes, {"text": "her number is 0412 345 678", "text_decision": "redact"})
    assert redacted.json()["text"] == "her number is [phone number removed]"

    step = case.steps.get(step_type__code="stop_contact")
    url = reverse("api-case-step", args=[case.pk, step.pk])
    assert client.patch(url, {"status": "finished"}, content_type="application/json").status_code == 400
    assert client.patch(url, {"due_at": "0048-04-27T16:00:00Z"}, content_type="application/json").status_code == 400
    done = client.patch(url, {"status": "done"}, content_type="application/json").json()
    assert (done["status"], done["done_by"]) == ("done", "alice")
    assert (
        client.patch(
            reverse("api-case-step", args=[case.pk, 999999]), {"status": "done"}, content_type="application/json"
        ).status_code
        == 400
    )


def test_lists_never_show_another_organisations_case(client_for: Any, personas: dict[str, User]) -> None:
    mine = services.case_open(actor=personas["worker"], facts={})
    theirs = services.case_open(actor=personas["other_worker"], facts={})
    ids = [c["id"] for c in client_for("supervisor").get(reverse("api-case-list")).json()["results"]]
    assert ids == [mine.pk]
    ids = [c["id"] for c in client_for("other_worker").get(reverse("api-case-list")).json()["results"]]
    assert ids == [theirs.pk]
    page = client_for("worker").get(reverse("case_list")).content.decode()
    assert reverse("case_detail", args=[mine.pk]) in page
    assert reverse("case_detail", args=[theirs.pk]) not in page


def test_an_id_with_a_nul_is_not_found_and_the_refusal_is_logged(client_for: Any) -> None:
    response = client_for("worker").get("/api/v1/cases/4%002/")
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})
    assert AccessLog.objects.filter(action=Action.REFUSED, object_id="4\\x002").exists()


def test_an_id_of_many_nuls_is_not_found_and_logged_cut_to_its_column(client_for: Any) -> None:
    response = client_for("worker").get("/api/v1/cases/" + "%00" * 30 + "/")
    assert response.status_code == 404
    logged = AccessLog.objects.get(action=Action.REFUSED, object_type="cases.case")
    assert logged.object_id == ("\\x00" * 30)[:64]


@pytest.mark.parametrize("persona", ["analyst", "administrator"])
def test_roles_without_casework_get_nothing(client_for: Any, personas: dict[str, User], persona: str) -> None:
    case = services.case_open(actor=personas["worker"], facts={})
    client = client_for(persona)
    for url in [
        reverse("api-case-list"),
        reverse("api-case-detail", args=[case.pk]),
        reverse("api-case-notes", args=[case.pk]),
        reverse("api-case-steps", args=[case.pk]),
        reverse("api-case-contacts", args=[case.pk]),
    ]:
        assert client.get(url).status_code == 403
    assert post(client, reverse("api-case-list"), NEW_CASE).status_code == 403
    assert Case.objects.count() == 1


def test_filters(client_for: Any, personas: dict[str, User]) -> None:
    worker = personas["worker"]
    instagram = Term.objects.get(vocabulary="platform", code="instagram")
    high = services.case_open(actor=worker, facts={"risk_level": "high"}, platforms=[(instagram, "first_contact")])
    low = services.case_open(actor=personas["supervisor"], facts={"risk_level": "low"})
    client = client_for("worker")

    def ids(**query: str) -> list[int]:
        return [c["id"] for c in client.get(reverse("api-case-list"), query).json()["results"]]

    assert ids(risk_level="high") == [high.pk]
    assert ids(platform="instagram") == [high.pk]
    assert ids(mine="true") == [high.pk]
    assert ids(status="new") == [low.pk]
    assert ids(reference=low.reference) == [low.pk]
    assert set(ids()) == {high.pk, low.pk}
    assert client.get(reverse("api-case-list"), {"risk_level": "extreme"}).status_code == 400


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def make_cases(actor: User, n: int) -> list[Case]:
    instagram = Term.objects.get(vocabulary="platform", code="instagram")
    approach = Term.objects.get(vocabulary="approach", code="flattery")
    cases = []
    for _ in range(n):
        case = services.case_open(
            actor=actor,
            facts={"channel": Term.objects.get(vocabulary="channel", code="chat"), "approaches": [approach]},
            platforms=[(instagram, "first_contact"), (instagram, "threats")],
        )
        services.offender_identifier_add(actor=actor, case=case, kind="username", value="same_handle")
        services.note_add(actor=actor, case=case, text="Called back, feeling safer.")
        cases.append(case)
    return cases


def test_query_counts_do_not_grow_with_rows(client_for: Any, personas: dict[str, User]) -> None:
    client = client_for("supervisor")
    make_cases(personas["worker"], 2)
    list_few = count_queries(client, reverse("case_list"))
    api_few = count_queries(client, reverse("api-case-list"))
    cases = make_cases(personas["worker"], 8)
    assert count_queries(client, reverse("case_list")) == list_few
    assert count_queries(client, reverse("api-case-list")) == api_few

    page_few = count_queries(client, reverse("case_detail", args=[cases[0].pk]))
    chat = Term.objects.get(vocabulary="channel", code="chat")
    for case in cases[1:4]:
        services.contact_add(actor=personas["worker"], case=cases[0], at=case.first_contact_at, channel=chat)
        services.note_add(actor=personas["worker"], case=cases[0], text="Another note.")
    assert count_queries(client, reverse("case_detail", args=[cases[0].pk])) == page_few

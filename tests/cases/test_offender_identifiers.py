"""Offender identifiers: one normal form before hashing (so cases link however a number or name was written),
the rehash of what is stored, and identifiers found in free text moved to the case by the worker's choice."""

import hashlib
import hmac
from typing import Any

import pytest
from django.apps import apps as global_apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import User
from audit.models import AccessLog
from cases import services
from cases.identifiers import identifier_hash, normalise
from cases.models import Case, ClosureRequest, Note, OffenderIdentifier, Risk, Term
from referrals import services as referral_services
from referrals.models import Agency, Referral
from tests.helpers import linked_cases

pytestmark = pytest.mark.django_db

ELLIE_CYRILLIC = "\u0435llie"  # the first letter is the Cyrillic ie


def case_in(worker: User, country: str = "IT", **facts: Any) -> Case:
    return services.case_open(actor=worker, facts={"victim_country": country, **facts})


def add(worker: User, case: Case, kind: str, value: str) -> OffenderIdentifier:
    return services.offender_identifier_add(actor=worker, case=case, kind=kind, value=value)


FULLWIDTH_ELLIE = "\uff45\uff4c\uff4c\uff49\uff45"
ZERO_WIDTH_ELLIE = "el\u200blie"


@pytest.mark.parametrize(
    ("writings", "region"),
    [
        ([("phone", "+39 347 123 4567"), ("phone", "0039 347 1234567"), ("phone", "347 1234567")], "IT"),
        ([("phone", "+39 (347) 123-4567"), ("phone", "+393471234567")], None),
        ([("phone", "+44 7911 123456"), ("phone", "07911 123456")], "GB"),
        (
            [
                ("username", "ellie"),
                ("username", "@Ellie"),
                ("username", ELLIE_CYRILLIC),
                ("username", FULLWIDTH_ELLIE),
                ("username", ZERO_WIDTH_ELLIE),
                ("profile_link", "https://www.instagram.com/ellie/?hl=it"),
                ("profile_link", "m.instagram.com/Ellie"),
                ("username", "instagram.com/ellie"),
                ("profile_link", "https://www.tiktok.com/@ellie"),
            ],
            None,
        ),
        (
            [("payment_handle", "$DarkCash"), ("payment_handle", "darkcash"), ("payment_handle", "cash.app/$darkcash")],
            None,
        ),
        ([("email", "Stranger@Example.com"), ("email", "stranger@example.com ")], None),
    ],
)
def test_one_normal_form_however_written(writings: list[tuple[str, str]], region: str | None) -> None:
    assert len({identifier_hash(kind, value, region) for kind, value in writings}) == 1


def test_different_identifiers_stay_different() -> None:
    assert normalise("phone", "347 1234567", "IT") != normalise("phone", "347 1234567", "GB")
    assert normalise("phone", "+39 347 123 4567") != normalise("phone", "+39 347 123 4568")
    assert normalise("username", "ellie") != normalise("username", "ellie2")
    assert normalise("username", "ellié") != normalise("username", "ellie")  # accents are not look-alikes
    assert normalise("profile_link", "example.org/ellie") == ("profile_link", "example.org/ellie")
    assert normalise("profile_link", "https://example.org/ellie?ref=1")[1] == "example.org/ellie"


def test_cases_written_differently_link(personas: dict[str, User]) -> None:
    worker = personas["worker"]
    first, second, third = case_in(worker), case_in(worker), case_in(worker)
    add(worker, first, "phone", "+39 347 123 4567")
    add(worker, second, "phone", "0039 347 1234567")
    add(worker, third, "phone", "347 1234567")
    one = first.offender_identifiers.get()
    assert {c["pk"] for c in linked_cases(worker, first)[one.pk]} == {second.pk, third.pk}

    latin, cyrillic = case_in(worker), case_in(worker)
    add(worker, latin, "username", "ellie")
    add(worker, cyrillic, "username", ELLIE_CYRILLIC)
    assert [c["pk"] for c in linked_cases(worker, latin)[latin.offender_identifiers.get().pk]] == [cyrillic.pk]


def test_a_national_number_is_read_in_the_case_country(personas: dict[str, User]) -> None:
    worker = personas["worker"]
    italian, british = case_in(worker, "IT"), case_in(worker, "GB")
    add(worker, italian, "phone", "347 1234567")
    add(worker, british, "phone", "347 1234567")
    assert not linked_cases(worker, italian)[italian.offender_identifiers.get().pk]


def old_hash(kind: str, value: str) -> str:
    """The hash as it was computed before the one normal form."""
    normal = value.strip().lower()
    if kind == "phone":
        normal = "".join(c for c in normal if c.isdigit() or c == "+")
    elif kind in ("username", "payment_handle"):
        normal = normal.lstrip("@$")
    key = settings.OFFENDER_HASH_KEY.encode()
    return hmac.new(key, f"{kind}:{normal}".encode(), hashlib.sha256).hexdigest()


def test_the_migration_rehashes_stored_identifiers(personas: dict[str, User]) -> None:
    from importlib import import_module

    rehash = import_module("cases.migrations.0010_rehash_offender_identifiers").rehash
    worker = personas["worker"]
    old = {"+39 347 123 4567": case_in(worker), "347 1234567": case_in(worker), ELLIE_CYRILLIC: case_in(worker)}
    for value, case in old.items():
        kind = "username" if value == ELLIE_CYRILLIC else "phone"
        identifier = add(worker, case, kind, value)
        OffenderIdentifier.objects.filter(pk=identifier.pk).update(value_hash=old_hash(kind, value))
    ellie = add(worker, case_in(worker), "username", "ellie")
    before = dict(OffenderIdentifier.objects.values_list("value", "value_hash"))
    assert before["+39 347 123 4567"] != before["347 1234567"] and before[ELLIE_CYRILLIC] != ellie.value_hash

    class Connection:
        alias = "default"

    class Editor:
        connection = Connection()

    rehash(global_apps, Editor())
    after = dict(OffenderIdentifier.objects.values_list("value", "value_hash"))
    assert after["+39 347 123 4567"] == after["347 1234567"] == identifier_hash("phone", "+393471234567")
    assert after[ELLIE_CYRILLIC] == after["ellie"] == ellie.value_hash
    rehash(global_apps, Editor())  # a second run changes nothing
    assert dict(OffenderIdentifier.objects.values_list("value", "value_hash")) == after


NOTE = "He asked for money at $darkcash77 and called from 347 1234567; his snap is ellie.m07."
CASHTAG, PHONE, USERNAME = (22, 33), (50, 61), (75, 84)


def test_a_note_moves_the_chosen_identifiers_to_the_case(personas: dict[str, User]) -> None:
    worker = personas["worker"]
    case, other = case_in(worker), case_in(worker)
    add(worker, other, "payment_handle", "$DarkCash77")
    with pytest.raises(services.IdentifiersFound) as found:
        services.note_add(actor=worker, case=case, text=NOTE, move=[CASHTAG])
    assert [(f.kind, f.start, f.end) for f in found.value.findings] == [
        ("cashtag", *CASHTAG),
        ("phone", *PHONE),
        ("username", *USERNAME),
    ]
    assert not Note.objects.exists() and not case.offender_identifiers.exists()

    note = services.note_add(actor=worker, case=case, text=NOTE, text_decision="keep", move=[CASHTAG, PHONE])
    assert note.text == (
        "He asked for money at [Cash App $cashtag removed] and called from [phone number removed]; "
        "his snap is ellie.m07."
    )
    assert note.identifiers_kept == ["username"]
    identifiers = {(i.kind, i.value) for i in case.offender_identifiers.all()}
    assert identifiers == {("payment_handle", "$darkcash77"), ("phone", "347 1234567")}
    cashtag = case.offender_identifiers.get(kind="payment_handle")
    assert [c["pk"] for c in linked_cases(worker, case)[cashtag.pk]] == [other.pk]
    log = AccessLog.objects.filter(object_id=str(case.pk), detail__note=note.pk).get()
    assert log.detail["identifiers_moved"] == {"cashtag": 1, "phone": 1}
    assert "darkcash" not in str(AccessLog.objects.filter(object_id=str(case.pk)).values_list("detail", flat=True))


def test_move_alone_moves_every_candidate_and_removes_the_rest(personas: dict[str, User]) -> None:
    worker = personas["worker"]
    case = case_in(worker)
    text = "Offender: +39 347 123 4567. The victim's school is at https://news.example.org/story"
    note = services.note_add(actor=worker, case=case, text=text, text_decision="move")
    assert note.text == "Offender: [phone number removed]. The victim's school is at [link removed]"
    assert list(case.offender_identifiers.values_list("kind", "value")) == [("phone", "+39 347 123 4567")]


def test_only_offender_findings_of_this_text_can_be_moved(personas: dict[str, User]) -> None:
    worker = personas["worker"]
    case = case_in(worker)
    text = "See https://news.example.org/story and 347 1234567"
    for spans in ([(4, 34)], [(0, 3)], [(39, 45)]):  # not a profile link; no finding; part of a finding
        with pytest.raises(ValidationError) as refused:
            services.note_add(actor=worker, case=case, text=text, text_decision="redact", move=spans)
        assert "Nothing was saved" in str(refused.value)
    with pytest.raises(ValidationError):
        services.note_add(actor=worker, case=case, text="Nothing to see", move=[(0, 7)])
    assert not Note.objects.exists() and not case.offender_identifiers.exists()


def test_the_same_identifier_twice_is_recorded_once(personas: dict[str, User]) -> None:
    worker = personas["worker"]
    case = case_in(worker)
    add(worker, case, "phone", "+39 347 123 4567")
    services.note_add(actor=worker, case=case, text="again from 0039 347 1234567", text_decision="move")
    assert case.offender_identifiers.count() == 1


def test_the_page_offers_and_moves_an_identifier(client_for: Any, personas: dict[str, User]) -> None:
    case = case_in(personas["worker"])
    client = client_for("worker")
    url = reverse("case_note_add", args=[case.pk])
    warned = client.post(url, {"text": NOTE})
    page = warned.content.decode()
    assert warned.status_code == 400
    assert page.count('name="move"') == 3 and 'value="22-33"' in page and "add to offender identifiers" in page
    moved = client.post(url, {"text": NOTE, "text_decision": "redact", "move": ["22-33", "75-84"]})
    assert moved.status_code == 302
    assert Note.objects.get().text == (
        "He asked for money at [Cash App $cashtag removed] and called from [phone number removed]; "
        "his snap is [username removed]."
    )
    assert sorted(case.offender_identifiers.values_list("value", flat=True)) == ["$darkcash77", "ellie.m07"]
    assert client.post(url, {"text": "x", "text_decision": "keep", "move": ["a-b"]}).status_code == 400


def test_the_case_form_moves_an_identifier_from_the_description(client_for: Any, personas: dict[str, User]) -> None:
    case = case_in(personas["worker"])
    client = client_for("worker")
    url = reverse("case_edit", args=[case.pk])
    form = client.get(url).context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, list)}
    data |= {"incident_description": "Threats from @dark_angel99", "version": case.version, "risk_level": "medium"}
    warned = client.post(url, data)
    assert warned.status_code == 200 and 'value="13-26"' in warned.content.decode()
    assert client.post(url, {**data, "text_decision": "redact", "move": "13-26"}).status_code == 302
    case.refresh_from_db()
    assert case.incident_description == "Threats from [@handle removed]"
    assert list(case.offender_identifiers.values_list("kind", "value")) == [("username", "@dark_angel99")]


def test_the_api_lists_kinds_and_spans_and_moves_what_it_is_told(client_for: Any, personas: dict[str, User]) -> None:
    case = case_in(personas["worker"])
    client = client_for("worker")
    url = reverse("api-case-notes", args=[case.pk])
    found = client.post(url, {"text": NOTE}, content_type="application/json")
    assert found.status_code == 400
    assert [(f["kind"], f["start"], f["end"], f["offender_candidate"]) for f in found.json()["identifiers_found"]] == [
        ("cashtag", *CASHTAG, True),
        ("phone", *PHONE, True),
        ("username", *USERNAME, True),
    ]
    assert "darkcash" not in found.content.decode() and "1234567" not in found.content.decode()
    wrong = client.post(
        url, {"text": NOTE, "text_decision": "keep", "move": [{"start": 0, "end": 2}]}, content_type="application/json"
    )
    assert wrong.status_code == 400 and not Note.objects.exists()
    move = [{"start": PHONE[0], "end": PHONE[1]}]
    done = client.post(url, {"text": NOTE, "text_decision": "keep", "move": move}, content_type="application/json")
    assert done.status_code == 201
    assert "[phone number removed]" in done.json()["text"] and "$darkcash77" in done.json()["text"]
    assert list(case.offender_identifiers.values_list("value", flat=True)) == ["347 1234567"]

    created = client.post(
        reverse("api-case-list"),
        {"risk_level": "low", "incident_description": "Paid $darkcash77", "text_decision": "move"},
        content_type="application/json",
    )
    assert created.status_code == 201
    new = Case.objects.get(pk=created.json()["id"])
    assert new.incident_description == "Paid [Cash App $cashtag removed]"
    assert list(new.offender_identifiers.values_list("kind", flat=True)) == ["payment_handle"]


def test_closure_comments_move_identifiers(personas: dict[str, User]) -> None:
    worker, supervisor = personas["worker"], personas["supervisor"]
    case = case_in(worker, risk_level=Risk.HIGH)
    reason = Term.objects.filter(vocabulary="closure_reason").first()
    services.closure_request_create(
        actor=worker, case=case, closure_reason=reason, comment="He went quiet after @dark_angel99 was blocked",
        text_decision="keep", move=[(20, 33)],
    )  # fmt: skip
    assert ClosureRequest.objects.get().comment == "He went quiet after [@handle removed] was blocked"
    with pytest.raises(services.IdentifiersFound):
        services.closure_request_send_back(actor=supervisor, case=case, comment="Call 347 1234567 back first")
    services.closure_request_send_back(
        actor=supervisor, case=case, comment="Call 347 1234567 back first", text_decision="move"
    )
    assert ClosureRequest.objects.get().decision_comment == "Call [phone number removed] back first"
    assert sorted(case.offender_identifiers.values_list("kind", flat=True)) == ["phone", "username"]


def test_consent_reasons_go_through_the_guard(client_for: Any, personas: dict[str, User]) -> None:
    worker = personas["worker"]
    case = case_in(worker)
    agency = Agency.objects.get(code="polizia_postale")
    reason = "Mother unreachable on +39 347 123 4567"
    with pytest.raises(services.IdentifiersFound):
        referral_services.referral_create(
            actor=worker, case=case, kind="police", agency=agency, consent="not_required", consent_reason=reason
        )
    assert not Referral.objects.exists()
    referral = referral_services.referral_create(
        actor=worker, case=case, kind="police", agency=agency, consent="not_required", consent_reason=reason,
        text_decision="redact",
    )  # fmt: skip
    assert referral.consent_reason == "Mother unreachable on [phone number removed]"
    assert not case.offender_identifiers.exists()

    draft = referral_services.referral_create(actor=worker, case=case, kind="police", agency=agency)
    client = client_for("worker")
    url = reverse("referral_consent", args=[draft.pk])
    warned = client.post(url, {"consent": "not_required", "reason": "Offender @dark_angel99 threatened the mother"})
    assert warned.status_code == 400 and 'value="9-22"' in warned.content.decode()
    data = {"consent": "not_required", "reason": "Offender @dark_angel99 threatened the mother"}
    assert client.post(url, {**data, "text_decision": "keep", "move": "9-22"}).status_code == 302
    draft.refresh_from_db()
    assert draft.consent_reason == "Offender [@handle removed] threatened the mother"
    assert list(case.offender_identifiers.values_list("value", flat=True)) == ["@dark_angel99"]
    log = AccessLog.objects.get(object_id=str(draft.pk), detail__has_key="identifiers_moved")
    assert log.object_type == "referrals.referral" and log.detail == {"identifiers_moved": {"handle": 1}}

    api = client.post(
        reverse("api-referral-list"),
        {"case": case.pk, "kind": "police", "agency": "polizia_postale", "consent": "not_required",
         "consent_reason": reason},
        content_type="application/json",
    )  # fmt: skip
    assert api.status_code == 400 and api.json()["identifiers_found"][0]["kind"] == "phone"
    assert "347" not in api.content.decode()


def test_referral_notes_go_through_the_guard(client_for: Any, personas: dict[str, User]) -> None:
    worker = personas["worker"]
    case = case_in(worker)
    agency = Agency.objects.get(code="polizia_postale")
    referral = referral_services.referral_create(
        actor=worker, case=case, kind="police", agency=agency, consent="victim"
    )
    note = "They traced $darkcash77"
    with pytest.raises(services.IdentifiersFound):
        referral_services.referral_transition(actor=worker, referral=referral, to="sent", note=note)
    referral.refresh_from_db()
    assert referral.status == "draft" and referral.transitions.count() == 1

    client = client_for("worker")
    url = reverse("api-referral-transition", args=[referral.pk])
    refused = client.post(url, {"to": "sent", "note": note}, content_type="application/json")
    assert refused.status_code == 400 and refused.json()["identifiers_found"][0]["kind"] == "cashtag"
    assert "darkcash" not in refused.content.decode()
    sent = client.post(url, {"to": "sent", "note": note, "text_decision": "move"}, content_type="application/json")
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    assert referral.transitions.get(to_status="sent").note == "They traced [Cash App $cashtag removed]"
    assert list(case.offender_identifiers.values_list("value", flat=True)) == ["$darkcash77"]

    page = client.post(
        reverse("referral_transition", args=[referral.pk]), {"to": "acknowledged", "note": "call +39 347 123 4567"}
    )
    assert page.status_code == 400 and 'name="move"' in page.content.decode()

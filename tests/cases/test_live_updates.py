"""The forms of the case page, posted by htmx (the HX-Request header) and without it: htmx gets the parts of the
page that change, anyone else the page again after a redirect, as before."""

from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from audit.models import AccessLog, Action
from cases import services
from cases.models import Case, CaseActivity, Contact, Note, OffenderIdentifier, Term

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
VOID = {"input", "br", "meta", "link", "img", "hr", "wbr", "source", "col", "area", "base", "embed"}


class _TopLevel(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth == 0:
            self.elements.append((tag, dict(attrs)))
        if tag not in VOID:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID:
            self.depth -= 1


def parts(html: str) -> dict[str, str]:
    """The top-level elements of a fragment: id -> "main" for the one swapped into the form's target, else its
    out-of-band swap."""
    parser = _TopLevel()
    parser.feed(html)
    found = {}
    for _tag, attrs in parser.elements:
        found[str(attrs.get("id"))] = attrs.get("hx-swap-oob") or "main"
    return found


def term(vocabulary: str, code: str) -> Term:
    return Term.objects.get(vocabulary=vocabulary, code=code)


def logged(case: Case, user: User) -> list[str]:
    rows = AccessLog.objects.filter(object_id=str(case.pk), actor=user).order_by("id")
    return [row.action for row in rows]


@pytest.fixture
def case(personas: dict[str, User]) -> Case:
    return services.case_open(actor=personas["worker"], facts={"risk_level": "low"})


@pytest.fixture
def worker(client_for: Any) -> Client:
    return client_for("worker")


def test_a_note_with_htmx_answers_the_note_form_and_the_timeline(
    worker: Client, case: Case, personas: dict[str, User]
) -> None:
    url = reverse("case_note_add", args=[case.pk])
    response = worker.post(url, {"text": "Called back, calmer now."}, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert parts(html) == {
        "note-part": "main",
        "timeline": "true",
        "status-version": "true",
        "live-status": "innerHTML",
    }
    assert "Called back, calmer now." in html  # in the timeline
    assert "data-focus" in html
    assert Note.objects.get().text == "Called back, calmer now."
    assert "HX-Request" in response["Vary"]
    # The change and the reading of the changed case, as a redirect to the page logged them.
    assert logged(case, personas["worker"])[-2:] == [Action.CHANGE, Action.VIEW]
    # No message waits for the next page: the swap said it.
    assert "Note added." not in worker.get(reverse("case_detail", args=[case.pk])).content.decode()


def test_without_htmx_the_same_forms_redirect_to_the_case_page(worker: Client, case: Case) -> None:
    step = case.steps.get(step_type__code="preserve_evidence")
    posts = [
        (reverse("case_note_add", args=[case.pk]), {"text": "A note"}),
        (
            reverse("case_contact_add", args=[case.pk]),
            {"at": "2026-01-01T10:00", "channel": term("channel", "phone").pk},
        ),
        (reverse("case_identifier_add", args=[case.pk]), {"kind": "username", "value": "bad_guy"}),
        (reverse("case_step_update", args=[case.pk, step.pk]), {"status": "done"}),
        (reverse("case_status", args=[case.pk]), {"status": "waiting"}),
    ]
    for url, data in posts:
        response = worker.post(url, data)
        assert (response.status_code, response["Location"]) == (302, reverse("case_detail", args=[case.pk])), url
    page = worker.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "Note added." in page and "Status changed." in page
    assert (Note.objects.count(), Contact.objects.count(), OffenderIdentifier.objects.count()) == (1, 1, 1)
    case.refresh_from_db()
    assert case.status == "waiting"


def test_a_contact_with_htmx(worker: Client, case: Case) -> None:
    data = {"at": "2026-01-01T10:00", "channel": term("channel", "phone").pk, "duration_minutes": "12"}
    response = worker.post(reverse("case_contact_add", args=[case.pk]), data, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert parts(html) == {
        "contact-part": "main",
        "timeline": "true",
        "status-version": "true",
        "live-status": "innerHTML",
    }
    assert "12 min" in html and "Contact recorded." in html
    assert Contact.objects.filter(case=case, duration_minutes=12).exists()


def test_a_contact_with_errors_keeps_what_was_typed(worker: Client, case: Case) -> None:
    data = {"at": "2099-01-01T10:00", "channel": term("channel", "phone").pk, "duration_minutes": "17"}
    response = worker.post(reverse("case_contact_add", args=[case.pk]), data, headers=HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    assert parts(html)["contact-part"] == "main"
    assert "cannot be in the future" in html
    assert 'value="17"' in html and 'value="2099-01-01T10:00"' in html
    assert not Contact.objects.filter(case=case, duration_minutes=17).exists()


def test_an_offender_identifier_with_htmx(worker: Client, case: Case, personas: dict[str, User]) -> None:
    data = {"kind": "username", "value": "the_offender_42", "platform": term("platform", "tiktok").pk}
    response = worker.post(reverse("case_identifier_add", args=[case.pk]), data, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert parts(html) == {"identifiers-part": "main", "status-version": "true", "live-status": "innerHTML"}
    assert "the_offender_42" in html
    assert OffenderIdentifier.objects.get(case=case).value == "the_offender_42"
    assert logged(case, personas["worker"])[-2:] == [Action.CHANGE, Action.VIEW]
    refused = worker.post(
        reverse("case_identifier_add", args=[case.pk]), {"kind": "username", "value": ""}, headers=HTMX
    )
    assert refused.status_code == 400
    assert parts(refused.content.decode())["identifiers-part"] == "main"


def test_a_note_with_a_phone_number_asks_in_the_fragment_and_keeps_the_text(
    worker: Client, personas: dict[str, User]
) -> None:
    case = services.case_open(actor=personas["worker"], facts={"victim_country": "GB"})
    url = reverse("case_note_add", args=[case.pk])
    text = "Dad's mobile 07911 123456, call him after school"
    warned = worker.post(url, {"text": text}, headers=HTMX)
    assert warned.status_code == 400
    html = warned.content.decode()
    assert parts(html) == {"note-part": "main", "status-version": "true"}
    assert "phone number" in html and "Remove them and save" in html
    assert "call him after school</textarea>" in html
    assert not Note.objects.exists()
    saved = worker.post(url, {"text": text, "text_decision": "redact"}, headers=HTMX)
    assert saved.status_code == 200
    assert Note.objects.get().text == "Dad's mobile [phone number removed], call him after school"
    assert "[phone number removed]" in saved.content.decode()


def test_ticking_a_step_with_htmx_answers_the_checklist_banner_and_timeline(
    worker: Client, case: Case, personas: dict[str, User]
) -> None:
    step = case.steps.get(step_type__code="preserve_evidence")
    response = worker.post(reverse("case_step_update", args=[case.pk, step.pk]), {"status": "done"}, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert parts(html) == {
        "steps-part": "main",
        "overdue-banner": "true",
        "timeline": "true",
        "status-version": "true",
        "live-status": "innerHTML",
    }
    assert "data-focus" not in html  # the focus stays where it was
    step.refresh_from_db()
    assert (step.status, step.done_by) == ("done", personas["worker"])
    assert CaseActivity.objects.filter(case=case, kind="step").count() == 1
    assert logged(case, personas["worker"])[-2:] == [Action.CHANGE, Action.VIEW]
    assert f"{step.step_type.label}: Done." in html


def test_the_next_step_button_marks_the_first_step_to_do(worker: Client, case: Case) -> None:
    page = worker.get(reverse("case_detail", args=[case.pk])).content.decode()
    first = case.steps.filter(status="todo").first()
    assert first is not None
    assert f"Mark done: {first.step_type.label}" in page
    assert 'aria-keyshortcuts="Alt+Shift+D"' in page
    worker.post(reverse("case_step_update", args=[case.pk, first.pk]), {"status": "done", "next": "1"}, headers=HTMX)
    first.refresh_from_db()
    assert first.status == "done"


def test_a_step_of_another_case_is_refused_in_the_fragment(
    worker: Client, case: Case, personas: dict[str, User]
) -> None:
    other = services.case_open(actor=personas["worker"], facts={})
    step = other.steps.first()
    assert step is not None
    response = worker.post(reverse("case_step_update", args=[case.pk, step.pk]), {"status": "done"}, headers=HTMX)
    assert response.status_code == 400
    assert "That step could not be updated." in response.content.decode()
    assert worker.post(reverse("case_step_update", args=[case.pk, step.pk]), {"status": "done"}).status_code == 302


def test_a_status_change_with_htmx_answers_what_the_status_shows_in(worker: Client, case: Case) -> None:
    data = {"status": "waiting", "version": case.version}
    response = worker.post(reverse("case_status", args=[case.pk]), data, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert parts(html) == {
        "status-part": "main",
        "case-heading": "true",
        "overdue-banner": "true",
        "steps-part": "true",
        "closure-part": "true",
        "timeline": "true",
        "live-status": "innerHTML",
    }
    case.refresh_from_db()
    assert case.status == "waiting"
    assert f'value="{case.version}" id="status-version"' in html


def test_a_status_change_with_errors_is_shown_in_the_fragment(worker: Client, case: Case) -> None:
    response = worker.post(reverse("case_status", args=[case.pk]), {"status": "closed"}, headers=HTMX)
    assert response.status_code == 400
    assert parts(response.content.decode())["status-part"] == "main"
    assert "reason for closing" in response.content.decode()


def test_a_status_change_on_an_older_version_is_a_conflict_shown_in_place(
    client_for: Any, case: Case, personas: dict[str, User]
) -> None:
    worker = client_for("worker")
    seen = case.version
    # Meanwhile the supervisor adds a note: the worker's page is now older than the case.
    services.note_add(actor=personas["supervisor"], case=case, text="Spoke with the school.")
    response = worker.post(reverse("case_status", args=[case.pk]), {"status": "waiting", "version": seen}, headers=HTMX)
    assert response.status_code == 409
    html = response.content.decode()
    assert "changed by someone else" in html
    found = parts(html)
    assert found["status-part"] == "main"
    # The case as it is now, where nothing is being typed; the note form is left alone.
    assert {"case-heading", "timeline", "overdue-banner", "case-facts", "steps-part"} <= set(found)
    assert "note-part" not in found
    assert "Spoke with the school." in html
    assert '<option value="waiting" selected>' in html  # the worker's choice is still there
    case.refresh_from_db()
    assert case.status == "open"  # as a case opened by its worker is
    assert f'value="{case.version}" id="status-version"' in html  # saving again applies it to the case as it is
    again = worker.post(
        reverse("case_status", args=[case.pk]), {"status": "waiting", "version": case.version}, headers=HTMX
    )
    assert again.status_code == 200
    case.refresh_from_db()
    assert case.status == "waiting"


def test_a_conflict_without_htmx_shows_the_page_with_the_choice_kept(
    client_for: Any, case: Case, personas: dict[str, User]
) -> None:
    seen = case.version
    services.note_add(actor=personas["supervisor"], case=case, text="Spoke with the school.")
    response = client_for("worker").post(reverse("case_status", args=[case.pk]), {"status": "waiting", "version": seen})
    assert response.status_code == 409
    page = response.content.decode()
    assert "<html" in page and "changed by someone else" in page
    assert '<option value="waiting" selected>' in page


def test_an_assignment_with_htmx(client_for: Any, case: Case, personas: dict[str, User]) -> None:
    supervisor = client_for("supervisor")
    unassigned = services.case_open(actor=personas["supervisor"], facts={})
    services.case_assign(actor=personas["supervisor"], case=unassigned, assignee=None)
    unassigned.refresh_from_db()
    assert unassigned.status == "new"
    data = {"assigned_to": personas["worker"].pk, "version": unassigned.version}
    response = supervisor.post(reverse("case_assign", args=[unassigned.pk]), data, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    # Being given to someone opened the case: the status form has other choices now.
    assert parts(html) == {
        "assign-part": "main",
        "case-heading": "true",
        "case-facts": "true",
        "timeline": "true",
        "status-part": "true",
        "live-status": "innerHTML",
    }
    unassigned.refresh_from_db()
    assert (unassigned.assigned_to, unassigned.status) == (personas["worker"], "open")
    stale_data = {"assigned_to": "", "version": data["version"]}
    stale = supervisor.post(reverse("case_assign", args=[unassigned.pk]), stale_data, headers=HTMX)
    assert stale.status_code == 409
    assert "changed by someone else" in stale.content.decode()
    unassigned.refresh_from_db()
    assert unassigned.assigned_to == personas["worker"]
    refused = supervisor.post(
        reverse("case_assign", args=[unassigned.pk]), {"assigned_to": personas["other_worker"].pk}, headers=HTMX
    )
    assert refused.status_code == 400
    assert parts(refused.content.decode())["assign-part"] == "main"


def test_the_case_page_loads_htmx_from_the_app_and_allows_no_inline_script(worker: Client, case: Case) -> None:
    response = worker.get(reverse("case_detail", args=[case.pk]))
    page = response.content.decode()
    assert "vendor/htmx/htmx.min.js" in page and '"includeIndicatorStyles": false' in page
    assert '"allowEval": false' in page
    assert "hx-on" not in page
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    for name in ("case_note_add", "case_contact_add", "case_identifier_add", "case_status"):
        url = reverse(name, args=[case.pk])
        assert f'action="{url}" hx-post="{url}"' in page, name

"""Nothing typed is lost: drafts kept on the server as the worker types, and forms posted after the session ended."""

import re
import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.views import redirect_to_login
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.middleware import LOGIN_AT
from accounts.models import User
from audit.models import AccessLog, Action
from cases import services as case_services
from cases.models import Case, Note
from drafts import services
from drafts.models import Draft, KeptForm
from drafts.tasks import delete_expired_drafts
from tests.cases.test_views import form_data, term_id
from tests.factories import PASSWORD
from tests.helpers import totp_code

pytestmark = pytest.mark.django_db

DESCRIPTION = "Met on a game, moved to a chat app, asked for photos."


def case_form(**extra: Any) -> dict[str, Any]:
    return form_data(incident_description=DESCRIPTION, **extra)


def autosave(client: Client, key: str, **fields: Any) -> Any:
    return client.post(reverse("drafts:save"), {"draft_key": key, "csrfmiddlewaretoken": "x" * 64, **fields})


@pytest.fixture
def case(personas: dict[str, User]) -> Case:
    return case_services.case_open(actor=personas["worker"], facts={"risk_level": "low"})


@pytest.fixture
def foreign_case(personas: dict[str, User]) -> Case:
    return case_services.case_open(actor=personas["other_worker"], facts={"risk_level": "low"})


def test_autosave_creates_then_updates_the_draft(client_for: Any, personas: dict[str, User]) -> None:
    client = client_for("worker")
    first = autosave(client, "case_new", incident_description="Met on a game", text_decision="keep")
    assert first.status_code == 200
    assert "Draft kept at" in first.json()["message"]
    second = autosave(client, "case_new", **case_form())
    assert second.status_code == 200
    draft = Draft.objects.get()
    assert (draft.user, draft.organisation_id, draft.key) == (
        personas["worker"],
        personas["worker"].organisation_id,
        "case_new",
    )
    assert draft.data["incident_description"] == [DESCRIPTION]
    assert draft.data["platforms_first_contact"] == [str(term_id("platform", "roblox"))]
    # Never the CSRF token, the key itself or a decision taken on saving.
    assert {"csrfmiddlewaretoken", "draft_key", "text_decision"}.isdisjoint(draft.data)


def test_autosave_of_a_note_needs_a_case_the_user_may_write_on(
    client_for: Any, personas: dict[str, User], case: Case, foreign_case: Case
) -> None:
    assert autosave(client_for("worker"), f"case_note:{case.pk}", text="Half a note").status_code == 200
    last = AccessLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
    assert autosave(client_for("other_worker"), f"case_note:{case.pk}", text="Not mine").status_code == 404
    assert autosave(client_for("worker"), f"case_note:{foreign_case.pk}", text="Not mine").status_code == 404
    assert autosave(client_for("analyst"), f"case_note:{case.pk}", text="Not mine").status_code == 404
    assert autosave(client_for("analyst"), "case_new", incident_description="Not mine").status_code == 404
    for key in ("", "case_note", "case_note:x", "case_new:1", "admin"):
        assert autosave(client_for("worker"), key, text="?").status_code == 404
    refusals = AccessLog.objects.filter(id__gt=last, action=Action.REFUSED).count()
    assert refusals == 9
    assert list(Draft.objects.values_list("user__username", "data")) == [("alice", {"text": ["Half a note"]})]


def test_a_colleague_writes_a_draft_of_their_own_and_never_touches_the_authors(
    client_for: Any, personas: dict[str, User], case: Case
) -> None:
    key = f"case_note:{case.pk}"
    autosave(client_for("worker"), key, text="Words of the worker")
    supervisor = client_for("supervisor")
    assert autosave(supervisor, key, text="Words of the supervisor").status_code == 200
    texts = dict(Draft.objects.values_list("user__username", "data__text"))
    assert texts == {"alice": ["Words of the worker"], "sofia": ["Words of the supervisor"]}
    page = supervisor.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "Words of the supervisor" in page and "Words of the worker" not in page


def test_nobody_but_the_author_discards_a_draft(client_for: Any, personas: dict[str, User]) -> None:
    autosave(client_for("worker"), "case_new", incident_description=DESCRIPTION)
    draft = Draft.objects.get()
    url = reverse("drafts:discard", args=[draft.pk])
    for persona in ("supervisor", "other_worker", "administrator"):
        assert client_for(persona).post(url).status_code == 404
    assert Draft.objects.filter(pk=draft.pk).exists()
    assert client_for("worker").get(url).status_code == 405
    response = client_for("worker").post(url)
    assert response["Location"] == reverse("case_new")
    assert not Draft.objects.exists()


def test_the_new_case_form_shows_the_authors_draft_alone(client_for: Any, personas: dict[str, User]) -> None:
    autosave(client_for("worker"), "case_new", **case_form(victim_age="13"))
    page = client_for("worker").get(reverse("case_new")).content.decode()
    assert DESCRIPTION in page
    assert 'name="victim_age" value="13"' in page
    assert "is in the form below, not saved yet" in page
    assert reverse("drafts:discard", args=[Draft.objects.get().pk]) in page
    other = client_for("supervisor").get(reverse("case_new")).content.decode()
    assert DESCRIPTION not in other and "not saved yet" not in other


def test_opening_the_case_deletes_its_draft(client_for: Any) -> None:
    client = client_for("worker")
    autosave(client, "case_new", **case_form())
    response = client.post(reverse("case_new"), case_form())
    assert response.status_code == 302
    assert not Draft.objects.exists()


def test_a_form_that_does_not_save_keeps_its_draft(client_for: Any) -> None:
    client = client_for("worker")
    autosave(client, "case_new", **case_form())
    assert client.post(reverse("case_new"), case_form(victim_age="200")).status_code == 200
    assert Draft.objects.exists()


def test_adding_the_note_deletes_its_draft(client_for: Any, case: Case) -> None:
    client = client_for("worker")
    autosave(client, f"case_note:{case.pk}", text="A note on the call")
    page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "A note on the call</textarea>" in page
    assert client.post(reverse("case_note_add", args=[case.pk]), {"text": "A note on the call"}).status_code == 302
    assert Note.objects.get().text == "A note on the call"
    assert not Draft.objects.exists()


def test_adding_the_note_from_the_live_case_page_deletes_its_draft_too(client_for: Any, case: Case) -> None:
    client = client_for("worker")
    autosave(client, f"case_note:{case.pk}", text="A note on the call")
    response = client.post(
        reverse("case_note_add", args=[case.pk]), {"text": "A note on the call"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code < 400
    assert not Draft.objects.exists()


def test_drafts_past_their_time_are_deleted(client_for: Any, personas: dict[str, User], settings: Any) -> None:
    settings.DRAFT_KEEP_HOURS = 12
    worker = personas["worker"]
    services.draft_save(user=worker, key="case_new", data={"incident_description": ["old"]})
    Draft.objects.update(updated_at=timezone.now() - timedelta(hours=12, minutes=1))
    assert "old</textarea>" not in client_for("worker").get(reverse("case_new")).content.decode()
    services.draft_save(user=personas["supervisor"], key="case_new", data={"incident_description": ["fresh"]})
    services.form_keep(user_id=worker.pk, key="case_new", data={}, token="stale")
    services.form_keep(user_id=worker.pk, key="case_new", data={}, token="recent")
    KeptForm.objects.filter(token_hash=services.token_hash("stale")).update(
        created_at=timezone.now() - timedelta(minutes=61)
    )
    assert delete_expired_drafts() == 2
    assert list(Draft.objects.values_list("data__incident_description", flat=True)) == [["fresh"]]
    assert list(KeptForm.objects.values_list("token_hash", flat=True)) == [services.token_hash("recent")]
    assert delete_expired_drafts() == 0


def test_a_draft_too_long_is_refused(client_for: Any) -> None:
    response = autosave(client_for("worker"), "case_new", incident_description="x" * 200_001)
    assert response.status_code == 413
    assert not Draft.objects.exists()


# After the session ended


def full_login(client: Client, user: User, device: TOTPDevice) -> None:
    """As a browser does it: the password, then the authenticator's code (of a later time step than the last one
    this device took, as a second login in the same half minute could not)."""
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
    assert client.post(reverse("login"), {"username": user.username, "password": PASSWORD}).status_code == 302
    assert client.post(reverse("two_factor_verify"), {"token": totp_code(device)}).status_code == 302


@pytest.fixture
def devices(personas: dict[str, User]) -> dict[str, TOTPDevice]:
    return {key: TOTPDevice.objects.create(user=user, name="phone", confirmed=True) for key, user in personas.items()}


def browser_of(persona: str, personas: dict[str, User], devices: dict[str, TOTPDevice]) -> Client:
    """A browser where this person is signed in and has opened a page; then their session ends on the server."""
    client = Client()
    full_login(client, personas[persona], devices[persona])
    assert client.get(reverse("case_new")).status_code == 200
    Session.objects.all().delete()
    return client


def test_a_form_posted_after_the_session_ended_is_kept_for_its_author(
    personas: dict[str, User], devices: dict[str, TOTPDevice]
) -> None:
    client = browser_of("worker", personas, devices)
    response = client.post(reverse("case_new"), case_form(text_decision="keep"))
    assert response["Location"] == f"{reverse('login')}?next={reverse('case_new')}"
    kept = KeptForm.objects.get()
    assert (kept.user, kept.key, kept.data["incident_description"]) == (personas["worker"], "case_new", [DESCRIPTION])
    assert {"csrfmiddlewaretoken", "text_decision"}.isdisjoint(kept.data)
    assert not Case.objects.exists() and not Draft.objects.exists()

    full_login(client, personas["worker"], devices["worker"])
    assert not KeptForm.objects.exists()
    page = client.get(reverse("case_new")).content.decode()
    assert "We kept what you typed when your session ended" in page
    assert DESCRIPTION in page
    assert client.post(reverse("case_new"), case_form()).status_code == 302
    assert not Draft.objects.exists()


def test_another_user_logging_in_never_sees_the_kept_form(
    personas: dict[str, User], devices: dict[str, TOTPDevice]
) -> None:
    client = browser_of("worker", personas, devices)
    client.post(reverse("case_new"), case_form())
    assert KeptForm.objects.count() == 1
    full_login(client, personas["supervisor"], devices["supervisor"])
    assert not KeptForm.objects.exists() and not Draft.objects.exists()
    assert DESCRIPTION not in client.get(reverse("case_new")).content.decode()
    client.post(reverse("logout"))
    full_login(client, personas["worker"], devices["worker"])
    assert DESCRIPTION not in client.get(reverse("case_new")).content.decode()


def test_a_note_posted_after_the_session_ended_comes_back_on_the_case_page(
    personas: dict[str, User], devices: dict[str, TOTPDevice], case: Case
) -> None:
    client = browser_of("worker", personas, devices)
    response = client.post(reverse("case_note_add", args=[case.pk]), {"text": "Said they will pay tonight."})
    assert response["Location"] == redirect_to_login(reverse("case_detail", args=[case.pk]) + "#notes")["Location"]
    full_login(client, personas["worker"], devices["worker"])
    page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "Said they will pay tonight.</textarea>" in page
    assert "We kept what you typed when your session ended" in page
    assert not Note.objects.exists()


def test_a_session_past_its_absolute_lifetime_keeps_the_form_too(
    client_for: Any, personas: dict[str, User], settings: Any
) -> None:
    client = client_for("worker")
    client.get(reverse("case_new"))
    session = client.session
    session[LOGIN_AT] = time.time() - settings.SESSION_ABSOLUTE_LIFETIME - 1
    session.save()
    response = client.post(reverse("case_new"), case_form())
    assert response["Location"].startswith(reverse("login"))
    assert KeptForm.objects.get().user == personas["worker"]


def test_only_a_genuine_post_is_kept(personas: dict[str, User], devices: dict[str, TOTPDevice]) -> None:
    """Without the CSRF token of the page the form came from, nothing is kept: another site cannot fill drafts."""
    client = browser_of("worker", personas, devices)
    client.handler.enforce_csrf_checks = True
    assert client.post(reverse("case_new"), case_form()).status_code == 403
    assert not KeptForm.objects.exists()


def test_a_post_the_session_lifetime_refuses_is_kept_only_with_its_csrf_token(
    personas: dict[str, User], devices: dict[str, TOTPDevice], settings: Any
) -> None:
    """That answer comes before the CSRF check would have: the keeping makes the check itself."""
    client = Client()
    full_login(client, personas["worker"], devices["worker"])
    page = client.get(reverse("case_new")).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token
    client.handler.enforce_csrf_checks = True
    session = client.session
    session[LOGIN_AT] = time.time() - settings.SESSION_ABSOLUTE_LIFETIME - 1
    session.save()
    response = client.post(reverse("case_new"), case_form())
    assert response["Location"].startswith(reverse("login"))
    assert not KeptForm.objects.exists()
    response = client.post(reverse("case_new"), case_form(csrfmiddlewaretoken=token[1]))
    assert response["Location"] == redirect_to_login(reverse("case_new"))["Location"]
    assert KeptForm.objects.get().user == personas["worker"]


def test_nothing_is_kept_without_a_user_signed_in_on_this_browser_before(
    personas: dict[str, User], devices: dict[str, TOTPDevice]
) -> None:
    client = browser_of("worker", personas, devices)
    client.post(reverse("logout"))
    assert client.post(reverse("case_new"), case_form())["Location"].startswith(reverse("login"))
    assert Client().post(reverse("case_new"), case_form())["Location"].startswith(reverse("login"))
    assert not KeptForm.objects.exists()

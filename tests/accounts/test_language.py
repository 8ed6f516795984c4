"""Each user's language: English by default, Italian by choice, for pages, reminders and e-mails.

Pages are checked against the catalogue: what ``gettext`` gives for a msgid in Italian is what an
Italian page must show, so these tests hold before and after the translations are merged. Dates and
Django's own messages come from Django's catalogue, Italian already: they prove that the switch happens.
The catalogue tests at the end fail until every message is translated and compiled.
"""

import re
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import polib
import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateformat import format as date_format
from django.utils.html import escape
from django.utils.translation import gettext

from accounts import services
from accounts.models import User
from audit.models import AccessLog, Action
from cases.models import Case, ResponseStep, Risk
from cases.services import case_open
from notifications import services as notification_services
from notifications.models import Kind, Notification
from referrals import services as referral_services
from referrals.models import Agency, Consent, ReferralKind
from tests.conftest import login_verified
from tests.notifications.conftest import open_case, overdue_step

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "it" / "LC_MESSAGES"
MAY = datetime(2025, 5, 15, 9, 30)


def italian(msgid: str) -> str:
    with translation.override("it"):
        return gettext(msgid)


def shows(page: str, msgid: str) -> bool:
    """Whether the page shows the message as the Italian catalogue has it: as is from {% translate %},
    escaped from {{ a label }}."""
    text = italian(msgid)
    return text in page or escape(text) in page


def speaking(user: User, language: str) -> User:
    User.objects.filter(pk=user.pk).update(language=language)
    user.refresh_from_db()
    return user


def language_changes(user: User) -> list[AccessLog]:
    return list(
        AccessLog.objects.filter(object_type="accounts.user", object_id=str(user.pk), detail__has_key="language")
    )


# --- pages ------------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_english_is_the_default(client_for: Any, personas: dict[str, User]) -> None:
    assert personas["worker"].language == ""
    response = client_for("worker").get(reverse("home"))
    page = response.content.decode()
    assert '<html lang="en">' in page
    assert response["Content-Language"] == "en"
    assert "Your open cases" in page


PAGES = {
    "home": ["Helpline back office", "Your open cases", "No open case is assigned to you.", "Referrals", "Log out"],
    "case_list": [
        "Cases, newest first",
        "Filter",
        "Clear",
        "Reference",
        "Assigned to",
        "No case matches these filters.",
    ],
    "account": ["Your account", "Two-factor login", "Language", "Language of your pages, notifications and e-mails"],
}


@pytest.mark.django_db
@pytest.mark.parametrize("page_name", list(PAGES))
def test_a_user_who_chose_italian_gets_italian_pages(
    page_name: str, client_for: Any, personas: dict[str, User]
) -> None:
    speaking(personas["worker"], "it")
    response = client_for("worker").get(reverse(page_name))
    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="it">' in page
    assert response["Content-Language"] == "it"
    for msgid in PAGES[page_name]:
        assert shows(page, msgid), msgid


def italian_date(value: datetime, format: str) -> str:
    with translation.override("it"):
        return date_format(value, format)


@pytest.mark.django_db
def test_dates_follow_each_users_language(client_for: Any, personas: dict[str, User]) -> None:
    worker = speaking(personas["worker"], "it")
    case_open(actor=worker, facts={"first_contact_at": timezone.make_aware(MAY)}, text_decision="keep")
    assert italian_date(MAY, "j M Y") == "15 Mag 2025"  # Django's own catalogue
    assert "15 Mag 2025" in client_for("worker").get(reverse("home")).content.decode()
    assert "15 May 2025" in client_for("supervisor").get(reverse("case_list")).content.decode()


@pytest.mark.django_db
def test_form_errors_follow_the_users_language(client_for: Any, personas: dict[str, User]) -> None:
    speaking(personas["worker"], "it")
    response = client_for("worker").post(reverse("account"), {"language": ""})
    assert response.status_code == 400
    assert shows(response.content.decode(), "This field is required.")


@pytest.mark.django_db
def test_a_stored_language_no_longer_offered_falls_back_to_english(client_for: Any, personas: dict[str, User]) -> None:
    speaking(personas["worker"], "fr")
    assert '<html lang="en">' in client_for("worker").get(reverse("home")).content.decode()


@pytest.mark.django_db
def test_pages_for_anonymous_visitors_are_english_whatever_the_browser_asks() -> None:
    response = Client(HTTP_ACCEPT_LANGUAGE="it").get(reverse("login"))
    page = response.content.decode()
    assert '<html lang="en">' in page
    assert response["Content-Language"] == "en"
    assert "Log in" in page


@pytest.mark.django_db
def test_logging_out_goes_back_to_english(client_for: Any, personas: dict[str, User]) -> None:
    speaking(personas["worker"], "it")
    response = client_for("worker").post(reverse("logout"), follow=True)
    assert '<html lang="en">' in response.content.decode()


@pytest.mark.django_db
def test_the_language_varies_with_the_session_and_does_not_outlive_the_request(
    client_for: Any, personas: dict[str, User]
) -> None:
    speaking(personas["worker"], "it")
    before = translation.get_language()
    response = client_for("worker").get(reverse("home"))
    assert "Cookie" in response["Vary"]
    assert translation.get_language() == before


# --- choosing the language --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_account_page_offers_each_language_in_its_own_name(client_for: Any) -> None:
    page = client_for("worker").get(reverse("account")).content.decode()
    assert '<option value="en" selected>English</option>' in page
    assert '<option value="it">Italiano</option>' in page


@pytest.mark.django_db
def test_choosing_italian_saves_it_is_audited_and_confirmed_in_italian(
    client_for: Any, personas: dict[str, User]
) -> None:
    worker = personas["worker"]
    client = client_for("worker")
    response = client.post(reverse("account"), {"language": "it"})
    assert (response.status_code, response["Location"]) == (302, reverse("account"))
    worker.refresh_from_db()
    assert worker.language == "it"
    [entry] = language_changes(worker)
    assert (entry.action, entry.actor_id, entry.detail) == (Action.CHANGE, worker.pk, {"language": ["", "it"]})
    page = client.get(reverse("account")).content.decode()
    assert '<html lang="it">' in page
    assert shows(page, "The language of your pages has been changed.")
    assert '<option value="it" selected>' in page


@pytest.mark.django_db
def test_choosing_english_again(client_for: Any, personas: dict[str, User]) -> None:
    worker = speaking(personas["worker"], "it")
    client = client_for("worker")
    client.post(reverse("account"), {"language": "en"})
    worker.refresh_from_db()
    assert worker.language == "en"
    page = client.get(reverse("account")).content.decode()
    assert '<html lang="en">' in page
    assert "The language of your pages has been changed." in page


@pytest.mark.django_db
def test_an_unknown_language_is_refused_and_changes_nothing(client_for: Any, personas: dict[str, User]) -> None:
    worker = personas["worker"]
    response = client_for("worker").post(reverse("account"), {"language": "xx"})
    assert response.status_code == 400
    assert "“xx” is not one of the languages offered." in response.content.decode()
    worker.refresh_from_db()
    assert worker.language == ""
    assert language_changes(worker) == []


@pytest.mark.django_db
def test_the_service_refuses_a_language_that_is_not_offered(personas: dict[str, User]) -> None:
    worker = personas["worker"]
    with pytest.raises(ValidationError) as refused:
        services.user_set_language(user=worker, language="fr")
    assert refused.value.code == "invalid_language"
    worker.refresh_from_db()
    assert (worker.language, language_changes(worker)) == ("", [])


@pytest.mark.django_db
def test_the_language_form_needs_the_csrf_token(personas: dict[str, User]) -> None:
    worker = personas["worker"]
    client = login_verified(Client(enforce_csrf_checks=True), worker)
    assert client.post(reverse("account"), {"language": "it"}).status_code == 403
    worker.refresh_from_db()
    assert worker.language == ""


@pytest.mark.django_db
def test_an_administrator_sets_the_language_in_the_administration(client_for: Any, personas: dict[str, User]) -> None:
    worker = personas["worker"]
    client = client_for("administrator")
    assert 'name="language"' in client.get(reverse("admin:accounts_user_add")).content.decode()
    response = client.post(
        reverse("admin:accounts_user_change", args=[worker.pk]),
        {"username": worker.username, "role": "worker", "is_active": "on", "language": "it"},
    )
    assert response.status_code == 302
    worker.refresh_from_db()
    assert worker.language == "it"
    entry = AccessLog.objects.filter(object_type="accounts.user", object_id=str(worker.pk), action=Action.CHANGE).get()
    assert "language" in entry.detail["fields"]


# --- reminders, digests and e-mails -----------------------------------------------------------------------------------


@pytest.fixture
def owners(personas: dict[str, User]) -> dict[str, User]:
    """The personas, with e-mail addresses to receive reminders at."""
    for user in personas.values():
        User.objects.filter(pk=user.pk).update(email=f"{user.username}@example.org")
        user.refresh_from_db()
    return personas


@pytest.fixture
def outbox(settings: Any) -> list[Any]:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return mail.outbox


def late_step(case: Case, code: str) -> ResponseStep:
    step = overdue_step(case, code=code)
    ResponseStep.objects.filter(pk=step.pk).update(due_at=timezone.make_aware(MAY))
    return step


@pytest.mark.django_db
def test_reminders_are_written_in_each_recipients_language(owners: dict[str, User], outbox: list[Any]) -> None:
    alice = speaking(owners["worker"], "it")
    oscar = owners["other_worker"]
    italian_case, english_case = open_case(alice), open_case(oscar)
    late_step(italian_case, "italian-step")
    late_step(english_case, "english-step")
    assert notification_services.reminders_create() == 2

    italian_reminder = Notification.objects.get(recipient=alice)
    with translation.override("it"):
        expected = gettext("%(reference)s: %(step)s was due %(due)s") % {
            "reference": italian_case.reference,
            "step": "Step italian-step",
            "due": italian_date(MAY, "d M H:i"),
        }
    assert italian_reminder.text == expected
    english_reminder = Notification.objects.get(recipient=oscar)
    assert english_reminder.text == f"{english_case.reference}: Step english-step was due 15 May 09:30"

    assert notification_services.notification_send_email(notification_id=italian_reminder.pk)
    [message] = outbox
    with translation.override("it"):
        assert message.subject == f"{gettext('Overdue response step')}: {italian_case.reference}"
        assert gettext("Reminder from the helpline back office.") in message.body
    assert italian_reminder.text in message.body


@pytest.mark.django_db
def test_an_italian_supervisors_digest_and_its_email_are_italian(owners: dict[str, User], outbox: list[Any]) -> None:
    sofia = speaking(owners["supervisor"], "it")
    risky = case_open(actor=owners["worker"], facts={"risk_level": Risk.HIGH}, text_decision="keep")
    overdue_step(open_case(owners["worker"]))
    assert notification_services.digests_create() == 1

    digest = Notification.objects.get(recipient=sofia, kind=Kind.SUPERVISOR_DIGEST)
    with translation.override("it"):
        assert digest.text == notification_services.digest_text(digest.detail, digest.day)
        assert date_format(digest.day, "d M") in digest.text
        subject = f"{gettext('Daily digest')}: {date_format(digest.day, 'j M Y')}"
        opening = gettext("Daily digest for supervisors from the helpline back office.")
        risk = str(Risk.HIGH.label).lower()

    assert notification_services.notification_send_email(notification_id=digest.pk)
    [message] = outbox
    assert message.subject == subject
    assert message.body.startswith(opening)
    assert f"- {risky.reference} ({risk}):" in message.body
    assert digest.text in message.body


@pytest.mark.django_db
def test_an_english_supervisors_digest_stays_english(owners: dict[str, User], outbox: list[Any]) -> None:
    overdue_step(open_case(owners["worker"]))
    notification_services.digests_create()
    digest = Notification.objects.get(recipient=owners["supervisor"], kind=Kind.SUPERVISOR_DIGEST)
    assert digest.text.startswith("Daily digest for ")
    notification_services.notification_send_email(notification_id=digest.pk)
    assert outbox[0].body.startswith("Daily digest for supervisors from the helpline back office.")


# --- the catalogue ----------------------------------------------------------------------------------------------------

NAMED = re.compile(r"%\((\w+)\)[#0 +-]*\d*(?:\.\d+)?([a-zA-Z])")
POSITIONAL = re.compile(r"%(?!\()[#0 +-]*\d*(?:\.\d+)?([a-zA-Z%])")
BRACES = re.compile(r"\{[^{}]*\}")


def catalogue() -> list[polib.POEntry]:
    return [entry for entry in polib.pofile(str(CATALOGUE / "django.po")) if not entry.obsolete]


def translated(entry: polib.POEntry) -> bool:
    if "fuzzy" in entry.flags:
        return False
    if entry.msgid_plural:
        return bool(entry.msgstr_plural) and all(entry.msgstr_plural.values())
    return bool(entry.msgstr)


def placeholders(text: str, flags: list[str]) -> Counter[str]:
    """Named %(...)s everywhere (unambiguous); positional % and {} only where xgettext saw a format."""
    found = Counter(f"%({name}){kind}" for name, kind in NAMED.findall(text))
    if "python-format" in flags:
        found += Counter(f"%{kind}" for kind in POSITIONAL.findall(NAMED.sub("", text)))
    if "python-brace-format" in flags:
        found += Counter(BRACES.findall(text))
    return found


def test_the_catalogue_has_the_languages_of_the_settings() -> None:
    assert [code for code, _name in settings.LANGUAGES] == ["en", "it"]
    assert (CATALOGUE / "django.po").exists()


def test_every_message_is_translated() -> None:
    entries = catalogue()
    missing = [entry.msgid for entry in entries if not translated(entry)]
    assert not missing, f"{len(missing)} of {len(entries)} messages untranslated or fuzzy, such as {missing[:5]}"


def test_translations_keep_the_placeholders_of_their_message() -> None:
    wrong = []
    for entry in catalogue():
        if not translated(entry):
            continue
        if not entry.msgid_plural:
            if placeholders(entry.msgstr, entry.flags) != placeholders(entry.msgid, entry.flags):
                wrong.append((entry.msgid, entry.msgstr))
            continue
        singular, plural = placeholders(entry.msgid, entry.flags), placeholders(entry.msgid_plural, entry.flags)
        for index, text in entry.msgstr_plural.items():
            found = placeholders(text, entry.flags)
            # A singular may leave out its count ("Un caso"), never add a name the code does not give.
            if found != plural and not (int(index) == 0 and found <= singular):
                wrong.append((entry.msgid, text))
    assert not wrong, wrong


def test_the_compiled_catalogue_matches_its_source() -> None:
    def key(entry: polib.POEntry | polib.MOEntry) -> tuple[str | None, str]:
        return entry.msgctxt, entry.msgid

    def value(entry: polib.POEntry | polib.MOEntry) -> Any:
        return {int(i): text for i, text in entry.msgstr_plural.items()} if entry.msgid_plural else entry.msgstr

    source = {key(entry): value(entry) for entry in catalogue() if translated(entry)}
    compiled = {key(entry): value(entry) for entry in polib.mofile(str(CATALOGUE / "django.mo")) if entry.msgid}
    assert compiled == source, "django.mo is out of date: run manage.py compilemessages -l it"


# --- what is stored is shown in the reader's language --------------------------------------------------------------


def test_a_referral_on_the_timeline_reads_in_each_readers_language(client_for: Any, personas: dict[str, User]) -> None:
    worker = speaking(personas["worker"], "it")
    case = case_open(actor=worker, facts={})
    agency = Agency.objects.filter(kind="police", active=True).first()
    assert agency is not None
    with translation.override("it"):  # an Italian worker records it
        referral = referral_services.referral_create(
            actor=worker, case=case, kind=ReferralKind.POLICE, agency=agency, consent=Consent.VICTIM
        )
        referral_services.referral_transition(actor=worker, referral=referral, to="sent")
    english = client_for("supervisor").get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "Police report" in english and ": Sent" in english
    italian_page = client_for("worker").get(reverse("case_detail", args=[case.pk])).content.decode()
    assert shows(italian_page, "Police report") and shows(italian_page, "Sent")


def test_the_api_answers_in_english_to_an_italian_session(client_for: Any, personas: dict[str, User]) -> None:
    speaking(personas["worker"], "it")
    response = client_for("worker").get("/api/v1/cases/?status=nonsense")
    assert response.status_code == 400
    assert response.headers["Content-Language"] == "en"
    assert "Select a valid choice" in response.content.decode()

"""Each organisation's vocabularies are its own: shared terms are the operator's, an organisation adds its own
(seen by nobody else) and hides shared ones; what identifies a term never changes."""

from datetime import date
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse

from accounts.models import Organisation, User
from accounts.roles import Role
from audit.models import AccessLog, Action
from cases import services
from cases.models import Case, HiddenTerm, StepType, Term
from imports.columns import BY_NAME, codes_of, documentation
from imports.models import ImportStatus
from reports.engine import Params, build_report
from tests.conftest import login_verified
from tests.factories import UserFactory
from tests.imports.helpers import row, run

pytestmark = pytest.mark.django_db


def shared(vocabulary: str, code: str) -> Term:
    return Term.objects.get(vocabulary=vocabulary, code=code, organisation=None)


def own_term(organisation: Organisation, vocabulary: str = "platform", code: str = "kik", label: str = "Kik") -> Term:
    return Term.objects.create(organisation=organisation, vocabulary=vocabulary, code=code, label=label)


@pytest.fixture
def operator(home_org: Organisation) -> Client:
    """The deployment operator: a superuser."""
    user = UserFactory.create(username="operator", role=Role.ADMINISTRATOR, organisation=home_org)
    User.objects.filter(pk=user.pk).update(is_superuser=True, is_staff=True)
    user.refresh_from_db()
    return login_verified(Client(), user)


def change(term: Term, **data: Any) -> dict[str, Any]:
    """The admin change form of a term as the browser posts it, with some fields changed."""
    return {"label": term.label, "position": term.position, "active": "on" if term.active else "", **data}


def offered_on_the_case_form(client: Client, field: str = "platforms_first_contact") -> set[str]:
    form = client.get(reverse("case_new")).context["form"]
    shown = [value for value, _label in form.fields[field].choices if value]
    return set(Term.objects.filter(pk__in=shown).values_list("code", flat=True))


def taxonomy(client: Client, vocabulary: str) -> dict[str, bool]:
    return {term["code"]: term["active"] for term in client.get(reverse("api-taxonomies")).json()[vocabulary]}


def new_case(client: Client, **facts: Any) -> Any:
    return client.post(reverse("api-case-list"), {"risk_level": "low", **facts}, content_type="application/json")


# --- the finding: one administrator edited everyone's vocabularies ---------------------------------------------------


def test_the_reported_post_is_refused_and_changes_nothing(client_for: Any) -> None:
    instagram = shared("platform", "instagram")
    before = model_to_dict(instagram)
    url = reverse("admin:cases_term_change", args=[instagram.pk])
    response = client_for("administrator").post(url, change(instagram, vocabulary="threat", label="Hacked"))
    assert response.status_code == 403
    instagram.refresh_from_db()
    assert model_to_dict(instagram) == before
    assert "instagram" in offered_on_the_case_form(client_for("other_worker"))
    assert "instagram" not in taxonomy(client_for("other_worker"), "threat")


def test_an_administrator_reads_a_shared_term_and_cannot_change_it_from_the_list(client_for: Any) -> None:
    client = client_for("administrator")
    instagram = shared("platform", "instagram")
    page = client.get(reverse("admin:cases_term_change", args=[instagram.pk]))
    assert page.status_code == 200
    assert 'name="label"' not in page.content.decode()  # shown, not editable
    # The list's bulk edit, forged: the unticked "active" box would deactivate it for everyone.
    response = client.post(
        reverse("admin:cases_term_changelist"),
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": instagram.pk,
            "form-0-position": "1",
            "_save": "Save",
        },
    )
    assert response.status_code == 200
    instagram.refresh_from_db()
    assert instagram.active


def test_the_operator_edits_a_shared_term_but_its_vocabulary_and_code_stay(operator: Client) -> None:
    instagram = shared("platform", "instagram")
    url = reverse("admin:cases_term_change", args=[instagram.pk])
    response = operator.post(url, change(instagram, vocabulary="threat", code="hacked", label="Instagram (Meta)"))
    assert response.status_code == 302
    instagram.refresh_from_db()
    assert (instagram.vocabulary, instagram.code, instagram.label) == ("platform", "instagram", "Instagram (Meta)")


@pytest.mark.parametrize("field", ["vocabulary", "code", "organisation"])
def test_the_database_refuses_to_change_what_identifies_a_term(field: str, home_org: Organisation) -> None:
    instagram = shared("platform", "instagram")
    value = {"vocabulary": "threat", "code": "hacked", "organisation": home_org}[field]
    with pytest.raises(DatabaseError), transaction.atomic():
        Term.objects.filter(pk=instagram.pk).update(**{field: value})
    instagram.refresh_from_db()
    assert (instagram.vocabulary, instagram.code, instagram.organisation_id) == ("platform", "instagram", None)


# --- an organisation's own terms ---------------------------------------------------------------------------------


def test_an_administrators_new_term_is_their_organisations_and_nobody_elses(
    client_for: Any, home_org: Organisation, other_org: Organisation
) -> None:
    admin = client_for("administrator")
    data = {"vocabulary": "platform", "code": "kik", "label": "Kik", "position": "100", "active": "on"}
    response = admin.post(reverse("admin:cases_term_add"), {**data, "organisation": other_org.pk})  # forged owner
    assert response.status_code == 302
    kik = Term.objects.get(code="kik")
    assert kik.organisation == home_org
    assert AccessLog.objects.filter(action=Action.CREATE, object_type="cases.term", object_id=str(kik.pk)).exists()

    assert "kik" in offered_on_the_case_form(client_for("worker"))
    assert "kik" in taxonomy(client_for("worker"), "platform")
    assert "kik" not in offered_on_the_case_form(client_for("other_worker"))
    assert "kik" not in taxonomy(client_for("other_worker"), "platform")
    other_admin = client_for("other_administrator")
    assert other_admin.get(reverse("admin:cases_term_change", args=[kik.pk])).status_code == 404
    assert "Kik" not in other_admin.get(reverse("admin:cases_term_changelist") + "?q=kik").content.decode()

    # Its own: the administrator edits and deactivates it, but does not move it to another vocabulary.
    url = reverse("admin:cases_term_change", args=[kik.pk])
    response = admin.post(url, change(kik, vocabulary="threat", label="Kik Messenger", active=""))
    assert response.status_code == 302
    kik.refresh_from_db()
    assert (kik.vocabulary, kik.label, kik.active) == ("platform", "Kik Messenger", False)


def test_two_organisations_may_each_have_a_term_of_the_same_code(
    client_for: Any, home_org: Organisation, other_org: Organisation
) -> None:
    home_kik, other_kik = own_term(home_org), own_term(other_org, label="Kik (AU)")
    for persona, kik in (("worker", home_kik), ("other_worker", other_kik)):
        response = new_case(client_for(persona), platforms=[{"platform": "kik", "role": "first_contact"}])
        assert response.status_code == 201, response.json()
        case = Case.objects.get(pk=response.json()["id"])
        assert [platform.platform for platform in case.platforms.all()] == [kik]


def test_an_own_code_never_shadows_a_shared_one(
    client_for: Any, operator: Client, home_org: Organisation, other_org: Organisation
) -> None:
    data = {"vocabulary": "platform", "code": "instagram", "label": "Our Instagram", "position": "1", "active": "on"}
    response = client_for("administrator").post(reverse("admin:cases_term_add"), data)
    assert response.status_code == 200
    assert "This code is already in use in this vocabulary." in response.content.decode()
    assert not Term.objects.filter(label="Our Instagram").exists()

    own_term(other_org)
    response = operator.post(reverse("admin:cases_term_add"), {**data, "code": "kik", "label": "Kik"})
    assert response.status_code == 200
    assert "This code is already in use in this vocabulary." in response.content.decode()
    assert not Term.objects.filter(code="kik", organisation=None).exists()

    # The database holds the rule whatever path writes.
    for organisation, code in ((home_org, "instagram"), (None, "kik"), (other_org, "kik")):
        with pytest.raises(IntegrityError), transaction.atomic():
            Term.objects.create(organisation=organisation, vocabulary="platform", code=code, label="Twin")


def test_another_organisations_term_cannot_be_used_by_its_id_or_code(
    client_for: Any, personas: dict[str, User], home_org: Organisation
) -> None:
    kik, phone_line = own_term(home_org), own_term(home_org, "channel", "phone_line", "Phone line")
    client = client_for("other_worker")
    before = Case.objects.count()

    page = client.post(
        reverse("case_new"),
        {"first_contact_at": "2026-11-20T21:40", "risk_level": "low", "platforms_first_contact": [kik.pk]},
    )
    assert page.status_code != 302
    assert "Select a valid choice" in page.content.decode()

    response = new_case(client, channel="phone_line", platforms=[{"platform": "kik", "role": "first_contact"}])
    assert response.status_code == 400
    assert "does not exist" in str(response.json()["channel"])
    assert "does not exist" in str(response.json()["platforms"])
    assert client.get(reverse("api-case-list"), {"platform": "kik"}).status_code == 400
    assert Case.objects.count() == before

    # The services refuse them too, should a caller hand one over.
    with pytest.raises(ValidationError) as refused:
        services.case_open(actor=personas["other_worker"], facts={"channel": phone_line, "risk_level": "low"})
    assert refused.value.message_dict == {"channel": ["Choose one of the listed options."]}
    case = services.case_open(actor=personas["other_worker"], facts={"risk_level": "low"})
    with pytest.raises(ValidationError):
        services.case_update(
            actor=personas["other_worker"], case=case, version=case.version, facts={}, platforms=[(kik, "threats")]
        )
    with pytest.raises(ValidationError):
        services.contact_add(actor=personas["other_worker"], case=case, at=case.first_contact_at, channel=phone_line)
    assert Case.objects.count() == before + 1
    assert not case.platforms.exists()


# --- hiding shared terms -------------------------------------------------------------------------------------------


def test_hiding_a_shared_term_is_for_the_organisation_alone(
    client_for: Any, personas: dict[str, User], home_org: Organisation
) -> None:
    instagram = shared("platform", "instagram")
    earlier = services.case_open(
        actor=personas["worker"], facts={"risk_level": "low"}, platforms=[(instagram, "first_contact")]
    )
    admin = client_for("administrator")
    hide = {"action": "hide", "_selected_action": [instagram.pk], "index": "0"}
    assert admin.post(reverse("admin:cases_term_changelist"), hide).status_code == 302
    assert HiddenTerm.objects.filter(organisation=home_org, term=instagram).exists()
    assert AccessLog.objects.filter(
        action=Action.CHANGE, object_type="cases.term", object_id=str(instagram.pk), detail={"hidden": True}
    ).exists()

    worker, other = client_for("worker"), client_for("other_worker")
    assert "instagram" not in offered_on_the_case_form(worker)
    assert taxonomy(worker, "platform")["instagram"] is False
    assert "instagram" in offered_on_the_case_form(other)
    assert taxonomy(other, "platform")["instagram"] is True
    refused = new_case(worker, platforms=[{"platform": "instagram", "role": "first_contact"}])
    assert refused.status_code == 400
    assert "no longer in use" in str(refused.json())
    assert new_case(other, platforms=[{"platform": "instagram", "role": "first_contact"}]).status_code == 201

    # A case that has it keeps it: shown, offered on its own form, saved again unchanged.
    edit = worker.get(reverse("case_edit", args=[earlier.pk])).context["form"]
    assert instagram.pk in [value for value, _label in edit.fields["platforms_first_contact"].choices]
    url = reverse("api-case-detail", args=[earlier.pk])
    kept = worker.patch(
        url,
        {"version": earlier.version, "platforms": [{"platform": "instagram", "role": "first_contact"}]},
        content_type="application/json",
    )
    assert kept.status_code == 200, kept.json()
    assert kept.json()["platforms"] == [{"platform": "instagram", "role": "first_contact"}]

    offer = {**hide, "action": "offer_again"}
    assert admin.post(reverse("admin:cases_term_changelist"), offer).status_code == 302
    assert "instagram" in offered_on_the_case_form(worker)


def test_an_organisations_own_term_is_deactivated_not_hidden(client_for: Any, home_org: Organisation) -> None:
    kik = own_term(home_org)
    hide = {"action": "hide", "_selected_action": [kik.pk], "index": "0"}
    response = client_for("administrator").post(reverse("admin:cases_term_changelist"), hide, follow=True)
    assert "deactivate them instead" in response.content.decode()
    assert not HiddenTerm.objects.exists()


def test_an_administrator_cannot_hide_another_organisations_term(client_for: Any, other_org: Organisation) -> None:
    kik = own_term(other_org)
    hide = {"action": "hide", "_selected_action": [kik.pk], "index": "0"}
    client_for("administrator").post(reverse("admin:cases_term_changelist"), hide)
    assert not HiddenTerm.objects.exists()


# --- imports and reports -------------------------------------------------------------------------------------------


def test_imports_accept_and_document_only_the_organisations_codes(
    personas: dict[str, User], home_org: Organisation, other_org: Organisation
) -> None:
    own_term(home_org)
    other_supervisor = UserFactory.create(username="otto", role=Role.SUPERVISOR, organisation=other_org)
    column = BY_NAME["platforms_first_contact"]
    assert "kik" in dict(codes_of(column, home_org.pk))
    assert "kik" not in dict(codes_of(column, other_org.pk))
    documented = {entry["name"]: entry["codes"] for entry in documentation(other_org.pk)}
    assert "'kik'" not in str(documented["platforms_moved_to"])

    refused = run(other_supervisor, [row(platforms_first_contact="kik")])
    assert refused.status == ImportStatus.REJECTED
    assert "“kik” is not one of the codes of platforms_first_contact" in refused.errors[0]["message"]
    assert run(personas["supervisor"], [row(platforms_first_contact="kik")]).status == ImportStatus.DONE


def test_a_report_never_names_another_organisations_terms(home_org: Organisation, other_org: Organisation) -> None:
    own_term(home_org, "demand", "gift_cards", "Gift cards only")
    month = date.today().replace(day=1)

    def columns(organisation: Organisation) -> set[str]:
        report = build_report(Params(organisations=(organisation.pk,), start=month, end=month), use_rollups=False)
        demands = next(table for table in report.tables if table.key == "demands")
        return {column.label for column in demands.columns}

    assert "Gift cards only" in columns(home_org)
    assert "Gift cards only" not in columns(other_org)
    assert "Money" in columns(other_org)


# --- the step catalogue --------------------------------------------------------------------------------------------


def test_the_step_catalogue_is_the_operators(client_for: Any, operator: Client) -> None:
    step = StepType.objects.get(code="follow_up")
    url = reverse("admin:cases_steptype_change", args=[step.pk])
    data = {"label": "Called back", "guidance": step.guidance, "position": step.position, "active": ""}
    admin = client_for("administrator")
    assert admin.get(url).status_code == 200
    assert admin.post(url, data).status_code == 403
    assert admin.post(reverse("admin:cases_steptype_add"), {**data, "code": "ours"}).status_code == 403
    step.refresh_from_db()
    assert (step.label, step.active) == ("Follow-up contact", True)

    assert operator.post(url, {**data, "code": "renamed"}).status_code == 302
    step.refresh_from_db()
    assert (step.code, step.label, step.active) == ("follow_up", "Called back", False)
    with pytest.raises(DatabaseError), transaction.atomic():
        StepType.objects.filter(pk=step.pk).update(code="renamed")

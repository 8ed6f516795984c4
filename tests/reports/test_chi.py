"""The yearly figures for Child Helpline International: contacts by type and by reason for contact.

The expected counts are worked out here from the contacts and the mapping (cases.models.ChiMapping), on both
paths of the engine (the live tables and the statistics store), then published through the same disclosure
control as every report.
"""

import csv
import io
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.models import Organisation, User
from audit.models import AccessLog, Action
from cases.models import (
    AgeUnknown,
    Case,
    ChiCategory,
    ChiFact,
    ChiMapping,
    Contact,
    ContactType,
    Gender,
    Term,
    Vocabulary,
)
from reports.engine import Params, age_bands, build_report
from reports.perturbation import perturbed
from reports.rollups import rollups_refresh
from reports.tables import PublishedTable, Table, publish
from tests.factories import CaseFactory, ContactFactory, OrganisationFactory, UserFactory
from tests.reports.helpers import local

pytestmark = pytest.mark.django_db

YEAR = 2024
LIMITS = (13, 18)


def term(vocabulary: str, code: str) -> Term:
    return Term.objects.get(vocabulary=vocabulary, organisation=None, code=code)


def category(code: str) -> ChiCategory:
    return ChiCategory.objects.get(code=code)


def add_contacts(case: Case, *types: str, month: int = 3) -> None:
    for day, contact_type in enumerate(types, start=1):
        ContactFactory.create(case=case, at=local(date(YEAR, month, 1), day=day), contact_type=contact_type)


def helpline(organisation: Organisation, worker: User) -> None:
    """Cases of every kind the mapping tells apart, with contacts of every type, in the year and around it."""

    def case(**facts: Any) -> Case:
        made: Case = CaseFactory.create(
            organisation=organisation, created_by=worker, first_contact_at=local(date(YEAR, 1, 10)), **facts
        )
        return made

    counselling, silent, information, testing = (
        ContactType.COUNSELLING,
        ContactType.SILENT,
        ContactType.INFORMATION,
        ContactType.TESTING,
    )
    financial = case(
        victim_age=15,
        victim_gender=Gender.FEMALE,
        sextortion_type=term(Vocabulary.SEXTORTION_TYPE, "financial"),
        demands=[term(Vocabulary.DEMAND, "money")],
        self_harm=True,
    )
    add_contacts(financial, *[counselling] * 6, silent)
    image = case(
        victim_age_unknown=AgeUnknown.MINOR,
        victim_gender=Gender.MALE,
        content_types=[term(Vocabulary.CONTENT_TYPE, "self_image")],
    )
    add_contacts(image, *[counselling] * 5, information, information)
    nothing_mapped = case(victim_age=30, demands=[term(Vocabulary.DEMAND, "money")])
    add_contacts(nothing_mapped, counselling, testing)
    young = case(victim_age=11, victim_gender=Gender.FEMALE, threats=[term(Vocabulary.THREAT, "family")])
    add_contacts(young, counselling, counselling)
    add_contacts(financial, counselling, month=12)
    ContactFactory.create(case=financial, at=local(date(YEAR + 1, 1, 1)))  # another year
    ContactFactory.create(case=financial, at=local(date(YEAR - 1, 12, 31), hour=20))


@pytest.fixture
def organisation() -> Organisation:
    organisation = OrganisationFactory.create(name="CHI Helpline")
    worker = UserFactory.create(username="chi-worker", organisation=organisation)
    helpline(organisation, worker)
    other = OrganisationFactory.create(name="Elsewhere")
    helpline(other, UserFactory.create(username="chi-elsewhere", organisation=other))
    rollups_refresh()
    return organisation


def params(organisation: Organisation) -> Params:
    return Params(
        organisations=(organisation.pk,),
        start=date(YEAR, 1, 1),
        end=date(YEAR, 12, 1),
        granularity="year",
        age_limits=LIMITS,
    )


def reasons_of(case: Case) -> set[int]:
    """The CHI categories of a case, from the mapping, as the test reads it."""
    terms = {case.sextortion_type_id} | {
        pk for name in ("demands", "approaches", "content_types", "threats") for pk in case_terms(case, name)
    }
    facts = {
        ChiFact.EVERY_CASE: True,
        ChiFact.SELF_HARM: case.self_harm,
        ChiFact.IMMEDIATE_DANGER: case.immediate_danger,
        ChiFact.DISTRIBUTED: case.content_distributed == "yes",
        ChiFact.PAID: case.victim_paid == "yes",
        ChiFact.EXTORTED_AGAIN: case.extorted_again == "yes",
    }
    return {
        mapping.category_id
        for mapping in ChiMapping.objects.all()
        if (mapping.term_id in terms if mapping.term_id else facts[ChiFact(mapping.fact)])
    }


def case_terms(case: Case, name: str) -> list[int]:
    return list(getattr(case, name).values_list("pk", flat=True))


def band_of(case: Case) -> str:
    if case.victim_age is None:
        return case.victim_age_unknown
    return str(sum(1 for limit in LIMITS if limit <= case.victim_age))


def expected(organisation: Organisation) -> dict[str, dict[tuple[str, str], tuple[int, int]]]:
    """Per table, (row key, column key): (count, key sum), worked out contact by contact."""
    found: dict[str, dict[tuple[str, str], list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    contacts = Contact.objects.filter(case__organisation=organisation, at__year=YEAR).select_related("case")
    for contact in contacts:
        case = contact.case
        columns = [
            "contacts",
            f"gender_{case.victim_gender or 'not_recorded'}",
            f"age_{band_of(case) or 'not_recorded'}",
        ]
        reasons = [str(pk) for pk in reasons_of(case)] or ["-1"]
        places = [("chi_types", contact.contact_type)] + [("chi_reasons", row) for row in [*reasons, "0"]]
        if contact.contact_type == ContactType.COUNSELLING:
            places += [("chi_counselling", row) for row in [*reasons, "0"]]
        for table, row in places:
            for column in columns:
                found[table][row, column][0] += 1
                found[table][row, column][1] += case.record_key
    return {table: {key: (n, k) for key, (n, k) in cells.items()} for table, cells in found.items()}


def grid(table: Table) -> dict[tuple[str, str], tuple[int, int]]:
    """The counts that are not 0, with their key sums, by row and column key."""
    return {
        (row, column.key): (table.counts[r][c], table.keys[r][c])
        for r, (row, _) in enumerate(table.rows)
        for c, column in enumerate(table.columns)
        if table.counts[r][c]
    }


def test_the_tables_count_every_contact_of_the_year_under_each_reason_of_its_case(organisation: Organisation) -> None:
    want = expected(organisation)
    ocsea, suicidal = category("violence_ocsea").pk, category("mental_health_suicidal").pk
    # The helpline as written: the financial case has both reasons, the 30-year-old's none.
    assert want["chi_reasons"][str(ocsea), "contacts"][0] == 7 + 7 + 2 + 1
    assert want["chi_reasons"][str(suicidal), "contacts"][0] == 8
    assert want["chi_reasons"]["-1", "contacts"][0] == 2
    assert want["chi_counselling"]["0", "contacts"][0] == 6 + 5 + 1 + 2 + 1
    for store in (False, True):
        tables = {table.key: table for table in build_report(params(organisation), use_rollups=store, chi=True).tables}
        assert list(tables) == ["chi_types", "chi_reasons", "chi_counselling"]
        for key, table in tables.items():
            assert grid(table) == want[key], (key, store)
        reasons = [row for row, _ in tables["chi_reasons"].rows]
        assert reasons[0] == str(ocsea) and reasons[-2:] == ["-1", "0"]
        columns = [column.key for column in tables["chi_reasons"].columns]
        assert columns == [
            "contacts",
            *(f"gender_{g.value}" for g in Gender),
            "gender_not_recorded",
            *(f"age_{key or 'not_recorded'}" for key, _ in age_bands(LIMITS)),
        ]
        assert tables["chi_types"].column_totals and not tables["chi_reasons"].column_totals


def test_published_for_analysts_every_cell_is_perturbed_like_every_other_report(organisation: Organisation) -> None:
    want = expected(organisation)
    for table in build_report(params(organisation), chi=True).tables:
        published = publish(table, threshold=5, suppressed=True, spread=2)
        for r, (row, _) in enumerate(table.rows):
            for c, column in enumerate(table.columns):
                count, key_sum = want[table.key].get((row, column.key), (0, 0))
                shown = published.rows[r][1][c].value
                assert shown == perturbed(count, key_sum, threshold=5, spread=2)
                assert shown == 0 or shown >= 5  # never a small count
        if published.total is not None:
            for c, cell in enumerate(published.total[1]):
                assert cell.value == perturbed(table.column_total(c), table.column_key(c), threshold=5, spread=2)


def test_a_change_of_the_mapping_counts_every_contact_again_at_the_next_refresh(organisation: Organisation) -> None:
    other_violence = category("violence_other")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM reports_store_dirty")
    ChiMapping.objects.create(category=other_violence, term=term(Vocabulary.DEMAND, "money"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM reports_store_dirty")
        assert cursor.fetchone()[0] > 0
    rollups_refresh()
    want = expected(organisation)
    assert want["chi_reasons"][str(other_violence.pk), "contacts"][0] == 7 + 2 + 1
    for store in (False, True):
        tables = {table.key: table for table in build_report(params(organisation), use_rollups=store, chi=True).tables}
        assert grid(tables["chi_reasons"]) == want["chi_reasons"]


def test_an_inactive_category_is_not_reported(organisation: Organisation) -> None:
    ChiCategory.objects.filter(code="mental_health_suicidal").update(active=False)
    rows = [label for _, label in build_report(params(organisation), chi=True).tables[1].rows]
    assert not any(label.startswith("Mental health") for label in rows)


# --- the page and the export --------------------------------------------------------------------------------------


def chi_table(response: Any, key: str) -> PublishedTable:
    found: PublishedTable = next(item["table"] for item in response.context["tables"] if item["table"].key == key)
    return found


@pytest.fixture
def home_helpline(personas: dict[str, User]) -> Organisation:
    organisation = personas["worker"].organisation
    helpline(organisation, personas["worker"])
    rollups_refresh()
    return organisation


def test_an_analyst_reads_the_yearly_figures_disclosure_controlled(
    client_for: Callable[[str], Client], home_helpline: Organisation
) -> None:
    response = client_for("analyst").get("/reports/chi/", {"year": str(YEAR)})
    assert response.status_code == 200
    assert response.context["suppressed"] is True
    want = expected(home_helpline)
    shown = chi_table(response, "chi_counselling")
    all_counselling = want["chi_counselling"]["0", "contacts"]
    assert shown.rows[-1][1][0].value == perturbed(*all_counselling, threshold=5, spread=2)
    content = response.content.decode()
    assert "Child Helpline International: counselling contacts by reason for contact" in content
    assert "the cell-key method of the Australian Bureau of Statistics" in content
    log = AccessLog.objects.get(action=Action.VIEW, object_type="report")
    assert log.detail["chi"] is True and log.detail["suppressed"] is True
    assert log.detail["parameters"]["start"] == f"{YEAR}-01-01" and log.detail["parameters"]["end"] == f"{YEAR}-12-01"


def test_a_supervisor_reads_true_counts_of_the_organisation(
    client_for: Callable[[str], Client], home_helpline: Organisation
) -> None:
    response = client_for("supervisor").get("/reports/chi/", {"year": str(YEAR)})
    assert response.context["suppressed"] is False
    want = expected(home_helpline)
    assert chi_table(response, "chi_reasons").rows[-1][1][0].value == want["chi_reasons"]["0", "contacts"][0]


def test_the_export_is_the_published_tables_and_is_logged(
    client_for: Callable[[str], Client], home_helpline: Organisation
) -> None:
    client = client_for("analyst")
    response = client.get("/reports/chi/export/", {"year": str(YEAR), "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="chi-{YEAR}-01-to-{YEAR}-12.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert any("cell-key method" in cell for row in rows for cell in row)
    title = rows.index(["Child Helpline International: counselling contacts by reason for contact"])
    every = next(row for row in rows[title:] if row and row[0] == "All contacts, each counted once")
    want = expected(home_helpline)["chi_counselling"]["0", "contacts"]
    assert every[1] == str(perturbed(*want, threshold=5, spread=2))
    xlsx = client.get("/reports/chi/export/", {"year": str(YEAR), "format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    exports = AccessLog.objects.filter(action=Action.EXPORT, object_type="report")
    assert sorted(exports.values_list("detail__format", flat=True)) == ["csv", "xlsx"]
    assert all(log.detail["suppressed"] and log.detail["chi"] for log in exports)


def test_custom_bands_a_future_year_and_workers_are_refused(
    client_for: Callable[[str], Client], home_helpline: Organisation
) -> None:
    analyst = client_for("analyst")
    custom = {"year": str(YEAR), "age_scheme": "custom", "bands": "10, 14"}
    assert analyst.get("/reports/chi/", custom).status_code == 400
    assert analyst.get("/reports/chi/", {"year": "2999"}).status_code == 400
    assert analyst.get("/reports/chi/", {"year": f"{YEAR}.0"}).status_code == 400  # never another year's figures
    assert analyst.get("/reports/chi/export/", {"year": str(YEAR), "format": "pdf"}).status_code == 400
    worker = client_for("worker")
    assert worker.get("/reports/chi/").status_code == 404
    assert worker.get("/reports/chi/export/", {"format": "csv"}).status_code == 404


def test_administrators_read_the_mapping_of_shared_terms_and_their_own_only(
    client_for: Callable[[str], Client], personas: dict[str, User]
) -> None:
    category = ChiCategory.objects.get(code="violence_ocsea")
    theirs = Term.objects.create(
        organisation=personas["other_worker"].organisation, vocabulary=Vocabulary.DEMAND, code="theirs", label="THEIRS"
    )
    ours = Term.objects.create(
        organisation=personas["worker"].organisation, vocabulary=Vocabulary.DEMAND, code="ours", label="OURS"
    )
    ChiMapping.objects.create(category=category, term=theirs)
    ChiMapping.objects.create(category=category, term=ours)

    page = client_for("administrator").get(reverse("admin:cases_chicategory_change", args=[category.pk]))

    assert page.status_code == 200
    assert "OURS" in page.content.decode() and "THEIRS" not in page.content.decode()

"""The report API: GET /api/v1/reports/ and /api/v1/reports/snapshots/, and what each role receives.

Disclosure control is checked end to end: with data small enough for many cells to be 1..k-1, no
count an analyst receives (report or snapshot) is in 1..k-1, and each is the cell-key perturbation of
the true count. Page, CSV, XLSX and JSON exports are tested elsewhere.
"""

import json
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import Organisation, User
from audit.models import AccessLog, Action
from cases.models import Term, Vocabulary
from devtools.generator import generate_cases
from reports.engine import Params, add_months, build_report, publish_report
from reports.rollups import rollups_refresh
from reports.snapshots import snapshot_create
from tests.factories import CaseFactory, OrganisationFactory
from tests.reports.helpers import local

pytestmark = pytest.mark.django_db

REPORT_URL = "/api/v1/reports/"
SNAPSHOTS_URL = "/api/v1/reports/snapshots/"
ClientFor = Callable[[str], Client]


def this_month() -> date:
    today = timezone.localdate()
    return date(today.year, today.month, 1)


def month_text(month: date) -> str:
    return f"{month:%Y-%m}"


@pytest.fixture
def small_data(personas: dict[str, User]) -> dict[str, Organisation]:
    """A few dozen cases a helpline over up to four months of this year: many cells of 1 to 4."""
    home, other = personas["worker"].organisation, personas["other_worker"].organisation
    today = timezone.localdate()
    start = max(add_months(this_month(), -3), date(today.year, 1, 1))
    generate_cases(
        organisation=home,
        workers=[personas["worker"], personas["supervisor"]],
        count=60,
        start=start,
        end=today,
        seed=5,
    )
    generate_cases(organisation=other, workers=[personas["other_worker"]], count=40, start=start, end=today, seed=6)
    rollups_refresh()  # unfiltered reports read the rollups
    return {"home": home, "other": other}


def query(**extra: Any) -> dict[str, Any]:
    """The months of ``small_data``, as disclosure-controlled reports may cover them: this year so far."""
    return {"start": f"{this_month().year}-01", "end": month_text(this_month()), **extra}


def whole_quarters(**extra: Any) -> dict[str, Any]:
    return query(granularity="quarter", **extra)


def whole_years(**extra: Any) -> dict[str, Any]:
    return query(granularity="year", **extra)


def count_values(tables: list[dict[str, Any]]) -> Iterator[tuple[str, Any]]:
    """Every published count (grid cells and totals, not percentages or days) as (table key, value)."""
    for table in tables:
        positions = [index for index, column in enumerate(table["columns"]) if column["kind"] == "count"]
        lines = [*table["rows"], *([table["total"]] if table["total"] else [])]
        for line in lines:
            for index in positions:
                yield table["key"], line["values"][index]


def assert_disclosure_controlled(tables: list[dict[str, Any]], threshold: int) -> int:
    """Every count is a number, none in 1..k-1; returns how many are 0 or k (where small counts go)."""
    at_edges = 0
    for key, value in count_values(tables):
        assert isinstance(value, int) and (value == 0 or value >= threshold), (key, value)
        at_edges += value in (0, threshold)
    return at_edges


def assert_perturbed(published: list[dict[str, Any]], true: list[dict[str, Any]], threshold: int) -> int:
    """Each published count is 0 or k for a true 1..k-1 and within D of a larger one; returns how many
    true small counts there were (so a test can check the control had work to do)."""
    spread = settings.DISCLOSURE_PERTURBATION
    small = 0
    for (key, shown), (true_key, value) in zip(count_values(published), count_values(true), strict=True):
        assert key == true_key
        if value == 0:
            assert shown == 0, key
        elif value < threshold:
            assert shown in (0, threshold), (key, value, shown)
            small += 1
        else:
            assert abs(shown - value) <= spread and shown >= threshold, (key, value, shown)
    return small


def true_small(tables: list[dict[str, Any]], threshold: int) -> int:
    return sum(isinstance(value, int) and 0 < value < threshold for _, value in count_values(tables))


def as_json(data: Any) -> Any:
    return json.loads(json.dumps(data))


def params_of(response_json: dict[str, Any]) -> Params:
    return Params.from_json(response_json["parameters"])


# --- disclosure control ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [5, 3])
def test_an_analyst_never_receives_a_count_below_the_threshold(
    client_for: ClientFor, small_data: dict[str, Organisation], settings: Any, threshold: int
) -> None:
    settings.DISCLOSURE_THRESHOLD = threshold
    analyst = client_for("analyst")
    region = "IT-RM"
    variants = [
        query(),
        whole_quarters(),
        whole_years(age_scheme="iwf"),
        query(platform="instagram"),
        query(sextortion_type="financial"),
        query(region=region),
    ]
    small = 0
    for params in variants:
        response = analyst.get(REPORT_URL, params)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["suppressed"] is True and body["threshold"] == threshold and body["method"] == "cell_key"
        assert body["perturbation"] == settings.DISCLOSURE_PERTURBATION
        assert f"Counts from 1 to {threshold - 1} are shown as 0 or {threshold}" in body["statement"]
        assert_disclosure_controlled(body["tables"], threshold)
        # The same report with true counts does have small counts: the control had work to do.
        report = build_report(params_of(body))
        true_tables = as_json([t.as_json() for t in publish_report(report, suppressed=False)])
        assert [t["key"] for t in true_tables] == [t["key"] for t in body["tables"]]
        small += assert_perturbed(body["tables"], true_tables, threshold)
        if params is variants[0]:
            assert true_small(true_tables, threshold) > 10
    assert small > 20


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"age_scheme": "custom", "bands": "5, 10, 13, 16, 18"}, "age_scheme", "custom_bands"),
        ({"granularity": "quarter", "start": "2025-02", "end": "2025-06"}, "start", "shifted_range"),
        ({"granularity": "quarter", "start": "2025-01", "end": "2025-05"}, "start", "shifted_range"),
        ({"granularity": "year", "start": "2024-01", "end": "2025-06"}, "start", "shifted_range"),
        ({"granularity": "year", "start": "2024-03", "end": "2024-12"}, "start", "shifted_range"),
        ({"granularity": "month", "start": "2024-01", "end": "2025-12"}, "start", "shifted_range"),
        # Nested ranges to now would give a past year again with fresh noise whenever a case arrives.
        ({"granularity": "year", "start": f"{date.today().year - 2}-01"}, "start", "shifted_range"),
    ],
)
def test_perturbed_reports_refuse_what_could_average_the_noise_away(
    client_for: ClientFor, small_data: dict[str, Organisation], params: dict[str, str], field: str, code: str
) -> None:
    """Analysts get named schemes, and one calendar year or this year so far; the true-count view may ask for
    anything."""
    response = client_for("analyst").get(REPORT_URL, params)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert code in [error["code"] for error in errors[field]]
    assert "cancel the perturbation" in errors[field][0]["message"]
    response = client_for("supervisor").get(REPORT_URL, params)
    assert response.status_code == 200, response.content
    assert response.json()["suppressed"] is False and response.json()["method"] is None
    assert "Do not publish" in response.json()["statement"]
    # A calendar year, or this year so far, by any period, and named schemes, are fine for analysts.
    this_month = f"{timezone.localdate():%Y-%m}"
    for granularity, start, end in (
        ("quarter", "2025-01", "2025-12"),
        ("year", "2024-01", "2024-12"),
        ("quarter", f"{timezone.localdate().year}-01", this_month),
        ("month", "2025-01", "2025-12"),
    ):
        answer = client_for("analyst").get(REPORT_URL, {"granularity": granularity, "start": start, "end": end})
        assert answer.status_code == 200, (granularity, start, end, answer.content)


def test_analysts_report_on_one_organisation_or_all_of_theirs_never_a_group_of_them(
    client_for: ClientFor, personas: dict[str, User], small_data: dict[str, Organisation]
) -> None:
    """Each group of organisations is a set of cases of its own: with any group allowed, a group with and without
    one organisation, for every group of the others, would give its small counts again and again."""
    third = OrganisationFactory.create(name="Third Helpline")
    personas["analyst"].report_organisations.add(small_data["other"], third)
    mine = [small_data["home"].pk, small_data["other"].pk, third.pk]
    analyst = client_for("analyst")
    for chosen in ([mine[0]], [mine[1]], mine):
        assert analyst.get(REPORT_URL, query(organisations=chosen)).status_code == 200, chosen
    response = analyst.get(REPORT_URL, query(organisations=mine[:2]))
    assert response.status_code == 400
    assert [error["code"] for error in response.json()["errors"]["organisations"]] == ["organisation_subset"]


def test_a_supervisor_receives_true_counts_of_their_own_organisation(
    client_for: ClientFor, small_data: dict[str, Organisation]
) -> None:
    threshold = settings.DISCLOSURE_THRESHOLD
    for persona in ("supervisor", "administrator"):
        for params in (query(), query(platform="snapchat", granularity="quarter")):
            body = client_for(persona).get(REPORT_URL, params).json()
            assert body["suppressed"] is False
            assert body["parameters"]["organisations"] == [small_data["home"].pk]
            report = build_report(params_of(body))
            assert body["tables"] == as_json([t.as_json() for t in publish_report(report, suppressed=False)])
            assert true_small(body["tables"], threshold) > 0

    # Another organisation is not theirs to ask for.
    response = client_for("supervisor").get(REPORT_URL, query(organisations=small_data["other"].pk))
    assert response.status_code == 400
    assert "organisations" in response.json()["errors"] and "tables" not in response.json()


def test_an_analyst_sees_a_granted_organisation_only_suppressed(
    client_for: ClientFor, personas: dict[str, User], small_data: dict[str, Organisation]
) -> None:
    threshold = settings.DISCLOSURE_THRESHOLD
    home, other = small_data["home"], small_data["other"]
    analyst = client_for("analyst")

    # Not granted: an invalid choice, and nothing of the other organisation in the answer.
    response = analyst.get(REPORT_URL, query(organisations=other.pk))
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"errors"}
    assert [error["code"] for error in body["errors"]["organisations"]] == ["invalid_choice"]
    assert other.name not in response.content.decode()
    response = analyst.get(REPORT_URL, query(organisations=[home.pk, other.pk]))
    assert response.status_code == 400 and set(response.json()) == {"errors"}

    personas["analyst"].report_organisations.add(other)
    for organisations in ([other.pk], [home.pk, other.pk]):
        response = analyst.get(REPORT_URL, query(organisations=organisations))
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["suppressed"] is True
        assert body["parameters"]["organisations"] == sorted(organisations)
        assert assert_disclosure_controlled(body["tables"], threshold) > 0
        expected = publish_report(build_report(params_of(body)), suppressed=True)
        assert body["tables"] == as_json([t.as_json() for t in expected])

    # The granted organisation's administrator is not the analyst's: true counts stay with olga.
    body = client_for("other_administrator").get(REPORT_URL, query()).json()
    assert body["suppressed"] is False and body["parameters"]["organisations"] == [other.pk]


def test_snapshots_reach_analysts_only_suppressed(
    client_for: ClientFor, personas: dict[str, User], small_data: dict[str, Organisation]
) -> None:
    threshold = settings.DISCLOSURE_THRESHOLD
    home, other = small_data["home"], small_data["other"]
    month = add_months(this_month(), -1)
    snapshot = snapshot_create(organisation=home, month=month)
    other_snapshot = snapshot_create(organisation=other, month=month)
    assert snapshot is not None and other_snapshot is not None
    assert true_small(snapshot.tables, threshold) > 5

    analyst = client_for("analyst")
    body = analyst.get(f"{SNAPSHOTS_URL}{snapshot.pk}/").json()
    assert body["suppressed"] is True and body["threshold"] == threshold
    assert body["method"] == "cell_key" and body["perturbation"] == settings.DISCLOSURE_PERTURBATION
    assert "Australian Bureau of Statistics" in body["statement"]
    assert body["tables"] == snapshot.tables_suppressed
    assert assert_perturbed(body["tables"], snapshot.tables, threshold) > 0
    listed = analyst.get(SNAPSHOTS_URL).json()
    items = listed["results"] if isinstance(listed, dict) else listed
    assert [item["id"] for item in items] == [snapshot.pk]
    for item in items:
        assert "tables" not in item  # the list names snapshots; figures come one snapshot at a time

    # Not granted: not found; granted: suppressed.
    assert analyst.get(f"{SNAPSHOTS_URL}{other_snapshot.pk}/").status_code == 404
    personas["analyst"].report_organisations.add(other)
    body = analyst.get(f"{SNAPSHOTS_URL}{other_snapshot.pk}/").json()
    assert body["suppressed"] is True and body["tables"] == other_snapshot.tables_suppressed
    assert_disclosure_controlled(body["tables"], threshold)

    # The organisation's supervisor gets the true counts; another organisation's administrator nothing.
    body = client_for("supervisor").get(f"{SNAPSHOTS_URL}{snapshot.pk}/").json()
    assert body["suppressed"] is False and body["tables"] == snapshot.tables
    assert "Do not publish" in body["statement"]
    assert client_for("other_administrator").get(f"{SNAPSHOTS_URL}{snapshot.pk}/").status_code == 404


def hand_made(organisation: Organisation, worker: User, months: list[list[dict[str, Any]]]) -> list[date]:
    """Cases in the first months of last year: ``months[i]`` lists the facts of each case of month i."""
    firsts = [date(this_month().year - 1, index + 1, 1) for index in range(len(months))]
    for month, cases in zip(firsts, months, strict=True):
        for facts in cases:
            CaseFactory.create(organisation=organisation, created_by=worker, first_contact_at=local(month, 10), **facts)
    return firsts


def test_a_figure_published_in_several_tables_has_the_same_value_in_all(
    client_for: ClientFor, personas: dict[str, User]
) -> None:
    """New cases per month appear in several tables: new_cases, outcomes, workload, and as the row totals of
    minors_adults and sextortion_type. Months of 2, 6 and 10 cases, all minors but the 6: the same cases
    have the same key sum, so each month (and the whole) is published alike everywhere, and subtracting
    one table's figures from another's gives nothing back."""
    threshold = settings.DISCLOSURE_THRESHOLD
    home = personas["worker"].organisation
    minor, adult = {"victim_age": 15}, {"victim_age": 30}
    months = hand_made(home, personas["worker"], [[minor] * 2, [adult] * 6, [minor] * 10])
    rollups_refresh()
    last_year = months[0].year
    response = client_for("analyst").get(REPORT_URL, {"start": f"{last_year}-01", "end": f"{last_year}-12"})
    tables = {table["key"]: table for table in response.json()["tables"]}
    assert_disclosure_controlled(list(tables.values()), threshold)
    at = [line["label"] for line in tables["new_cases"]["rows"]].index(month_text(months[0]))

    def column(key: str, name: str) -> list[Any]:
        table = tables[key]
        index = [c["key"] for c in table["columns"]].index(name)
        return [line["values"][index] for line in [*table["rows"], table["total"]]]

    linked = [
        column("new_cases", "cases"),
        column("outcomes", "cases"),
        column("workload", "new_cases"),
        column("minors_adults", "total"),
        column("sextortion_type", "total"),
    ]
    assert all(values == linked[0] for values in linked), linked
    assert linked[0][at] in (0, threshold)  # the month of 2
    # The minors of the month of 10 are that month's cases: the same figure in minors_adults.
    assert column("minors_adults", "minor")[at + 2] == linked[0][at + 2]


def test_a_filtered_report_does_not_reveal_what_the_unfiltered_one_hides(personas: dict[str, User]) -> None:
    """Financial 6 and 7, sexual 2 and 5 in two months. Under cell suppression the report filtered on
    financial published 6 and 7 as its new cases, and the month's published total (8) gave the 2 away.
    With the cell key, the filtered report's new cases are the same cases as the unfiltered financial
    cells, so they are published with the same value: the filter tells nothing the unfiltered report
    did not, and the 2 is only ever shown as 0 or 5."""
    threshold = settings.DISCLOSURE_THRESHOLD
    home = personas["worker"].organisation
    financial = Term.objects.get(vocabulary=Vocabulary.SEXTORTION_TYPE, code="financial")
    sexual = Term.objects.get(vocabulary=Vocabulary.SEXTORTION_TYPE, code="sexual")
    a, b = {"victim_age": 30, "sextortion_type": financial}, {"victim_age": 30, "sextortion_type": sexual}
    months = hand_made(home, personas["worker"], [[a] * 6 + [b] * 2, [a] * 7 + [b] * 5])
    params = Params(organisations=(home.pk,), start=months[0], end=months[-1])
    unfiltered = {t.key: t for t in publish_report(build_report(params), suppressed=True)}
    types = unfiltered["sextortion_type"]
    keys = [c.key for c in types.columns]
    first = types.rows[0][1]
    assert first[keys.index(str(sexual.pk))].value in (0, threshold)

    filtered = Params(organisations=(home.pk,), start=months[0], end=months[-1], sextortion_type=financial.pk)
    new_cases = {t.key: t for t in publish_report(build_report(filtered), suppressed=True)}["new_cases"]
    for month in range(len(months)):
        assert new_cases.rows[month][1][0].value == types.rows[month][1][keys.index(str(financial.pk))].value
    assert new_cases.total is not None and types.total is not None
    assert new_cases.total[1][0].value == types.total[1][keys.index(str(financial.pk))].value


# --- the API itself -----------------------------------------------------------------------------------------------


def test_schema_describes_the_report_endpoints(client_for: ClientFor) -> None:
    response = client_for("analyst").get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/reports/", "/api/v1/reports/snapshots/", "/api/v1/reports/snapshots/{id}/"} <= set(paths)
    parameters = {p["name"] for p in paths["/api/v1/reports/"]["get"]["parameters"]}
    assert {"organisations", "start", "end", "granularity", "age_scheme", "bands", "platform"} <= parameters
    assert {"sextortion_type", "region"} <= parameters


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"start": "2024-13"}, "start", "invalid"),
        ({"start": "last year"}, "start", "invalid"),
        ({"start": "1999-12"}, "start", "too_early"),
        ({"start": "2025-06", "end": "2025-01"}, "end", None),
        ({"start": "2010-01", "end": "2020-12"}, "end", None),  # more than 120 months
        ({"end": "2999-01"}, "end", None),  # after the current month
        ({"granularity": "week"}, "granularity", "invalid_choice"),
        ({"age_scheme": "unknown"}, "age_scheme", "invalid_choice"),
        ({"age_scheme": "custom"}, "bands", None),
        ({"age_scheme": "custom", "bands": "18, 13"}, "bands", "order"),
        ({"age_scheme": "custom", "bands": "0, 13"}, "bands", "range"),
        ({"age_scheme": "custom", "bands": "a, b"}, "bands", "invalid"),
        ({"age_scheme": "custom", "bands": ",".join(str(n) for n in range(1, 13))}, "bands", "too_many"),
        ({"platform": "no-such-platform"}, "platform", "invalid_choice"),
        ({"sextortion_type": "no-such-type"}, "sextortion_type", "invalid_choice"),
        ({"platform": "financial"}, "platform", "invalid_choice"),  # a code of another vocabulary
        ({"region": "XX-ZZZ"}, "region", "invalid"),
        ({"organisations": "not-a-number"}, "organisations", None),
    ],
)
def test_bad_parameters_give_400_with_field_errors(
    client_for: ClientFor, params: dict[str, str], field: str, code: str | None
) -> None:
    before = AccessLog.objects.filter(object_type="report").count()
    response = client_for("analyst").get(REPORT_URL, params)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"errors"} and field in body["errors"], body
    if code is not None:
        assert code in [error["code"] for error in body["errors"][field]]
    assert AccessLog.objects.filter(object_type="report").count() == before


def test_platform_and_type_are_term_codes(client_for: ClientFor, small_data: dict[str, Organisation]) -> None:
    platform = Term.objects.get(vocabulary=Vocabulary.PLATFORM, code="instagram")
    kind = Term.objects.get(vocabulary=Vocabulary.SEXTORTION_TYPE, code="financial")
    supervisor = client_for("supervisor")
    response = supervisor.get(REPORT_URL, query(platform="instagram", sextortion_type="financial"))
    assert response.status_code == 200
    body = response.json()
    assert body["parameters"]["platform"] == platform.pk
    assert body["parameters"]["sextortion_type"] == kind.pk
    params = Params(
        organisations=(small_data["home"].pk,),
        start=date(add_months(this_month(), -3).year, 1, 1),
        end=this_month(),
        platform=platform.pk,
        sextortion_type=kind.pk,
    )
    assert params_of(body) == params
    assert body["tables"] == as_json([t.as_json() for t in publish_report(build_report(params), suppressed=False)])
    unfiltered = supervisor.get(REPORT_URL, query()).json()["tables"]
    assert body["tables"] != unfiltered

    # A term's id is not its code.
    response = supervisor.get(REPORT_URL, query(platform=str(platform.pk)))
    assert response.status_code == 400 and "platform" in response.json()["errors"]


def test_a_worker_gets_403(client_for: ClientFor, small_data: dict[str, Organisation]) -> None:
    worker = client_for("worker")
    snapshot = snapshot_create(organisation=small_data["home"], month=add_months(this_month(), -1))
    assert snapshot is not None
    for url in (REPORT_URL, SNAPSHOTS_URL, f"{SNAPSHOTS_URL}{snapshot.pk}/"):
        response = worker.get(url, query() if url == REPORT_URL else {})
        assert response.status_code == 403, url
        assert "tables" not in response.json()
    assert client_for("anonymous").get(REPORT_URL).status_code in (401, 403)
    assert not AccessLog.objects.filter(object_type__in=["report", "snapshot"], action=Action.VIEW).exists()


def test_each_report_read_is_logged(
    client_for: ClientFor, personas: dict[str, User], small_data: dict[str, Organisation]
) -> None:
    for persona in ("analyst", "supervisor", "administrator"):
        user = personas[persona]
        before = AccessLog.objects.filter(object_type="report", actor=user).count()
        client = client_for(persona)
        body = client.get(REPORT_URL, whole_quarters()).json()
        client.get(REPORT_URL, query(region="IT-RM"))
        rows = list(AccessLog.objects.filter(object_type="report", actor=user).order_by("id"))
        assert len(rows) == before + 2
        assert all(row.action == Action.VIEW and row.organisation_id == user.organisation_id for row in rows)
        assert rows[-2].detail == {"parameters": body["parameters"], "api": True}
        assert rows[-1].detail["parameters"]["region"] == "IT-RM"

    snapshot = snapshot_create(organisation=small_data["home"], month=add_months(this_month(), -1))
    assert snapshot is not None
    client_for("analyst").get(f"{SNAPSHOTS_URL}{snapshot.pk}/")
    logged = AccessLog.objects.filter(actor=personas["analyst"], object_type__endswith="snapshot")
    assert list(logged.values_list("action", "object_id")) == [(Action.VIEW, str(snapshot.pk))]


def test_snapshot_figures_are_read_one_at_a_time_and_logged(
    client_for: ClientFor, personas: dict[str, User], small_data: dict[str, Organisation]
) -> None:
    snapshot = snapshot_create(organisation=small_data["home"], month=add_months(this_month(), -1))
    assert snapshot is not None
    supervisor = client_for("supervisor")
    listed = supervisor.get(SNAPSHOTS_URL).json()
    items = listed["results"] if isinstance(listed, dict) else listed
    assert [item["title"] for item in items] == [snapshot.title] and "tables" not in items[0]
    # The list is logged as a list; no snapshot's figures were read.
    assert (
        not AccessLog.objects.filter(actor=personas["supervisor"], object_type__endswith="snapshot")
        .exclude(object_id="")
        .exists()
    )
    body = supervisor.get(f"{SNAPSHOTS_URL}{snapshot.pk}/").json()
    assert body["tables"] == snapshot.tables  # true counts of the whole month
    assert AccessLog.objects.filter(
        actor=personas["supervisor"], object_type__endswith="snapshot", object_id=str(snapshot.pk)
    ).exists()


def test_report_ranges_end_in_the_current_month_at_the_latest(client_for: ClientFor, db: Any) -> None:
    """The default report of an analyst is this year so far (that of a supervisor, the last twelve full months);
    the current month is allowed, the next one not."""
    analyst = client_for("analyst")
    body = analyst.get(REPORT_URL).json()
    assert body["parameters"]["end"] == this_month().isoformat()
    assert body["parameters"]["start"] == date(this_month().year, 1, 1).isoformat()
    body = client_for("supervisor").get(REPORT_URL).json()
    assert body["parameters"]["end"] == add_months(this_month(), -1).isoformat()
    assert body["parameters"]["start"] == add_months(this_month(), -12).isoformat()
    assert analyst.get(REPORT_URL, {"end": month_text(this_month())}).status_code == 200
    next_month = month_text(add_months(this_month(), 1))
    assert analyst.get(REPORT_URL, {"end": next_month}).status_code == 400

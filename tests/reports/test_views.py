"""The report pages: who may open them, the parameter form, and what each role sees of a small count."""

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Organisation, User
from audit.models import AccessLog, Action
from cases.models import Case
from cases.services import case_open
from reports.models import DisclosureMethod, Export, Snapshot
from reports.perturbation import perturbed
from reports.rollups import rollups_refresh
from reports.snapshots import snapshot_create
from reports.tables import PublishedTable

pytestmark = pytest.mark.django_db

READERS = ["analyst", "supervisor", "administrator"]
SMALL = 3  # fewer than the threshold of 5


def this_month() -> str:
    return f"{timezone.localdate():%Y-%m}"


def this_year() -> str:
    """The first month of a report that analysts may read up to this month."""
    return f"{timezone.localdate().year}-01"


def open_cases(worker: User, count: int = SMALL) -> None:
    """Cases of 15-year-old girls, first contact now; then the rollups that unfiltered reports read."""
    for _ in range(count):
        case_open(actor=worker, facts={"victim_age": 15, "victim_gender": "female"})
    rollups_refresh()


@pytest.fixture
def small_count(personas: dict[str, User]) -> dict[str, str]:
    open_cases(personas["worker"])
    return {"start": this_year(), "end": this_month()}


def table(response: Any, key: str) -> PublishedTable:
    found: PublishedTable = next(item["table"] for item in response.context["tables"] if item["table"].key == key)
    return found


def new_cases_text(response: Any) -> str:
    """What the page shows for this month's new cases."""
    _label, cells = table(response, "new_cases").rows[-1]
    return cells[0].text


def published_count(*organisations: Organisation) -> str:
    """What an analyst is shown for all the cases of these organisations: their cell-key perturbation."""
    keys = list(Case.objects.filter(organisation__in=organisations).values_list("record_key", flat=True))
    return str(perturbed(len(keys), sum(keys), threshold=5, spread=2))


@pytest.mark.parametrize("persona", READERS)
def test_the_report_page_opens_for_every_reading_role(
    persona: str, client_for: Callable[[str], Client], small_count: dict[str, str]
) -> None:
    response = client_for(persona).get("/reports/", small_count)
    assert response.status_code == 200
    content = response.content.decode()
    assert "New cases" in content
    assert "<tfoot>" in content and '<th scope="col">Period</th>' in content
    assert 'type="application/json"' in content  # the charts' data, read by the page's script
    assert (
        AccessLog.objects.filter(action=Action.VIEW, object_type="report", actor__username__isnull=False).count() == 1
    )


@pytest.mark.parametrize("persona", ["worker", "other_worker"])
def test_workers_are_refused_every_report_page(persona: str, client_for: Callable[[str], Client]) -> None:
    client = client_for(persona)
    for url in ["/reports/", "/reports/export/?format=csv", "/reports/snapshots/"]:
        assert client.get(url).status_code == 404
    assert AccessLog.objects.filter(action=Action.REFUSED, object_type="reports").count() == 3


def test_the_navigation_offers_reports_to_readers_only(client_for: Callable[[str], Client]) -> None:
    assert 'href="/reports/"' in client_for("analyst").get("/").content.decode()
    assert 'href="/reports/"' not in client_for("worker").get("/").content.decode()


def test_with_no_parameters_the_last_twelve_months_of_the_own_organisation(
    client_for: Callable[[str], Client], personas: dict[str, User]
) -> None:
    response = client_for("supervisor").get("/reports/")
    assert response.status_code == 200
    form = response.context["form"]
    params = form.params()
    assert params.organisations == (personas["supervisor"].organisation_id,)
    assert (params.end.year * 12 + params.end.month) - (params.start.year * 12 + params.start.month) == 11
    assert params.end < timezone.localdate().replace(day=1)
    assert len(table(response, "new_cases").rows) == 12


def test_an_analyst_sees_a_small_count_perturbed_and_is_told_so(
    client_for: Callable[[str], Client], small_count: dict[str, str], home_org: Organisation
) -> None:
    response = client_for("analyst").get("/reports/", small_count)
    shown = new_cases_text(response)
    assert shown in ("0", "5") and shown == published_count(home_org)
    assert response.context["suppressed"] is True
    content = response.content.decode()
    assert "Disclosure-controlled figures." in content
    assert "at most ±2 (the cell-key method of the Australian Bureau of Statistics)" in content
    assert "Counts from 1 to 4 are shown as 0 or 5" in content and "may not add up" in content
    assert "&lt;5" not in content and "A 0 is a true zero" not in content
    chart = next(item["chart"] for item in response.context["tables"] if item["table"].key == "new_cases")
    assert chart["series"][0]["values"][-1] == int(shown)  # the chart draws the published figure


@pytest.mark.parametrize("persona", ["supervisor", "administrator"])
def test_supervisors_and_administrators_see_true_counts_of_their_organisation(
    persona: str, client_for: Callable[[str], Client], small_count: dict[str, str]
) -> None:
    response = client_for(persona).get("/reports/", small_count)
    assert new_cases_text(response) == str(SMALL)
    assert response.context["suppressed"] is False
    assert "True counts, not disclosure-controlled. Do not publish." in response.content.decode()


def test_an_analyst_granted_another_organisation_reads_both_suppressed(
    client_for: Callable[[str], Client], personas: dict[str, User], other_org: Organisation, home_org: Organisation
) -> None:
    personas["analyst"].report_organisations.add(other_org)
    open_cases(personas["other_worker"], count=2)
    open_cases(personas["worker"], count=2)
    query: dict[str, Any] = {"start": this_year(), "end": this_month(), "organisations": [home_org.pk, other_org.pk]}
    response = client_for("analyst").get("/reports/", query)
    assert response.status_code == 200
    assert response.context["form"].params().organisations == tuple(sorted([home_org.pk, other_org.pk]))
    assert new_cases_text(response) == published_count(home_org, other_org)  # 4 cases in all: 0 or 5


def test_a_supervisor_cannot_choose_another_organisation(
    client_for: Callable[[str], Client], other_org: Organisation
) -> None:
    response = client_for("supervisor").get("/reports/", {"organisations": other_org.pk})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not AccessLog.objects.filter(action=Action.VIEW, object_type="report").exists()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start": "2025-06", "end": "2025-01"}, "The last month is before the first month."),
        ({"start": "2010-01", "end": "2024-12"}, "A report covers at most 10 years (120 months)."),
        ({"start": "2025-13"}, "Enter a month as YYYY-MM"),
        ({"start": "January"}, "Enter a month as YYYY-MM"),
        ({"start": "1999-12"}, "Reports start in 2000 or later."),
        ({"end": "2999-01"}, "The report cannot end after the current month."),
        ({"organisations": "999999"}, "Select a valid choice"),
        ({"granularity": "week"}, "Select a valid choice"),
        ({"age_scheme": "custom"}, "Give the custom age bands"),
        ({"age_scheme": "custom", "bands": "18, 13"}, "The limits must increase: 13 comes after 18."),
        ({"age_scheme": "custom", "bands": "13, 13"}, "The limits must increase"),
        ({"age_scheme": "custom", "bands": "0, 18"}, "Each age limit must be between 1 and 120."),
        ({"age_scheme": "custom", "bands": "13, 121"}, "Each age limit must be between 1 and 120."),
        ({"age_scheme": "custom", "bands": "13, eighteen"}, "Enter whole numbers separated by commas"),
        ({"age_scheme": "custom", "bands": "12.5"}, "Enter whole numbers separated by commas"),
        ({"age_scheme": "nonsense"}, "Select a valid choice"),
        ({"platform": "no-such-platform"}, "Select a valid choice"),
        ({"sextortion_type": "no-such-type"}, "Select a valid choice"),
        ({"region": "XX-99"}, "Not an ISO 3166-2 region code"),
    ],
)
def test_bad_parameters_are_explained_and_the_page_still_renders(
    query: dict[str, str], message: str, client_for: Callable[[str], Client]
) -> None:
    response = client_for("analyst").get("/reports/", query)
    assert response.status_code == 400
    content = response.content.decode()
    assert message in content
    assert "The report could not be made with these parameters." in content
    assert '<form method="get"' in content
    assert "tables" not in response.context or not response.context["tables"]


def test_custom_bands_and_filters_reach_the_report(
    client_for: Callable[[str], Client], personas: dict[str, User]
) -> None:
    """In the true-count view: custom bands and partial quarters are for a helpline's own figures."""
    open_cases(personas["worker"])
    query = {
        "start": this_month(),
        "end": this_month(),
        "granularity": "quarter",
        "age_scheme": "custom",
        "bands": "10, 16; 25",
        "platform": "instagram",
        "sextortion_type": "financial",
        "region": "it-rm",
    }
    response = client_for("supervisor").get("/reports/", query)
    assert response.status_code == 200, response.context["form"].errors
    params = response.context["form"].params()
    assert params.age_limits == (10, 16, 25) and params.age_scheme == "custom"
    assert params.granularity == "quarter" and params.region == "IT-RM"
    assert params.platform is not None and params.sextortion_type is not None
    labels = [label for label, _ in table(response, "age_gender").rows]
    assert labels[:4] == ["9 and under", "10 to 15", "16 to 24", "25 and over"]
    assert new_cases_text(response) == "0"  # none of the cases has these facts


def test_an_analyst_is_told_why_custom_bands_and_shifted_ranges_are_refused(
    client_for: Callable[[str], Client],
) -> None:
    query = {"start": "2025-02", "end": "2025-06", "granularity": "quarter", "age_scheme": "custom", "bands": "13"}
    response = client_for("analyst").get("/reports/", query)
    assert response.status_code == 400
    content = response.content.decode()
    assert "Custom age bands are for true counts within your own organisation." in content
    assert "A disclosure-controlled report covers one calendar year (January to December)" in content
    assert "combined to cancel the perturbation" in content
    whole_year = {**query, "age_scheme": "iwf", "start": "2025-01", "end": "2025-12"}
    assert client_for("analyst").get("/reports/", whole_year).status_code == 200


def test_a_named_age_scheme_gives_its_bands(client_for: Callable[[str], Client]) -> None:
    response = client_for("analyst").get("/reports/", {"age_scheme": "iwf"})
    assert response.context["form"].params().age_limits == (11, 14, 16, 18)


def test_printing_is_logged(client_for: Callable[[str], Client]) -> None:
    client = client_for("analyst")
    assert client.get("/reports/printed/").status_code == 405
    response = client.post("/reports/printed/", {"query": "start=2025-01&end=2025-12"})
    assert response.status_code == 204
    row = AccessLog.objects.get(action=Action.PRINT)
    assert row.object_type == "report" and row.detail == {"query": "start=2025-01&end=2025-12"}


# --- snapshots ------------------------------------------------------------------------------------------------------


def stored_table(value: Any) -> dict[str, Any]:
    return {
        "key": "new_cases",
        "title": "New cases",
        "description": "",
        "row_header": "Period",
        "columns": [{"key": "cases", "label": "Cases", "kind": "count"}],
        "rows": [{"label": "2026-01", "values": [value]}],
        "total": {"label": "Total", "values": [value]},
    }


@pytest.fixture
def snapshots(home_org: Organisation, other_org: Organisation) -> dict[str, Snapshot]:
    """Snapshots stored before the cell key, by cell suppression: they keep their "<5"."""

    def make(organisation: Organisation) -> Snapshot:
        return Snapshot.objects.create(
            organisation=organisation,
            title="Monthly report 2026-01",
            parameters={"organisations": [organisation.pk], "start": "2026-01-01", "end": "2026-01-01"},
            threshold=5,
            method=DisclosureMethod.SUPPRESSION,
            tables=[stored_table(SMALL)],
            tables_suppressed=[stored_table("<5")],
        )

    return {"home": make(home_org), "other": make(other_org)}


def test_the_snapshot_list_shows_the_readers_organisations_only(
    client_for: Callable[[str], Client], snapshots: dict[str, Snapshot]
) -> None:
    response = client_for("analyst").get("/reports/snapshots/")
    assert response.status_code == 200
    assert list(response.context["page"]) == [snapshots["home"]]


@pytest.mark.parametrize(("persona", "shown"), [("analyst", "<5"), ("supervisor", str(SMALL)), ("administrator", "3")])
def test_a_snapshot_shows_true_counts_only_to_its_organisations_supervisors_and_administrators(
    persona: str, shown: str, client_for: Callable[[str], Client], snapshots: dict[str, Snapshot]
) -> None:
    response = client_for(persona).get(f"/reports/snapshots/{snapshots['home'].pk}/")
    assert response.status_code == 200
    assert new_cases_text(response) == shown
    assert AccessLog.objects.filter(action=Action.VIEW, object_type="reports.snapshot").count() == 1
    content = response.content.decode()
    if persona == "analyst":  # the statement of the method the snapshot was made with
        assert "Counts from 1 to 4 are shown as &lt;5" in content
        assert '<abbr title="fewer than 5">&lt;5</abbr>' in content and "Australian Bureau" not in content
    else:
        assert "True counts, not disclosure-controlled. Do not publish." in content


def test_a_new_snapshot_says_it_was_perturbed_by_the_cell_key(
    client_for: Callable[[str], Client], personas: dict[str, User], home_org: Organisation
) -> None:
    open_cases(personas["worker"])
    month = timezone.localdate().replace(day=1)
    snapshot = snapshot_create(organisation=home_org, month=month)
    assert snapshot is not None and snapshot.method == DisclosureMethod.CELL_KEY and snapshot.perturbation == 2
    response = client_for("analyst").get(f"/reports/snapshots/{snapshot.pk}/")
    assert new_cases_text(response) == published_count(home_org)
    assert "the cell-key method of the Australian Bureau of Statistics" in response.content.decode()
    download = client_for("analyst").get(f"/reports/snapshots/{snapshot.pk}/download/", {"format": "csv"})
    assert "the cell-key method of the Australian Bureau of Statistics" in download.content.decode("utf-8-sig")


def test_a_snapshot_of_another_organisation_is_not_found(
    client_for: Callable[[str], Client], snapshots: dict[str, Snapshot]
) -> None:
    client = client_for("analyst")
    assert client.get(f"/reports/snapshots/{snapshots['other'].pk}/").status_code == 404
    assert client.get(f"/reports/snapshots/{snapshots['other'].pk}/download/").status_code == 404
    assert client.post("/reports/printed/", {"snapshot": snapshots["other"].pk}).status_code == 404


@pytest.mark.parametrize(("persona", "shown"), [("analyst", b"<5"), ("supervisor", b"2026-01,3")])
def test_a_snapshot_download_is_logged_and_suppressed_for_analysts(
    persona: str, shown: bytes, client_for: Callable[[str], Client], snapshots: dict[str, Snapshot]
) -> None:
    response = client_for(persona).get(f"/reports/snapshots/{snapshots['home'].pk}/download/", {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="monthly-report-2026-01-')
    assert shown in response.content
    if persona == "analyst":
        assert b"2026-01,3" not in response.content
        assert b"Counts from 1 to 4 are shown as <5" in response.content  # the method it was made with
    assert AccessLog.objects.filter(action=Action.EXPORT, object_type="reports.snapshot").count() == 1


# --- the page of a background export --------------------------------------------------------------------------------


def test_a_pending_export_page_refreshes_itself(client_for: Callable[[str], Client], personas: dict[str, User]) -> None:
    export = Export.objects.create(
        user=personas["analyst"],
        parameters={"organisations": [1], "start": "2025-01-01", "end": "2025-12-01"},
        format="csv",
    )
    client = client_for("analyst")
    content = client.get(f"/reports/exports/{export.pk}/").content.decode()
    assert '<meta http-equiv="refresh" content="2">' in content
    assert client.get(f"/reports/exports/{export.pk}/download/").status_code == 302  # not ready yet
    Export.objects.filter(pk=export.pk).update(status="failed", error="Something went wrong.")
    content = client.get(f"/reports/exports/{export.pk}/").content.decode()
    assert "http-equiv" not in content and "Something went wrong." in content


def test_the_same_report_is_served_from_the_cache_until_the_rollups_are_counted_again(
    client_for: Callable[[str], Client], personas: dict[str, User], small_count: dict[str, str], home_org: Organisation
) -> None:
    analyst, supervisor = client_for("analyst"), client_for("supervisor")
    with CaptureQueriesContext(connection) as built:
        first = analyst.get("/reports/", small_count)
    with CaptureQueriesContext(connection) as cached:
        again = analyst.get("/reports/", small_count)
    # Session, user, form choices and the log are read again; no statistic is.
    assert not [q for q in cached.captured_queries if "reports_store_part" in q["sql"]]
    assert [q for q in built.captured_queries if "reports_store_part" in q["sql"]]
    assert new_cases_text(first) == new_cases_text(again) == published_count(home_org)
    assert again.context["generated_at"] > first.context["generated_at"]  # when it was served, not first built
    # True counts are cached apart from controlled ones.
    assert new_cases_text(supervisor.get("/reports/", small_count)) == str(SMALL)
    open_cases(personas["worker"], count=3)  # counted again: the cache no longer answers
    assert new_cases_text(analyst.get("/reports/", small_count)) == published_count(home_org)  # of 6
    assert new_cases_text(supervisor.get("/reports/", small_count)) == "6"
    # The views were logged every time, cached or not.
    assert AccessLog.objects.filter(actor=personas["analyst"], object_type="report").count() == 3

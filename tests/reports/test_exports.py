"""Report exports: the files, made at once or in the background, and who may have them."""

import csv
import io
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import Organisation, User
from audit.models import AccessLog, Action
from cases.services import case_open
from reports import services
from reports.engine import Params
from reports.exports import render_csv, render_json, render_xlsx, tables_from_json
from reports.models import Export, ExportStatus
from reports.perturbation import CELL_KEY, SUPPRESSION
from reports.tables import Cell, Column, PublishedTable
from tests.reports.test_views import SMALL, open_cases, published_count, this_month, this_year
from tests.workers import TaskWorker, wait_for


def month_query(**extra: Any) -> dict[str, Any]:
    """This year to this month: what an analyst may ask for."""
    return {"start": this_year(), "end": this_month(), **extra}


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def new_cases_from_csv(content: bytes) -> str:
    rows = csv_rows(content)
    start = rows.index(["New cases"])
    return next(row for row in rows[start:] if row[:1] == [this_month()])[1]


def new_cases_from_json(content: bytes) -> Any:
    data = json.loads(content)
    table = next(t for t in data["tables"] if t["key"] == "new_cases")
    return table["rows"][-1]["values"][0]


def new_cases_from_xlsx(content: bytes) -> Any:
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames[0] == "About"
    sheet = book["New cases"]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    return next(row for row in rows if row[:1] == [this_month()])[1]


READ = {"csv": new_cases_from_csv, "json": new_cases_from_json, "xlsx": new_cases_from_xlsx}


def disclosure_control(format: str, content: bytes) -> str:
    """The statement an export gives under "Disclosure control"."""
    if format == "json":
        return str(json.loads(content)["about"]["Disclosure control"])
    if format == "csv":
        return next(row[1] for row in csv_rows(content) if row[:1] == ["Disclosure control"])
    about = load_workbook(io.BytesIO(content))["About"]
    return str(next(row[1] for row in about.iter_rows(values_only=True) if row[0] == "Disclosure control"))


# --- the renderers --------------------------------------------------------------------------------------------------


def hand_made(suppressed: bool = True) -> PublishedTable:
    """A table as snapshots stored under cell suppression hold it: "<5" and "x"."""
    return PublishedTable(
        key="demo",
        title="Demo: a table [of] things",
        description="",
        row_header="Platform",
        columns=[Column("a", "Cases"), Column("b", "% paid", "percent")],
        rows=[
            ('=HYPERLINK("http://x")', [Cell(None, "<5", "small"), Cell(None, "x", "hidden")]),
            ("Snapchat", [Cell(12, "12"), Cell(25.0, "25.0%")]),
        ],
        total=("Total", [Cell(None, "x", "hidden"), Cell(None, "")]),
        chart="bar",
        suppressed=suppressed,
        threshold=5,
        method=SUPPRESSION,
    )


def perturbed_table() -> PublishedTable:
    """A perturbed table: every count a number; a median of fewer than k values is "x"."""
    return PublishedTable(
        key="steps",
        title="Steps",
        description="",
        row_header="Step",
        columns=[Column("a", "Done"), Column("b", "Median days", "days")],
        rows=[("Blocked", [Cell(5, "5"), Cell(None, "x", "hidden")]), ("Reported", [Cell(0, "0"), Cell(None, "")])],
        total=None,
        chart="bar",
        suppressed=True,
        threshold=5,
        method=CELL_KEY,
    )


ABOUT = [("Organisations", "Home Helpline"), ("Disclosure control", "Disclosure-controlled.")]


def test_csv_writes_suppressed_cells_as_their_text_and_no_formula() -> None:
    rows = csv_rows(render_csv([hand_made()], ABOUT))
    assert rows[0] == ["Organisations", "Home Helpline"]
    assert ['\'=HYPERLINK("http://x")', "<5", "x"] in rows
    assert ["Snapchat", "12", "25.0"] in rows
    assert ["Total", "x", ""] in rows
    assert any("fewer than 5" in row[0] for row in rows if row)


def test_a_perturbed_tables_legend_explains_its_x() -> None:
    rows = csv_rows(render_csv([perturbed_table()], ABOUT))
    assert ["Blocked", "5", "x"] in rows and ["Reported", "0", ""] in rows
    assert ["x: not shown, because it would be computed from fewer than 5."] in rows
    assert not any("<5" in value for row in rows for value in row)
    data = json.loads(render_json([perturbed_table()], ABOUT))
    assert data["method"] == "cell_key" and data["tables"][0]["rows"][0]["values"] == [5, "x"]


def test_xlsx_has_an_about_sheet_then_one_sheet_per_table() -> None:
    book = load_workbook(io.BytesIO(render_xlsx([hand_made(), hand_made()], ABOUT)))
    assert book.sheetnames == ["About", "Demo  a table  of  things", "Demo  a table  of  things (2)"]
    assert [list(row) for row in book["About"].iter_rows(values_only=True)] == [list(pair) for pair in ABOUT]
    sheet = book.worksheets[1]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert ['=HYPERLINK("http://x")', "<5", "x"] in rows
    cell = next(c for row in sheet.iter_rows() for c in row if c.value == '=HYPERLINK("http://x")')
    assert cell.data_type == "s"  # text, never a formula
    assert ["Snapchat", 12, 25] in rows


def test_json_gives_numbers_and_the_text_of_suppressed_cells() -> None:
    data = json.loads(render_json([hand_made()], ABOUT))
    assert data["about"]["Organisations"] == "Home Helpline"
    assert data["suppressed"] is True and data["threshold"] == 5 and data["method"] == "suppression"
    assert data["tables"][0]["rows"][0]["values"] == ["<5", "x"]
    assert data["tables"][0]["rows"][1]["values"] == [12, 25.0]


def test_stored_tables_come_back_as_the_same_tables() -> None:
    original = hand_made()
    back = tables_from_json([original.as_json()], suppressed=True, threshold=5, method=SUPPRESSION)[0]
    assert back.as_json() == original.as_json()
    assert [[cell.text for cell in cells] for _, cells in back.rows] == [["<5", "x"], ["12", "25.0%"]]
    assert [cell.flag for cell in back.rows[0][1]] == ["small", "hidden"]
    assert render_csv([back], ABOUT) == render_csv([original], ABOUT)


# --- exports made at once -------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("format", ["csv", "xlsx", "json"])
def test_an_analysts_export_holds_the_perturbed_count_never_the_true_one(
    format: str, client_for: Callable[[str], Client], personas: dict[str, User], home_org: Organisation
) -> None:
    open_cases(personas["worker"])
    response = client_for("analyst").get("/reports/export/", month_query(format=format))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="report-{this_year()}-to-{this_month()}.{format}"'
    shown = published_count(home_org)
    assert str(READ[format](response.content)) == shown and shown in ("0", "5")
    statement = disclosure_control(format, response.content)
    assert "at most ±2 (the cell-key method of the Australian Bureau of Statistics)" in statement
    assert "Counts from 1 to 4 are shown as 0 or 5" in statement
    log = AccessLog.objects.get(action=Action.EXPORT, object_type="report")
    assert log.actor == personas["analyst"]
    assert log.detail["format"] == format and log.detail["suppressed"] is True


@pytest.mark.django_db
@pytest.mark.parametrize("format", ["csv", "xlsx", "json"])
def test_a_supervisors_export_holds_the_true_count(
    format: str, client_for: Callable[[str], Client], personas: dict[str, User]
) -> None:
    open_cases(personas["worker"])
    response = client_for("supervisor").get("/reports/export/", month_query(format=format))
    assert response.status_code == 200
    assert READ[format](response.content) in (SMALL, str(SMALL))
    assert "Do not publish them" in disclosure_control(format, response.content)
    assert AccessLog.objects.get(action=Action.EXPORT, object_type="report").detail["suppressed"] is False


@pytest.mark.django_db
def test_an_export_without_a_format_shows_the_form_again(client_for: Callable[[str], Client]) -> None:
    response = client_for("analyst").get("/reports/export/", month_query(format="pdf"))
    assert response.status_code == 400
    assert "Choose an export format" in response.content.decode()
    assert not AccessLog.objects.filter(action=Action.EXPORT).exists()


# --- exports made in the background ---------------------------------------------------------------------------------


def make_export(user: User, organisation: Organisation, **fields: Any) -> Export:
    month = timezone.localdate().replace(day=1)
    params = Params(organisations=(organisation.pk,), start=month, end=month)
    return Export.objects.create(user=user, parameters=params.as_json(), format="json", **fields)


@pytest.mark.django_db
def test_an_export_is_made_once_however_often_the_task_runs(personas: dict[str, User], home_org: Organisation) -> None:
    export = make_export(personas["analyst"], home_org)
    assert services.export_run(export_id=export.pk) is True
    export.refresh_from_db()
    assert export.status == ExportStatus.DONE and export.progress == 100 and export.finished_at
    made = bytes(export.content or b"")
    assert services.export_run(export_id=export.pk) is False
    export.refresh_from_db()
    assert bytes(export.content or b"") == made
    assert services.export_run(export_id=0) is False  # gone: nothing to do


@pytest.mark.django_db
def test_a_failed_export_says_so(
    personas: dict[str, User], home_org: Organisation, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("SELECT secret FROM somewhere")

    monkeypatch.setattr(services, "published_for", broken)
    export = make_export(personas["analyst"], home_org)
    assert services.export_run(export_id=export.pk) is False
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED
    assert export.error.startswith("The export could not be made.") and "secret" not in export.error


class Killed(BaseException):
    """The worker process dies: nothing after this point runs, nothing catches it."""


@pytest.mark.django_db
def test_an_export_that_stops_the_worker_every_time_is_failed_after_three_attempts(
    personas: dict[str, User], home_org: Organisation, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    runs = 0

    def the_worker_dies(*args: Any, **kwargs: Any) -> Any:
        nonlocal runs
        runs += 1
        raise Killed

    monkeypatch.setattr(services, "published_for", the_worker_dies)
    export = make_export(personas["analyst"], home_org)
    with pytest.raises(Killed):
        services.export_run(export_id=export.pk)
    # Handed out again at once, the task leaves the export, to look again when another run may take it over.
    assert services.export_run(export_id=export.pk) is False
    expiry = services.export_claim_expiry(export_id=export.pk)
    assert expiry == export.created_at + timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 5)
    Export.objects.filter(pk=export.pk).update(created_at=timezone.now() - (expiry - export.created_at))
    for attempt in range(2, services.MAX_ATTEMPTS + 1):  # from then on, each delivery takes it over
        with pytest.raises(Killed):
            services.export_run(export_id=export.pk)
        export.refresh_from_db()
        assert (export.status, export.attempts) == (ExportStatus.RUNNING, attempt)

    assert services.export_run(export_id=export.pk) is False
    export.refresh_from_db()
    assert runs == services.MAX_ATTEMPTS
    assert export.status == ExportStatus.FAILED and export.content is None and export.finished_at
    assert export.error == (
        "The worker stopped while making this export, 3 times. It is not tried again: ask for a smaller report, "
        "or ask an administrator."
    )
    assert services.export_claim_expiry(export_id=export.pk) is None
    assert services.export_run(export_id=export.pk) is False
    assert runs == services.MAX_ATTEMPTS


@pytest.mark.django_db
def test_an_export_follows_the_askers_access_when_it_runs(personas: dict[str, User], other_org: Organisation) -> None:
    analyst = personas["analyst"]
    analyst.report_organisations.add(other_org)
    export = make_export(analyst, other_org)
    analyst.report_organisations.remove(other_org)
    services.export_run(export_id=export.pk)
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED
    assert export.error == "You may no longer read the statistics of these organisations."
    assert export.content is None


@pytest.mark.django_db
def test_someone_elses_export_is_not_found(
    client_for: Callable[[str], Client], personas: dict[str, User], home_org: Organisation
) -> None:
    export = make_export(personas["analyst"], home_org, status=ExportStatus.DONE, progress=100, content=b"{}")
    assert client_for("analyst").get(f"/reports/exports/{export.pk}/download/").status_code == 200
    for persona in ["supervisor", "administrator", "other_administrator", "worker"]:
        client = client_for(persona)
        assert client.get(f"/reports/exports/{export.pk}/").status_code == 404, persona
        assert client.get(f"/reports/exports/{export.pk}/download/").status_code == 404, persona
    assert AccessLog.objects.filter(action=Action.EXPORT, object_type="reports.export").count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # the migrations' data (age schemes, roles) back
def test_a_large_export_is_made_in_the_background_and_downloaded(
    task_worker: TaskWorker, client_for: Callable[[str], Client], personas: dict[str, User], settings: Any
) -> None:
    settings.REPORT_EXPORT_INLINE_CASES = 0  # any case at all is too many to make at once
    # No rollup refresh here: a materialised view outlives the emptying of the tables after this test.
    case_open(actor=personas["worker"], facts={"victim_age": 15})
    client = client_for("analyst")

    response = client.get("/reports/export/", month_query(format="csv"))
    export = Export.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/reports/exports/{export.pk}/"
    assert export.user == personas["analyst"] and export.format == "csv"
    assert export.parameters["start"] == f"{this_year()}-01"
    assert AccessLog.objects.filter(action=Action.EXPORT, object_type="reports.export").count() == 1

    assert wait_for(lambda: Export.objects.get().status in (ExportStatus.DONE, ExportStatus.FAILED), seconds=60)
    export.refresh_from_db()
    assert export.status == ExportStatus.DONE, export.error
    assert export.progress == 100

    page = client.get(f"/reports/exports/{export.pk}/").content.decode()
    assert "http-equiv" not in page and f"/reports/exports/{export.pk}/download/" in page
    download = client.get(f"/reports/exports/{export.pk}/download/")
    assert download.status_code == 200
    assert download["Content-Disposition"] == f'attachment; filename="report-{this_year()}-to-{this_month()}.csv"'
    rows = csv_rows(download.content)
    assert ["New cases"] in rows
    assert any(row[:1] == ["Disclosure control"] and row[1].startswith("To protect the people counted") for row in rows)
    assert AccessLog.objects.filter(action=Action.EXPORT, object_type="reports.export").count() == 2
    assert client_for("supervisor").get(f"/reports/exports/{export.pk}/download/").status_code == 404

"""The import pages: upload, the job page with its progress and report, the import log, the templates."""

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import User
from accounts.roles import Role
from audit.models import AccessLog, Action
from cases.models import Case
from imports import services
from imports.columns import COLUMNS
from imports.models import ImportJob, ImportStatus
from tests.conftest import login_verified
from tests.factories import UserFactory
from tests.imports.helpers import as_csv, row, upload

pytestmark = pytest.mark.django_db


def post_file(client: Client, content: bytes, name: str = "cases.csv", **options: str) -> Any:
    data = {"file": SimpleUploadedFile(name, content), "mode": "all_or_nothing", "identifiers": "reject", **options}
    return client.post(reverse("imports:new"), data)


def test_a_supervisor_uploads_a_file_and_follows_it(
    client_for: Callable[[str], Client], personas: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for("supervisor")
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_file(client, as_csv([row(reference="OLD-1"), row(channel="fax")]), mode="valid_only")
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("imports:detail", args=[job.pk])
    assert len(callbacks) == 1  # the task is sent once the upload is committed
    assert (job.user, job.mode, job.status) == (personas["supervisor"], "valid_only", ImportStatus.PENDING)
    assert AccessLog.objects.filter(action=Action.CREATE, object_type="imports.importjob", object_id=str(job.pk))

    waiting = client.get(reverse("imports:detail", args=[job.pk]))
    assert b'<meta http-equiv="refresh"' in waiting.content
    assert b"<progress" in waiting.content

    services.import_run(job_id=job.pk)
    page = client.get(reverse("imports:detail", args=[job.pk]))
    assert b'http-equiv="refresh"' not in page.content
    text = page.content.decode()
    assert "1 case was imported." in text
    assert "“fax” is not one of the codes of channel" in text
    assert AccessLog.objects.filter(action=Action.VIEW, object_type="imports.importjob", object_id=str(job.pk))

    log = client.get(reverse("imports:list")).content.decode()
    assert "cases.csv" in log and "sofia" in log


def test_the_report_lists_problems_by_row_and_column(
    client_for: Callable[[str], Client], personas: dict[str, User]
) -> None:
    job = upload(personas["supervisor"], as_csv([row(), row(channel="fax", victim_age="130"), row(risk_level="")]))
    services.import_run(job_id=job.pk)
    response = client_for("supervisor").get(reverse("imports:report", args=[job.pk]))
    assert response["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert lines[0] == ["row", "column", "kind", "message"]
    assert {(line[0], line[1]) for line in lines[1:]} == {("3", "channel"), ("3", "victim_age"), ("4", "risk_level")}
    assert AccessLog.objects.filter(action=Action.EXPORT, object_type="imports.importjob", object_id=str(job.pk))


def test_the_same_file_twice_is_refused_on_the_form(
    client_for: Callable[[str], Client], personas: dict[str, User]
) -> None:
    client = client_for("supervisor")
    content = as_csv([row()])
    post_file(client, content)
    response = post_file(client, content, name="again.csv")
    assert response.status_code == 400
    assert "already uploaded" in response.content.decode()
    assert ImportJob.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("cases.txt", b"a,b", "Upload a .csv or .xlsx file"),
        ("cases.csv", b"", "The submitted file is empty."),
    ],
)
def test_bad_uploads_are_explained_and_nothing_saved(
    client_for: Callable[[str], Client], name: str, content: bytes, message: str
) -> None:
    response = post_file(client_for("supervisor"), content, name=name)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_supervisor_of_another_organisation_finds_nothing(
    client_for: Callable[[str], Client], personas: dict[str, User], other_org: Any
) -> None:
    job = upload(personas["supervisor"], as_csv([row()]))
    services.import_run(job_id=job.pk)
    stranger = UserFactory.create(username="otto", role=Role.SUPERVISOR, organisation=other_org)
    client = login_verified(Client(), stranger)
    for name in ("imports:detail", "imports:report"):
        assert client.get(reverse(name, args=[job.pk])).status_code == 404
    assert "cases.csv" not in client.get(reverse("imports:list")).content.decode()
    assert AccessLog.objects.filter(action=Action.REFUSED, actor=stranger, object_type="imports.importjob").exists()


@pytest.mark.parametrize("persona", ["worker", "analyst", "administrator"])
def test_only_supervisors_import(client_for: Callable[[str], Client], persona: str) -> None:
    client = client_for(persona)
    assert client.get(reverse("imports:new")).status_code == 404
    assert post_file(client, as_csv([row()])).status_code == 404
    assert not ImportJob.objects.exists() and not Case.objects.exists()


def test_the_navigation_offers_imports_to_supervisors_only(client_for: Callable[[str], Client]) -> None:
    link = f'href="{reverse("imports:list")}"'
    assert link in client_for("supervisor").get(reverse("home")).content.decode()
    assert link not in client_for("worker").get(reverse("home")).content.decode()


def test_the_templates_document_every_column(client_for: Callable[[str], Client]) -> None:
    client = client_for("supervisor")
    response = client.get(reverse("imports:template", args=["xlsx"]))
    assert response["Content-Disposition"] == 'attachment; filename="case-import-template.xlsx"'
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Cases", "Codes"]
    assert [cell.value for cell in book["Cases"][1]] == [column.name for column in COLUMNS]
    documented = [line[0] for line in book["Codes"].iter_rows(min_row=2, values_only=True) if line[0]]
    assert {column.name for column in COLUMNS} <= set(documented)
    assert "channel: chat" in documented
    response = client.get(reverse("imports:template", args=["csv"]))
    header = next(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert header == [column.name for column in COLUMNS]
    assert client.get(reverse("imports:template", args=["pdf"])).status_code == 404
    page = client.get(reverse("imports:new")).content.decode()
    assert "<code>fake_romance</code>" in page

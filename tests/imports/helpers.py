"""Building import files for the tests: rows as dicts, written as CSV or XLSX."""

import csv
import io
from typing import Any

from django.db import transaction
from openpyxl import Workbook

from imports import services
from imports.columns import COLUMNS
from imports.models import ImportJob

HEADER = [column.name for column in COLUMNS]

GOOD: dict[str, Any] = {
    "first_contact_at": "2021-03-14 18:30",
    "status": "open",
    "risk_level": "medium",
    "channel": "chat",
    "reporter_type": "victim",
    "victim_age": "15",
    "victim_gender": "male",
    "victim_country": "IT",
    "victim_region": "IT-RM",
    "sextortion_type": "financial",
    "platforms_first_contact": "instagram",
    "platforms_moved_to": "snapchat",
    "approaches": "flattery;fake_romance",
    "content_types": "self_image",
    "demands": "money",
    "threats": "family;friends",
    "victim_paid": "yes",
    "amount_band": "50_249",
    "payment_method": "gift_card",
    "offender_count": "1",
    "offender_country": "NG",
    "incident_description": "Contacted by a stranger who asked for images, then demanded money.",
}


def row(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


def as_csv(rows: list[dict[str, Any]], header: list[str] | None = None, delimiter: str = ",") -> bytes:
    header = header or HEADER
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, delimiter=delimiter, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def as_xlsx(rows: list[dict[str, Any]], header: list[str] | None = None) -> bytes:
    header = header or HEADER
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Cases"
    sheet.append(header)
    for values in rows:
        sheet.append([values.get(name) for name in header])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(user: Any, content: bytes, name: str = "cases.csv", **options: Any) -> ImportJob:
    """An import job as the page makes it (the task is not sent: the test runs it)."""
    with transaction.atomic():
        return services.import_request(user=user, file_name=name, content=content, **options)


def run(user: Any, rows: list[dict[str, Any]], **options: Any) -> ImportJob:
    job = upload(user, as_csv(rows), **options)
    services.import_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def problems(job: ImportJob) -> set[tuple[int, str]]:
    return {(problem["row"], problem["column"]) for problem in job.errors}

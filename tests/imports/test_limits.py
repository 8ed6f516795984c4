"""Files that describe far more than they hold: each is refused at once with a clear message, having used little
memory and imported nothing; a file that stops the worker every time is not handed out for ever."""

import io
import re
import struct
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from accounts.models import User
from cases.models import Case
from imports import rows, services
from imports.models import ImportJob, ImportStatus
from tests.imports.helpers import HEADER, as_csv, as_xlsx, row, upload
from tests.imports.test_services import Killed, snapshot_of_database

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
SHEET = "xl/worksheets/sheet1.xml"
SHEET_KEY = "xl__worksheets__sheet1_xml"  # as rezip names it


@pytest.fixture
def sofia(personas: dict[str, User]) -> User:
    return personas["supervisor"]


def far_cell(cell: str = "XFD20000") -> bytes:
    """The reported file: the template's header and one cell far away (the sheet declares A1 to that cell)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Cases"
    sheet.append(HEADER)
    sheet[cell] = "x"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rezip(content: bytes, **changes: Callable[[bytes], bytes]) -> bytes:
    """The workbook with some parts rewritten (named with / as __ and . as _)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            data = source.read(name)
            change = changes.get(name.replace("/", "__").replace(".", "_"))
            target.writestr(name, change(data) if change else data)
    return out.getvalue()


def shared_string_in_every_row(text: str, count: int) -> bytes:
    """A workbook storing one text once, as a shared string, and using it as the description of ``count`` rows."""

    def add_rows(xml: bytes) -> bytes:
        column = get_column_letter(HEADER.index("incident_description") + 1)
        cells = "".join(f'<row r="{n}"><c r="{column}{n}" t="s"><v>0</v></c></row>' for n in range(2, count + 2))
        return xml.replace(b"</sheetData>", cells.encode() + b"</sheetData>")

    def declare(types: bytes) -> bytes:
        shared = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
        part = f'<Override PartName="/xl/sharedStrings.xml" ContentType="{shared}"/>'
        return types.replace(b"</Types>", part.encode() + b"</Types>")

    out = io.BytesIO(rezip(as_xlsx([]), **{SHEET_KEY: add_rows, "[Content_Types]_xml": declare}))
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as package:
        main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
        package.writestr("xl/sharedStrings.xml", f'<sst xmlns="{main}"><si><t>{text}</t></si></sst>')
    return out.getvalue()


def dimension(ref: str | None) -> Callable[[bytes], bytes]:
    """Rewrite the sheet's declared dimension (None: leave none)."""

    def change(xml: bytes) -> bytes:
        return re.sub(rb"<dimension [^>]*/>", f'<dimension ref="{ref}"/>'.encode() if ref else b"", xml)

    return change


def declare_size(content: bytes, name: str, size: int) -> bytes:
    """The zip with the unpacked size its directory declares for one part changed (the part itself unchanged)."""
    data = bytearray(content)
    start = data.index(b"PK\x01\x02")
    while data[start : start + 4] == b"PK\x01\x02":
        name_length, extra_length, comment_length = struct.unpack("<HHH", data[start + 28 : start + 34])
        if data[start + 46 : start + 46 + name_length].decode() == name:
            struct.pack_into("<I", data, start + 24, size)
            return bytes(data)
        start += 46 + name_length + extra_length + comment_length
    raise AssertionError(f"no part {name}")


@contextmanager
def peak_memory() -> Iterator[list[int]]:
    """The most memory Python held above the start, in bytes, measured over the block."""
    found: list[int] = []
    tracemalloc.start()
    try:
        yield found
    finally:
        found.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


def refused(user: User, content: bytes, name: str) -> ImportJob:
    """Upload and run the import as the worker would; the job afterwards, which must have imported nothing."""
    before = snapshot_of_database()
    job = upload(user, content, name=name)
    with peak_memory() as peak:
        services.import_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.REJECTED, job.message
    assert job.errors == [{"row": job.errors[0]["row"], "column": "", "message": job.message}]
    assert (job.total_rows, job.imported_rows, job.content) == (0, 0, None)  # refused before any row was checked
    assert snapshot_of_database() == before
    # The old reader wrote the reported file out as 327 MB of CSV; a refusal holds a few megabytes at most.
    assert peak[0] < 16 * MB, peak[0]
    return job


LAST = get_column_letter(len(HEADER))  # the template's last column
COLUMNS_MESSAGE = f"The sheet reaches column XFD, but the template has {len(HEADER)} columns"


@pytest.mark.parametrize(
    ("what", "change"),
    [
        ("as reported: the sheet declares A1:XFD20000", None),
        ("the sheet declares the template's size only", dimension(f"A1:{LAST}2")),
        ("the sheet declares no size", dimension(None)),
    ],
)
def test_a_tiny_workbook_reaching_column_xfd_is_refused_at_once(
    sofia: User, what: str, change: Callable[[bytes], bytes] | None
) -> None:
    content = far_cell() if change is None else rezip(far_cell(), **{SHEET_KEY: change})
    assert len(content) < 10_000
    job = refused(sofia, content, "cases.xlsx")
    assert COLUMNS_MESSAGE in job.message
    assert "delete the columns after the last one used" in job.message


def test_a_workbook_declaring_more_rows_than_the_limit_is_refused_before_reading_one(sofia: User) -> None:
    content = rezip(far_cell("A2"), **{SHEET_KEY: dimension(f"A1:{LAST}1048576")})
    job = refused(sofia, content, "cases.xlsx")
    assert job.message == "The file has more than 200,000 rows: split it."
    assert job.errors[0]["row"] == 1


@pytest.mark.parametrize(("what", "declared"), [("declaring less", f"A1:{LAST}2"), ("declaring nothing", None)])
def test_a_workbook_past_the_row_limit_is_refused_at_the_first_row_too_many(
    sofia: User, monkeypatch: pytest.MonkeyPatch, what: str, declared: str | None
) -> None:
    monkeypatch.setattr(rows, "MAX_ROWS", 1_000)  # a smaller limit, for a shorter test
    job = refused(sofia, rezip(far_cell("A1048576"), **{SHEET_KEY: dimension(declared)}), "cases.xlsx")
    assert job.message == "The file has more than 1,000 rows: split it."
    assert job.errors[0]["row"] == 1_002  # the reading stopped there, far before the cell of row 1,048,576


def test_a_sheet_slightly_wider_than_the_template_with_empty_columns_is_read(sofia: User) -> None:
    """Room for a few empty columns after the template's (formatting often leaves them)."""
    widest = get_column_letter(rows.MAX_COLUMNS)
    content = rezip(as_xlsx([row(reference="OLD-1")]), **{SHEET_KEY: dimension(f"A1:{widest}2")})
    job = upload(sofia, content, name="cases.xlsx")
    services.import_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.imported_rows) == (ImportStatus.DONE, 1)


PACKAGE_MESSAGE = "This workbook would unpack to far more than its cases need, so it is not read."


def test_a_workbook_declaring_a_huge_part_is_refused_before_it_is_opened(sofia: User) -> None:
    content = declare_size(as_xlsx([row()]), SHEET, 3 * 1024 * MB - 1)
    assert PACKAGE_MESSAGE in refused(sofia, content, "cases.xlsx").message


def test_a_workbook_declaring_huge_shared_strings_is_refused(sofia: User) -> None:
    """openpyxl reads every shared string into memory when it opens a workbook."""
    content = declare_size(shared_string_in_every_row("text", 1), "xl/sharedStrings.xml", 300 * MB)
    assert PACKAGE_MESSAGE in refused(sofia, content, "cases.xlsx").message


def test_a_part_that_packs_suspiciously_well_is_refused(sofia: User) -> None:
    content = as_xlsx([row()])
    padded = io.BytesIO(content)
    with zipfile.ZipFile(padded, "a", zipfile.ZIP_DEFLATED) as package:
        package.writestr("xl/media/padding.bin", bytes(4 * MB))  # packs to about 4 KB
    assert len(padded.getvalue()) < len(content) + 10_000
    assert PACKAGE_MESSAGE in refused(sofia, padded.getvalue(), "cases.xlsx").message


def test_a_part_holding_more_than_it_declares_is_not_read_past_that(sofia: User) -> None:
    """Reading a part stops at the size the zip declares, so the declared sizes bound what is unpacked."""
    content = declare_size(as_xlsx([row()]), SHEET, 100)
    assert "not a readable XLSX workbook" in refused(sofia, content, "cases.xlsx").message


def test_a_workbook_with_many_sheets_is_refused(sofia: User) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Cases"
    sheet.append(HEADER)
    for number in range(rows.MAX_SHEETS):
        book.create_sheet(f"Notes {number}")
    out = io.BytesIO()
    book.save(out)
    job = refused(sofia, out.getvalue(), "cases.xlsx")
    assert job.message == "The workbook has more than 50 sheets: keep the sheet of cases only."


@pytest.mark.parametrize(
    ("what", "content", "message"),
    [
        (
            "too many cells",
            lambda: as_csv([]) + b",".join([b"x"] * 1_000) + b"\n",
            f"Row 2 has 1000 cells, but the template has {len(HEADER)} columns",
        ),
        (
            "a huge cell",
            lambda: as_csv([row(incident_description="word " * 30_000)]),
            "Row 2 is longer than 100,000 characters",
        ),
        ("a line of commas", lambda: as_csv([]) + b"," * MB + b"\n", "Row 2 is longer than 100,000 characters"),
        (
            "a quote never closed",
            lambda: as_csv([]) + b'"OLD-1,2021-03-14,open,medium\n' + b"OLD-2,2021-03-14,open,medium\n" * 5_000,
            "Row 2 is longer than 100,000 characters: no row of the template needs as much. Check its quotes.",
        ),
    ],
)
def test_a_csv_with_rows_no_template_makes_is_refused(
    sofia: User, what: str, content: Callable[[], bytes], message: str
) -> None:
    job = refused(sofia, content(), "cases.csv")
    assert message in job.message
    assert job.errors[0]["row"] == 2


def test_a_csv_past_the_row_limit_is_refused_before_a_row_is_checked(
    sofia: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rows, "MAX_ROWS", 20)
    job = refused(sofia, as_csv([row() for _ in range(21)]), "cases.csv")
    assert job.message == "The file has more than 20 rows: split it."
    assert job.errors[0]["row"] == 22  # the header, 20 rows, and the first one too many


def test_a_workbook_past_the_row_limit_is_refused_before_a_row_is_checked(
    sofia: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rows, "MAX_ROWS", 20)
    job = refused(sofia, as_xlsx([row() for _ in range(21)]), "cases.xlsx")
    assert job.message == "The file has more than 20 rows: split it."


def test_a_workbook_whose_cases_take_more_text_than_a_csv_upload_may_is_refused(
    sofia: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shared string is stored once but may fill every row: 90 KB used 10,000 times would be 900 MB of text."""
    content = shared_string_in_every_row("a" * 90_000, 10_000)
    assert len(content) < 200_000
    monkeypatch.setattr(rows, "MAX_BYTES", 2 * MB)  # the file is far smaller
    job = refused(sofia, content, "cases.xlsx")
    assert job.message == "The cases of this workbook take more than 2 MB as text: split it."
    assert job.errors[0]["row"] == 2 + 2 * MB // 90_000


# --- a file that stops the worker ------------------------------------------------------------------------------------


def test_a_file_that_stops_the_worker_every_time_is_failed_after_three_attempts(
    sofia: User, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    before = snapshot_of_database()
    job = upload(sofia, as_xlsx([row()]), name="cases.xlsx")
    readings = 0

    def the_worker_dies(*args: Any, **kwargs: Any) -> bytes:
        nonlocal readings
        readings += 1
        raise Killed

    monkeypatch.setattr(services, "csv_of", the_worker_dies)
    for attempt in range(1, services.MAX_ATTEMPTS + 1):
        with pytest.raises(Killed):
            services.import_run(job_id=job.pk)
        job.refresh_from_db()
        assert (job.status, job.attempts) == (ImportStatus.VALIDATING, attempt)
        # Handed out again at once, the task finds the claim alive and leaves it, to look again when it expires.
        assert services.import_run(job_id=job.pk) is False
        expiry = services.import_claim_expiry(job_id=job.pk)
        assert job.started_at is not None and expiry is not None
        assert expiry == job.started_at + timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 5)
        ImportJob.objects.filter(pk=job.pk).update(started_at=timezone.now() - (expiry - job.started_at))

    assert services.import_run(job_id=job.pk) is False
    job.refresh_from_db()
    assert readings == services.MAX_ATTEMPTS
    assert job.status == ImportStatus.FAILED
    assert job.message == (
        "The file could not be processed: the worker stopped while reading it, 3 times. It is not tried again: "
        "split it into smaller files, or ask an administrator."
    )
    assert job.content is None and job.finished_at is not None
    assert services.import_claim_expiry(job_id=job.pk) is None
    assert services.import_run(job_id=job.pk) is False  # nothing more, however often it is delivered
    assert readings == services.MAX_ATTEMPTS
    assert snapshot_of_database() == before
    upload(sofia, as_xlsx([row()]), name="cases.xlsx")  # nothing was imported: the file may come again


def test_a_job_resumed_after_a_crash_counts_its_attempts_and_still_finishes(
    sofia: User, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    """The limit does not stand in the way of an ordinary resumption."""
    job = upload(sofia, as_csv([row(reference="OLD-1")]))
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.VALIDATING,
        attempts=services.MAX_ATTEMPTS - 1,
        started_at=timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 1),
    )
    assert services.import_run(job_id=job.pk) is True
    job.refresh_from_db()
    assert (job.status, job.attempts, job.imported_rows) == (ImportStatus.DONE, services.MAX_ATTEMPTS, 1)
    assert Case.objects.filter(organisation=sofia.organisation, reference="OLD-1").exists()


def test_a_file_that_runs_out_of_memory_fails_with_a_clear_message(
    sofia: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the worker's memory ceiling gives a task that asks for more."""

    def needs_too_much(*args: Any, **kwargs: Any) -> bytes:
        raise MemoryError

    monkeypatch.setattr(services, "csv_of", needs_too_much)
    job = upload(sofia, as_xlsx([row()]), name="cases.xlsx")
    assert services.import_run(job_id=job.pk) is False
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.message == "The file needs more memory than an import may use: split it into smaller files."
    assert services.import_claim_expiry(job_id=job.pk) is None

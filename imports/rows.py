"""Reading an import file and checking its rows with the rules of the case form and services.

Row numbers are those a spreadsheet shows: the header is row 1, the first case row 2.
Messages never repeat a cell's free text: the report outlives the file.
"""

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from xml.etree.ElementTree import ParseError

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from accounts.models import Organisation
from cases import pii
from cases import services as case_services
from cases.identifiers import case_region
from cases.models import HiddenTerm, Status, Term
from cases.selectors import terms_offered_to, terms_visible_to
from imports.columns import BY_NAME, COLUMNS, PLATFORM_COLUMNS, REQUIRED, SEPARATOR, Column

MAX_ROWS = 200_000
MAX_BYTES = 100 * 1024 * 1024  # an uploaded file, and the cases of a workbook once written as text
# Past the template's columns, a little room for empty ones; a row or a sheet that reaches further is refused.
MAX_COLUMNS = len(COLUMNS) + 12
MAX_ROW_CHARS = 100_000  # the text of one row, all its cells together (a description has at most 20,000)
# A workbook is a zip of XML parts: what it may unpack to is checked from the sizes the zip declares before any
# part is read (reading a part stops at its declared size; one that holds more fails its checksum).
MAX_PARTS = 500
MAX_SHEETS = 50
MAX_UNPACKED = 1024 * 1024 * 1024
MAX_SHARED_STRINGS = 256 * 1024 * 1024  # openpyxl keeps every shared string in memory
MAX_RATIO = 100  # unpacked size / packed size of a part over RATIO_FROM bytes: XML of real cells packs 5 to 20 times
RATIO_FROM = 1024 * 1024
REFERENCE_LENGTH = 20
REFERENCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.-]*$")
EXAMPLE_REFERENCE = BY_NAME["reference"].example

TRUE = {"yes", "y", "true", "1", "x"}
FALSE = {"no", "n", "false", "0", ""}
FACT_COLUMNS = {  # every column but those handled on their own
    name for name in BY_NAME if name not in {"reference", "status", "closure_reason", "closed_at", *PLATFORM_COLUMNS}
}


STATUSES = frozenset(Status.values)
CHOICES = {column.name: frozenset(code for code, _label in column.choices) for column in COLUMNS}


def _text(value: Any) -> str:
    """A cell as text: spreadsheets give numbers, booleans and dates as such."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


class FileProblem(Exception):
    """The file as a whole cannot be read: nothing in it is checked further."""

    def __init__(self, message: str, row: int = 1, column: str = "") -> None:
        super().__init__(message)
        self.message, self.row, self.column = message, row, column


@dataclass
class Sheet:
    header: list[str]
    rows: Iterator[tuple[int, list[Any]]]  # (row number, cells), blank rows left out
    estimate: int  # rows expected, for progress; 0 if unknown


def _blank(cells: list[Any]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def _numbered(rows: Iterator[list[Any]] | Any) -> Iterator[tuple[int, list[Any]]]:
    for number, cells in enumerate(rows, start=2):
        if not _blank(list(cells)):
            yield number, list(cells)


# What reading a broken workbook raises: a broken zip or XML, a missing part, a compression method Python lacks.
UNREADABLE = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    ParseError,
    KeyError,
    OSError,
    ValueError,
    TypeError,
    IndexError,
)


def csv_of(content: bytes, format: str) -> bytes:
    """The file as CSV. A workbook is read once (slowly) and its cells written as text, as the checks read them:
    every later reading of the rows goes at the speed of CSV.

    A workbook can describe far more than it holds (a few kilobytes can declare 20,000 rows of 16,384 columns,
    or unpack to gigabytes): its sizes are checked before it is opened, its sheet's declared size before a row is
    read, and each row as it is read, so that such a file is refused at once, having used little memory.
    """
    if len(content) > MAX_BYTES:
        raise FileProblem(_("The file is larger than %(limit)s MB: split it.") % {"limit": MAX_BYTES // (1024 * 1024)})
    if format == "csv":
        return content
    from openpyxl import load_workbook

    out = io.StringIO()
    writer = csv.writer(out)
    written = 0
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as package:
            _check_package(package)
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        if len(book.sheetnames) > MAX_SHEETS:
            raise FileProblem(
                _("The workbook has more than %(limit)s sheets: keep the sheet of cases only.") % {"limit": MAX_SHEETS}
            )
        sheet = book["Cases"] if "Cases" in book.sheetnames else book.worksheets[0]
        _check_size(sheet.max_row or 0, sheet.max_column or 0)  # as the sheet declares it (it may say nothing)
        # Each row as it is, up to its own last cell, whatever the sheet declares: nothing is padded to that.
        sheet.reset_dimensions()
        for number, cells in enumerate(sheet.iter_rows(max_row=MAX_ROWS + 2, values_only=True), start=1):
            _check_size(number, len(cells), at=number)
            length = sum(len(cell) for cell in cells if isinstance(cell, str))
            if length > MAX_ROW_CHARS:
                raise _row_too_long(number)
            written += length
            if written > MAX_BYTES:
                raise FileProblem(
                    _("The cases of this workbook take more than %(limit)s MB as text: split it.")
                    % {"limit": MAX_BYTES // (1024 * 1024)},
                    row=number,
                )
            writer.writerow([_text(cell) for cell in cells])
        book.close()
    except UNREADABLE:
        raise FileProblem(_("The file is not a readable XLSX workbook.")) from None
    return out.getvalue().encode()


def _check_package(package: zipfile.ZipFile) -> None:
    """Refuse a workbook whose parts would unpack to much more than cases need, from the sizes its zip declares."""
    parts = package.infolist()
    too_big = (
        len(parts) > MAX_PARTS
        or sum(part.file_size for part in parts) > MAX_UNPACKED
        or any(
            part.file_size > MAX_SHARED_STRINGS and part.filename.lower().endswith("sharedstrings.xml")
            for part in parts
        )
        or any(part.file_size > RATIO_FROM and part.file_size > MAX_RATIO * part.compress_size for part in parts)
    )
    if too_big:
        raise FileProblem(
            _(
                "This workbook would unpack to far more than its cases need, so it is not read. Copy the cases "
                "into a new copy of the template (or save them as CSV) and upload that."
            )
        )


def _check_size(rows: int, columns: int, *, at: int = 1) -> None:
    """Refuse a sheet (at its row ``at``) that reaches past the row limit, or past the template's columns and a
    little room."""
    if rows > MAX_ROWS + 1:  # and the header
        raise _too_many_rows(at)
    if columns > MAX_COLUMNS:
        raise FileProblem(
            _(
                "The sheet reaches column %(column)s, but the template has %(count)s columns: delete the columns "
                "after the last one used (or copy the cases into the template) and upload the file again."
            )
            % {"column": _column_letter(columns), "count": len(COLUMNS)},
            row=at,
        )


def _column_letter(number: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(number) if number <= 18_278 else str(number)


def _too_many_rows(row: int) -> FileProblem:
    return FileProblem(_("The file has more than %(limit)s rows: split it.") % {"limit": f"{MAX_ROWS:,}"}, row=row)


def _row_too_long(row: int) -> FileProblem:
    return FileProblem(
        _("Row %(row)s is longer than %(limit)s characters: no row of the template needs as much. Check its quotes.")
        % {"row": row, "limit": f"{MAX_ROW_CHARS:,}"},
        row=row,
    )


def read_sheet(content: bytes) -> Sheet:
    """The header (normalised column names) and the rows of a CSV file (as csv_of gives it), read lazily."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileProblem(_("The file is not UTF-8 text: save it as “CSV UTF-8” and upload it again.")) from None
    first_line = next(_lines(text), "")
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    try:
        estimate = max(0, sum(1 for _ in _records(text, delimiter)) - 1)
    except csv.Error as error:
        raise FileProblem(_("The file is not valid CSV: %(error)s") % {"error": error}) from None
    reader = _records(text, delimiter)
    header = next(reader, None)
    if header is None:
        raise FileProblem(_("The file is empty."))
    return Sheet(_header(header), _numbered(reader), estimate)


def _lines(text: str) -> Iterator[str]:
    """The lines of the text with their ends, as a file gives them, without a copy of the whole text (io.StringIO
    would hold four bytes a character)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start) + 1 or len(text)
        yield text[start:end]
        start = end


def _records(text: str, delimiter: str) -> Iterator[list[str]]:
    """The CSV records of the text. Refused as soon as it is met: a row past the row limit, a row longer than
    MAX_ROW_CHARS (over however many lines) or with more cells than MAX_COLUMNS, so that no row takes much memory."""
    row, taken = 1, 0

    def lines() -> Iterator[str]:
        nonlocal taken
        for line in _lines(text):
            taken += len(line)
            if taken > MAX_ROW_CHARS:
                raise _row_too_long(row)
            yield line

    for cells in csv.reader(lines(), delimiter=delimiter):
        if row > MAX_ROWS + 1:
            raise _too_many_rows(row)
        if len(cells) > MAX_COLUMNS:
            raise FileProblem(
                _("Row %(row)s has %(cells)s cells, but the template has %(count)s columns: delete what is after them.")
                % {"row": row, "cells": len(cells), "count": len(COLUMNS)},
                row=row,
            )
        yield cells
        row, taken = row + 1, 0


def _header(cells: list[Any]) -> list[str]:
    names = [str(cell).strip().lower().replace(" ", "_") if cell is not None else "" for cell in cells]
    while names and not names[-1]:
        names.pop()
    unknown = [name for name in names if name and name not in BY_NAME]
    if unknown:
        raise FileProblem(
            _("Unknown column: %(column)s. Use the column names of the template.") % {"column": unknown[0]},
            column=unknown[0],
        )
    if "" in names:
        raise FileProblem(_("Column %(position)s has no name.") % {"position": names.index("") + 1})
    seen = set()
    for name in names:
        if name in seen:
            raise FileProblem(_("The column %(column)s appears twice.") % {"column": name}, column=name)
        seen.add(name)
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise FileProblem(_("The required column %(column)s is missing.") % {"column": missing[0]}, column=missing[0])
    return names


@dataclass
class CaseRow:
    """One valid row, ready to become a case."""

    row: int
    reference: str  # empty: a new one is given
    status: str
    closure_reason: Term | None
    closed_at: datetime | None
    facts: dict[str, Any]  # as case_open takes them (scalar, term and many-valued facts)
    platforms: list[tuple[Term, str]]
    redacted: list[str] = field(default_factory=list)  # labels of the identifiers removed from the text


@dataclass
class Checked:
    case: CaseRow | None
    errors: list[tuple[str, str]]  # (column, message)
    notices: list[tuple[str, str]]


def _shown(value: str) -> str:
    """A cell value fit to repeat in a message: a short code, never anything that could be a number or text."""
    if len(value) <= 40 and re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", value) and sum(c.isdigit() for c in value) < 5:
        return f"“{value}”"
    return _("This value")


class RowChecker:
    """Checks rows one by one; remembers the references seen so that a file cannot use one twice."""

    def __init__(self, *, organisation_id: int, redact: bool) -> None:
        self.organisation_id = organisation_id
        self.redact = redact
        self.terms: dict[str, dict[str, Term]] = {}
        for term in terms_visible_to(organisation_id):
            self.terms.setdefault(term.vocabulary, {})[term.code] = term
        # Historical cases keep the options of their time: inactive terms, and shared ones the organisation
        # hides, are accepted, as on old cases.
        offered = set(terms_offered_to(organisation_id).values_list("pk", flat=True))
        self.inactive = {term.pk for terms in self.terms.values() for term in terms.values()} - offered
        self.hidden = set(HiddenTerm.objects.filter(organisation_id=organisation_id).values_list("term_id", flat=True))
        self.references: dict[str, int] = {}
        self.now = timezone.now()
        self.country = Organisation.objects.filter(pk=organisation_id).values_list("country", flat=True).first() or ""

    def check(self, number: int, header: list[str], cells: list[Any], *, identifiers: bool = True) -> Checked:
        """The row's problems, or the case it makes. ``identifiers=False`` skips looking for identifiers in
        the text: for a second reading of a row already known to have none."""
        errors: list[tuple[str, str]] = []
        if len(cells) > len(header) and not _blank(cells[len(header) :]):
            errors.append(("", _("This row has more cells than the header has columns.")))
        values = {name: cells[index] if index < len(cells) else None for index, name in enumerate(header)}
        texts = {name: _text(value) for name, value in values.items()}
        facts: dict[str, Any] = {}
        notices: list[tuple[str, str]] = []

        def text(name: str) -> str:
            return texts.get(name, "")

        for name in REQUIRED:
            if not text(name):
                errors.append((name, _("This field is required.")))

        reference = text("reference")
        if reference:
            if len(reference) > REFERENCE_LENGTH:
                errors.append(("reference", _("A reference has at most %(limit)s characters.") % {"limit": 20}))
            elif not REFERENCE_RE.match(reference):
                errors.append(("reference", _("Use only letters, digits and - _ . / in a reference.")))
            elif reference == EXAMPLE_REFERENCE:
                errors.append(("reference", _("This is the template's example row: delete it before importing.")))
            elif reference in self.references:
                errors.append(
                    ("reference", _("Row %(row)s already uses this reference.") % {"row": self.references[reference]})
                )
            else:
                self.references[reference] = number

        status = text("status").lower()
        if status and status not in STATUSES:
            errors.append(("status", self._not_a_code(status, BY_NAME["status"])))
        closure_reason = self._term(text("closure_reason"), BY_NAME["closure_reason"], errors)
        closed_at = self._datetime("closed_at", values.get("closed_at"), errors)
        first_contact = self._datetime("first_contact_at", values.get("first_contact_at"), errors)
        if status == Status.CLOSED:
            if closure_reason is None and not any(column == "closure_reason" for column, _m in errors):
                errors.append(("closure_reason", _("A closed case needs a closure reason and date.")))
            if closed_at is None and not any(column == "closed_at" for column, _m in errors):
                errors.append(("closed_at", _("A closed case needs a closure reason and date.")))
        elif status:
            if text("closure_reason"):
                errors.append(("closure_reason", _("Only a closed case has a closure reason.")))
            if text("closed_at"):
                errors.append(("closed_at", _("Only a closed case has a closed date.")))
        if closed_at is not None:
            if closed_at > self.now + timedelta(minutes=5):
                errors.append(("closed_at", _("The closed date cannot be in the future.")))
            elif first_contact is not None and closed_at < first_contact:
                errors.append(("closed_at", _("A case cannot be closed before its first contact.")))

        for column in COLUMNS:
            if column.name not in FACT_COLUMNS or column.name not in values:
                continue
            value = text(column.name)
            if column.name == "first_contact_at":
                if first_contact is not None:
                    facts["first_contact_at"] = first_contact
            elif column.name in ("self_harm", "immediate_danger"):
                if value.lower() in TRUE or value.lower() in FALSE:
                    facts[column.name] = value.lower() in TRUE
                else:
                    errors.append((column.name, _("Write yes or no.")))
            elif column.name in ("victim_age", "offender_count"):
                if value:
                    number_value = _whole_number(value)
                    if number_value is None or number_value < 0 or number_value > 32767:
                        errors.append((column.name, _("Enter a whole number.")))
                    else:
                        facts[column.name] = number_value
                else:
                    facts[column.name] = None
            elif column.many:
                facts[column.name] = self._terms(value, column, errors)
            elif column.vocabulary:
                facts[column.name] = self._term(value, column, errors)
            elif column.choices:
                code = value.lower()
                if code and code not in CHOICES[column.name]:
                    errors.append((column.name, self._not_a_code(value, column)))
                else:
                    facts[column.name] = code or column.default
            elif column.name in ("victim_country", "offender_country", "victim_region"):
                facts[column.name] = value.upper()
            else:
                facts[column.name] = value

        platforms: list[tuple[Term, str]] = []
        for name, role in PLATFORM_COLUMNS.items():
            if name in values:
                for term in dict.fromkeys(self._terms(text(name), BY_NAME[name], errors)):
                    platforms.append((term, role))

        failed = {column for column, _message in errors}
        try:
            case_services.case_facts_validate(
                {key: value for key, value in facts.items() if key not in failed},
                self.organisation_id,
                current_terms=self.inactive,
                hidden_terms=self.hidden,
            )
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                errors.extend((name, message) for message in messages if name not in failed)

        redacted: list[str] = []
        description = facts.get("incident_description") or ""
        if identifiers and description and "incident_description" not in {column for column, _message in errors}:
            region = case_region(facts.get("victim_country") or "", self.country)
            findings = case_services.text_findings(description, region)
            if findings:
                labels = sorted({finding.label for finding in findings})
                if self.redact:
                    facts["incident_description"] = pii.redact(description, findings)
                    redacted = labels
                    notices.append(
                        ("incident_description", _("Removed from the text: %(found)s.") % {"found": ", ".join(labels)})
                    )
                else:
                    errors.append(
                        (
                            "incident_description",
                            _(
                                "The text may identify someone: %(found)s. Remove them from the file, or choose "
                                "to have them removed on import."
                            )
                            % {"found": ", ".join(labels)},
                        )
                    )

        if errors or not status:
            return Checked(None, errors, [])
        case = CaseRow(number, reference, status, closure_reason, closed_at, facts, platforms, redacted)
        return Checked(case, [], notices)

    def _not_a_code(self, value: str, column: Column) -> str:
        return _("%(value)s is not one of the codes of %(column)s: see the Codes sheet of the template.") % {
            "value": _shown(value),
            "column": column.name,
        }

    def _term(self, value: str, column: Column, errors: list[tuple[str, str]]) -> Term | None:
        if not value:
            return None
        term = self.terms.get(column.vocabulary, {}).get(value.lower())
        if term is None:
            errors.append((column.name, self._not_a_code(value, column)))
        return term

    def _terms(self, value: str, column: Column, errors: list[tuple[str, str]]) -> list[Term]:
        found: list[Term] = []
        for code in value.split(SEPARATOR):
            code = code.strip()
            if code:
                term = self._term(code, column, errors)
                if term is not None and term not in found:
                    found.append(term)
        return found

    def _datetime(self, column: str, value: Any, errors: list[tuple[str, str]]) -> datetime | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        parsed: datetime | None = None
        if isinstance(value, datetime):
            parsed = value
        elif isinstance(value, date):
            parsed = datetime.combine(value, time())
        elif isinstance(value, str):
            raw = value.strip().replace("T", " ", 1)
            try:
                parsed = parse_datetime(raw) if len(raw) > 10 else datetime.combine(date.fromisoformat(raw), time())
            except ValueError:
                parsed = None
        if parsed is None:
            errors.append((column, _("Enter a valid date/time, as YYYY-MM-DD HH:MM.")))
            return None
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
        return parsed


def _whole_number(value: str) -> int | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None

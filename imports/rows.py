"""Reading an import file and checking its rows with the rules of the case form and services.

Row numbers are those a spreadsheet shows: the header is row 1, the first case row 2.
Messages never repeat a cell's free text: the report outlives the file.
"""

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from cases import pii
from cases import services as case_services
from cases.models import Status, Term
from imports.columns import BY_NAME, COLUMNS, PLATFORM_COLUMNS, REQUIRED, SEPARATOR, Column

MAX_ROWS = 200_000
REFERENCE_LENGTH = 20
REFERENCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.-]*$")
EXAMPLE_REFERENCE = BY_NAME["reference"].example

# A kept reference in our own format moves the counter past it, so new cases never collide with it.
OWN_REFERENCE_RE = re.compile(r"^SX-(\d{4})-(\d{5,9})$")
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


def csv_of(content: bytes, format: str) -> bytes:
    """The file as CSV. A workbook is read once (slowly) and its cells written as text, as the checks read them:
    every later reading of the rows goes at the speed of CSV."""
    if format == "csv":
        return content
    from openpyxl import load_workbook

    out = io.StringIO()
    writer = csv.writer(out)
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = book["Cases"] if "Cases" in book.sheetnames else book.worksheets[0]
        for cells in sheet.iter_rows(values_only=True):
            writer.writerow([_text(cell) for cell in cells])
        book.close()
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, IndexError):
        raise FileProblem(_("The file is not a readable XLSX workbook.")) from None
    return out.getvalue().encode()


def read_sheet(content: bytes) -> Sheet:
    """The header (normalised column names) and the rows of a CSV file, read lazily."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileProblem(_("The file is not UTF-8 text: save it as “CSV UTF-8” and upload it again.")) from None
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    try:
        estimate = max(0, sum(1 for _ in csv.reader(io.StringIO(text), delimiter=delimiter)) - 1)
    except csv.Error as error:
        raise FileProblem(_("The file is not valid CSV: %(error)s") % {"error": error}) from None
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        raise FileProblem(_("The file is empty."))
    return Sheet(_header(header), _numbered(reader), estimate)


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

    def __init__(self, *, redact: bool) -> None:
        self.redact = redact
        self.terms: dict[str, dict[str, Term]] = {}
        for term in Term.objects.all():
            self.terms.setdefault(term.vocabulary, {})[term.code] = term
        # Historical cases keep the options of their time: inactive terms are accepted, as on old cases.
        self.inactive = {term.pk for terms in self.terms.values() for term in terms.values() if not term.active}
        self.references: dict[str, int] = {}
        self.now = timezone.now()

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
            case_services._validate(
                {key: value for key, value in facts.items() if key not in failed}, current_terms=self.inactive
            )
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                errors.extend((name, message) for message in messages if name not in failed)

        redacted: list[str] = []
        description = facts.get("incident_description") or ""
        if identifiers and description and "incident_description" not in {column for column, _message in errors}:
            findings = pii.find_identifiers(description)
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


def own_reference(reference: str) -> tuple[int, int] | None:
    """(year, number) of a reference in the SX-YYYY-NNNNN format, else None."""
    match = OWN_REFERENCE_RE.match(reference)
    return (int(match.group(1)), int(match.group(2))) if match else None

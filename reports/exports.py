"""Published tables as files: CSV, XLSX and JSON, and stored tables (snapshots) back into tables.

The renderers only ever see ``PublishedTable``: the perturbed counts (reports/perturbation.py), or
true counts when the caller was entitled to them. A withheld figure is written as its text: "x" for
a median of fewer than k values, and "<5" or "x" in snapshots stored under cell suppression.
"""

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime, time
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy, pgettext
from django_stubs_ext import StrOrPromise
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from accounts.models import Organisation
from cases.models import Case, CasePlatform
from reports.engine import Params, filter_summary
from reports.forms import CUSTOM, GRANULARITIES, from_month_index, month_index
from reports.models import AgeScheme
from reports.perturbation import CELL_KEY, SUPPRESSION, statement, suppression_statement
from reports.tables import Cell, Column, PublishedTable, format_value

# (label, value): the labels are lazy, so that a JSON file keeps its English keys in every language.
About = Sequence[tuple[StrOrPromise, str]]

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
ABOUT_LABELS = {
    "organisations": gettext_lazy("Organisations"),
    "from": gettext_lazy("From"),
    "to": gettext_lazy("To"),
    "by": gettext_lazy("By"),
    "age_bands": gettext_lazy("Age bands"),
    "generated": gettext_lazy("Generated"),
    "disclosure_control": gettext_lazy("Disclosure control"),
}


def disclosure_note(*, suppressed: bool, threshold: int, method: str = CELL_KEY, spread: int | None = None) -> str:
    """What was done to the figures, to quote with them: the method's statement, or a warning on true counts.

    ``spread`` is D of the cell key, default the setting; snapshots pass the one they were made with."""
    if not suppressed:
        return gettext(
            "True counts, not disclosure-controlled. Do not publish them: they are for use within the "
            "organisation only; for publication, use the disclosure-controlled figures."
        )
    if method == SUPPRESSION:
        return suppression_statement(threshold=threshold)
    return statement(threshold=threshold, spread=settings.DISCLOSURE_PERTURBATION if spread is None else spread)


def legend(table: PublishedTable) -> str:
    if table.method == SUPPRESSION:
        return gettext(
            "%(small)s: fewer than %(threshold)s; x: hidden so that a small count cannot be worked back."
        ) % {"small": f"<{table.threshold}", "threshold": table.threshold}
    return gettext("x: not shown, because it would be computed from fewer than %(threshold)s.") % {
        "threshold": table.threshold
    }


def describe(
    params: Params,
    *,
    generated_at: datetime,
    suppressed: bool,
    threshold: int,
    method: str = CELL_KEY,
    spread: int | None = None,
) -> About:
    """The parameters of a report in words, with when it was made and how it was disclosure-controlled."""
    names = Organisation.objects.filter(pk__in=params.organisations).order_by("name").values_list("name", flat=True)
    scheme = AgeScheme.objects.filter(code=params.age_scheme).first() if params.age_scheme != CUSTOM else None
    limits = ", ".join(str(limit) for limit in params.age_limits)
    by = str(dict(GRANULARITIES).get(params.granularity, params.granularity)).lower()
    return [
        (ABOUT_LABELS["organisations"], "; ".join(names)),
        (ABOUT_LABELS["from"], f"{params.start:%Y-%m}"),
        (ABOUT_LABELS["to"], f"{params.end:%Y-%m}"),
        (ABOUT_LABELS["by"], by),
        (
            ABOUT_LABELS["age_bands"],
            f"{scheme.label}" if scheme else gettext("Custom (limits %(limits)s)") % {"limits": limits},
        ),
        *filter_summary(params),
        (ABOUT_LABELS["generated"], timezone.localtime(generated_at).strftime("%Y-%m-%d %H:%M %Z")),
        (
            ABOUT_LABELS["disclosure_control"],
            disclosure_note(suppressed=suppressed, threshold=threshold, method=method, spread=spread),
        ),
    ]


def filename(params: Params, extension: str, prefix: str = "report") -> str:
    return f"{prefix}-{params.start:%Y-%m}-to-{params.end:%Y-%m}.{extension}"


def scope_case_count(params: Params, *, limit: int) -> int:
    """How many cases a report covers, counting no further than ``limit`` + 1 (enough to choose inline or not)."""
    zone = timezone.get_current_timezone()
    cases = Case.objects.filter(
        organisation_id__in=params.organisations,
        first_contact_at__gte=datetime.combine(params.start, time(), tzinfo=zone),
        first_contact_at__lt=datetime.combine(from_month_index(month_index(params.end) + 1), time(), tzinfo=zone),
    )
    if params.sextortion_type is not None:
        cases = cases.filter(sextortion_type_id=params.sextortion_type)
    if params.region:
        cases = cases.filter(victim_region=params.region)
    if params.platform is not None:
        cases = cases.filter(Exists(CasePlatform.objects.filter(case=OuterRef("pk"), platform_id=params.platform)))
    return cases.order_by()[: limit + 1].count()


# --- writing --------------------------------------------------------------------------------------------------------


def cell_value(cell: Cell) -> Any:
    """A number when the figure is published, else its text ("<5", "x", or "" for nothing to show)."""
    return cell.value if cell.flag == "" and cell.value is not None else cell.text


def _safe_text(value: Any) -> Any:
    """Labels come from taxonomies that administrators edit: never let a spreadsheet read one as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _rows(table: PublishedTable) -> list[list[Any]]:
    rows = [[table.row_header, *(column.label for column in table.columns)]]
    for label, cells in table.rows:
        rows.append([label, *(cell_value(cell) for cell in cells)])
    if table.total is not None:
        rows.append([table.total[0], *(cell_value(cell) for cell in table.total[1])])
    return rows


def render_csv(tables: Sequence[PublishedTable], about: About) -> bytes:
    """One file: the parameters, then each table under its title, separated by blank lines."""
    out = io.StringIO()
    writer = csv.writer(out)
    for label, value in about:
        writer.writerow([str(label), _safe_text(value)])
    for table in tables:
        writer.writerow([])
        writer.writerow([_safe_text(table.title)])
        if table.suppressed and _has_flags(table):
            writer.writerow([legend(table)])
        for row in _rows(table):
            writer.writerow([_safe_text(value) for value in row])
    return out.getvalue().encode("utf-8-sig")  # with a byte order mark, so spreadsheets read it as UTF-8


NUMBER_FORMATS = {"count": "#,##0", "percent": '0.0"%"', "change": '+0.0"%";-0.0"%";0.0"%"', "days": "0.0"}


def render_xlsx(tables: Sequence[PublishedTable], about: About) -> bytes:
    """An "About" sheet with the parameters, then one sheet per table."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = pgettext("name of a spreadsheet's first sheet", "About")
    for label, value in about:
        sheet.append([str(label), value])
    for row in sheet.iter_rows(min_col=1, max_col=1):
        row[0].font = Font(bold=True)
    sheet.column_dimensions["A"].width = 22
    sheet.column_dimensions["B"].width = 100
    for row in sheet.iter_rows(min_col=2, max_col=2):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")
    used = {sheet.title.lower()}
    for table in tables:
        sheet = book.create_sheet(_sheet_name(table.title, used))
        sheet.append([table.title])
        sheet["A1"].font = Font(bold=True, size=13)
        if table.suppressed and _has_flags(table):
            sheet.append([legend(table)])
        sheet.append([])
        header_row = sheet.max_row + 1
        for index, row in enumerate(_rows(table)):
            sheet.append(row)
            if index == 0 or (table.total is not None and index == len(table.rows) + 1):
                for cell in sheet[sheet.max_row]:
                    cell.font = Font(bold=True)
        _number_formats(sheet, table.columns, header_row)
        sheet.freeze_panes = sheet.cell(row=header_row + 1, column=2)
        sheet.column_dimensions["A"].width = max(14, min(50, max(len(label) for label, _ in table.rows or [("", [])])))
        for position in range(2, len(table.columns) + 2):
            sheet.column_dimensions[get_column_letter(position)].width = 16
    for worksheet in book.worksheets:
        _no_formulas(worksheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _no_formulas(sheet: Any) -> None:
    """openpyxl takes any string starting with "=" for a formula; ours are all text."""
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"


def _number_formats(sheet: Any, columns: Sequence[Column], header_row: int) -> None:
    for position, column in enumerate(columns, start=2):
        number_format = NUMBER_FORMATS.get(column.kind, "0.0")
        for row in sheet.iter_rows(min_row=header_row + 1, min_col=position, max_col=position):
            if isinstance(row[0].value, int | float):
                row[0].number_format = number_format
            else:
                row[0].alignment = Alignment(horizontal="right")


def _sheet_name(title: str, used: set[str]) -> str:
    base = "".join(" " if char in "[]:*?/\\" else char for char in title).strip()[:31] or gettext("Table")
    name, number = base, 2
    while name.lower() in used:
        suffix = f" ({number})"
        name, number = base[: 31 - len(suffix)] + suffix, number + 1
    used.add(name.lower())
    return name


def render_json(tables: Sequence[PublishedTable], about: About) -> bytes:
    suppressed = any(table.suppressed for table in tables)
    with translation.override("en"):  # the keys of a JSON file are names, the same in every language
        about_keys = {str(label): value for label, value in about}
    data = {
        "about": about_keys,
        "suppressed": suppressed,
        "method": (tables[0].method if tables else CELL_KEY) if suppressed else None,
        "threshold": tables[0].threshold if tables else None,
        "tables": [table.as_json() for table in tables],
    }
    return json.dumps(data, ensure_ascii=False, indent=1).encode()


RENDERERS = {"csv": render_csv, "xlsx": render_xlsx, "json": render_json}


def render_tables(format: str, tables: Sequence[PublishedTable], about: About) -> bytes:
    return RENDERERS[format](tables, about)


def render_report(
    format: str, tables: Sequence[PublishedTable], params: Params, *, generated_at: datetime, suppressed: bool
) -> bytes:
    about = describe(params, generated_at=generated_at, suppressed=suppressed, threshold=settings.DISCLOSURE_THRESHOLD)
    return render_tables(format, tables, about)


def _has_flags(table: PublishedTable) -> bool:
    cells = [cell for _, row in table.rows for cell in row] + (list(table.total[1]) if table.total else [])
    return any(cell.flag for cell in cells)


# --- stored tables --------------------------------------------------------------------------------------------------


def _stored_cell(value: Any, kind: str) -> Cell:
    if value is None:
        return Cell(None, "")
    if isinstance(value, str):
        return Cell(None, value, "small" if value.startswith("<") else "hidden")
    return Cell(value, format_value(value, kind))


def tables_from_json(
    stored: Sequence[dict[str, Any]], *, suppressed: bool, threshold: int, method: str = CELL_KEY
) -> list[PublishedTable]:
    """Tables stored with ``PublishedTable.as_json()`` (a snapshot's), back into tables to render or export."""
    tables = []
    for data in stored:
        columns = [Column(c["key"], c["label"], c.get("kind", "count")) for c in data["columns"]]

        def cells(values: Sequence[Any], columns: list[Column] = columns) -> list[Cell]:
            return [_stored_cell(value, column.kind) for value, column in zip(values, columns, strict=False)]

        total = data.get("total")
        tables.append(
            PublishedTable(
                key=data["key"],
                title=data["title"],
                description=data.get("description", ""),
                row_header=data.get("row_header", ""),
                columns=columns,
                rows=[(row["label"], cells(row["values"])) for row in data["rows"]],
                total=(total["label"], cells(total["values"])) if total else None,
                chart=data.get("chart") or ("line" if data.get("row_header") == "Period" else "bar"),
                suppressed=suppressed,
                threshold=threshold,
                method=method,
            )
        )
    return tables


def about_snapshot(
    parameters: dict[str, Any],
    *,
    generated_at: datetime,
    suppressed: bool,
    threshold: int,
    method: str = CELL_KEY,
    spread: int | None = None,
) -> About:
    """A snapshot's parameters in words, with the statement of the method it was made with; falls back
    to the stored JSON if they are not a report's parameters."""
    note = disclosure_note(suppressed=suppressed, threshold=threshold, method=method, spread=spread)
    try:
        params = Params.from_json(parameters)
    except (KeyError, TypeError, ValueError):
        about = [(str(key), json.dumps(value)) for key, value in parameters.items()]
        generated = timezone.localtime(generated_at).strftime("%Y-%m-%d %H:%M %Z")
        return [
            *about,
            (ABOUT_LABELS["generated"], generated),
            (ABOUT_LABELS["disclosure_control"], note),
        ]
    return describe(
        params, generated_at=generated_at, suppressed=suppressed, threshold=threshold, method=method, spread=spread
    )

from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from audit.models import Action
from helpline import gate
from reports import services
from reports.engine import Params, may_see_true_counts_of
from reports.exports import (
    FORMATS,
    About,
    about_snapshot,
    disclosure_note,
    filename,
    render_report,
    render_tables,
    scope_case_count,
    tables_from_json,
)
from reports.forms import ChiForm, ReportForm
from reports.models import Export, ExportStatus, Snapshot
from reports.perturbation import CELL_KEY
from reports.publishing import published_for
from reports.replica import ReplicaUnavailable, reading_replica
from reports.selectors import snapshots_visible_to
from reports.tables import TOTAL_KEY, PublishedTable

_reporting = gate.page("reports.view_report", object_type="reports")


def valid_report_form(request: Any, form: ReportForm) -> bool:
    """The form is valid; if it asked for another helpline's figures, that refusal is logged."""
    if form.is_valid():
        return True
    if refused := form.refused_organisations():
        gate.note_refusal(request, object_type="accounts.organisation", object_id=",".join(refused)[:64], report=True)
    return False


def chart_data(table: PublishedTable) -> dict[str, Any] | None:
    """What the chart of a table draws: its counts (not the total column), a gap for each hidden one."""
    if not table.chart or not table.rows:
        return None
    positions = [i for i, column in enumerate(table.columns) if column.kind == "count" and column.key != TOTAL_KEY]
    if not positions:
        first = table.columns[0].kind if table.columns else ""
        positions = [i for i, column in enumerate(table.columns) if column.kind == first]
    return {
        "type": table.chart,
        "labels": [label for label, _ in table.rows],
        "series": [
            {
                "label": table.columns[i].label,
                "values": [cells[i].value if cells[i].flag == "" else None for _, cells in table.rows],
            }
            for i in positions
        ],
    }


def _displayed(tables: list[PublishedTable]) -> list[dict[str, Any]]:
    shown = []
    for index, table in enumerate(tables):
        cells = [cell for _, row in table.rows for cell in row] + (list(table.total[1]) if table.total else [])
        shown.append(
            {
                "table": table,
                "anchor": f"table-{index}-{slugify(table.key)}",
                "chart": chart_data(table),
                "chart_id": f"chart-data-{index}",
                "flagged": any(cell.flag for cell in cells),
            }
        )
    return shown


def _query(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("format", None)
    return query.urlencode()


def _page(
    request: HttpRequest, form: ReportForm, *, template: str, export: str, status: int = 200, **context: Any
) -> HttpResponse:
    query = _query(request)
    prefix = f"{reverse(export)}?{query}{'&' if query else ''}format="
    downloads = [(format, prefix + format) for format in FORMATS]
    return render(request, template, {"form": form, "query": query, "downloads": downloads, **context}, status=status)


def _report_page(request: HttpRequest, form: ReportForm, status: int = 200, **context: Any) -> HttpResponse:
    return _page(request, form, template="reports/report.html", export="reports:export", status=status, **context)


def _published_page(request: HttpRequest, form: ReportForm, page: Any, *, chi: bool = False) -> HttpResponse:
    """A report page of disclosure-controlled figures (the report, the CHI figures), its view logged."""
    if not valid_report_form(request, form):
        return page(request, form, status=400)
    params = form.params()
    try:
        with reading_replica() as replica:
            built, tables, suppressed = published_for(gate.signed_in_user(request), params, chi=chi)
    except ReplicaUnavailable as unavailable:
        return page(request, form, status=503, unavailable=str(unavailable))
    detail: dict[str, Any] = {"parameters": params.as_json(), "suppressed": suppressed}
    if chi:
        detail["chi"] = True
    gate.read(request, object_type="report", **detail)
    return page(
        request,
        form,
        tables=_displayed(tables),
        suppressed=suppressed,
        threshold=settings.DISCLOSURE_THRESHOLD,
        method=CELL_KEY,
        statement=disclosure_note(suppressed=suppressed, threshold=settings.DISCLOSURE_THRESHOLD),
        generated_at=built.generated_at,
        as_of=built.as_of,
        refresh_seconds=settings.STATISTICS_REFRESH_SECONDS,
        replica=replica,
    )


@_reporting
def report(request: HttpRequest) -> HttpResponse:
    return _published_page(request, ReportForm(request.GET, user=gate.signed_in_user(request)), _report_page)


@_reporting
def export(request: HttpRequest) -> HttpResponse:
    """The report as a file: made at once for a small scope, else in the background."""
    form = ReportForm(request.GET, user=gate.signed_in_user(request))
    format = request.GET.get("format", "")
    if format not in FORMATS:
        form.add_error(None, gettext("Choose an export format: CSV, XLSX or JSON."))
    if not valid_report_form(request, form):
        return _report_page(request, form, status=400)
    params = form.params()
    limit = settings.REPORT_EXPORT_INLINE_CASES
    try:
        with reading_replica():
            inline = scope_case_count(params, limit=limit) <= limit
            if inline:
                built, tables, suppressed = published_for(gate.signed_in_user(request), params)
    except ReplicaUnavailable as unavailable:
        return _report_page(request, form, status=503, unavailable=str(unavailable))
    if not inline:
        made = services.export_request(user=gate.signed_in_user(request), params=params, format=format, request=request)
        return redirect("reports:export_detail", pk=made.pk)
    content = render_report(format, tables, params, generated_at=built.generated_at, suppressed=suppressed)
    gate.read(
        request,
        action=Action.EXPORT,
        object_type="report",
        parameters=params.as_json(),
        format=format,
        suppressed=suppressed,
        background=False,
    )
    return _attachment(content, format, filename(params, format))


def _attachment(content: bytes, format: str, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=FORMATS[format])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _export_for_user(request: HttpRequest, pk: int) -> Export:
    """Only the person who asked for an export can see it; anyone else finds nothing."""
    user = gate.signed_in_user(request)
    return gate.get_or_refuse(request, Export.objects.filter(user=user).defer("content"), pk)


@_reporting
def export_detail(request: HttpRequest, pk: int) -> HttpResponse:
    made = _export_for_user(request, pk)
    try:
        params: Params | None = Params.from_json(made.parameters)
    except (KeyError, TypeError, ValueError):
        params = None
    working = made.status in (ExportStatus.PENDING, ExportStatus.RUNNING)
    gate.read(request, made)
    return render(request, "reports/export_detail.html", {"export": made, "params": params, "working": working})


@_reporting
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    made = _export_for_user(request, pk)
    if made.status != ExportStatus.DONE:
        return redirect("reports:export_detail", pk=made.pk)
    content = Export.objects.values_list("content", flat=True).get(pk=made.pk)
    gate.read(request, made, action=Action.EXPORT, format=made.format, download=True)
    params = Params.from_json(made.parameters)
    return _attachment(bytes(content or b""), made.format, filename(params, made.format))


def _snapshot_for_user(request: HttpRequest, pk: int) -> Snapshot:
    return gate.get_or_refuse(request, snapshots_visible_to(request.user), pk)


def _snapshot_true_counts(user: Any, snapshot: Snapshot) -> bool:
    return may_see_true_counts_of(user, [snapshot.organisation_id])


def _snapshot_tables(user: Any, snapshot: Snapshot) -> tuple[list[PublishedTable], bool]:
    true_counts = _snapshot_true_counts(user, snapshot)
    stored = snapshot.tables if true_counts else snapshot.tables_suppressed
    tables = tables_from_json(stored, suppressed=not true_counts, threshold=snapshot.threshold, method=snapshot.method)
    return tables, not true_counts


def _about_snapshot(snapshot: Snapshot, *, suppressed: bool) -> About:
    return about_snapshot(
        snapshot.parameters,
        generated_at=snapshot.generated_at,
        suppressed=suppressed,
        threshold=snapshot.threshold,
        method=snapshot.method,
        spread=snapshot.perturbation,
    )


@_reporting
def snapshot_list(request: HttpRequest) -> HttpResponse:
    snapshots = snapshots_visible_to(request.user).defer("tables", "tables_suppressed")
    page = Paginator(snapshots, 50).get_page(request.GET.get("page"))
    gate.read(request, object_type="reports.snapshot", page=page.number)
    return render(request, "reports/snapshot_list.html", {"page": page})


@_reporting
def snapshot_detail(request: HttpRequest, pk: int) -> HttpResponse:
    snapshot = _snapshot_for_user(request, pk)
    tables, suppressed = _snapshot_tables(request.user, snapshot)
    gate.read(request, snapshot, suppressed=suppressed)
    return render(
        request,
        "reports/snapshot_detail.html",
        {
            "snapshot": snapshot,
            "tables": _displayed(tables),
            "suppressed": suppressed,
            "threshold": snapshot.threshold,
            "method": snapshot.method,
            "statement": disclosure_note(
                suppressed=suppressed,
                threshold=snapshot.threshold,
                method=snapshot.method,
                spread=snapshot.perturbation,
            ),
            "downloads": [
                (format, f"{reverse('reports:snapshot_download', args=[snapshot.pk])}?format={format}")
                for format in FORMATS
            ],
            "about": _about_snapshot(snapshot, suppressed=suppressed),
        },
    )


@_reporting
def snapshot_download(request: HttpRequest, pk: int) -> HttpResponse:
    snapshot = _snapshot_for_user(request, pk)
    format = request.GET.get("format", "csv")
    if format not in FORMATS:
        raise Http404
    tables, suppressed = _snapshot_tables(request.user, snapshot)
    about = _about_snapshot(snapshot, suppressed=suppressed)
    content = render_tables(format, tables, about)
    gate.read(request, snapshot, action=Action.EXPORT, format=format, suppressed=suppressed)
    name = f"{slugify(snapshot.title) or 'snapshot'}-{snapshot.generated_at:%Y-%m-%d}.{format}"
    return _attachment(content, format, name)


@_reporting
@require_POST
def printed(request: HttpRequest) -> HttpResponse:
    """The page's script reports that a report was printed (or saved as PDF): logged, nothing else."""
    snapshot_id = request.POST.get("snapshot", "")
    if snapshot_id.isascii() and snapshot_id.isdigit():
        snapshot = _snapshot_for_user(request, int(snapshot_id))
        gate.read(request, snapshot, action=Action.PRINT)
    else:
        gate.read(request, action=Action.PRINT, object_type="report", query=request.POST.get("query", ""))
    return HttpResponse(status=204)


def _chi_page(request: HttpRequest, form: ReportForm, status: int = 200, **context: Any) -> HttpResponse:
    return _page(request, form, template="reports/chi.html", export="reports:chi_export", status=status, **context)


@_reporting
def chi(request: HttpRequest) -> HttpResponse:
    """The yearly figures for Child Helpline International, disclosure-controlled as every report is."""
    form = ChiForm(request.GET, user=gate.signed_in_user(request))
    return _published_page(request, form, _chi_page, chi=True)


@_reporting
def chi_export(request: HttpRequest) -> HttpResponse:
    """The yearly figures for Child Helpline International as a file; a few small tables, made at once."""
    form = ChiForm(request.GET, user=gate.signed_in_user(request))
    format = request.GET.get("format", "")
    if format not in FORMATS:
        form.add_error(None, gettext("Choose an export format: CSV, XLSX or JSON."))
    if not valid_report_form(request, form):
        return _chi_page(request, form, status=400)
    params = form.params()
    try:
        with reading_replica():
            built, tables, suppressed = published_for(gate.signed_in_user(request), params, chi=True)
    except ReplicaUnavailable as unavailable:
        return _chi_page(request, form, status=503, unavailable=str(unavailable))
    content = render_report(format, tables, params, generated_at=built.generated_at, suppressed=suppressed)
    gate.read(
        request,
        action=Action.EXPORT,
        object_type="report",
        parameters=params.as_json(),
        chi=True,
        format=format,
        suppressed=suppressed,
    )
    return _attachment(content, format, filename(params, format, prefix="chi"))

import csv
import io
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from audit.models import Action
from helpline import gate
from imports import columns
from imports.forms import ImportForm
from imports.models import ImportStatus
from imports.selectors import import_job_for_user, import_jobs_visible_to
from imports.services import ERROR_LIMIT, DuplicateFile, import_request

SHOWN_PROBLEMS = 500


_importing = gate.page("imports.view_importjob", "imports.add_importjob", object_type="imports")


@_importing
def import_list(request: HttpRequest) -> HttpResponse:
    jobs = import_jobs_visible_to(request.user).select_related("user").defer("content", "errors", "notices")
    page = Paginator(jobs, 50).get_page(request.GET.get("page"))
    gate.read(request, object_type="imports.importjob", page=page.number)
    return render(request, "imports/import_list.html", {"page": page})


@_importing
def import_new(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = import_request(
                user=gate.signed_in_user(request),
                file_name=form.cleaned_data["file"].name,
                content=form.content(),
                mode=form.cleaned_data["mode"],
                identifiers=form.cleaned_data["identifiers"],
                request=request,
            )
        except DuplicateFile as duplicate:
            form.add_error("file", str(duplicate))
        else:
            messages.success(request, _("The file was uploaded; its rows are being checked."))
            return redirect("imports:detail", pk=job.pk)
    status = 400 if request.method == "POST" else 200
    user = gate.signed_in_user(request)
    documentation = columns.documentation(user.organisation_id)
    return render(request, "imports/import_new.html", {"form": form, "columns": documentation}, status=status)


@_importing
def import_template(request: HttpRequest, format: str) -> HttpResponse:
    user = gate.signed_in_user(request)
    if format == "csv":
        content = columns.template_csv()
    elif format == "xlsx":
        content = columns.template_xlsx(user.organisation_id)
    else:
        raise Http404
    response = HttpResponse(content, content_type=columns.CONTENT_TYPES[format])
    response["Content-Disposition"] = f'attachment; filename="{columns.TEMPLATE_NAME}.{format}"'
    return response


@_importing
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = import_job_for_user(request, pk)
    gate.read(request, job)
    return render(
        request,
        "imports/import_detail.html",
        {
            "job": job,
            "errors": job.errors[:SHOWN_PROBLEMS],
            "more_errors": job.error_count - min(len(job.errors), SHOWN_PROBLEMS),
            "listed_all": job.error_count <= ERROR_LIMIT,
            "notices": job.notices[:SHOWN_PROBLEMS],
            "error_rows": job.total_rows - job.valid_rows,
            "limit": ERROR_LIMIT,
            "shown": SHOWN_PROBLEMS,
            "statuses": ImportStatus,
        },
    )


def _cell(value: Any) -> Any:
    """Spreadsheets run a cell starting with = + - @ as a formula: such text is quoted."""
    return f"'{value}" if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") else value


@_importing
def import_report(request: HttpRequest, pk: int) -> HttpResponse:
    """The problems found (and identifiers removed), one per line, by row and column."""
    job = import_job_for_user(request, pk)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "column", "kind", "message"])
    for kind, problems in (("error", job.errors), ("removed", job.notices)):
        for problem in problems:
            writer.writerow([problem["row"], _cell(problem["column"]), kind, _cell(problem["message"])])
    gate.read(request, job, action=Action.EXPORT, report="problems")
    response = HttpResponse(("\ufeff" + out.getvalue()).encode(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-report.csv"'
    return response

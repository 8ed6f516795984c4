from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.roles import Role
from helpline import gate
from supervision import services
from supervision.forms import BoardForm, ReassignForm
from supervision.prompt import prompt_clear
from supervision.selectors import (
    Figures,
    Workload,
    assignable_to,
    exposure_of,
    may_read_exposure,
    may_supervise,
    open_cases_held_by,
    people_of,
    stale_days_default,
    unassigned_queue,
    workload,
)

PAGE_SIZE = 100


# The board's columns, in order; a figure above zero in the "hot" ones is shown as needing attention.
COLUMNS = [
    "open_cases",
    "high_risk",
    "overdue_steps",
    "followups_overdue",
    "contacts_this_week",
    "median_age_days",
    "no_contact",
]
HOT = {"high_risk", "overdue_steps", "followups_overdue", "no_contact"}


def figure_links(
    board: Workload,
    holder: User | None = None,
    *,
    unassigned: bool = False,
    case_list: str = "",
    referral_list: str = "",
) -> dict[str, str]:
    """The list behind each figure of a row: one person's (holder), the unassigned, or everyone's."""
    case_list = case_list or reverse("case_list")
    if holder is not None:
        held = f"{case_list}?assigned_to={holder.pk}&open=true"
    elif unassigned:
        held = f"{case_list}?unassigned=true&open=true"
    else:
        held = f"{case_list}?open=true"
    links = {
        "open_cases": held,
        "high_risk": f"{held}&high_risk=true",
        "overdue_steps": f"{held}&overdue=true",
        "no_contact": f"{held}&no_contact_days={board.stale_days}",
        "median_age_days": held,
    }
    since = board.week_start.isoformat()
    if holder is not None:
        links["followups_overdue"] = f"{case_list}?referral_followup_overdue=true&referral_owner={holder.pk}"
        links["contacts_this_week"] = f"{case_list}?contacted_by={holder.pk}&contacted_since={since}"
    elif not unassigned:
        # The referral list has no filter by owner; the organisation's overdue follow-ups are all there.
        links["followups_overdue"] = f"{referral_list or reverse('referral_list')}?scope=all&overdue=1"
        links["contacts_this_week"] = f"{case_list}?contacted_since={since}"
    return links


def figure_cells(figures: Figures, links: dict[str, str]) -> list[dict[str, Any]]:
    """One row of the board as cells: the figure in words, the list behind it, whether it needs attention."""
    cells = []
    for column in COLUMNS:
        value = getattr(figures, column)
        if value is None:
            cells.append({"text": "—", "url": "", "hot": False})
        else:
            text = f"{value:.0f}" if isinstance(value, float) else str(value)
            cells.append({"text": text, "url": links[column], "hot": column in HOT and value > 0})
    return cells


def _choices(people: QuerySet[User]) -> list[tuple[int, str]]:
    return [
        (person.pk, f"{person.get_full_name() or person.username} ({Role(person.role).label})") for person in people
    ]


_supervising = gate.page(may_supervise, object_type="workload")


@_supervising
def board(request: HttpRequest) -> HttpResponse:
    user = gate.signed_in_user(request)
    form = BoardForm(request.GET or None)
    days = stale_days_default()
    status = 200
    if form.is_bound:
        if form.is_valid():
            days = form.cleaned_data["days"] or days
        else:
            status = 400  # the figures are shown for the default, under the error
    figures = workload(user.organisation, stale_days=days)
    queue = unassigned_queue(user)
    case_list, referral_list = reverse("case_list"), reverse("referral_list")
    person_url = reverse("supervision:worker_cases", args=[0]).removesuffix("0/")
    # Plain values for a table of a few hundred rows: the template looks up no model attributes.
    rows = [
        {
            "name": row.user.get_full_name() or row.user.username,
            "role": Role(row.user.role).label if row.user.role in Role.values else row.user.role,
            "inactive": not row.user.is_active,
            "url": f"{person_url}{row.user.pk}/",
            "cells": figure_cells(
                row, figure_links(figures, row.user, case_list=case_list, referral_list=referral_list)
            ),
        }
        for row in figures.workers
    ]
    unassigned_links = figure_links(figures, unassigned=True, case_list=case_list, referral_list=referral_list)
    gate.read(request, object_type="workload", object_id=user.organisation_id, days=days, queue=len(queue))
    return render(
        request,
        "supervision/board.html",
        {
            "form": form,
            "board": figures,
            "rows": rows,
            "unassigned_cells": figure_cells(figures.unassigned, unassigned_links),
            "unassigned_list": unassigned_links["open_cases"],
            "total_cells": figure_cells(
                figures.totals, figure_links(figures, case_list=case_list, referral_list=referral_list)
            ),
            "days": days,
            "queue": queue,
            "targets": _choices(assignable_to(user.organisation_id)),
            "now": timezone.now(),
        },
        status=status,
    )


@_supervising
def worker_cases(request: HttpRequest, pk: int) -> HttpResponse:
    """The open cases one person holds, with boxes to give some of them to someone else."""
    user = gate.signed_in_user(request)
    holder = people_of(user).filter(pk=pk).first()
    if holder is None:
        gate.refuse(request, object_type="accounts.user", object_id=pk)
    page = Paginator(open_cases_held_by(user, holder).with_overdue_mark(), PAGE_SIZE).get_page(request.GET.get("page"))
    cases = list(page.object_list)
    gate.read(request, object_type="cases.case", assigned_to=holder.pk, page=page.number, cases=len(cases))
    return render(
        request,
        "supervision/worker_cases.html",
        {
            "holder": holder,
            "page": page,
            "cases": cases,
            "targets": _choices(assignable_to(user.organisation_id).exclude(pk=holder.pk)),
            "now": timezone.now(),
        },
    )


def _back(request: HttpRequest, within: str) -> str:
    """The posted ``next`` if it is a page of this site under ``within``, else ``within`` itself."""
    back = request.POST.get("next", "")
    if back.startswith(within) and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return back
    return within


@_supervising
@require_POST
def reassign(request: HttpRequest) -> HttpResponse:
    user = gate.signed_in_user(request)
    form = ReassignForm(request.POST, organisation_id=user.organisation_id)
    back = _back(request, reverse("supervision:board"))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect(back)
    assignee = form.cleaned_data["assign_to"]
    try:
        moved = services.cases_reassign(
            actor=user, case_ids=form.cleaned_data["cases"], assignee=assignee, request=request
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect(back)
    skipped = len(set(form.cleaned_data["cases"])) - len(moved)
    text = ngettext("%(count)s case given to %(user)s.", "%(count)s cases given to %(user)s.", len(moved)) % {
        "count": len(moved),
        "user": assignee,
    }
    if skipped:
        text += " " + ngettext("%(count)s was already with them.", "%(count)s were already with them.", skipped) % {
            "count": skipped
        }
    messages.success(request, text)
    return redirect(back)


@gate.page(may_read_exposure, object_type="exposure")
def exposure(request: HttpRequest) -> HttpResponse:
    """How many hard contacts each person had in the shift and the week, and who is over the thresholds."""
    user = gate.signed_in_user(request)
    figures = exposure_of(user.organisation)
    gate.read(request, object_type="exposure", object_id=user.organisation_id, people=len(figures.people))
    return render(request, "supervision/exposure.html", {"board": figures, "organisation": user.organisation})


_hearing = gate.page("cases.view_case", object_type="exposure")


@_hearing
@require_POST
def exposure_put_away(request: HttpRequest) -> HttpResponse:
    services.exposure_prompt_put_away(user=gate.signed_in_user(request), request=request)
    prompt_clear(request)
    return redirect(_back(request, reverse("home")))


@_hearing
@require_POST
def debrief_request(request: HttpRequest) -> HttpResponse:
    told = services.debrief_request(user=gate.signed_in_user(request), request=request)
    prompt_clear(request)
    if told is None:
        messages.info(request, _("You asked for a debrief earlier in this shift: your supervisors know."))
    elif told:
        messages.success(request, _("Your supervisors have been asked for a debrief. Thank you for saying so."))
    else:
        messages.warning(
            request, _("There is no other supervisor to tell in the app: please ask for a debrief in person.")
        )
    return redirect(_back(request, reverse("home")))

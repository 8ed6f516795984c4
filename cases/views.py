from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.contrib import messages
from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from cases import services
from cases.drafted import CASE_NEW, CASE_NOTE
from cases.filters import CaseFilter, cursor_position, filter_terms
from cases.forms import (
    AssignForm,
    CaseForm,
    ClosureDecisionForm,
    ClosureRequestForm,
    ContactForm,
    IdentifierForm,
    NoteForm,
    OfferedTerms,
    StatusForm,
    StepForm,
)
from cases.models import Case, CasePlatform, Risk, Status, StepStatus, Term
from cases.selectors import (
    case_access_log,
    case_for_user,
    cases_visible_to,
    closure_of,
    closure_requests_pending,
)
from drafts.services import draft_delete
from drafts.views import draft_restore
from helpline import gate
from helpline.web import add_service_error, identifiers_found, is_htmx, jinja2_page, label_choices

PAGE_SIZE = 50
ACCESS_LOG_PAGE_SIZE = 50


_casework = gate.page("cases.view_case", object_type="cases")

# What the case list shows of a case (templates/jinja2/cases/_list.html): read alone, fifty cases of forty columns
# and their users took longer to turn into objects than to find.
LIST_COLUMNS = (
    "reference",
    "first_contact_at",
    "status",
    "risk_level",
    "assigned_to",
    "assigned_to__username",
    "sextortion_type",
)


def _page(queryset: QuerySet[Case], before: str) -> tuple[list[Case], str]:
    """One page of cases, newest first, and the cursor of the next (keyset pagination: no COUNT).

    A cursor this list does not hand out is a ValueError.
    """
    if before:
        at_text, _, pk_text = before.rpartition("|")
        at = cursor_position(at_text)
        if not (pk_text.isascii() and pk_text.isdigit()):
            raise ValueError(f"Not a case id: {pk_text!r}")
        queryset = queryset.filter(first_contact_at__lte=at).exclude(first_contact_at=at, id__gte=int(pk_text))
    rows = list(queryset.order_by("-first_contact_at", "-id")[: PAGE_SIZE + 1])
    following = ""
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        following = f"{rows[-1].first_contact_at.isoformat()}|{rows[-1].pk}"
    return rows, following


@_casework
def case_list(request: HttpRequest) -> HttpResponse:
    filters = CaseFilter(request.GET or None, queryset=cases_visible_to(request.user), request=request)
    menus, term_labels = filter_terms(gate.signed_in_user(request).organisation_id)
    # The platforms' and the sextortion type's labels come from the terms the menus read: joined in the query, they
    # took PostgreSQL longer than the rest of it.
    platforms = CasePlatform.objects.filter(case=OuterRef("pk")).order_by("pk").values("platform_id")
    queryset = (
        filters.qs.select_related("assigned_to")
        .only(*LIST_COLUMNS)
        .with_overdue_mark()
        .annotate(platform_ids=ArraySubquery(platforms))
    )
    cursor_error = ""
    try:
        cases, following = _page(queryset, request.GET.get("before", ""))
    except ValueError:
        cursor_error = _("This link to older cases is not valid; the newest cases are shown.")
        cases, following = _page(queryset, "")
    label_choices(cases, "status", "risk_level")
    # Any term a case holds that the menus did not read (none, as long as cases hold only terms they may) is read.
    held = {pk for case in cases for pk in [*case.platform_ids, case.sextortion_type_id] if pk is not None}  # type: ignore[attr-defined]
    term_labels |= {term.pk: str(term) for term in Term.objects.filter(pk__in=held - term_labels.keys())}
    for case in cases:
        case.platform_names = list(dict.fromkeys(term_labels[pk] for pk in case.platform_ids))  # type: ignore[attr-defined]
        case.type_label = term_labels[case.sextortion_type_id] if case.sextortion_type_id else None  # type: ignore[attr-defined]
    gate.read(request, object_type="cases.case", query=request.GET.urlencode())
    query = request.GET.copy()
    query.pop("before", None)
    return jinja2_page(
        request,
        "cases/case_list.html",
        "cases/_list.html",
        {
            "filters": filters,
            "statuses": Status.choices,
            "risks": Risk.choices,
            "menus": menus,
            "cursor_error": cursor_error,
            "cases": cases,
            "following": following,
            "query": query.urlencode(),
        },
        status=400 if filters.errors or cursor_error else 200,
    )


@_casework
def case_new(request: HttpRequest) -> HttpResponse:
    user = gate.signed_in_user(request)
    form = CaseForm(
        request.POST or None,
        organisation_id=user.organisation_id,
        initial={"first_contact_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")},
    )
    draft = draft_restore(request, form, CASE_NEW.key())
    if form.is_valid():
        try:
            case = services.case_open(
                actor=gate.signed_in_user(request),
                facts=form.facts(),
                platforms=form.platforms(),
                text_decision=form.cleaned_data["text_decision"] or None,
                move=form.cleaned_data["move"],
                request=request,
            )
        except services.IdentifiersFound as error:
            identifiers_found(form, error)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            draft_delete(user=user, key=CASE_NEW.key())
            messages.success(request, _("Case %(reference)s opened.") % {"reference": case.reference})
            return redirect("case_detail", pk=case.pk)
    return render(request, "cases/case_form.html", {"form": form, "case": None, "draft": draft})


@_casework
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_for_user(request, pk, detail=True)
    gate.read(request, case)
    return _case_page(request, _detail_context(request, case))


def _case_page(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    """The case page: its content is drawn by Jinja2 (templates/jinja2/cases/), in the layout every page shares."""
    return jinja2_page(request, "cases/case_detail.html", "cases/_detail.html", context, status)


# The case page's messages with a count, formatted by its templates (``counted.overdue_steps % {"n": n}``): Jinja2
# templates have no plural tag that makemessages reads.
COUNTED = {
    "overdue_steps": ngettext_lazy("%(n)s step is overdue.", "%(n)s steps are overdue.", "n"),
    "overdue_at_closure": ngettext_lazy(
        "%(n)s response step of this case is overdue: approving closes the case with it still to do.",
        "%(n)s response steps of this case are overdue: approving closes the case with them still to do.",
        "n",
    ),
    "also_seen_in": ngettext_lazy(
        "Also seen in %(n)s other case of your organisation:",
        "Also seen in %(n)s other cases of your organisation:",
        "n",
    ),
}


def _detail_context(request: HttpRequest, case: Case, **forms: Any) -> dict[str, Any]:
    now = timezone.now()
    steps = case.listed_steps
    can_approve = services.can_approve_closure(gate.signed_in_user(request), case)
    terms = OfferedTerms(case.organisation_id, read=case.offered_terms)
    return {
        "case": case,
        "steps": steps,
        "next_step": next((s for s in steps if s.status == StepStatus.TODO), None)
        if case.status != Status.CLOSED
        else None,
        "step_errors": forms.get("step_errors", []),
        "overdue": [
            s
            for s in steps
            if case.status != Status.CLOSED and s.status == StepStatus.TODO and s.due_at and s.due_at < now
        ],
        "now": now,
        "timeline": case.timeline,
        "note_form": (note_form := forms.get("note_form") or NoteForm()),
        "note_draft": draft_restore(request, note_form, CASE_NOTE.key(case.pk)),
        "contact_form": forms.get("contact_form")
        or ContactForm(
            terms=terms,
            initial={"at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "channel": case.channel_id},
        ),
        "identifier_form": forms.get("identifier_form") or IdentifierForm(terms=terms),
        "status_form": forms.get("status_form")
        or StatusForm(case=case, user=gate.signed_in_user(request), terms=terms),
        "status_stale": forms.get("status_stale", ""),
        "assign_form": forms.get("assign_form") or AssignForm(case=case, initial={"assigned_to": case.assigned_to_id}),
        "assign_stale": forms.get("assign_stale", ""),
        "step_statuses": [(value, str(label)) for value, label in StepStatus.choices],  # translated once, not a step
        "counted": COUNTED,
        "referrals": case.listed_referrals,
        "can_assign": request.user.has_perm("cases.assign_case"),
        "can_read_history": request.user.has_perm("cases.view_case_history"),
        "can_read_access_log": request.user.has_perm("cases.view_case_access_log"),
        "closure": closure_of(case),
        "can_approve": can_approve,
        "needs_approval": not can_approve and case.closure_needs_approval and case.status != Status.CLOSED,
        "closure_form": forms.get("closure_form") or ClosureRequestForm(terms=terms),
        "decision_form": forms.get("decision_form") or ClosureDecisionForm(),
        "closure_errors": [form for name in ("closure_form", "decision_form") if (form := forms.get(name))],
    }


@_casework
def case_edit(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_for_user(request, pk, detail=True)
    if case.status == Status.CLOSED and not services.can_approve_closure(gate.signed_in_user(request), case):
        if request.method == "GET":
            gate.read(request, case)
        # No form that could only fail: the page says why, and where to reopen the case.
        context = {"case": case, "closed": services.closed_case_refusal(case)}
        return render(request, "cases/case_form.html", context, status=200 if request.method == "GET" else 400)
    form = CaseForm(request.POST or None, instance=case, organisation_id=case.organisation_id)
    stale = False
    if request.method == "GET":
        gate.read(request, case)
    if form.is_valid():
        try:
            services.case_update(
                actor=gate.signed_in_user(request),
                case=case,
                version=form.cleaned_data["version"] or 0,
                facts=form.facts(),
                platforms=form.platforms(),
                text_decision=form.cleaned_data["text_decision"] or None,
                move=form.cleaned_data["move"],
                request=request,
            )
        except services.IdentifiersFound as error:
            identifiers_found(form, error)
        except services.StaleVersion as error:
            form.add_error(None, str(error))
            stale = True
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("Case %(reference)s saved.") % {"reference": case.reference})
            return redirect("case_detail", pk=case.pk)
    return render(request, "cases/case_form.html", {"form": form, "case": case, "stale": stale})


def _detail_with_errors(request: HttpRequest, case: Case, status: int = 400, **forms: Any) -> HttpResponse:
    refreshed = case_for_user(request, case.pk, detail=True)
    gate.read(request, refreshed)
    return _case_page(request, _detail_context(request, refreshed, **forms), status=status)


# The parts of the case page (templates/jinja2/cases/_detail.html) that a form of the page changes, each with the id
# of its outermost element.
PARTS = {
    "heading": "cases/_heading.html",
    "overdue": "cases/_overdue.html",
    "facts": "cases/_facts.html",
    "identifiers": "cases/_identifiers.html",
    "steps": "cases/_steps.html",
    "status": "cases/_status.html",
    "closure": "cases/_closure.html",
    "assign": "cases/_assign.html",
    "note": "cases/_note_form.html",
    "contact": "cases/_contact_form.html",
    "timeline": "cases/_timeline.html",
}
# After a conflict: the case as it is now, without touching what is typed in the other forms.
FRESH_STATE = ("heading", "overdue", "facts", "steps", "timeline")
VERSIONED = ("status", "assign")


def _parts(
    request: HttpRequest,
    case: Case,
    part: str,
    *,
    also: tuple[str, ...] | list[str] = (),
    status: int = 200,
    announce: str = "",
    focus: bool = True,
    **forms: Any,
) -> HttpResponse:
    """Answer htmx with one part of the case page and, swapped out of band, the other parts the change shows in.

    The forms that carry the case's version get the new one, so that a change made here is no conflict there.
    """
    refreshed = case_for_user(request, case.pk, detail=True)
    gate.read(request, refreshed)
    context = _detail_context(request, refreshed, **forms)
    shown = {part, *also}
    context.update(
        main=PARTS[part],
        oob_parts=[PARTS[name] for name in also],
        versions=[name for name in VERSIONED if name not in shown and (name != "assign" or context["can_assign"])],
        announce=announce,
        focus=part if focus else "",
    )
    response = render(request, "cases/_parts.html", context, status=status, using="jinja2")
    patch_vary_headers(response, ["HX-Request"])
    return response


def _post_case_form(
    request: HttpRequest,
    case: Case,
    form: Any,
    form_name: str,
    success: str,
    save: Callable[[dict[str, Any]], Any],
    *,
    part: str = "",
    also: tuple[str, ...] | list[str] = (),
) -> HttpResponse:
    """Validate a form of the case page and save it through a service.

    htmx gets the form's part of the page and the others that change (``also``); without JavaScript the page is
    shown again, as it is after the change or with the errors. A change made on an older version of the case is
    a conflict (409): the form keeps what was typed and the page shows the case as it is now.
    """
    htmx = bool(part) and is_htmx(request)
    stale = ""
    if form.is_valid():
        try:
            save(form.cleaned_data)
        except services.IdentifiersFound as error:
            identifiers_found(form, error)
        except services.StaleVersion as error:
            stale = str(error)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            if htmx:
                return _parts(request, case, part, also=also, announce=success)
            messages.success(request, success)
            return redirect("case_detail", pk=case.pk)
    forms: dict[str, Any] = {form_name: form}
    if stale:
        forms[f"{part}_stale"] = stale
    status = 409 if stale else 400
    if htmx:
        return _parts(request, case, part, also=FRESH_STATE if stale else (), status=status, **forms)
    return _detail_with_errors(request, case, status=status, **forms)


@_casework
@require_POST
def note_add(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_for_user(request, pk)

    also = ["timeline"]

    def save(data: dict[str, Any]) -> None:
        services.note_add(
            actor=gate.signed_in_user(request),
            case=case,
            text=data["text"],
            text_decision=data["text_decision"] or None,
            move=data["move"],
            request=request,
        )
        draft_delete(user=gate.signed_in_user(request), key=CASE_NOTE.key(case.pk))
        if data["move"]:
            also.append("identifiers")  # what was moved out of the text joins the offender identifiers

    form = NoteForm(request.POST)
    return _post_case_form(request, case, form, "note_form", _("Note added."), save, part="note", also=also)


@_casework
@require_POST
def contact_add(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_for_user(request, pk)

    def save(data: dict[str, Any]) -> None:
        services.contact_add(actor=gate.signed_in_user(request), case=case, request=request, **data)

    form = ContactForm(request.POST, terms=OfferedTerms(case.organisation_id))
    success = _("Contact recorded.")
    return _post_case_form(request, case, form, "contact_form", success, save, part="contact", also=["timeline"])


@_casework
@require_POST
def step_update(request: HttpRequest, pk: int, step_id: int) -> HttpResponse:
    case = case_for_user(request, pk)
    step = case.steps.select_related("step_type").filter(pk=step_id).first()
    form = StepForm(request.POST)
    if step is None or not form.is_valid():
        if is_htmx(request):
            return _parts(request, case, "steps", status=400, step_errors=[_("That step could not be updated.")])
        messages.error(request, _("That step could not be updated."))
        return redirect("case_detail", pk=case.pk)
    services.step_update(
        actor=gate.signed_in_user(request), step=step, status=form.cleaned_data["status"], request=request
    )
    if is_htmx(request):
        done = _("%(step)s: %(status)s.") % {
            "step": step.step_type.label,
            "status": StepStatus(form.cleaned_data["status"]).label,
        }
        # Focus stays where it was: on the step's button, or in the note being written when a shortcut did it.
        also = ("overdue", "timeline")
        return _parts(request, case, "steps", also=also, announce=done, focus=False)
    return redirect("case_detail", pk=case.pk)


@_casework
@require_POST
def identifier_add(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_for_user(request, pk)

    def save(data: dict[str, Any]) -> None:
        services.offender_identifier_add(actor=gate.signed_in_user(request), case=case, request=request, **data)

    form = IdentifierForm(request.POST, terms=OfferedTerms(case.organisation_id))
    success = _("Offender identifier added.")
    return _post_case_form(request, case, form, "identifier_form", success, save, part="identifiers")


@_casework
@require_POST
def status_change(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_for_user(request, pk)

    def save(data: dict[str, Any]) -> None:
        services.case_set_status(
            actor=gate.signed_in_user(request),
            case=case,
            status=data["status"],
            closure_reason=data.get("closure_reason"),
            version=data["version"],
            request=request,
        )

    form = StatusForm(
        request.POST, case=case, user=gate.signed_in_user(request), terms=OfferedTerms(case.organisation_id)
    )
    also = ("heading", "overdue", "steps", "closure", "timeline")
    return _post_case_form(request, case, form, "status_form", _("Status changed."), save, part="status", also=also)


@_casework
@require_POST
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_for_user(request, pk)
    gate.require(request, "cases.assign_case", obj=case, assign=True)
    form = AssignForm(request.POST, case=case)
    if not is_htmx(request) and not form.is_valid():
        messages.error(request, _("Choose a worker or supervisor of this organisation."))
        return redirect("case_detail", pk=case.pk)
    also = ["heading", "facts", "timeline"]

    def save(data: dict[str, Any]) -> None:
        status = case.status
        changed = services.case_assign(
            actor=gate.signed_in_user(request),
            case=case,
            assignee=data["assigned_to"],
            version=data["version"],
            request=request,
        )
        if changed.status != status:
            also.append("status")  # being given to someone opens a new case: other statuses to choose from

    success = _("Assignment changed.")
    return _post_case_form(request, case, form, "assign_form", success, save, part="assign", also=also)


HISTORY_EVENTS = {
    "insert": pgettext_lazy("change history", "insert"),
    "update": pgettext_lazy("change history", "update"),
    "delete": pgettext_lazy("change history", "delete"),
}


def _history_what(event_model: str, label: str) -> str:
    """A pghistory event as "Response step update", in the reader's language."""
    tracked = getattr(apps.get_model(event_model), "pgh_tracked_model", None)
    name = capfirst(tracked._meta.verbose_name) if tracked else event_model
    return _("%(object)s %(event)s") % {"object": name, "event": HISTORY_EVENTS.get(label, label)}


@_casework
def case_history(request: HttpRequest, pk: int) -> HttpResponse:
    """Every recorded version of the case's rows, from the database triggers; supervisors only."""
    import pghistory.models

    case = case_for_user(request, pk)
    gate.require(request, "cases.view_case_history", obj=case, history=True)
    gate.read(request, case, history=True)
    events = (
        pghistory.models.Events.objects.references(case)
        .order_by("pgh_created_at")
        .values("pgh_created_at", "pgh_label", "pgh_model", "pgh_diff", "pgh_context")
    )
    from accounts.models import User

    events = list(events)
    user_ids: set[int] = {int(u) for event in events if (u := (event["pgh_context"] or {}).get("user"))}
    usernames = dict(User.objects.filter(pk__in=user_ids).values_list("pk", "username"))
    rows = []
    for event in events:
        diff = event["pgh_diff"] or {}
        rows.append(
            {
                "at": event["pgh_created_at"],
                "what": _history_what(event["pgh_model"], event["pgh_label"]),
                "fields": sorted(diff),
                "user": usernames.get(int((event["pgh_context"] or {}).get("user") or 0), ""),
            }
        )
    return render(request, "cases/case_history.html", {"case": case, "rows": rows})


@_casework
@require_POST
def closure_request(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_for_user(request, pk)

    def save(data: dict[str, Any]) -> None:
        services.closure_request_create(
            actor=gate.signed_in_user(request),
            case=case,
            closure_reason=data["closure_reason"],
            comment=data["comment"],
            text_decision=data["text_decision"] or None,
            move=data["move"],
            request=request,
        )

    success = _("Closure requested: a supervisor will approve it or send it back.")
    form = ClosureRequestForm(request.POST, terms=OfferedTerms(case.organisation_id))
    return _post_case_form(request, case, form, "closure_form", success, save)


CLOSURE_DECISIONS = {
    "approve": gettext_lazy("Closure approved: the case is closed."),
    "send_back": gettext_lazy("Closure request sent back."),
    "withdraw": gettext_lazy("Closure request withdrawn."),
}


@_casework
@require_POST
def closure_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve or send back the waiting request (supervisors), or withdraw it (anyone on the case)."""
    case = case_for_user(request, pk)
    decision = request.POST.get("decision", "")
    if decision in ("approve", "send_back") and not services.can_approve_closure(gate.signed_in_user(request), case):
        gate.refuse(request, object_type="cases.case", object_id=case.pk, closure=decision)

    def save(data: dict[str, Any]) -> None:
        if data["decision"] == "approve":
            services.closure_request_approve(actor=gate.signed_in_user(request), case=case, request=request)
        elif data["decision"] == "send_back":
            services.closure_request_send_back(
                actor=gate.signed_in_user(request),
                case=case,
                comment=data["comment"],
                text_decision=data["text_decision"] or None,
                move=data["move"],
                request=request,
            )
        else:
            services.closure_request_withdraw(actor=gate.signed_in_user(request), case=case, request=request)

    success = str(CLOSURE_DECISIONS.get(decision, ""))
    return _post_case_form(request, case, ClosureDecisionForm(request.POST), "decision_form", success, save)


@_casework
def closure_request_list(request: HttpRequest) -> HttpResponse:
    """The closure requests of the organisation waiting for a supervisor, oldest first."""
    gate.require(request, "cases.approve_closure", closure_requests=True)
    gate.read(request, object_type="cases.closurerequest")
    page = Paginator(closure_requests_pending(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "cases/closure_request_list.html", {"page": page})


def _detail_text(detail: dict[str, Any]) -> str:
    """An access-log row's detail as one short line; the log holds ids, field names and labels, not free text."""
    parts = []
    for key, value in detail.items():
        if isinstance(value, bool):
            parts.append(str(key))
        elif isinstance(value, list):
            parts.append(f"{key}: {', '.join(str(v) for v in value)}")
        elif isinstance(value, dict):
            parts.append(f"{key}: " + ", ".join(f"{k} {v}" for k, v in value.items()))
        else:
            parts.append(f"{key}: {value}")
    return "; ".join(parts)


@_casework
def case_access_log_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Who viewed, changed, exported or printed the case and its referrals, when and from where; supervisors only."""
    case = case_for_user(request, pk)
    gate.require(request, "cases.view_case_access_log", obj=case, access_log=True)
    # Recorded first, so that this very reading is the top row.
    gate.read(request, case, access_log=True)
    referrals = {str(r.pk): r for r in case.referrals.select_related("agency")}
    page = Paginator(case_access_log(case), ACCESS_LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    for entry in page:
        referral = referrals.get(entry.object_id) if entry.object_type == "referrals.referral" else None
        entry.about = (  # type: ignore[attr-defined]
            f"{referral.get_kind_display()} · {referral.agency}" if referral else _("Case")
        )
        entry.detail_text = _detail_text(entry.detail)  # type: ignore[attr-defined]
        # Someone of another helpline who was refused: recorded, but nothing of theirs is shown here.
        entry.outsider = entry.organisation_id != case.organisation_id  # type: ignore[attr-defined]
    return render(request, "cases/case_access_log.html", {"case": case, "page": page})

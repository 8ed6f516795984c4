from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from audit.models import Action
from cases import services as case_services
from cases.selectors import case_for_user
from helpline import gate
from helpline.web import add_service_error, form_post, identifiers_found, jinja2_page, label_choices
from referrals import services
from referrals.forms import ConsentForm, ItemForm, ItemStatusForm, ReferralForm, ReferralListForm, TransitionForm
from referrals.models import Referral, ReferralStatus
from referrals.selectors import agencies_offered_to, referral_for_user, referrals_visible_to

_casework = gate.page("cases.view_case", object_type="cases")

PAGE_SIZE = 50

# What the referral list shows (templates/jinja2/referrals/_list.html): a case read whole is forty columns.
LIST_COLUMNS = (
    "kind",
    "status",
    "outcome",
    "follow_up_on",
    "case",
    "case__reference",
    "agency",
    "agency__name",
    "owner",
    "owner__username",
)


@dataclass
class ListPage:
    """A page of the referral list, with what its pager links need."""

    rows: list[Referral]
    number: int
    has_next: bool

    def __iter__(self) -> Iterator[Referral]:
        return iter(self.rows)

    def has_previous(self) -> bool:
        return self.number > 1

    def previous_page_number(self) -> int:
        return self.number - 1

    def next_page_number(self) -> int:
        return self.number + 1


def _list_page(referrals: QuerySet[Referral], requested: str | None) -> ListPage:
    """The page asked for, as ``Paginator.get_page`` picks it, without counting every referral to say if
    another page follows: one row more than a page tells.

    A number that is no page of the list (below 1, past the end) gets the last page, as from the paginator.
    """
    try:
        number = int(requested or 1)
    except ValueError:
        number = 1
    if 1 <= number <= 2**32:
        start = (number - 1) * PAGE_SIZE
        rows = list(referrals[start : start + PAGE_SIZE + 1])
        if rows or number == 1:
            return ListPage(rows[:PAGE_SIZE], number, len(rows) > PAGE_SIZE)
    page = Paginator(referrals, PAGE_SIZE).get_page(number)
    return ListPage(list(page), page.number, page.has_next())


@_casework
def referral_list(request: HttpRequest) -> HttpResponse:
    user = gate.signed_in_user(request)
    referrals = referrals_visible_to(user).select_related("case", "agency", "owner").only(*LIST_COLUMNS)
    filters = ReferralListForm(request.GET)
    valid = filters.is_valid()  # a wrong value is shown as an error; the other filters still apply
    wanted = filters.cleaned_data
    scope = wanted.get("scope") or "mine"
    if scope == "mine":
        referrals = referrals.filter(owner_id=user.pk)
    if wanted.get("overdue"):
        referrals = referrals.follow_up_overdue()
    if wanted.get("status"):
        referrals = referrals.filter(status=wanted["status"])
    if wanted.get("agency") is not None:
        referrals = referrals.filter(agency_id=wanted["agency"])
    gate.read(request, object_type="referrals.referral", query=request.GET.urlencode())
    page = _list_page(referrals.order_by("-created_at", "-id"), request.GET.get("page"))
    label_choices(page.rows, "kind", "status", "outcome")
    return jinja2_page(
        request,
        "referrals/referral_list.html",
        "referrals/_list.html",
        {
            "page": page,
            "filters": filters,
            "scope": scope,
            "statuses": ReferralStatus.choices,
            "agencies": agencies_offered_to(user.organisation_id),
        },
        status=200 if valid else 400,
    )


@_casework
def referral_new(request: HttpRequest, case_pk: int) -> HttpResponse:
    case = case_for_user(request, case_pk)
    form = ReferralForm(request.POST or None, case=case, initial={"owner": request.user.pk})
    if form.is_valid():
        try:
            data = {**form.cleaned_data, "text_decision": form.cleaned_data["text_decision"] or None}
            referral = services.referral_create(actor=gate.signed_in_user(request), case=case, request=request, **data)
        except case_services.IdentifiersFound as error:
            identifiers_found(form, error)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("Referral drafted. Record consent, then send it."))
            return redirect("referral_detail", pk=referral.pk)
    return render(request, "referrals/referral_form.html", {"form": form, "case": case})


def _detail(request: HttpRequest, referral: Referral, status: int = 200, **forms: Any) -> HttpResponse:
    gate.read(request, referral)
    return render(
        request,
        "referrals/referral_detail.html",
        {
            "referral": referral,
            "transitions": referral.transitions.select_related("actor"),
            "items": referral.items.select_related("platform"),
            "item_statuses": ItemStatusForm.base_fields["status"].choices,  # type: ignore[attr-defined]
            "can_have_items": referral.kind in services.ITEM_KINDS,
            "transition_form": forms.get("transition_form") or TransitionForm(status=referral.status),
            "consent_form": forms.get("consent_form") or ConsentForm(),
            "item_form": forms.get("item_form") or ItemForm(organisation_id=referral.case.organisation_id),
        },
        status=status,
    )


@_casework
def referral_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, referral_for_user(request, pk))


def _post(
    request: HttpRequest, referral: Referral, form: Any, name: str, success: str, save: Callable[[dict[str, Any]], Any]
) -> HttpResponse:
    return form_post(
        request,
        form,
        save,
        success,
        reverse("referral_detail", args=[referral.pk]),
        lambda: _detail(request, referral_for_user(request, referral.pk), status=400, **{name: form}),
    )


@_casework
def referral_summary(request: HttpRequest, pk: int) -> HttpResponse:
    """A printable summary for the agency: anonymised facts, identifiers, content links and dates."""
    referral = referral_for_user(request, pk)
    case = case_for_user(request, referral.case_id, detail=True)
    gate.read(request, referral, action=Action.PRINT, case=case.pk)
    return render(
        request,
        "referrals/referral_summary.html",
        {
            "referral": referral,
            "case": case,
            "items": referral.items.select_related("platform"),
            "evidence": [s for s in case.listed_steps if s.step_type.code == "preserve_evidence"],
            "printed_at": timezone.now(),
            "printed_by": request.user,
        },
    )


@_casework
@require_POST
def referral_transition(request: HttpRequest, pk: int) -> HttpResponse:
    referral = referral_for_user(request, pk)

    def save(data: dict[str, Any]) -> None:
        services.referral_transition(
            actor=gate.signed_in_user(request),
            referral=referral,
            to=data["to"],
            outcome=data["outcome"],
            external_reference=data["external_reference"] or None,
            note=data["note"],
            text_decision=data["text_decision"] or None,
            move=data["move"],
            request=request,
        )

    form = TransitionForm(request.POST, status=referral.status)
    return _post(request, referral, form, "transition_form", _("Referral updated."), save)


@_casework
@require_POST
def referral_consent(request: HttpRequest, pk: int) -> HttpResponse:
    referral = referral_for_user(request, pk)

    def save(data: dict[str, Any]) -> None:
        services.referral_record_consent(
            actor=gate.signed_in_user(request),
            referral=referral,
            consent=data["consent"],
            reason=data["reason"],
            text_decision=data["text_decision"] or None,
            move=data["move"],
            request=request,
        )

    return _post(request, referral, ConsentForm(request.POST), "consent_form", _("Consent recorded."), save)


@_casework
@require_POST
def item_add(request: HttpRequest, pk: int) -> HttpResponse:
    referral = referral_for_user(request, pk)

    def save(data: dict[str, Any]) -> None:
        services.takedown_item_add(actor=gate.signed_in_user(request), referral=referral, request=request, **data)

    form = ItemForm(request.POST, organisation_id=referral.case.organisation_id)
    return _post(request, referral, form, "item_form", _("Content added."), save)


@_casework
@require_POST
def item_update(request: HttpRequest, pk: int, item_id: int) -> HttpResponse:
    referral = referral_for_user(request, pk)
    item = referral.items.filter(pk=item_id).first()
    form = ItemStatusForm(request.POST)
    if item is None or not form.is_valid():
        messages.error(request, _("That item could not be updated."))
    else:
        services.takedown_item_update(
            actor=gate.signed_in_user(request), item=item, status=form.cleaned_data["status"], request=request
        )
    return redirect("referral_detail", pk=referral.pk)

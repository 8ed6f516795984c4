import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from accounts.models import User
from cases.models import (
    HIGH_RISK,
    Case,
    CasePlatform,
    CaseQuerySet,
    Contact,
    Risk,
    Status,
    Term,
    Vocabulary,
)
from cases.selectors import referral_model, terms_visible_to
from cases.services import EARLIEST

# The days a date filter accepts: from 2000, as every date of a case, to a year far enough ahead for any search
# and far enough from the end of the calendar for the day after it.
FILTER_EARLIEST = EARLIEST.date()
FILTER_LATEST = date(2999, 12, 31)


def local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def without_contact_since(cutoff: datetime) -> Q:
    """Cases with nothing heard since ``cutoff``: first contact before it and no contact recorded after it."""
    return Q(first_contact_at__lt=cutoff) & Q(~Exists(Contact.objects.filter(case=OuterRef("pk"), at__gte=cutoff)))


# The querysets of filters that depend on who asks only through the organisation: CaseFilter shares its form class,
# with the querysets in it, between the people of an organisation.
_BY_ORGANISATION: set[Any] = set()


def by_organisation(queryset: Any) -> Any:
    """Mark a filter's queryset function as one whose queryset depends on the requester's organisation alone."""
    _BY_ORGANISATION.add(queryset)
    return queryset


@by_organisation
def colleagues(request: Any) -> QuerySet[User]:
    """Users of the requester's organisation: the only people a case list may be filtered by."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return User.objects.none()
    return User.objects.filter(organisation_id=user.organisation_id).order_by("username")


def organisation_terms(vocabulary: str) -> Any:
    """The terms of a vocabulary the requester's organisation names: shared and its own, by code."""

    @by_organisation
    def queryset(request: Any) -> QuerySet[Term]:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return Term.objects.none()
        return terms_visible_to(user.organisation_id).filter(vocabulary=vocabulary)

    return queryset


MENUS = {"platform": Vocabulary.PLATFORM, "sextortion_type": Vocabulary.SEXTORTION_TYPE}


def filter_terms(organisation_id: int) -> tuple[dict[str, list[tuple[str, str]]], dict[int, str]]:
    """The case list's term menus, each as (code, label) pairs, and the label of each of their terms by id, from one
    query (a choice is still checked against the filter's own queryset)."""
    menus: dict[str, list[tuple[str, str]]] = {name: [] for name in MENUS}
    names: dict[str, str] = {vocabulary: name for name, vocabulary in MENUS.items()}
    labels = {}
    for term in terms_visible_to(organisation_id).filter(vocabulary__in=MENUS.values()):
        labels[term.pk] = str(term)
        menus[names[term.vocabulary]].append((term.code, labels[term.pk]))
    return menus, labels


class IntegerFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class DayField(forms.DateField):
    def validate(self, value: date | None) -> None:
        super().validate(value)
        if value is not None and not FILTER_EARLIEST <= value <= FILTER_LATEST:
            raise ValidationError(
                _("Enter a date from %(earliest)s to %(latest)s."),
                code="out_of_range",
                params={"earliest": date_format(FILTER_EARLIEST), "latest": date_format(FILTER_LATEST)},
            )


class DayFilter(django_filters.DateFilter):
    """A day, within the years a case can have (FILTER_EARLIEST to FILTER_LATEST)."""

    field_class = DayField


def cursor_position(text: str) -> datetime:
    """The date and time a list's cursor points at, in UTC; ValueError for any text the lists do not hand out.

    In UTC, because PostgreSQL refuses offsets beyond 15:59 that Python accepts.
    """
    at = parse_datetime(text)  # itself a ValueError for a well-formed impossible date (month 13)
    if at is None or at.tzinfo is None:
        raise ValueError(f"Not a date and time with its offset: {text!r}")
    try:
        return at.astimezone(UTC)
    except OverflowError as error:
        raise ValueError(f"Out of range in UTC: {text!r}") from error


@extend_schema_field(OpenApiTypes.INT)
class ColleagueFilter(django_filters.ModelChoiceFilter):
    """A person of the requester's organisation, by user id."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, queryset=colleagues, **kwargs)


_FORM_CLASSES: dict[tuple[type[django_filters.FilterSet], bool, int | None], type[forms.Form]] = {}


class CaseFilter(django_filters.FilterSet):
    """The filters of the case list, shared by the staff page and the API."""

    reference = django_filters.CharFilter(label=_("Reference"), method="filter_reference")
    status = django_filters.ChoiceFilter(choices=Status.choices, label=_("Status"))
    risk_level = django_filters.ChoiceFilter(choices=Risk.choices, label=_("Risk"))
    mine = django_filters.BooleanFilter(label=_("Assigned to me"), method="filter_mine")
    overdue = django_filters.BooleanFilter(label=_("With overdue steps"), method="filter_overdue")
    platform = django_filters.ModelChoiceFilter(
        label=_("Platform"),
        queryset=organisation_terms(Vocabulary.PLATFORM),
        to_field_name="code",
        method="filter_platform",
    )
    sextortion_type = django_filters.ModelChoiceFilter(
        label=_("Sextortion type"),
        queryset=organisation_terms(Vocabulary.SEXTORTION_TYPE),
        to_field_name="code",
    )
    contact_from = DayFilter(label=_("First contact from"), method="filter_contact_from")
    contact_to = DayFilter(label=_("First contact to"), method="filter_contact_to")

    # The filters behind the figures of the workload board. The case list shows them as labels, not fields.
    assigned_to = ColleagueFilter(label=_("Assigned to"), help_text=_("User id, of your organisation."))
    unassigned = django_filters.BooleanFilter(label=_("Unassigned"), method="filter_unassigned")
    open = django_filters.BooleanFilter(label=_("Not closed"), method="filter_open")
    high_risk = django_filters.BooleanFilter(label=_("High or critical risk"), method="filter_high_risk")
    no_contact_days = IntegerFilter(
        label=_("No contact for this many days"), method="filter_no_contact_days", min_value=1, max_value=365
    )
    referral_followup_overdue = django_filters.BooleanFilter(
        label=_("Referral follow-up overdue"),
        method="filter_referral_followup_overdue",
        help_text=_("With referral_owner: overdue follow-ups of that person's referrals."),
    )
    referral_owner = ColleagueFilter(
        label=_("Referral owned by"), method="filter_referral_owner", help_text=_("User id.")
    )
    contacted_by = ColleagueFilter(
        label=_("Contact recorded by"), method="filter_contacted_by", help_text=_("User id; with contacted_since.")
    )
    contacted_since = DayFilter(label=_("Contact on or after"), method="filter_contacted_since")

    LABELLED = (
        "assigned_to",
        "unassigned",
        "open",
        "high_risk",
        "no_contact_days",
        "referral_followup_overdue",
        "referral_owner",
        "contacted_by",
        "contacted_since",
    )

    class Meta:
        model = Case
        fields: list[str] = []

    def get_form_class(self) -> type[forms.Form]:
        """The form of these filters, built once for each organisation (django-filter builds a class for every
        request): only its menus' querysets depend on who asks, and each is the organisation's (``by_organisation``);
        a filter whose queryset depends on anything else is refused."""
        user = getattr(self.request, "user", None)
        signed_in = user is not None and user.is_authenticated
        key = (type(self), signed_in, user.organisation_id if user is not None and signed_in else None)
        form = _FORM_CLASSES.get(key)
        if form is None:
            for name, filter_ in self.filters.items():
                queryset = getattr(filter_, "queryset", None)
                if callable(queryset) and queryset not in _BY_ORGANISATION:
                    raise ImproperlyConfigured(f"The queryset of {type(self).__name__}.{name} is not by_organisation.")
            form = _FORM_CLASSES[key] = super().get_form_class()
        return form

    # Dates are compared as local midnights, so the index on first_contact_at serves the range.
    def filter_contact_from(self, queryset: QuerySet[Case], name: str, value: date) -> QuerySet[Case]:
        return queryset.filter(first_contact_at__gte=local_midnight(value))

    def filter_contact_to(self, queryset: QuerySet[Case], name: str, value: date) -> QuerySet[Case]:
        return queryset.filter(first_contact_at__lt=local_midnight(value + timedelta(days=1)))

    def filter_reference(self, queryset: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        """A whole reference or its beginning ("SX-2025-00", "2025-0004"), or a case number alone ("42").

        Each form is answered from an index; any other text is matched anywhere in the reference.
        """
        value = value.strip().upper()
        if value.isascii() and value.isdigit() and len(value) <= 5:
            years = range(2000, timezone.localdate().year + 1)
            return queryset.filter(reference__in=[f"SX-{year}-{int(value):05d}" for year in years])
        if re.fullmatch(r"[0-9]{4}-[0-9]*", value):
            value = f"SX-{value}"
        if value.startswith("SX-"):
            return queryset.filter(reference__startswith=value)
        return queryset.filter(reference__icontains=value)

    def filter_platform(self, queryset: QuerySet[Case], name: str, value: Term | None) -> QuerySet[Case]:
        if value is None:
            return queryset
        # EXISTS rather than a join, so a case with the platform in two roles is listed once.
        return queryset.filter(Exists(CasePlatform.objects.filter(case=OuterRef("pk"), platform=value)))

    def filter_overdue(self, queryset: CaseQuerySet, name: str, value: Any) -> QuerySet[Case]:
        return queryset.with_overdue_steps() if value else queryset

    def filter_mine(self, queryset: QuerySet[Case], name: str, value: Any) -> QuerySet[Case]:
        if value:
            return queryset.filter(assigned_to=self.request.user if self.request else None)
        return queryset

    def filter_unassigned(self, queryset: QuerySet[Case], name: str, value: bool) -> QuerySet[Case]:
        return queryset.filter(assigned_to__isnull=True) if value else queryset

    def filter_open(self, queryset: CaseQuerySet, name: str, value: bool) -> QuerySet[Case]:
        return queryset.open() if value else queryset

    def filter_high_risk(self, queryset: QuerySet[Case], name: str, value: bool) -> QuerySet[Case]:
        return queryset.filter(risk_level__in=HIGH_RISK) if value else queryset

    def filter_no_contact_days(self, queryset: QuerySet[Case], name: str, value: int) -> QuerySet[Case]:
        if not value:
            return queryset
        return queryset.filter(without_contact_since(timezone.now() - timedelta(days=value)))

    # Owner and overdue are one condition on the same referral, so each is applied once with the other.
    def filter_referral_followup_overdue(self, queryset: QuerySet[Case], name: str, value: bool) -> QuerySet[Case]:
        if not value:
            return queryset
        referrals = referral_model().objects.follow_up_overdue().filter(case=OuterRef("pk"))
        owner = self.form.cleaned_data.get("referral_owner")
        if owner is not None:
            referrals = referrals.filter(owner=owner)
        return queryset.filter(Exists(referrals))

    def filter_referral_owner(self, queryset: QuerySet[Case], name: str, value: User | None) -> QuerySet[Case]:
        if value is None or self.form.cleaned_data.get("referral_followup_overdue"):
            return queryset
        return queryset.filter(Exists(referral_model().objects.filter(case=OuterRef("pk"), owner=value)))

    # By and since are one condition on the same contact, so each is applied once with the other.
    def filter_contacted_by(self, queryset: QuerySet[Case], name: str, value: User | None) -> QuerySet[Case]:
        return self._contacted(queryset) if value is not None else queryset

    def filter_contacted_since(self, queryset: QuerySet[Case], name: str, value: date) -> QuerySet[Case]:
        if value is None or self.form.cleaned_data.get("contacted_by") is not None:
            return queryset
        return self._contacted(queryset)

    def _contacted(self, queryset: QuerySet[Case]) -> QuerySet[Case]:
        """Cases with a contact by ``contacted_by`` on or after ``contacted_since`` (either alone, or both)."""
        contacts = Contact.objects.filter(case=OuterRef("pk"))
        if self.form.cleaned_data.get("contacted_by") is not None:
            contacts = contacts.filter(worker=self.form.cleaned_data["contacted_by"])
        if self.form.cleaned_data.get("contacted_since") is not None:
            contacts = contacts.filter(at__gte=local_midnight(self.form.cleaned_data["contacted_since"]))
        return queryset.filter(Exists(contacts))

    def labels(self) -> list[dict[str, str]]:
        """The board's filters in force, in words, each with the query of the list without it."""
        if not self.is_bound or not self.form.is_valid():
            return []
        data = self.form.cleaned_data
        words = {
            "assigned_to": lambda user: gettext("Assigned to %(user)s") % {"user": user},
            "unassigned": lambda _on: gettext("Unassigned"),
            "open": lambda _on: gettext("Not closed"),
            "high_risk": lambda _on: gettext("High or critical risk"),
            "no_contact_days": lambda days: gettext("No contact for %(days)s days") % {"days": days},
            "referral_followup_overdue": lambda _on: gettext("Referral follow-up overdue"),
            "referral_owner": lambda user: gettext("Referral owned by %(user)s") % {"user": user},
            "contacted_by": lambda user: gettext("Contact recorded by %(user)s") % {"user": user},
            "contacted_since": lambda day: gettext("Contact on or after %(day)s") % {"day": date_format(day, "j M Y")},
        }
        labels = []
        for name in self.LABELLED:
            value = data.get(name)
            if value is None or value is False:
                continue
            rest = self.data.copy()
            rest.pop(name, None)
            rest.pop("before", None)
            labels.append({"name": name, "text": words[name](value), "without": rest.urlencode()})
        return labels

import re
from datetime import date, datetime, time, timedelta
from typing import Any

import django_filters
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case, CasePlatform, ResponseStep, Risk, Status, StepStatus, Term, Vocabulary


def local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def overdue_steps() -> QuerySet[ResponseStep]:
    """Steps of the outer case still to do after their due time (for EXISTS)."""
    return ResponseStep.objects.filter(case=OuterRef("pk"), status=StepStatus.TODO, due_at__lt=timezone.now())


class CaseFilter(django_filters.FilterSet):
    """The filters of the case list, shared by the staff page and the API."""

    reference = django_filters.CharFilter(label=_("Reference"), method="filter_reference")
    status = django_filters.ChoiceFilter(choices=Status.choices, label=_("Status"))
    risk_level = django_filters.ChoiceFilter(choices=Risk.choices, label=_("Risk"))
    mine = django_filters.BooleanFilter(label=_("Assigned to me"), method="filter_mine")
    overdue = django_filters.BooleanFilter(label=_("With overdue steps"), method="filter_overdue")
    platform = django_filters.ModelChoiceFilter(
        label=_("Platform"),
        queryset=Term.objects.filter(vocabulary=Vocabulary.PLATFORM),
        to_field_name="code",
        method="filter_platform",
    )
    sextortion_type = django_filters.ModelChoiceFilter(
        label=_("Sextortion type"),
        queryset=Term.objects.filter(vocabulary=Vocabulary.SEXTORTION_TYPE),
        to_field_name="code",
    )
    contact_from = django_filters.DateFilter(label=_("First contact from"), method="filter_contact_from")
    contact_to = django_filters.DateFilter(label=_("to"), method="filter_contact_to")

    class Meta:
        model = Case
        fields: list[str] = []

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
        if value.isdigit() and len(value) <= 5:
            years = range(2000, timezone.localdate().year + 1)
            return queryset.filter(reference__in=[f"SX-{year}-{int(value):05d}" for year in years])
        if re.fullmatch(r"\d{4}-\d*", value):
            value = f"SX-{value}"
        if value.startswith("SX-"):
            return queryset.filter(reference__startswith=value)
        return queryset.filter(reference__icontains=value)

    def filter_platform(self, queryset: QuerySet[Case], name: str, value: Term | None) -> QuerySet[Case]:
        if value is None:
            return queryset
        # EXISTS rather than a join, so a case with the platform in two roles is listed once.
        return queryset.filter(Exists(CasePlatform.objects.filter(case=OuterRef("pk"), platform=value)))

    def filter_overdue(self, queryset: QuerySet[Case], name: str, value: Any) -> QuerySet[Case]:
        if value:
            return queryset.filter(Exists(overdue_steps()))
        return queryset

    def filter_mine(self, queryset: QuerySet[Case], name: str, value: Any) -> QuerySet[Case]:
        if value:
            return queryset.filter(assigned_to=self.request.user if self.request else None)
        return queryset

"""The parameters of a report, from a page's query string or the API's: the same rules for both."""

import re
from collections.abc import Mapping
from datetime import date
from itertools import pairwise
from typing import Any

import pycountry
from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation, User
from cases.models import AgeUnknown, Gender, Risk, Term, Vocabulary
from cases.selectors import terms_visible_to
from referrals.models import Agency
from referrals.selectors import agencies_visible_to
from reports.engine import Params, filter_summary, may_see_true_counts_of
from reports.models import AgeScheme
from reports.selectors import organisations_for_reports

CUSTOM = "custom"
MAX_MONTHS = 120
MAX_AGE = 120
MAX_BANDS = 12
EARLIEST_YEAR = 2000
MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")
GRANULARITIES = [("month", _("Month")), ("quarter", _("Quarter")), ("year", _("Year"))]


def month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def from_month_index(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def default_months(today: date, *, published: bool = False) -> tuple[date, date]:
    """The last twelve full months; for disclosure-controlled figures, this year so far."""
    if published:
        return date(today.year, 1, 1), date(today.year, today.month, 1)
    end = from_month_index(month_index(today) - 1)
    return from_month_index(month_index(end) - 11), end


def published_range(start: date, end: date, today: date) -> bool:
    """Whether disclosure-controlled figures may cover these months: one calendar year, or this year so far.

    The perturbation of a figure is fixed, but every range of months counts a set of cases of its own. If any
    range were allowed, January to M less February to M, for every M, would give January's figures again and
    again with fresh noise, and their average would give them exactly; nested ranges over several years
    (2024 to now less 2025 to now) would do the same for a past year each time a new case arrives. Within one
    year, a set of months can be had only a few ways.
    """
    this_year_so_far = start.year == end.year == today.year and month_index(end) == month_index(today)
    return start.month == 1 and (this_year_so_far or (end.month == 12 and end.year == start.year))


class MonthField(forms.CharField):
    """A month as "YYYY-MM" (what ``<input type=month>`` sends), cleaned to its first day."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})

    def to_python(self, value: Any) -> date | None:  # type: ignore[override]
        text = (super().to_python(value) or "").strip()
        if not text:
            return None
        match = MONTH.match(text)
        if match is None or not 1 <= int(match[2]) <= 12:
            raise ValidationError(_("Enter a month as YYYY-MM, for example 2025-01."), code="invalid")
        if int(match[1]) < EARLIEST_YEAR:  # before building the date: there is no year 0
            raise ValidationError(
                _("Reports start in %(year)s or later."), code="too_early", params={"year": EARLIEST_YEAR}
            )
        return date(int(match[1]), int(match[2]), 1)

    def prepare_value(self, value: Any) -> Any:
        return f"{value:%Y-%m}" if isinstance(value, date) else value


def parse_limits(text: str) -> tuple[int, ...]:
    """Custom age bands as the lowest age of each band after the first: "13, 18, 25"."""
    parts = [part.strip() for part in re.split(r"[,;\s]+", text.strip()) if part.strip()]
    if not parts:
        raise ValidationError(_("Give at least one age limit, for example 13, 18."), code="required")
    if not all(part.isascii() and part.isdigit() for part in parts):
        raise ValidationError(_("Enter whole numbers separated by commas, for example 13, 18, 25."), code="invalid")
    limits = tuple(int(part) for part in parts)
    if any(not 1 <= limit <= MAX_AGE for limit in limits):
        raise ValidationError(_("Each age limit must be between 1 and %(max)s."), code="range", params={"max": MAX_AGE})
    for low, high in pairwise(limits):
        if high <= low:
            raise ValidationError(
                _("The limits must increase: %(high)s comes after %(low)s."),
                code="order",
                params={"low": low, "high": high},
            )
    if len(limits) >= MAX_BANDS:
        raise ValidationError(_("At most %(max)s bands."), code="too_many", params={"max": MAX_BANDS})
    return limits


class ReportForm(forms.Form):
    """Parameters missing from the data take their defaults, so an empty query string is a valid report."""

    organisations = forms.ModelMultipleChoiceField(
        label=_("Organisations"), queryset=Organisation.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    start = MonthField(label=_("From month"))
    end = MonthField(label=_("To month"))
    granularity = forms.ChoiceField(label=_("By"), choices=GRANULARITIES)
    age_scheme = forms.ChoiceField(label=_("Age bands"))
    bands = forms.CharField(
        label=_("Custom age bands"),
        required=False,
        max_length=100,
        help_text=_(
            "The lowest age of each band after the first: 13, 18, 25 gives 12 and under, 13 to 17, "
            "18 to 24, 25 and over."
        ),
    )
    platform = forms.ModelChoiceField(
        label=_("Platform"),
        queryset=Term.objects.none(),
        required=False,
        to_field_name="code",
        empty_label=_("All platforms"),
    )
    sextortion_type = forms.ModelChoiceField(
        label=_("Sextortion type"),
        queryset=Term.objects.none(),
        required=False,
        to_field_name="code",
        empty_label=_("All types"),
    )
    region = forms.CharField(
        label=_("Region"), required=False, max_length=6, help_text=_("ISO 3166-2 code, for example IT-RM.")
    )
    age_band = forms.CharField(
        label=_("Age band"),
        required=False,
        max_length=5,
        help_text=_(
            "A band of the chosen age bands, counted from 1 for the youngest; minor or adult for the cases "
            "whose exact age is not known."
        ),
    )
    gender = forms.ChoiceField(label=_("Gender"), required=False, choices=[("", _("All genders")), *Gender.choices])
    risk_level = forms.ChoiceField(
        label=_("Risk level"), required=False, choices=[("", _("All risk levels")), *Risk.choices]
    )
    channel = forms.ModelChoiceField(
        label=_("Channel"),
        queryset=Term.objects.none(),
        required=False,
        to_field_name="code",
        empty_label=_("All channels"),
    )
    reporter_type = forms.ModelChoiceField(
        label=_("Reporter"),
        queryset=Term.objects.none(),
        required=False,
        to_field_name="code",
        empty_label=_("All reporters"),
    )
    agency = forms.ModelChoiceField(
        label=_("Referred to"),
        queryset=Agency.objects.none(),
        required=False,
        to_field_name="code",
        empty_label=_("Any or no agency"),
        help_text=_("Only cases with a referral sent to this agency."),
    )

    def __init__(self, data: Mapping[str, Any] | None = None, *, user: User) -> None:
        self.user = user
        self.schemes = {scheme.code: scheme for scheme in AgeScheme.objects.all()}
        organisations = organisations_for_reports(user).order_by("name")
        start, end = default_months(
            timezone.localdate(), published=not may_see_true_counts_of(user, [user.organisation_id])
        )
        own = [user.organisation_id] if organisations.filter(pk=user.organisation_id).exists() else []
        defaults: dict[str, list[str]] = {
            "organisations": [str(pk) for pk in own],
            "start": [f"{start:%Y-%m}"],
            "end": [f"{end:%Y-%m}"],
            "granularity": ["month"],
            "age_scheme": [next(iter(self.schemes), CUSTOM)],
        }
        merged = QueryDict(mutable=True)
        for name, values in defaults.items():
            merged.setlist(name, values)
        for name in self.base_fields:
            if data is not None and name in data:
                merged.setlist(name, _values(data, name))
        super().__init__(merged)
        self.fields["organisations"].queryset = organisations  # type: ignore[attr-defined]
        self.fields["age_scheme"].choices = [  # type: ignore[attr-defined]
            *((code, scheme.label) for code, scheme in self.schemes.items()),
            (CUSTOM, _("Custom bands")),
        ]
        # The shared terms and the reader's organisation's own, so that a code names one term.
        terms = terms_visible_to(user.organisation_id).order_by("position", "label")
        self.fields["platform"].queryset = terms.filter(  # type: ignore[attr-defined]
            vocabulary=Vocabulary.PLATFORM, active=True
        )
        self.fields["sextortion_type"].queryset = terms.filter(  # type: ignore[attr-defined]
            vocabulary=Vocabulary.SEXTORTION_TYPE
        )
        self.fields["channel"].queryset = terms.filter(vocabulary=Vocabulary.CHANNEL)  # type: ignore[attr-defined]
        self.fields["reporter_type"].queryset = terms.filter(  # type: ignore[attr-defined]
            vocabulary=Vocabulary.REPORTER_TYPE
        )
        self.fields["agency"].queryset = agencies_visible_to(user.organisation_id).order_by(  # type: ignore[attr-defined]
            "kind", "name"
        )

    def filter_summary(self) -> list[tuple[str, str]]:
        """The filters of a valid form, in words."""
        return filter_summary(self.params())

    def refused_organisations(self) -> list[str]:
        """The organisations asked for that this reader may not report on: a refused access, not a typo."""
        allowed = {str(pk) for pk in self.fields["organisations"].queryset.values_list("pk", flat=True)}  # type: ignore[attr-defined]
        return [asked[:20] for asked in _values(self.data, "organisations") if asked not in allowed]

    @property
    def single_organisation(self) -> bool:
        return self.fields["organisations"].queryset.count() <= 1  # type: ignore[attr-defined]

    def clean_region(self) -> str:
        region: str = self.cleaned_data["region"].strip().upper()
        if region and pycountry.subdivisions.get(code=region) is None:
            raise ValidationError(_("Not an ISO 3166-2 region code; use one like IT-RM or AU-NSW."), code="invalid")
        return region

    def clean_age_band(self) -> str:
        band: str = self.cleaned_data["age_band"].strip().lower()
        if band and band not in (AgeUnknown.MINOR, AgeUnknown.ADULT) and not re.fullmatch(r"[1-9][0-9]?", band):
            raise ValidationError(_("Give the band's number, minor or adult."), code="invalid")
        return band

    def _clean_age_band_against_scheme(self, data: dict[str, Any]) -> None:
        """The band's number within the scheme; the engine counts bands from 0."""
        band = data.get("age_band") or ""
        if band.isdigit() and data.get("age_limits") is not None:
            if int(band) > len(data["age_limits"]) + 1:
                self.add_error("age_band", _("The chosen age bands have no band %(band)s.") % {"band": band})
            else:
                data["age_band"] = str(int(band) - 1)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", _("The last month is before the first month."))
            elif month_index(end) > month_index(timezone.localdate()):
                self.add_error("end", _("The report cannot end after the current month."))
            elif month_index(end) - month_index(start) + 1 > MAX_MONTHS:
                self.add_error("end", _("A report covers at most 10 years (120 months)."))
        if data.get("age_scheme") == CUSTOM:
            if not data.get("bands", "").strip():
                self.add_error("bands", _("Give the custom age bands, for example 13, 18, 25."))
            else:
                try:
                    data["age_limits"] = parse_limits(data["bands"])
                except ValidationError as error:
                    self.add_error("bands", error)
        elif data.get("age_scheme") in self.schemes:
            data["age_limits"] = tuple(self.schemes[data["age_scheme"]].limits)
        if data.get("organisations") and not may_see_true_counts_of(self.user, [o.pk for o in data["organisations"]]):
            self._only_what_cannot_be_averaged(data)
        self._clean_age_band_against_scheme(data)
        return data

    def _only_what_cannot_be_averaged(self, data: dict[str, Any]) -> None:
        """Perturbed figures: named age schemes, one calendar year or this year so far, one organisation or all.

        The perturbation of a figure is fixed, but figures that differ only a little (bands shifted by a year,
        a range less one month, a group of organisations less one) have perturbations of their own: enough of
        them could be combined to average the noise away and work a small count back."""
        if data.get("age_scheme") == CUSTOM:
            message = _(
                "Custom age bands are for true counts within your own organisation. Disclosure-controlled "
                "figures use a named scheme, because many overlapping bands could be combined to cancel "
                "the perturbation and work a small count back."
            )
            self.add_error("age_scheme", ValidationError(message, code="custom_bands"))
        start, end = data.get("start"), data.get("end")
        if start and end and not published_range(start, end, timezone.localdate()):
            message = _(
                "A disclosure-controlled report covers one calendar year (January to December), or this year "
                "so far, because reports over shifted or nested ranges of months could be combined to cancel "
                "the perturbation and work a small count back."
            )
            self.add_error("start", ValidationError(message, code="shifted_range"))
        chosen = {organisation.pk for organisation in data.get("organisations") or []}
        granted = set(self.fields["organisations"].queryset.values_list("pk", flat=True))  # type: ignore[attr-defined]
        if len(chosen) > 1 and chosen != granted:
            message = _(
                "A disclosure-controlled report covers one organisation, or all those you may report on together, "
                "because reports over different groups of organisations could be combined to cancel the "
                "perturbation and work a small count back."
            )
            self.add_error("organisations", ValidationError(message, code="organisation_subset"))

    def params(self) -> Params:
        """The report's parameters; only for a valid form."""
        data = self.cleaned_data
        return Params(
            organisations=tuple(sorted(organisation.pk for organisation in data["organisations"])),
            start=data["start"],
            end=data["end"],
            granularity=data["granularity"],
            age_limits=data["age_limits"],
            age_scheme=data["age_scheme"],
            platform=data["platform"].pk if data["platform"] else None,
            sextortion_type=data["sextortion_type"].pk if data["sextortion_type"] else None,
            region=data["region"],
            age_band=data["age_band"],
            gender=data["gender"],
            risk_level=data["risk_level"],
            channel=data["channel"].pk if data["channel"] else None,
            reporter_type=data["reporter_type"].pk if data["reporter_type"] else None,
            agency=data["agency"].pk if data["agency"] else None,
        )


def _values(data: Mapping[str, Any], name: str) -> list[str]:
    if hasattr(data, "getlist"):
        return list(data.getlist(name))
    value = data[name]
    return [str(item) for item in value] if isinstance(value, list | tuple) else [str(value)]


class ChiForm(ReportForm):
    """The yearly figures for Child Helpline International: one calendar year (this year so far), by year, for
    one organisation or all those the reader may report on, in a named age scheme, with no filter.

    The same rules as any report apply (``ReportForm``), so the figures are disclosure-controlled alike.
    """

    year = forms.IntegerField(label=_("Year"), min_value=EARLIEST_YEAR)

    def __init__(self, data: Mapping[str, Any] | None = None, *, user: User) -> None:
        today = timezone.localdate()
        asked = str((data or {}).get("year", "")).strip()
        year = int(asked) if asked.isascii() and asked.isdigit() and EARLIEST_YEAR <= int(asked) <= today.year else 0
        year = year or today.year - 1  # by default the last full year, the one Child Helpline International asks for
        end = date(year, 12, 1) if year < today.year else date(year, today.month, 1)
        merged = QueryDict(mutable=True)
        for name in ("organisations", "age_scheme"):
            if data is not None and name in data:
                merged.setlist(name, _values(data, name))
        merged.setlist("year", [asked or str(year)])
        merged.update({"start": f"{year}-01", "end": f"{end:%Y-%m}", "granularity": "year"})
        super().__init__(merged, user=user)
        self.period_year = year  # the year the figures are counted for
        self.fields["year"].widget.attrs["max"] = today.year
        self.fields["age_scheme"].choices = [  # type: ignore[attr-defined]
            (code, scheme.label) for code, scheme in self.schemes.items()
        ]  # named schemes only

    def clean_year(self) -> int:
        year: int = self.cleaned_data["year"]
        if year > timezone.localdate().year:
            raise ValidationError(_("The year cannot be after this one."), code="future")
        if year != self.period_year:  # "2024.0" and the like: a year the figures were not counted for
            raise ValidationError(_("Give the year in four digits, e.g. 2025."), code="invalid")
        return year

"""The workload board's figures: per person and for the organisation, from a handful of grouped queries."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Aggregate, Count, FloatField, Func, Max, Q, QuerySet
from django.utils import timezone

from accounts.models import Organisation, User
from accounts.roles import Role
from cases.filters import HIGH_RISK, local_midnight, without_contact_since
from cases.models import Case, CaseQuerySet, Contact
from cases.selectors import cases_visible_to
from referrals.models import Referral
from supervision.models import ExposurePromptAnswer, PromptAnswer

CASEWORKERS = (Role.WORKER, Role.SUPERVISOR)
QUEUE_LENGTH = 100


def stale_days_default() -> int:
    return int(getattr(settings, "SUPERVISION_STALE_DAYS", 7))


def may_supervise(user: User | AnonymousUser) -> bool:
    """The board and (re)assignment: supervisors, who assign cases."""
    return bool(user.is_authenticated and user.has_perm("cases.assign_case"))


def may_read_workload(user: User | AnonymousUser) -> bool:
    """The figures without the cases: supervisors, and administrators (who manage the people)."""
    return bool(user.is_authenticated and (may_supervise(user) or user.has_perm("accounts.view_user")))


class Median(Aggregate):
    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


class Epoch(Func):
    # date_part, unlike EXTRACT, answers in double precision: no numeric arithmetic per row.
    template = "date_part('epoch', %(expressions)s)"
    output_field = FloatField()


@dataclass
class Figures:
    open_cases: int = 0
    high_risk: int = 0
    overdue_steps: int = 0
    no_contact: int = 0
    followups_overdue: int | None = 0  # None where it does not apply (the unassigned queue)
    contacts_this_week: int | None = 0
    median_age_days: float | None = None


@dataclass(kw_only=True)
class WorkerFigures(Figures):
    user: User


@dataclass
class Workload:
    organisation: Organisation
    generated_at: datetime
    stale_days: int
    week_start: date
    workers: list[WorkerFigures] = field(default_factory=list)
    unassigned: Figures = field(default_factory=Figures)
    totals: Figures = field(default_factory=Figures)


def _age_days(now: datetime, median_epoch: float | None) -> float | None:
    """The median age in days: the median of first contacts, counted back from now."""
    if median_epoch is None:
        return None
    return round((now.timestamp() - median_epoch) / 86400, 1)


def _median_first_contact(open_cases: QuerySet[Case], count: int) -> float | None:
    """The median first contact of ``count`` open cases, read at the middle of index case_open_recent.

    Reading one or two rows at an offset of the ordered index is cheaper than sorting them all again.
    """
    if not count:
        return None
    middle = list(
        open_cases.order_by("first_contact_at", "id").values_list("first_contact_at", flat=True)[
            (count - 1) // 2 : count // 2 + 1
        ]
    )
    if not middle:
        return None  # cases closed since they were counted
    return sum(moment.timestamp() for moment in middle) / len(middle)


def _by(queryset: QuerySet[Any], key: str) -> dict[Any, int]:
    """Count the rows of a query per value of one column, in one GROUP BY."""
    return dict(queryset.values(key).annotate(n=Count("pk")).values_list(key, "n").order_by())


def workload(organisation: Organisation, *, stale_days: int, now: datetime | None = None) -> Workload:
    """Every figure of the board for one organisation, in seven queries whatever the number of people.

    Each count is its own GROUP BY, so that PostgreSQL can answer the overdue and quiet cases with a
    semi- or anti-join over the index of open cases rather than a subquery per case.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    week_start = today - timedelta(days=today.weekday())
    cutoff = now - timedelta(days=stale_days)
    open_here = Case.objects.filter(organisation=organisation).open()
    per_assignee: dict[int | None, dict[str, Any]] = {
        row["assigned_to"]: dict(row)
        for row in open_here.values("assigned_to")
        .annotate(
            open_cases=Count("pk"),
            high_risk=Count("pk", filter=Q(risk_level__in=HIGH_RISK)),
            median=Median(Epoch("first_contact_at")),
        )
        .order_by()
    }
    overdue = _by(open_here.with_overdue_steps(now), "assigned_to")
    quiet = _by(open_here.filter(without_contact_since(cutoff)), "assigned_to")
    overall_median = _median_first_contact(open_here, sum(row["open_cases"] for row in per_assignee.values()))
    # Referrals and contacts are counted by their people's organisation (a join with the few users)
    # rather than their cases' (a lookup per row in the large case table); they are the same people.
    followups = _by(Referral.objects.follow_up_overdue(today).filter(owner__organisation=organisation), "owner")
    contacts = _by(
        Contact.objects.filter(worker__organisation=organisation, at__gte=local_midnight(week_start)), "worker"
    )
    busy = {pk for pk in per_assignee if pk is not None} | set(followups) | set(contacts)
    # Everyone who works on cases here, with or without any, and whoever else still holds some
    # (a worker who left, whose cases are waiting to be given to someone).
    people = User.objects.filter(organisation=organisation).filter(
        Q(role__in=CASEWORKERS, is_active=True) | Q(pk__in=busy)
    )
    board = Workload(organisation=organisation, generated_at=now, stale_days=stale_days, week_start=week_start)
    for person in people.order_by("username"):
        row = per_assignee.get(person.pk, {})
        board.workers.append(
            WorkerFigures(
                user=person,
                open_cases=row.get("open_cases", 0),
                high_risk=row.get("high_risk", 0),
                overdue_steps=overdue.get(person.pk, 0),
                no_contact=quiet.get(person.pk, 0),
                followups_overdue=followups.get(person.pk, 0),
                contacts_this_week=contacts.get(person.pk, 0),
                median_age_days=_age_days(now, row.get("median")),
            )
        )
    nobody = per_assignee.get(None, {})
    board.unassigned = Figures(
        open_cases=nobody.get("open_cases", 0),
        high_risk=nobody.get("high_risk", 0),
        overdue_steps=overdue.get(None, 0),
        no_contact=quiet.get(None, 0),
        followups_overdue=None,
        contacts_this_week=None,
        median_age_days=_age_days(now, nobody.get("median")),
    )
    board.totals = Figures(
        open_cases=sum(row["open_cases"] for row in per_assignee.values()),
        high_risk=sum(row["high_risk"] for row in per_assignee.values()),
        overdue_steps=sum(overdue.values()),
        no_contact=sum(quiet.values()),
        followups_overdue=sum(followups.values()),
        contacts_this_week=sum(contacts.values()),
        median_age_days=_age_days(now, overall_median),
    )
    return board


def unassigned_queue(user: User, limit: int = QUEUE_LENGTH) -> list[Case]:
    """Open cases nobody holds, oldest first, each marked if a step is overdue."""
    cases = list(
        cases_visible_to(user)
        .open()
        .filter(assigned_to__isnull=True)
        .select_related("sextortion_type")
        .with_overdue_mark()
        # assigned_to is NULL throughout: naming it first lets PostgreSQL read case_open_assignee in order.
        .order_by("assigned_to_id", "first_contact_at", "id")[:limit]
    )
    return cases


def open_cases_held_by(user: User, holder: User) -> CaseQuerySet:
    """The open cases one person holds, oldest first, among those ``user`` may see."""
    return (
        cases_visible_to(user)
        .open()
        .filter(assigned_to=holder)
        .select_related("sextortion_type")
        .order_by("first_contact_at", "id")
    )


def people_of(user: User) -> QuerySet[User]:
    """The people of the user's organisation whose cases a supervisor may look through."""
    return User.objects.filter(organisation_id=user.organisation_id)


def assignable_to(organisation_id: int) -> QuerySet[User]:
    """Who may be given cases: active workers and supervisors of the organisation."""
    return User.objects.filter(organisation_id=organisation_id, role__in=CASEWORKERS, is_active=True).order_by(
        "username"
    )


# Exposure care. A hard contact is one on a case that has ever been at high or critical risk (the flag the database
# sets and never clears) or that records self-harm or suicidal thoughts: lowering the risk later does not make what
# was heard any lighter. A shift is the organisation's shift length back from now; a week, the past seven days.
HARD_CONTACT = Q(case__closure_needs_approval=True) | Q(case__self_harm=True)
EXPOSURE_WEEK = timedelta(days=7)


def may_read_exposure(user: User | AnonymousUser) -> bool:
    """How much each person has heard: their supervisors only, never administrators or analysts."""
    return may_supervise(user)


@dataclass(kw_only=True)
class Exposure:
    user: User
    shift: int = 0
    week: int = 0
    over_shift: bool = False
    over_week: bool = False
    debrief_asked_at: datetime | None = None  # the latest request in the past week

    @property
    def over(self) -> bool:
        return self.over_shift or self.over_week


@dataclass
class ExposureBoard:
    organisation: Organisation
    generated_at: datetime
    shift_start: datetime
    week_start: datetime
    people: list[Exposure] = field(default_factory=list)

    @property
    def over(self) -> list[Exposure]:
        return [person for person in self.people if person.over]


def _exposure_windows(organisation: Organisation, now: datetime) -> tuple[datetime, datetime]:
    return now - timedelta(hours=organisation.exposure_shift_hours), now - EXPOSURE_WEEK


def _hard_contacts(whose: Q, week_start: datetime) -> QuerySet[Contact]:
    return Contact.objects.filter(HARD_CONTACT, whose, at__gte=week_start)


def _shift_and_week(shift_start: datetime) -> dict[str, Count]:
    return {"shift": Count("pk", filter=Q(at__gte=shift_start)), "week": Count("pk")}


def _over(organisation: Organisation, shift: int, week: int) -> tuple[bool, bool]:
    """Over the shift's threshold, over the week's: reaching a threshold is over it."""
    return shift >= organisation.exposure_shift_threshold, week >= organisation.exposure_week_threshold


def exposure_of(organisation: Organisation, *, now: datetime | None = None) -> ExposureBoard:
    """Each person's hard contacts in the shift and the week against the organisation's thresholds, in three
    queries: the counts, the debriefs asked for, the people."""
    now = now or timezone.now()
    shift_start, week_start = _exposure_windows(organisation, now)
    counts: dict[int, Any] = {
        row["worker"]: row
        for row in _hard_contacts(Q(worker__organisation=organisation), week_start)
        .values("worker")
        .annotate(**_shift_and_week(shift_start))
        .order_by()
    }
    debriefs = dict(
        ExposurePromptAnswer.objects.filter(
            user__organisation=organisation, answer=PromptAnswer.DEBRIEF, at__gte=week_start
        )
        .values("user")
        .annotate(last=Max("at"))
        .values_list("user", "last")
        .order_by()
    )
    people = User.objects.filter(organisation=organisation).filter(
        Q(role__in=CASEWORKERS, is_active=True) | Q(pk__in=set(counts))
    )
    board = ExposureBoard(organisation=organisation, generated_at=now, shift_start=shift_start, week_start=week_start)
    for person in people.order_by("username"):
        row = counts.get(person.pk, {})
        shift, week = row.get("shift", 0), row.get("week", 0)
        over_shift, over_week = _over(organisation, shift, week)
        board.people.append(
            Exposure(
                user=person,
                shift=shift,
                week=week,
                over_shift=over_shift,
                over_week=over_week,
                debrief_asked_at=debriefs.get(person.pk),
            )
        )
    return board


def exposure_prompt_due(user: User, *, now: datetime | None = None) -> bool:
    """Whether to offer this person a break: over a threshold of their organisation, and the prompt not already put
    away or answered with a request for a debrief in this shift. At most two small queries."""
    if user.role not in CASEWORKERS or not user.is_active:
        return False
    now = now or timezone.now()
    organisation = user.organisation
    shift_start, week_start = _exposure_windows(organisation, now)
    counts = _hard_contacts(Q(worker=user), week_start).aggregate(**_shift_and_week(shift_start))
    if not any(_over(organisation, counts["shift"], counts["week"])):
        return False
    return not ExposurePromptAnswer.objects.filter(user=user, at__gte=shift_start).exists()

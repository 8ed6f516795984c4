import calendar
import operator
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import reduce
from typing import Any

from django.apps import apps
from django.db import connection
from django.db.models import Case as CaseWhen
from django.db.models import Count, Exists, Model, OuterRef, Q, QuerySet, Value, When

from accounts.models import Organisation, User
from cases.models import Case, Status
from retention.models import Content, LegalHold, RetentionPolicy

HISTORY = "history_rows"


# What erasing writes where a column may not be empty (a sent-back closure request keeps "why").
ERASED = "(erased)"


def _blanked(column: str) -> CaseWhen:
    """Empty stays empty; any text becomes ERASED."""
    return CaseWhen(When(**{column: ""}, then=Value("")), default=Value(ERASED))


@dataclass(frozen=True)
class Target:
    """One table holding content a policy erases: the live rows or their history (pghistory events)."""

    content: str  # the kind of content (Content) whose switch in the policy erases it
    key: str  # its name in the audit log and the dry run
    model: str  # app_label.ModelName
    case: str  # the lookup from a row to its case's id
    columns: tuple[str, ...] = ()  # the text it holds; none: the whole row is erased (deleted)
    blank: dict[str, Any] = field(default_factory=dict)  # what erasing writes besides "" in the columns

    @property
    def model_class(self) -> type[Model]:
        return apps.get_model(self.model)

    @property
    def pending(self) -> Q:
        """Rows still to erase: every row of a table that is deleted, else those with text left."""
        return reduce(operator.or_, (~Q(**{f"{column}__in": ["", ERASED]}) for column in self.columns), Q())

    @property
    def writes(self) -> dict[str, Any]:
        return {**dict.fromkeys(self.columns, ""), **self.blank}

    def rows(self, case_ids: list[int]) -> QuerySet[Any]:
        return self.model_class._default_manager.filter(self.pending, **{f"{self.case}__in": case_ids})

    def erase(self, case_ids: list[int]) -> None:
        if self.key == HISTORY:
            # History rows are append-only for the app's database role: the owner's function blanks their
            # text as ``writes`` says, for closed cases not on legal hold (retention/migrations/0002_...).
            with connection.cursor() as cursor:
                cursor.execute("SELECT retention_erase_history(%s, %s)", [self.model_class._meta.db_table, case_ids])
        elif self.columns:
            self.rows(case_ids).update(**self.writes)
        else:
            self.rows(case_ids).delete()


NOTE = ("text",)
NOTE_KEPT: dict[str, Any] = {"identifiers_kept": []}  # the kinds of identifier the text held: none now
IDENTIFIER = ("value", "value_hash")
CLOSURE = ("comment", "decision_comment")
CLOSURE_BLANK: dict[str, Any] = {"decision_comment": _blanked("decision_comment")}

# Everything a policy erases, and nothing else: the facts that statistics count stay as they are.
# Notes and offender identifiers are free text only, so they go; an identifier's hash goes with it,
# since left behind it would still link the case to others. Takedown items, referral moves and
# closure requests are counted or shown as facts (platforms, delays, who approved), so only their
# text is blanked. The history tables keep a copy of every version of a row: the text goes there too.
TARGETS = [
    Target(Content.NOTES, "notes", "cases.Note", "case"),
    Target(Content.NOTES, "referral_notes", "referrals.ReferralTransition", "referral__case", ("note",)),
    Target(Content.NOTES, "closure_comments", "cases.ClosureRequest", "case", CLOSURE, CLOSURE_BLANK),
    Target(Content.INCIDENT_DESCRIPTION, "incident_description", "cases.Case", "pk", ("incident_description",)),
    Target(Content.OFFENDER_IDENTIFIERS, "offender_identifiers", "cases.OffenderIdentifier", "case"),
    Target(Content.TAKEDOWN_LINKS, "takedown_links", "referrals.TakedownItem", "referral__case", ("link",)),
    Target(Content.NOTES, HISTORY, "cases.NoteEvent", "case", NOTE, NOTE_KEPT),
    Target(Content.NOTES, HISTORY, "cases.ClosureRequestEvent", "case", CLOSURE, CLOSURE_BLANK),
    Target(Content.INCIDENT_DESCRIPTION, HISTORY, "cases.CaseEvent", "pgh_obj", ("incident_description",)),
    Target(Content.OFFENDER_IDENTIFIERS, HISTORY, "cases.OffenderIdentifierEvent", "case", IDENTIFIER),
    Target(Content.TAKEDOWN_LINKS, HISTORY, "referrals.TakedownItemEvent", "referral__case", ("link",)),
]


def retention_policy_for(organisation: Organisation) -> RetentionPolicy:
    """The organisation's saved policy, or the default (unsaved) when it has none."""
    policy = RetentionPolicy.objects.filter(organisation=organisation).first()
    return policy or RetentionPolicy(organisation=organisation)


def retention_policies_visible_to(user: User) -> QuerySet[RetentionPolicy]:
    policies = RetentionPolicy.objects.select_related("organisation", "updated_by")
    return policies if user.is_superuser else policies.filter(organisation_id=user.organisation_id)


def legal_holds_visible_to(user: User) -> QuerySet[LegalHold]:
    holds = LegalHold.objects.select_related("case", "set_by")
    return holds if user.is_superuser else holds.filter(case__organisation_id=user.organisation_id)


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` earlier (the last day of the month when that day does not exist)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def cases_past_retention(policy: RetentionPolicy, now: datetime) -> QuerySet[Case]:
    """The organisation's cases closed longer ago than the policy keeps them, except those on legal hold."""
    if not policy.contents:
        return Case.objects.none()
    return Case.objects.filter(
        organisation_id=policy.organisation_id,
        status=Status.CLOSED,
        closed_at__lt=months_before(now, policy.months_after_closure),
    ).exclude(Exists(LegalHold.objects.filter(case=OuterRef("pk"))))


def erasable_counts(policy: RetentionPolicy, case_ids: list[int]) -> dict[int, Counter[str]]:
    """How many rows of each kind each case still has to erase: live rows by kind, history rows together.

    One query per table, on its index by case: the cases left with nothing to erase (those erased on an
    earlier night) cost a lookup each, so a nightly run over a million closed cases stays cheap.
    """
    counts: dict[int, Counter[str]] = {pk: Counter() for pk in case_ids}
    for target in TARGETS:
        if target.content in policy.contents:
            for case_id, n in target.rows(case_ids).values_list(target.case).annotate(n=Count("pk")).order_by():
                counts[case_id][target.key] += n
    return counts

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pghistory
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation, User
from audit.models import AccessLog, Action
from audit.services import access_log_record
from cases.models import Case
from retention.models import LegalHold, RetentionPolicy
from retention.selectors import HISTORY, TARGETS, cases_past_retention, erasable_counts, retention_policy_for

BATCH_SIZE = 500
REASON_LIMIT = 500


@dataclass
class Erasure:
    """What erasing one case removes (or removed): rows by kind, never the content itself."""

    case_id: int
    reference: str
    closed_at: datetime | None
    counts: Counter[str]


@dataclass
class Outcome:
    cases: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    finished: bool = True
    after: int = 0  # the last case looked at: a run that did not finish goes on after it


def retention_policy_save(
    *, actor: User, policy: RetentionPolicy, changed: list[str], request: HttpRequest | None = None
) -> RetentionPolicy:
    """Save an administrator's edit of their organisation's policy, logged."""
    created = policy.pk is None
    policy.updated_by = actor
    policy.clean_fields(exclude=["organisation", "updated_by"])
    policy.save()
    access_log_record(
        action=Action.CREATE if created else Action.CHANGE,
        request=request,
        actor=actor,
        obj=policy,
        detail={"fields": changed, "months_after_closure": policy.months_after_closure, "erase": policy.contents},
    )
    return policy


def _clean_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the case is on legal hold.")})
    if len(reason) > REASON_LIMIT:
        raise ValidationError({"reason": _("Keep the reason under %(limit)s characters.") % {"limit": REASON_LIMIT}})
    return reason


@transaction.atomic
def legal_hold_set(*, actor: User, case: Case, reason: str, request: HttpRequest | None = None) -> LegalHold:
    """Keep a case's content whatever the retention policy says; a second call changes the reason."""
    reason = _clean_reason(reason)
    # Locked so that a nightly run erasing this case either finishes first or skips it.
    case = Case.objects.select_for_update().get(pk=case.pk)
    hold = LegalHold.objects.filter(case=case).first()
    if hold is None:
        hold = LegalHold.objects.create(case=case, reason=reason, set_by=actor)
        detail = {"legal_hold": "set", "hold": hold.pk}
    else:
        hold.reason = reason
        hold.save(update_fields=["reason"])
        detail = {"legal_hold": "reason changed", "hold": hold.pk}
    # The reason is the administrator's free text: it stays in the hold and its history, not in the log.
    access_log_record(action=Action.CHANGE, request=request, actor=actor, obj=case, detail=detail)
    return hold


@transaction.atomic
def legal_hold_release(*, actor: User, hold: LegalHold, request: HttpRequest | None = None) -> None:
    """Lift a legal hold: from the next nightly run on, the case follows its organisation's policy again."""
    case = Case.objects.select_for_update().get(pk=hold.case_id)
    detail = {"legal_hold": "released", "hold": hold.pk, "set_by": hold.set_by.get_username()}
    hold.delete()
    access_log_record(action=Action.CHANGE, request=request, actor=actor, obj=case, detail=detail)


def _next_window(policy: RetentionPolicy, now: datetime, after: int, size: int) -> list[tuple[int, str, Any]]:
    """The next cases past retention in id order, whether or not anything of them is left to erase."""
    return list(
        cases_past_retention(policy, now)
        .filter(pk__gt=after)
        .order_by("pk")
        .values_list("pk", "reference", "closed_at")[:size]
    )


def retention_plan(
    *, organisation: Organisation, now: datetime | None = None, batch_size: int = BATCH_SIZE
) -> Iterator[Erasure]:
    """The dry run: every case the policy would erase now, with what it would erase. Changes nothing."""
    policy = retention_policy_for(organisation)
    now = now or timezone.now()
    after = 0
    while window := _next_window(policy, now, after, batch_size):
        counts = erasable_counts(policy, [pk for pk, _, _ in window])
        for pk, reference, closed_at in window:
            if counts[pk]:
                yield Erasure(pk, reference, closed_at, counts[pk])
        after = window[-1][0]


def retention_apply(
    *,
    organisation: Organisation,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    deadline: float | None = None,
    after: int = 0,
) -> Outcome:
    """Erase what the organisation's policy says, one transaction per batch of cases.

    Safe to run twice or at the same time: a case is locked while it is erased (another run skips
    it) and only content still there is erased and logged. Stops after the batch that passes
    ``deadline`` (a time.monotonic() value) with ``finished`` False, so a task can go on in a new one
    from ``after``.
    """
    policy = retention_policy_for(organisation)
    now = now or timezone.now()
    outcome = Outcome(after=after)
    while window := _next_window(policy, now, outcome.after, batch_size):
        erased = _erase_batch(policy=policy, now=now, window=window)
        outcome.cases += len(erased)
        for erasure in erased:
            outcome.counts.update(erasure.counts)
        outcome.after = window[-1][0]
        if len(window) < batch_size:
            break  # the last window
        if deadline is not None and time.monotonic() > deadline:
            outcome.finished = False
            break
    return outcome


@transaction.atomic
def _erase_batch(*, policy: RetentionPolicy, now: datetime, window: list[tuple[int, str, Any]]) -> list[Erasure]:
    counts = erasable_counts(policy, [pk for pk, _, _ in window])
    pending = [pk for pk, _, _ in window if counts[pk]]
    if not pending:
        return []  # erased on an earlier night: nothing is locked, written or logged
    locked = list(
        cases_past_retention(policy, now)
        .filter(pk__in=pending)
        .order_by("pk")
        # Locked until the commit; cases another run holds are skipped, not waited for.
        .select_for_update(skip_locked=True, of=("self",))
        .values_list("pk", flat=True)
    )
    # Counted again under the lock: what another run erased meanwhile, or a note just added, is seen.
    counts = erasable_counts(policy, locked)
    ids = [pk for pk in locked if counts[pk]]
    if not ids:
        return []
    chosen = set(ids)
    contents = policy.contents
    with pghistory.context(retention="erasure"):
        for target in TARGETS:
            if target.content in contents and target.key != HISTORY and target.model != "cases.Case":
                target.erase(ids)
        # One update of each case: its description (when the policy erases it) and its version, which turns
        # away an edit form opened before the erasure instead of letting it write the old text back.
        case_fields: dict[str, Any] = {"version": F("version") + 1, "updated_at": now}
        for target in TARGETS:
            if target.content in contents and target.model == "cases.Case":
                case_fields.update(target.writes)
        Case.objects.filter(pk__in=ids).update(**case_fields)
        # The updates above wrote new history rows, already without the text; the older ones are blanked here.
        for target in TARGETS:
            if target.content in contents and target.key == HISTORY:
                target.erase(ids)
    erased = [Erasure(pk, reference, closed_at, counts[pk]) for pk, reference, closed_at in window if pk in chosen]
    # Written directly rather than through access_log_record: the run has no actor, and each row
    # belongs to the case's organisation so that its administrators see it.
    AccessLog.objects.bulk_create(
        AccessLog(
            organisation_id=policy.organisation_id,
            action=Action.ERASE,
            object_type=Case._meta.label_lower,
            object_id=str(erasure.case_id),
            detail={
                "reference": erasure.reference,
                "erased": {key: n for key, n in sorted(erasure.counts.items()) if key != HISTORY},
                HISTORY: erasure.counts[HISTORY],
                "policy": "default" if policy.is_default else "organisation",
                "months_after_closure": policy.months_after_closure,
            },
        )
        for erasure in erased
    )
    return erased

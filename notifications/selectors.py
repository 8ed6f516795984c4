from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from cases.models import HIGH_RISK, Case, ClosureRequest, ClosureStatus
from notifications.models import Notification
from referrals.models import Referral

# Reminders whose e-mail has not gone out are retried for this long, then left to the app alone.
EMAIL_RETRY_WINDOW = timedelta(days=1)


def notifications_for(user: User) -> QuerySet[Notification]:
    """A user's own notifications; nobody sees anyone else's, whatever their role."""
    return Notification.objects.filter(recipient=user)


def unread_count(user: User) -> int:
    return notifications_for(user).filter(read_at__isnull=True).count()


def notifications_to_email(kinds: list[str] | None = None) -> list[int]:
    unsent = Notification.objects.filter(
        emailed_at__isnull=True, created_at__gte=timezone.now() - EMAIL_RETRY_WINDOW, recipient__is_active=True
    )
    if kinds is not None:
        unsent = unsent.filter(kind__in=kinds)
    return list(unsent.exclude(recipient__email="").order_by("id").values_list("pk", flat=True))


# A high or critical case is new in the digest when it was entered in the last 24 hours, about a first
# contact in the last week: history brought in by a bulk import is not new work.
NEW_CASE_WINDOW = timedelta(hours=24)
NEW_CONTACT_WINDOW = timedelta(days=7)
# The digest names at most this many cases per list; the counts are always whole.
LISTED = 20


def digest_figures(organisation_id: int, now: datetime) -> dict[str, Any]:
    """What a supervisor of the organisation should know this morning: counts, and references to follow.

    New high-risk cases: entered in the last 24 hours (first contact in the last week), risk now high or critical.
    Overdue work: cases not closed with a step still to do past its due time, and referrals under
    way whose follow-up date has passed. Pending approvals: closure requests waiting.
    """
    cases = Case.objects.filter(organisation_id=organisation_id)
    new_high_risk = list(
        cases.filter(
            created_at__gte=now - NEW_CASE_WINDOW,
            first_contact_at__gte=now - NEW_CONTACT_WINDOW,
            risk_level__in=HIGH_RISK,
        )
        .order_by("created_at", "id")
        .values("pk", "reference", "risk_level")
    )
    overdue_step_cases = cases.open().with_overdue_steps(now).count()
    overdue_follow_ups = (
        Referral.objects.follow_up_overdue(timezone.localdate(now))
        .filter(case__organisation_id=organisation_id)
        .count()
    )
    pending = list(
        ClosureRequest.objects.filter(case__organisation_id=organisation_id, status=ClosureStatus.PENDING)
        .order_by("requested_at", "id")
        .values("case_id", "case__reference")
    )
    return {
        "new_high_risk": len(new_high_risk),
        "new_high_risk_cases": [
            {"id": c["pk"], "reference": c["reference"], "risk": c["risk_level"]} for c in new_high_risk[:LISTED]
        ],
        "overdue_step_cases": overdue_step_cases,
        "overdue_follow_ups": overdue_follow_ups,
        "pending_closures": len(pending),
        "pending_closure_cases": [{"id": p["case_id"], "reference": p["case__reference"]} for p in pending[:LISTED]],
    }


def digest_is_empty(figures: dict[str, Any]) -> bool:
    return not any(
        figures[key] for key in ("new_high_risk", "overdue_step_cases", "overdue_follow_ups", "pending_closures")
    )

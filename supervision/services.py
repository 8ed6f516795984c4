from collections.abc import Iterable
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from audit.models import Action
from audit.services import access_log_record
from cases.models import Case
from cases.selectors import cases_visible_to
from cases.services import case_assign
from notifications.services import debrief_request_notify
from supervision.models import ExposurePromptAnswer, PromptAnswer
from supervision.selectors import CASEWORKERS

MOST_AT_ONCE = 500


def cases_reassign(
    *, actor: User, case_ids: Iterable[int], assignee: User | None, request: HttpRequest | None = None
) -> list[Case]:
    """Give the selected cases to one worker or supervisor, all or none.

    Each case goes through cases.services.case_assign, so each gets its own line on the
    timeline and its own audit row. Cases the person already holds are left as they are.
    Returns the cases that changed hands.
    """
    if not actor.has_perm("cases.assign_case"):
        access_log_record(action=Action.REFUSED, request=request, actor=actor, object_type="workload")
        raise PermissionDenied
    wanted = sorted(set(case_ids))
    if not wanted:
        raise ValidationError({"cases": _("Select at least one case.")})
    if len(wanted) > MOST_AT_ONCE:
        raise ValidationError({"cases": _("Select at most %(most)s cases at a time.") % {"most": MOST_AT_ONCE}})
    if (
        assignee is None
        or assignee.organisation_id != actor.organisation_id
        or assignee.role not in CASEWORKERS
        or not assignee.is_active
    ):
        raise ValidationError({"assign_to": _("Choose an active worker or supervisor of your organisation.")})
    visible = set(cases_visible_to(actor).filter(pk__in=wanted).values_list("pk", flat=True))
    unseen = [pk for pk in wanted if pk not in visible]
    if unseen:
        # Recorded before refusing, outside the transaction that the refusal would undo.
        access_log_record(
            action=Action.REFUSED,
            request=request,
            actor=actor,
            object_type="cases.case",
            detail={"reassign": unseen[:50]},
        )
        raise ValidationError(
            {
                "cases": ngettext(
                    "%(count)s of the selected cases was not found.",
                    "%(count)s of the selected cases were not found.",
                    len(unseen),
                )
                % {"count": len(unseen)}
            }
        )
    moved = []
    with transaction.atomic():
        # Locked in id order, so two supervisors moving overlapping selections cannot deadlock.
        for case in Case.objects.select_for_update().filter(pk__in=wanted).order_by("pk"):
            if case.assigned_to_id == assignee.pk:
                continue
            moved.append(case_assign(actor=actor, case=case, assignee=assignee, request=request))
    return moved


def _prompt_answer(
    *, user: User, answer: PromptAnswer, request: HttpRequest | None
) -> tuple[ExposurePromptAnswer, bool]:
    """The answer, and whether it is new: the same answer given earlier in the shift stands, once."""
    if user.role not in CASEWORKERS or not user.is_active:
        raise PermissionDenied  # the page's gate refuses them first, with its refusal row
    User.objects.select_for_update().filter(pk=user.pk).first()  # one answer at a time per person
    shift_start = timezone.now() - timedelta(hours=user.organisation.exposure_shift_hours)
    earlier = ExposurePromptAnswer.objects.filter(user=user, answer=answer, at__gte=shift_start).first()
    if earlier is not None:
        return earlier, False
    entry = ExposurePromptAnswer.objects.create(user=user, answer=answer)
    access_log_record(action=Action.CREATE, request=request, actor=user, obj=entry)
    return entry, True


@transaction.atomic
def exposure_prompt_put_away(*, user: User, request: HttpRequest | None = None) -> ExposurePromptAnswer:
    """The person saw the prompt to take a break and put it away: it stays away for the rest of the shift."""
    return _prompt_answer(user=user, answer=PromptAnswer.PUT_AWAY, request=request)[0]


@transaction.atomic
def debrief_request(*, user: User, request: HttpRequest | None = None) -> int | None:
    """The person asks their supervisors for a debrief: each active supervisor of the organisation (but themselves)
    is notified in the app and by e-mail, and the prompt stays away for the rest of the shift.

    Returns how many supervisors were told: 0 when there is nobody in the app to tell, None when the person had
    already asked in this shift (they are told once a shift).
    """
    entry, new = _prompt_answer(user=user, answer=PromptAnswer.DEBRIEF, request=request)
    if not new:
        return None
    return debrief_request_notify(user=user, request_id=entry.pk)

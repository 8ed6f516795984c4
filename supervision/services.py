from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from audit.models import Action
from audit.services import access_log_record
from cases.models import Case
from cases.selectors import cases_visible_to
from cases.services import case_assign
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

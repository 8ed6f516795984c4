from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from audit.models import Action
from audit.services import access_log_record
from referrals.models import Referral
from referrals.services import ACTIVE


def referrals_visible_to(user: Any) -> QuerySet[Referral]:
    """Referrals of the cases the user may open: the same people, the same organisation."""
    if not user.is_authenticated or not user.has_perm("cases.view_case"):
        return Referral.objects.none()
    return Referral.objects.filter(case__organisation_id=user.organisation_id)


def referral_for_user(request: HttpRequest, pk: Any) -> Referral:
    try:
        return referrals_visible_to(request.user).select_related("case", "agency", "owner").get(pk=int(pk))
    except (Referral.DoesNotExist, ValueError, TypeError):
        access_log_record(
            action=Action.REFUSED, request=request, object_type="referrals.referral", object_id=str(pk)[:64]
        )
        raise Http404 from None


def overdue(queryset: QuerySet[Referral]) -> QuerySet[Referral]:
    """Referrals under way whose follow-up date has passed."""
    return queryset.filter(status__in=ACTIVE, follow_up_on__lt=timezone.localdate())

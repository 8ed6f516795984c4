from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from audit.models import Action
from audit.services import access_log_record
from referrals.models import Agency, HiddenAgency, Referral
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


def agencies_visible_to(organisation_id: int) -> QuerySet[Agency]:
    """The shared agencies and the organisation's own; another organisation's own are never among them."""
    return Agency.objects.filter(Q(organisation__isnull=True) | Q(organisation_id=organisation_id))


def agency_offered(organisation_id: int) -> Q:
    """Offered for a new referral: active, and not hidden by the organisation."""
    hidden = HiddenAgency.objects.filter(organisation_id=organisation_id, agency=OuterRef("pk"))
    return Q(~Exists(hidden), active=True)


def agencies_offered_to(organisation_id: int) -> QuerySet[Agency]:
    return agencies_visible_to(organisation_id).filter(agency_offered(organisation_id))

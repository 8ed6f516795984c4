from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest

from accounts.models import User
from helpline import gate
from referrals.models import Agency, HiddenAgency, Referral, ReferralQuerySet


def referrals_visible_to(user: User | AnonymousUser) -> ReferralQuerySet:
    """Referrals of the cases the user may open: the same people, the same organisation."""
    if not user.is_authenticated or not user.has_perm("cases.view_case"):
        return Referral.objects.none()
    return Referral.objects.filter(case__organisation_id=user.organisation_id)


def referral_for_user(request: HttpRequest, pk: Any) -> Referral:
    return gate.get_or_refuse(request, referrals_visible_to(request.user).select_related("case", "agency", "owner"), pk)


def agencies_visible_to(organisation_id: int) -> QuerySet[Agency]:
    """The shared agencies and the organisation's own; another organisation's own are never among them."""
    return Agency.objects.filter(Q(organisation__isnull=True) | Q(organisation_id=organisation_id))


def agency_offered(organisation_id: int) -> Q:
    """Offered for a new referral: active, and not hidden by the organisation."""
    hidden = HiddenAgency.objects.filter(organisation_id=organisation_id, agency=OuterRef("pk"))
    return Q(~Exists(hidden), active=True)


def agencies_offered_to(organisation_id: int) -> QuerySet[Agency]:
    return agencies_visible_to(organisation_id).filter(agency_offered(organisation_id))

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

from accounts.models import Organisation, User
from accounts.roles import Role
from reports.models import Snapshot


def organisations_for_reports(user: User | AnonymousUser) -> QuerySet[Organisation]:
    """Whose statistics a user may read: their own organisation, and for analysts the ones granted to them."""
    if not user.is_authenticated or not user.has_perm("reports.view_report"):
        return Organisation.objects.none()
    if user.is_superuser:
        return Organisation.objects.all()
    if user.role == Role.ANALYST:
        granted = user.report_organisations.values("pk")
        return Organisation.objects.filter(pk=user.organisation_id) | Organisation.objects.filter(pk__in=granted)
    return Organisation.objects.filter(pk=user.organisation_id)


def snapshots_visible_to(user: User | AnonymousUser) -> QuerySet[Snapshot]:
    return Snapshot.objects.filter(organisation__in=organisations_for_reports(user)).select_related("organisation")

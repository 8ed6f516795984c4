from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from accounts.models import Organisation, User
from accounts.roles import Role


def two_factor_exempt(user: Any) -> bool:
    """Demo accounts may skip the second factor, and only in development."""
    return bool(settings.DEBUG and user.is_demo)


def organisations_visible_to(user: Any) -> QuerySet[Organisation]:
    if user.is_superuser:
        return Organisation.objects.all()
    return Organisation.objects.filter(pk=user.organisation_id)


def users_visible_to(user: Any) -> QuerySet[User]:
    if user.is_superuser:
        return User.objects.all()
    if user.role in (Role.ADMINISTRATOR, Role.SUPERVISOR):
        # Deployment operators (superusers) are nobody's to manage but their own.
        return User.objects.filter(organisation_id=user.organisation_id, is_superuser=False)
    return User.objects.filter(pk=user.pk)

from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest

from accounts.models import Organisation, User
from accounts.roles import Role
from audit.models import Action
from audit.services import access_log_record


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
        return User.objects.filter(organisation_id=user.organisation_id)
    return User.objects.filter(pk=user.pk)


M = TypeVar("M", bound=Model)


def get_visible_or_404(request: HttpRequest, queryset: QuerySet[M], pk: Any) -> M:
    """The object if the queryset (already scoped to the user) holds it, else 404.

    A refusal is logged, whether the object is out of scope or does not exist:
    the answer is the same for both so that it reveals nothing.
    """
    try:
        return queryset.get(pk=pk)
    except (ObjectDoesNotExist, ValueError, TypeError):
        access_log_record(
            action=Action.REFUSED, request=request, object_type=queryset.model._meta.label_lower, object_id=str(pk)[:64]
        )
        raise Http404 from None

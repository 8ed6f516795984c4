from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from helpline import gate
from imports.models import ImportJob


def import_jobs_visible_to(user: User | AnonymousUser) -> QuerySet[ImportJob]:
    """The import log of the user's organisation, for those who may import; nothing for anyone else."""
    if not user.is_authenticated or not user.has_perm("imports.view_importjob"):
        return ImportJob.objects.none()
    return ImportJob.objects.filter(organisation_id=user.organisation_id)


def import_job_for_user(request: HttpRequest, pk: Any) -> ImportJob:
    """The job if this user may see it, else 404 (and the refusal is logged). The file itself is not loaded."""
    return gate.get_or_refuse(request, import_jobs_visible_to(request.user).select_related("user").defer("content"), pk)

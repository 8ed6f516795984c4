from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.models import AccessLog
from helpline import gate
from helpline.admin import ScopedAdminMixin, site

# The access-log rows about exposure care (supervision/): never shown to administrators.
EXPOSURE_OBJECT_TYPES = ("exposure", "supervision.exposurepromptanswer")


@admin.register(AccessLog, site=site)
class AccessLogAdmin(ScopedAdminMixin, admin.ModelAdmin[AccessLog]):
    """The access log of the administrator's organisation, read-only."""

    list_display = ["at", "username", "action", "object_type", "object_id", "address"]
    list_filter = ["action", "object_type", "at"]
    search_fields = ["username", "object_id", "address"]
    date_hierarchy = "at"
    list_select_related = ["actor"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AccessLog]:
        queryset = super().get_queryset(request)
        user = gate.signed_in_user(request)
        if user.is_superuser:
            return queryset
        # Who looked at the exposure figures, and who answered the prompt to take a break, would tell who was over a
        # threshold: those figures are for supervisors alone.
        return queryset.filter(organisation_id=user.organisation_id).exclude(object_type__in=EXPOSURE_OBJECT_TYPES)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from cases.admin import OrganisationTaxonomyAdmin
from helpline import gate
from helpline.admin import site
from referrals import services
from referrals.models import Agency, HiddenAgency


@admin.register(Agency, site=site)
class AgencyAdmin(OrganisationTaxonomyAdmin):
    list_display = ["name", "kind", "country", "expected_response_days", "active"]
    list_filter = ["kind", "country", "active"]
    list_editable = ["expected_response_days", "active"]
    search_fields = ["code", "name"]
    hidden_model = HiddenAgency

    def set_hidden(self, request: HttpRequest, entry: Any, hidden: bool) -> None:
        services.agency_set_hidden(actor=gate.signed_in_user(request), agency=entry, hidden=hidden, request=request)

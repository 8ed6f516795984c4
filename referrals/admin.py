from django.contrib import admin

from cases.admin import TaxonomyAdmin
from helpline.admin import site
from referrals.models import Agency


@admin.register(Agency, site=site)
class AgencyAdmin(TaxonomyAdmin):
    list_display = ["name", "kind", "country", "expected_response_days", "active"]
    list_filter = ["kind", "country", "active"]
    list_editable = ["expected_response_days", "active"]

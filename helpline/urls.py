from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.exceptions import NotFound
from rest_framework.routers import SimpleRouter

from accounts.api import MeView
from cases.api import CaseViewSet, TaxonomiesView
from health.views import healthz
from helpline.admin import site as admin_site
from helpline.metrics import metrics
from helpline.views import home
from referrals import urls as referral_urls
from referrals.api import AgenciesView, ReferralViewSet
from reports.api import ReportView, SnapshotViewSet
from supervision.api import WorkloadView

router = SimpleRouter()
router.register("cases", CaseViewSet, basename="api-case")
router.register("referrals", ReferralViewSet, basename="api-referral")
router.register("reports/snapshots", SnapshotViewSet, basename="api-snapshot")

api_v1_patterns = [
    path("me/", MeView.as_view(), name="api-me"),
    path("taxonomies/", TaxonomiesView.as_view(), name="api-taxonomies"),
    path("agencies/", AgenciesView.as_view(), name="api-agencies"),
    path("reports/", ReportView.as_view(), name="api-report"),
    path("workload/", WorkloadView.as_view(), name="api-workload"),
    *router.urls,
]

urlpatterns = [
    path("", home, name="home"),
    path("account/", include("accounts.urls")),
    path("cases/", include("cases.urls")),
    path("cases/", include(referral_urls.case_urlpatterns)),
    path("cases/", include("guidance.urls")),
    path("drafts/", include("drafts.urls")),
    path("notifications/", include("notifications.urls")),
    path("referrals/", include("referrals.urls")),
    path("reports/", include("reports.urls")),
    path("imports/", include("imports.urls")),
    path("supervision/", include("supervision.urls")),
    path("admin/", admin_site.urls),
    path("api/v1/", include(api_v1_patterns)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
]


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """An API URL that matches nothing (/api/v1/cases/x.y/) gets a JSON answer like any other API error."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": NotFound.default_detail}, status=404)
    return defaults.page_not_found(request, exception)


handler404 = not_found

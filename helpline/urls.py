from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import views as account_views
from accounts.api import MeView
from health.views import healthz
from helpline.admin import site as admin_site

account_patterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", account_views.account, name="account"),
    path("password/", account_views.PasswordChangeView.as_view(), name="password_change"),
    path("two-factor/setup/", account_views.two_factor_setup, name="two_factor_setup"),
    path("two-factor/verify/", account_views.two_factor_verify, name="two_factor_verify"),
    path("two-factor/backup-codes/", account_views.backup_codes_regenerate, name="backup_codes_regenerate"),
]

api_v1_patterns = [
    path("me/", MeView.as_view(), name="api-me"),
]

urlpatterns = [
    path("", account_views.home, name="home"),
    path("account/", include(account_patterns)),
    path("admin/", admin_site.urls),
    path("api/v1/", include(api_v1_patterns)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
    path("healthz", healthz, name="healthz"),
]

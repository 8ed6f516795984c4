from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.selectors import two_factor_exempt
from helpline.web import url_for


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The links this user may follow; the server checks every page again."""
    user: Any = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not (user.is_verified() or two_factor_exempt(user)):
        return {"nav": [], "signed_in": False}  # nobody, or half-way through login: nothing to follow yet
    items = [(_("Home"), url_for("home"))]
    if user.has_perm("cases.view_case"):
        items.append((_("Cases"), url_for("case_list")))
        items.append((_("New case"), url_for("case_new")))
        items.append((_("Referrals"), url_for("referral_list")))
    if user.has_perm("cases.assign_case"):
        items.append((_("Workload"), url_for("supervision:board")))
    if user.has_perm("cases.approve_closure"):
        items.append((_("Closure requests"), url_for("closure_request_list")))
    if user.has_perm("imports.add_importjob"):
        items.append((_("Imports"), url_for("imports:list")))
    if user.has_perm("reports.view_report"):
        items.append((_("Reports"), url_for("reports:report")))
    if user.is_staff and user.has_perm("accounts.view_user"):
        items.append((_("Administration"), url_for("admin:index")))
    current = request.path
    return {
        "signed_in": True,
        "nav": [{"label": label, "url": url, "current": current == url} for label, url in items],
    }

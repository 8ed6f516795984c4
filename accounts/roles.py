"""Roles are groups with permissions; each user has exactly one.

The permissions of each role are declared here and applied to the groups
after every migration, so a new permission reaches its roles by a code change.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    WORKER = "worker", _("Helpline worker")
    SUPERVISOR = "supervisor", _("Supervisor")
    ANALYST = "analyst", _("Analyst")
    ADMINISTRATOR = "administrator", _("Administrator")


CASEWORK = ["cases.view_case", "cases.add_case", "cases.change_case"]
TAXONOMIES = [
    f"{app}.{action}_{model}"
    for app, model in (("cases", "term"), ("cases", "steptype"), ("referrals", "agency"))
    for action in ("view", "add", "change")
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.WORKER: CASEWORK,
    Role.SUPERVISOR: [
        *CASEWORK,
        "cases.assign_case",
        "cases.view_case_history",
        "accounts.view_user",
        "reports.view_report",
    ],
    Role.ANALYST: ["reports.view_report"],
    Role.ADMINISTRATOR: [
        "accounts.view_organisation",
        "accounts.change_organisation",
        "accounts.view_user",
        "accounts.add_user",
        "accounts.change_user",
        "audit.view_accesslog",
        "reports.view_report",
        *TAXONOMIES,
    ],
}

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
# Administrators add and change their organisation's own terms and agencies. The step catalogue, which the
# playbook names by code, and the mapping to Child Helpline International's reasons for contact, they only read:
# the deployment operator (a superuser) edits them.
TAXONOMIES = [
    *(
        f"{app}.{action}_{model}"
        for app, model in (("cases", "term"), ("referrals", "agency"))
        for action in ("view", "add", "change")
    ),
    "cases.view_steptype",
    "cases.view_chicategory",
    "cases.view_chimapping",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.WORKER: CASEWORK,
    Role.SUPERVISOR: [
        *CASEWORK,
        "cases.assign_case",
        "cases.view_case_history",
        "cases.view_case_access_log",
        "cases.approve_closure",
        # Supervisors see every case of the organisation and hand out the new ones: they bring in old ones too.
        "imports.view_importjob",
        "imports.add_importjob",
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
        "retention.view_retentionpolicy",
        "retention.add_retentionpolicy",
        "retention.change_retentionpolicy",
        "retention.view_legalhold",
        "retention.add_legalhold",
        "retention.change_legalhold",
        "retention.delete_legalhold",
        "reports.view_report",
        *TAXONOMIES,
        *(f"guidance.{action}_handoutwording" for action in ("view", "add", "change", "delete")),
    ],
}

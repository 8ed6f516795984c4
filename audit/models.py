import pgtrigger
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Action(models.TextChoices):
    VIEW = "view", _("viewed")
    CREATE = "create", _("created")
    CHANGE = "change", _("changed")
    EXPORT = "export", _("exported")
    PRINT = "print", _("printed")
    LOGIN = "login", _("logged in")
    LOGIN_FAILED = "login_failed", _("failed login")
    LOCKED_OUT = "locked_out", _("locked out")
    LOGOUT = "logout", _("logged out")
    TWO_FACTOR = "two_factor", _("two-factor verified")
    TWO_FACTOR_FAILED = "two_factor_failed", _("failed two-factor code")
    TWO_FACTOR_ENROLLED = "two_factor_enrolled", _("enrolled two-factor device")
    PASSWORD_CHANGED = "password_changed", _("changed password")
    TOKEN_ISSUED = "token_issued", _("issued API token")
    REFUSED = "refused", _("refused access")
    ERASE = "erase", _("erased")


class AccessLog(models.Model):
    """Who did what to which record, when and from where. Append-only.

    The database refuses UPDATE, DELETE and TRUNCATE on this table, for every
    connection including the application's own.
    """

    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    username = models.CharField(_("username"), max_length=150, blank=True, help_text=_("As typed, for failed logins."))
    organisation = models.ForeignKey(
        "accounts.Organisation",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=32, choices=Action.choices)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        indexes = [
            models.Index(fields=["object_type", "object_id", "-at"], name="accesslog_object"),
            models.Index(fields=["organisation", "-at"], name="accesslog_organisation"),
        ]
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete),
            pgtrigger.Trigger(
                name="no_truncate",
                operation=pgtrigger.Truncate,
                level=pgtrigger.Statement,
                when=pgtrigger.Before,
                func="RAISE EXCEPTION 'The access log is append-only';",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.get_action_display()} {self.object_type} {self.object_id}"
        )

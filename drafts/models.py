from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Draft(models.Model):
    """What someone typed into a form and has not saved yet, kept on the server so that a session that ends or a
    network that drops loses nothing (never in the browser: machines are shared).

    It may hold identifying details, so it is shown to its author alone, deleted when the form is saved or the
    author discards it, and deleted anyway DRAFT_KEEP_HOURS after it last changed. Neither the change history nor
    the admin knows it.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64, help_text=_('The form: "case_new", or "case_note:<case id>".'))
    data = models.JSONField(help_text=_("The form's fields as posted: each name with its list of values."))
    kept_after_session_end = models.BooleanField(
        default=False, help_text=_("Posted after the author's session had ended, and kept until they logged in.")
    )
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("draft")
        verbose_name_plural = _("drafts")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="draft_one_per_form")]
        indexes = [models.Index(fields=["updated_at"], name="draft_expiry")]

    def __str__(self) -> str:
        return self.key


class KeptForm(models.Model):
    """A form posted after its author's session had ended, on the way to the login page.

    Bound to the browser by a random token in a short-lived signed cookie (only its hash is here) and to the user
    last signed in on that browser: when that user logs in there again it becomes their draft; when anyone else
    does, it is deleted.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64)
    key = models.CharField(max_length=64)
    data = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("form kept after a session ended")
        verbose_name_plural = _("forms kept after a session ended")
        constraints = [models.UniqueConstraint(fields=["token_hash", "key"], name="kept_form_one_per_form")]
        indexes = [models.Index(fields=["created_at"], name="kept_form_expiry")]

    def __str__(self) -> str:
        return self.key

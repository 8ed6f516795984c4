from django.conf import settings
from django.db import models
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    STEP_OVERDUE = "step_overdue", _("Response step overdue")
    REFERRAL_FOLLOW_UP = "referral_follow_up", _("Referral follow-up due")
    SUPERVISOR_DIGEST = "supervisor_digest", _("Daily digest for supervisors")
    ACCOUNT_CHANGED = "account_changed", _("Change to an account of the organisation")
    DEBRIEF_REQUEST = "debrief_request", _("Request for a debrief")


def unread_count_of(user: models.Expression | OuterRef) -> Coalesce:
    """The count of a user's unread notifications, as an expression for the user of an outer query
    (``accounts.backends`` reads it with the signed-in user); on the partial index ``notification_unread``."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True).order_by().values("recipient")
    count = Subquery(unread.annotate(n=Count("pk")).values("n"), output_field=models.IntegerField())
    return Coalesce(count, 0)


class Notification(models.Model):
    """One reminder to one person about one overdue item on one local day, a supervisor's daily digest,
    a change to an account told to a supervisor, or a person's request for a debrief told to their supervisors.

    The text holds only case references, counts, catalogue labels, usernames and staff e-mail addresses, never
    free text from a case.
    """

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    step = models.ForeignKey("cases.ResponseStep", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    referral = models.ForeignKey(
        "referrals.Referral", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    subject_key = models.CharField(
        max_length=40,
        help_text=_(
            'What it is about: "step:<id>", "referral:<id>", "digest:<recipient id>", '
            '"account:<access log id>:<recipient id>" or "debrief:<answer id>:<recipient id>".'
        ),
    )
    day = models.DateField(help_text=_("The local date the reminder is for."))
    # Room for every change one save of an account makes, with two usernames and two e-mail addresses each.
    text = models.CharField(max_length=2000)
    detail = models.JSONField(
        default=dict, blank=True, help_text=_("A digest's figures and case references, fixed when it is made.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The database, not the task, guarantees one reminder per item and day.
            models.UniqueConstraint(fields=["kind", "subject_key", "day"], name="notification_once_per_day"),
            models.CheckConstraint(
                condition=Q(kind="step_overdue", case__isnull=False, step__isnull=False, referral__isnull=True)
                | Q(kind="referral_follow_up", case__isnull=False, step__isnull=True, referral__isnull=False)
                | Q(
                    kind__in=["supervisor_digest", "account_changed", "debrief_request"],
                    case__isnull=True,
                    step__isnull=True,
                    referral__isnull=True,
                ),
                name="notification_subject_matches_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox"),
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="notification_unread"),
            models.Index(fields=["created_at"], condition=Q(emailed_at__isnull=True), name="notification_unsent"),
        ]

    def __str__(self) -> str:
        return self.text

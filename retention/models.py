import pghistory
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from cases.models import Case

DEFAULT_MONTHS = 24
MIN_MONTHS = 1
MAX_MONTHS = 240


class Content(models.TextChoices):
    """What a policy may erase. The structured facts that statistics count are never among them."""

    NOTES = "notes", _("notes (case notes, comments on referral moves and closure requests)")
    INCIDENT_DESCRIPTION = "incident_description", _("incident descriptions")
    OFFENDER_IDENTIFIERS = "offender_identifiers", _("offender identifiers (value and linking hash)")
    TAKEDOWN_LINKS = "takedown_links", _("links of takedown items")


@pghistory.track()
class RetentionPolicy(models.Model):
    """How long an organisation keeps the free text and evidence of closed cases.

    An organisation without a saved policy gets the default: every kind of content, 24 months after closure.
    """

    organisation = models.OneToOneField(Organisation, on_delete=models.PROTECT, related_name="retention_policy")
    months_after_closure = models.PositiveSmallIntegerField(
        _("months after closure"),
        default=DEFAULT_MONTHS,
        validators=[MinValueValidator(MIN_MONTHS), MaxValueValidator(MAX_MONTHS)],
        help_text=_("Content of cases closed longer ago than this is erased at the nightly run."),
    )
    erase_notes = models.BooleanField(_("erase notes"), default=True)
    erase_incident_descriptions = models.BooleanField(_("erase incident descriptions"), default=True)
    erase_offender_identifiers = models.BooleanField(_("erase offender identifiers"), default=True)
    erase_takedown_links = models.BooleanField(_("erase takedown links"), default=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("retention policy")
        verbose_name_plural = _("retention policies")
        constraints = [
            models.CheckConstraint(
                condition=Q(months_after_closure__gte=MIN_MONTHS, months_after_closure__lte=MAX_MONTHS),
                name="retentionpolicy_months_range",
            )
        ]

    def __str__(self) -> str:
        return str(_("Retention policy of %(organisation)s") % {"organisation": self.organisation})

    @property
    def is_default(self) -> bool:
        return self.pk is None

    @property
    def contents(self) -> list[str]:
        flags = {
            Content.NOTES: self.erase_notes,
            Content.INCIDENT_DESCRIPTION: self.erase_incident_descriptions,
            Content.OFFENDER_IDENTIFIERS: self.erase_offender_identifiers,
            Content.TAKEDOWN_LINKS: self.erase_takedown_links,
        }
        return [str(content) for content, on in flags.items() if on]


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class LegalHold(models.Model):
    """A case whose content must be kept whatever the policy says (an investigation, a court order)."""

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="legal_hold")
    reason = models.CharField(_("reason"), max_length=500)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-set_at", "-id"]
        verbose_name = _("legal hold")
        verbose_name_plural = _("legal holds")

    def __str__(self) -> str:
        return str(_("Legal hold on %(reference)s") % {"reference": self.case.reference})

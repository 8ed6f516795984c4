import pghistory
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation


class Audience(models.TextChoices):
    PARENT = "parent", _("Parent or carer")
    YOUNG_PERSON = "young_person", _("Young person")


class Section(models.TextChoices):
    """The parts of a handout, in the order it gives them (guidance/handout.py says when each applies)."""

    NOT_THEIR_FAULT = "not_their_fault", _("Not their fault")
    NO_MORE_IMAGES = "no_more_images", _("Send nothing more")
    NO_PAYMENT = "no_payment", _("Do not pay")
    ALREADY_PAID = "already_paid", _("Already paid")
    STOP_CONTACT = "stop_contact", _("Stop contact")
    PRESERVE_EVIDENCE = "preserve_evidence", _("Keep the evidence")
    BLOCK = "block", _("Block the offender")
    REPORT_POLICE = "report_police", _("Report to the police")
    REMOVAL = "removal", _("Have the content removed")
    AGE_ADVICE = "age_advice", _("Advice for the child's age")
    SAFETY = "safety", _("Safety now")
    SUPPORT = "support", _("Where to get support")
    CONTACT = "contact", _("The helpline's contact details")


@pghistory.track()
class HandoutWording(models.Model):
    """An organisation's own wording of one part of the handout, for one audience and language.

    Where there is none, the helpline guidance's wording is used. The text may name {organisation}, {police},
    {regulator}, {platforms} and {support}, which the handout fills in.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="+", verbose_name=_("organisation")
    )
    section = models.CharField(_("part"), max_length=32, choices=Section.choices)
    audience = models.CharField(_("audience"), max_length=16, choices=Audience.choices)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    text = models.TextField(_("text"))

    class Meta:
        verbose_name = _("handout wording")
        verbose_name_plural = _("handout wording")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "section", "audience", "language"], name="handout_wording_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_section_display()} ({self.get_audience_display()}, {self.language})"

from datetime import date

import pghistory
import pgtrigger
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from cases.models import Case, Term, shared_code_not_shadowed


class AgencyKind(models.TextChoices):
    POLICE = "police", _("Police")
    REGULATOR = "regulator", _("Online-safety regulator")
    PLATFORM = "platform", _("Platform")
    HASH_MATCHING = "hash_matching", _("Hash-matching service")
    SUPPORT = "support", _("Support service")
    CHILD_PROTECTION = "child_protection", _("Child protection")


@pghistory.track()
class Agency(models.Model):
    """Where helplines refer cases: police, regulators, platforms, hash services, support services.

    Shared agencies (no organisation) are the deployment operator's; an organisation adds its own, which only it
    sees, and hides the shared ones it does not work with. The code and owner never change once created.
    """

    organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("organisation"),
        help_text=_("Empty: shared by every organisation."),
    )
    code = models.SlugField(_("code"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=AgencyKind.choices)
    country = models.CharField(
        _("country"), max_length=2, blank=True, help_text=_("ISO 3166-1 code; empty for international")
    )
    expected_response_days = models.PositiveSmallIntegerField(_("expected response days"), default=7)
    contact_notes = models.TextField(_("contact notes"), blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "organisation"],
                nulls_distinct=False,
                name="agency_unique_code",
                violation_error_message=_("This code is already in use."),
            )
        ]
        triggers = [
            # The API and referrals name an agency by its code: it stays what it was.
            pgtrigger.ReadOnly(name="identity_fixed", fields=["code", "organisation"]),
            shared_code_not_shadowed("referrals_agency", ""),
        ]
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.pk is None and self.code:
            clash = Agency.objects.filter(code=self.code)
            if self.organisation_id is not None:
                clash = clash.filter(Q(organisation__isnull=True) | Q(organisation_id=self.organisation_id))
            if clash.exists():
                raise ValidationError({"code": _("This code is already in use.")})


class HiddenAgency(models.Model):
    """A shared agency an organisation does not work with: not offered to its people, kept on its referrals."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="hidden_by")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "agency"], name="hiddenagency_unique")]

    def __str__(self) -> str:
        return f"{self.agency_id} hidden by {self.organisation_id}"


class ReferralKind(models.TextChoices):
    POLICE = "police", _("Police report")
    TAKEDOWN = "takedown", _("Takedown request to a regulator")
    PLATFORM = "platform", _("Report to a platform")
    HASH_MATCHING = "hash_matching", _("Hash submission")
    SUPPORT = "support", _("Support service")
    CHILD_PROTECTION = "child_protection", _("Child protection")


class Consent(models.TextChoices):
    VICTIM = "victim", _("Given by the victim")
    GUARDIAN = "guardian", _("Given by a parent or guardian")
    NOT_REQUIRED = "not_required", _("Not required")


class ReferralStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    DECLINED = "declined", _("Declined")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# A referral is under way from sending until it is completed, declined or withdrawn.
UNDER_WAY = (ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED, ReferralStatus.IN_PROGRESS)


class ReferralQuerySet(models.QuerySet["Referral"]):
    def under_way(self) -> "ReferralQuerySet":
        return self.filter(status__in=UNDER_WAY)

    def follow_up_overdue(self, today: date | None = None) -> "ReferralQuerySet":
        """Referrals under way whose follow-up date has passed (``Referral.follow_up_overdue``, for one)."""
        return self.under_way().filter(follow_up_on__lt=today or timezone.localdate())


class Outcome(models.TextChoices):
    REMOVED = "removed", _("Removed")
    PARTLY_REMOVED = "partly_removed", _("Partly removed")
    NOT_REMOVED = "not_removed", _("Not removed")
    NOT_FOUND = "not_found", _("Not found")
    INVESTIGATION_OPENED = "investigation_opened", _("Investigation opened")
    OFFENDER_IDENTIFIED = "offender_identified", _("Offender identified")
    CHARGES_LAID = "charges_laid", _("Charges laid")
    NO_FURTHER_ACTION = "no_further_action", _("No further action")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")


@pghistory.track()
class Referral(models.Model):
    """A referral of a case to an agency. Its times come from its transitions, never from a form."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="referrals")
    kind = models.CharField(max_length=20, choices=ReferralKind.choices)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="referrals")
    status = models.CharField(max_length=16, choices=ReferralStatus.choices, default=ReferralStatus.DRAFT)
    outcome = models.CharField(max_length=24, choices=Outcome.choices, blank=True)
    consent = models.CharField(max_length=16, choices=Consent.choices, blank=True)
    consent_reason = models.CharField(max_length=300, blank=True, help_text=_("Why consent is not required."))
    external_reference = models.CharField(max_length=100, blank=True)
    follow_up_on = models.DateField(null=True, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referrals")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True, help_text=_("Completed, declined or withdrawn."))

    objects = ReferralQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft") | Q(status="withdrawn") | ~Q(consent=""),
                name="referral_sent_with_consent",
                violation_error_message=_("Record consent before sending the referral."),
            ),
            models.CheckConstraint(
                condition=~Q(consent="not_required") | ~Q(consent_reason=""),
                name="referral_consent_reason",
                violation_error_message=_("Say why consent is not required."),
            ),
            models.CheckConstraint(
                condition=~Q(status="completed") | ~Q(outcome=""),
                name="referral_completed_has_outcome",
                violation_error_message=_("A completed referral needs its outcome."),
            ),
        ]
        indexes = [
            models.Index(fields=["status", "follow_up_on"], name="referral_followup"),
            models.Index(fields=["owner", "status"], name="referral_owner"),
            # The referral list, newest first: a page of one person's or of the whole organisation's, without
            # sorting them all.
            models.Index(fields=["owner", "-created_at", "-id"], name="referral_owner_recent"),
            models.Index(fields=["-created_at", "-id"], name="referral_recent"),
        ]
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.agency} ({self.case})"

    @property
    def follow_up_overdue(self) -> bool:
        return self.status in UNDER_WAY and self.follow_up_on is not None and self.follow_up_on < timezone.localdate()


class ReferralTransition(models.Model):
    """Each move of a referral, with when and by whom."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=16, choices=ReferralStatus.choices)
    to_status = models.CharField(max_length=16, choices=ReferralStatus.choices)
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.referral_id}: {self.from_status} → {self.to_status}"


class ItemContent(models.TextChoices):
    IMAGE = "image", _("Image")
    VIDEO = "video", _("Video")
    PROFILE = "profile", _("Profile")
    CHAT = "chat", _("Chat")


class ItemStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    REMOVED = "removed", _("Removed")
    REFUSED = "refused", _("Refused")
    NOT_FOUND = "not_found", _("Not found")


@pghistory.track()
class TakedownItem(models.Model):
    """One piece of content whose removal a takedown or platform referral asks for."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="items")
    platform = models.ForeignKey(
        Term, on_delete=models.PROTECT, related_name="+", limit_choices_to={"vocabulary": "platform"}
    )
    link = models.URLField(max_length=500)
    content_type = models.CharField(max_length=10, choices=ItemContent.choices)
    status = models.CharField(max_length=12, choices=ItemStatus.choices, default=ItemStatus.REQUESTED)
    removed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("takedown item")
        verbose_name_plural = _("takedown items")

    def __str__(self) -> str:
        return f"{self.get_content_type_display()} on {self.platform}"

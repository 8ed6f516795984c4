from datetime import datetime
from typing import Any

import pghistory
import pgtrigger
import pycountry
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Floor, Random
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation


class Vocabulary(models.TextChoices):
    PLATFORM = "platform", _("platform")
    APPROACH = "approach", _("offender's approach")
    CONTENT_TYPE = "content_type", _("content obtained")
    SEXTORTION_TYPE = "sextortion_type", _("sextortion type")
    DEMAND = "demand", _("demand")
    THREAT = "threat", _("threat")
    PAYMENT_METHOD = "payment_method", _("payment method")
    REPORTER_TYPE = "reporter_type", _("who contacted")
    CHANNEL = "channel", _("channel")
    CLOSURE_REASON = "closure_reason", _("closure reason")


def shared_code_not_shadowed(table: str, scope: str) -> pgtrigger.Trigger:
    """No organisation's own entry takes the code of a shared one in the same ``scope``, nor the other way round.

    Codes are looked up among the shared entries and the organisation's own, so one code must name one entry.
    Entries of the same code are created one after the other (the advisory lock), so two at once cannot both pass.
    """
    same = " AND ".join(f"t.{column} = NEW.{column}" for column in [scope, "code"] if column)
    key = " || ':' || ".join(f"NEW.{column}" for column in [scope, "code"] if column)
    func = f"""
        PERFORM pg_advisory_xact_lock(hashtext('{table}:' || {key}));
        IF EXISTS (
            SELECT 1 FROM {table} t WHERE {same} AND (t.organisation_id IS NULL OR NEW.organisation_id IS NULL)
        ) THEN
            RAISE EXCEPTION USING ERRCODE = 'unique_violation',
                MESSAGE = 'A shared entry and an organisation''s own entry cannot have the same code';
        END IF;
        RETURN NEW;
    """  # noqa: S608 (table and column names come from the code, never from input)
    return pgtrigger.Trigger(
        name="shared_code_not_shadowed", operation=pgtrigger.Insert, when=pgtrigger.Before, func=func
    )


@pghistory.track()
class Term(models.Model):
    """One entry of a taxonomy (a platform, a demand, a channel...).

    Shared entries (no organisation) are the deployment operator's; an organisation adds its own, which only it
    sees, and hides the shared ones it does not use. Vocabulary, code and owner never change once created.
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
    vocabulary = models.CharField(_("vocabulary"), max_length=32, choices=Vocabulary.choices)
    code = models.SlugField(_("code"), max_length=64)
    label = models.CharField(_("label"), max_length=120)
    position = models.PositiveSmallIntegerField(_("position"), default=100)
    active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive terms stay on old cases but are not offered.")
    )

    class Meta:
        ordering = ["vocabulary", "position", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["vocabulary", "code", "organisation"],
                nulls_distinct=False,
                name="term_unique_code",
                violation_error_message=_("This code is already in use in this vocabulary."),
            )
        ]
        triggers = [
            # Cases, imports and reports read a term by its vocabulary and code: they stay what they were.
            pgtrigger.ReadOnly(name="identity_fixed", fields=["vocabulary", "code", "organisation"]),
            shared_code_not_shadowed("cases_term", "vocabulary"),
        ]
        verbose_name = _("term")
        verbose_name_plural = _("terms")

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        if self.pk is None and self.code and self.vocabulary:
            clash = Term.objects.filter(vocabulary=self.vocabulary, code=self.code)
            if self.organisation_id is not None:
                clash = clash.filter(Q(organisation__isnull=True) | Q(organisation_id=self.organisation_id))
            if clash.exists():
                raise ValidationError({"code": _("This code is already in use in this vocabulary.")})


class HiddenTerm(models.Model):
    """A shared term an organisation does not use: not offered to its people, kept on its cases that have it."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="hidden_by")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "term"], name="hiddenterm_unique")]

    def __str__(self) -> str:
        return f"{self.term_id} hidden by {self.organisation_id}"


@pghistory.track()
class StepType(models.Model):
    """The response-step catalogue: what the guidance recommends doing for a victim.

    Shared by every organisation and edited only by the deployment operator: the playbook and the referral
    services name its steps by code.
    """

    code = models.SlugField(_("code"), max_length=64, unique=True)
    label = models.CharField(_("label"), max_length=160)
    guidance = models.TextField(_("guidance"), blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=100)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "label"]
        triggers = [pgtrigger.ReadOnly(name="code_fixed", fields=["code"])]
        verbose_name = _("step type")
        verbose_name_plural = _("step types")

    def __str__(self) -> str:
        return self.label


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    WAITING = "waiting", _("Waiting on referral")
    CLOSED = "closed", _("Closed")
    REOPENED = "reopened", _("Reopened")


class CaseQuerySet(models.QuerySet["Case"]):
    def open(self) -> "CaseQuerySet":
        """Cases not closed: new, open, waiting on a referral or reopened (index case_open_assignee's condition)."""
        return self.exclude(status=Status.CLOSED)

    def with_overdue_steps(self, now: datetime | None = None) -> "CaseQuerySet":
        """Cases with a response step still to do after its due time."""
        return self.filter(Exists(ResponseStep.objects.overdue(now).filter(case=OuterRef("pk"))))

    def with_overdue_mark(self) -> "CaseQuerySet":
        """Each case with ``has_overdue``: whether a response step is still to do after its due time. Written as a
        subquery that returns a row, which PostgreSQL runs for the rows read alone, after a limit: as an EXISTS it
        was turned into one read of every overdue step of the helpline."""
        late = ResponseStep.objects.overdue().filter(case=OuterRef("pk")).order_by().values(late=Value(True))[:1]
        return self.annotate(has_overdue=Coalesce(Subquery(late), False))


class Risk(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


# Closing a case at these levels needs a supervisor's approval.
HIGH_RISK = (Risk.HIGH, Risk.CRITICAL)


class Answer(models.TextChoices):
    YES = "yes", _("Yes")
    NO = "no", _("No")
    UNKNOWN = "unknown", _("Unknown")


class AgeUnknown(models.TextChoices):
    MINOR = "minor", _("Minor, age unknown")
    ADULT = "adult", _("Adult, age unknown")


class Gender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "non_binary_other", _("Non-binary or other")
    NOT_STATED = "not_stated", _("Not stated")


class AmountBand(models.TextChoices):
    UNDER_50 = "under_50", _("Under 50")
    FROM_50 = "50_249", _("50 to 249")
    FROM_250 = "250_999", _("250 to 999")
    FROM_1000 = "1000_plus", _("1,000 or more")
    UNKNOWN = "unknown", _("Unknown")


class CaseCounter(models.Model):
    """The last reference number given per organisation and year."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "year"], name="casecounter_unique")]

    def __str__(self) -> str:
        return f"{self.organisation_id}/{self.year}: {self.last}"


@pghistory.track(exclude=["record_key"])
class Case(models.Model):
    """An anonymised case: never a name, contact detail, birth date or address of the victim."""

    # When the case is read for its page (cases.selectors.case_for_user): the terms of its four lists, by list, its
    # platforms, the terms its organisation offers for a new choice, by vocabulary, its steps, its offender
    # identifiers (each with ``others``), its referrals, its timeline and the status of its last closure request.
    listed_terms: dict[str, list[Term]]
    listed_platforms: list["CasePlatform"]
    offered_terms: dict[str, list[Term]]
    listed_steps: list["ResponseStep"]
    listed_identifiers: list["OffenderIdentifier"]
    listed_referrals: list[Any]
    timeline: list[dict[str, Any]]
    last_closure_status: str | None

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="cases")
    reference = models.CharField(max_length=20)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    closure_reason = models.ForeignKey(
        Term,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"vocabulary": "closure_reason"},
    )
    risk_level = models.CharField(max_length=16, choices=Risk.choices, default=Risk.MEDIUM)
    closure_needs_approval = models.BooleanField(
        _("closure needs approval"),
        default=False,
        db_default=False,
        editable=False,
        help_text=_("Set by the database once the case is at high or critical risk, and never cleared."),
    )
    # Statistics perturb each published count by a fixed function of the sum of its cases' keys (the cell-key
    # method, reports/perturbation.py): the same cases give the same figure in every report.
    record_key = models.PositiveSmallIntegerField(
        _("record key"),
        db_default=Cast(Floor(Random() * 256), models.SmallIntegerField()),
        editable=False,
        help_text=_("A fixed random number from 0 to 255 for the disclosure control of statistics; never shown."),
    )
    self_harm = models.BooleanField(_("self-harm or suicidal thoughts"), default=False)
    immediate_danger = models.BooleanField(_("immediate danger"), default=False)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="assigned_cases"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    first_contact_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    # Who contacted
    channel = models.ForeignKey(
        Term,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"vocabulary": "channel"},
    )
    reporter_type = models.ForeignKey(
        Term,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"vocabulary": "reporter_type"},
    )

    # The victim, anonymised
    victim_age = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(120, _("Age must be a whole number of years between 0 and 120."))],
    )
    victim_age_unknown = models.CharField(max_length=8, choices=AgeUnknown.choices, blank=True)
    victim_gender = models.CharField(max_length=20, choices=Gender.choices, blank=True)
    victim_country = models.CharField(max_length=2, blank=True)
    victim_region = models.CharField(max_length=6, blank=True, help_text=_("ISO 3166-2 subdivision code"))

    # The incident
    incident_description = models.TextField(blank=True)
    approaches = models.ManyToManyField(Term, blank=True, related_name="+", limit_choices_to={"vocabulary": "approach"})
    content_types = models.ManyToManyField(
        Term, blank=True, related_name="+", limit_choices_to={"vocabulary": "content_type"}
    )
    sextortion_type = models.ForeignKey(
        Term,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"vocabulary": "sextortion_type"},
    )
    demands = models.ManyToManyField(Term, blank=True, related_name="+", limit_choices_to={"vocabulary": "demand"})
    threats = models.ManyToManyField(Term, blank=True, related_name="+", limit_choices_to={"vocabulary": "threat"})

    # Outcome facts
    victim_complied = models.CharField(max_length=8, choices=Answer.choices, default=Answer.UNKNOWN)
    victim_paid = models.CharField(max_length=8, choices=Answer.choices, default=Answer.UNKNOWN)
    amount_band = models.CharField(max_length=16, choices=AmountBand.choices, blank=True)
    payment_method = models.ForeignKey(
        Term,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"vocabulary": "payment_method"},
    )
    content_distributed = models.CharField(max_length=8, choices=Answer.choices, default=Answer.UNKNOWN)
    extorted_again = models.CharField(max_length=8, choices=Answer.choices, default=Answer.UNKNOWN)

    # The offender
    offender_count = models.PositiveSmallIntegerField(null=True, blank=True)
    offender_country = models.CharField(max_length=2, blank=True)
    offender_known_offline = models.CharField(max_length=8, choices=Answer.choices, default=Answer.UNKNOWN)
    organised_network_suspected = models.CharField(max_length=8, choices=Answer.choices, default=Answer.UNKNOWN)

    version = models.PositiveIntegerField(default=1, help_text=_("Raised by every save; a stale edit is refused."))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-first_contact_at", "-id"]
        triggers = [
            # Closure approval follows the highest risk the case has had, whatever path wrote it (a form, the API,
            # an import's COPY, a bulk update), so that lowering the risk first does not let anyone close it alone.
            pgtrigger.Trigger(
                name="closure_approval_sticks",
                operation=pgtrigger.Insert | pgtrigger.Update,
                when=pgtrigger.Before,
                func="""
                    NEW.closure_needs_approval := NEW.risk_level IN ('high', 'critical')
                        OR (TG_OP = 'INSERT' AND NEW.closure_needs_approval)
                        OR (TG_OP = 'UPDATE' AND OLD.closure_needs_approval);
                    RETURN NEW;
                """,
            ),
            pgtrigger.ReadOnly(name="record_key_fixed", fields=["record_key"]),
        ]
        permissions = [
            ("assign_case", "Can assign cases to workers"),
            ("view_case_history", "Can read the change history of cases"),
            ("view_case_access_log", "Can read who viewed, changed, exported or printed a case"),
            ("approve_closure", "Can approve the closure of high and critical cases"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "reference"], name="case_unique_reference"),
            models.CheckConstraint(
                condition=Q(victim_age__isnull=True) | Q(victim_age_unknown=""),
                name="case_age_or_unknown",
                violation_error_message=_("Give the age or say that it is unknown, not both."),
            ),
            models.CheckConstraint(
                condition=Q(victim_age__lte=120),
                name="case_age_plausible",
                violation_error_message=_("Age must be a whole number of years between 0 and 120."),
            ),
            models.CheckConstraint(
                condition=~Q(status="closed") | Q(closure_reason__isnull=False, closed_at__isnull=False),
                name="case_closed_has_reason",
                violation_error_message=_("A closed case needs a closure reason and date."),
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "status", "-first_contact_at"], name="case_org_status"),
            models.Index(fields=["organisation", "-first_contact_at", "-id"], name="case_org_recent"),
            models.Index(fields=["organisation", "assigned_to", "status"], name="case_org_assignee"),
            models.Index(fields=["organisation", "risk_level"], name="case_org_risk"),
            models.Index(fields=["reference"], opclasses=["text_pattern_ops"], name="case_reference_prefix"),
            # The workload board and a person's open cases: open cases by assignee, read from the index alone.
            models.Index(
                fields=["organisation", "assigned_to", "first_contact_at", "id"],
                include=["risk_level"],
                condition=~Q(status="closed"),
                name="case_open_assignee",
            ),
            # Open cases oldest first: the median age of the organisation's open cases, by position.
            models.Index(
                fields=["organisation", "first_contact_at", "id"],
                condition=~Q(status="closed"),
                name="case_open_recent",
            ),
        ]
        verbose_name = _("case")
        verbose_name_plural = _("cases")

    def __str__(self) -> str:
        return self.reference

    @property
    def victim_country_name(self) -> str:
        country = pycountry.countries.get(alpha_2=self.victim_country) if self.victim_country else None
        return country.name if country else self.victim_country

    @property
    def offender_country_name(self) -> str:
        country = pycountry.countries.get(alpha_2=self.offender_country) if self.offender_country else None
        return country.name if country else self.offender_country

    @property
    def victim_region_name(self) -> str:
        region = pycountry.subdivisions.get(code=self.victim_region) if self.victim_region else None
        return region.name if region else self.victim_region

    @property
    def is_minor(self) -> bool | None:
        if self.victim_age is not None:
            return self.victim_age < 18
        if self.victim_age_unknown:
            return self.victim_age_unknown == AgeUnknown.MINOR
        return None

    @property
    def risk_flags(self) -> list[str]:
        flags = {
            str(_("self-harm or suicidal thoughts")): self.self_harm,
            str(_("immediate danger")): self.immediate_danger,
            str(_("content already distributed")): self.content_distributed == Answer.YES,
            str(_("payment already made")): self.victim_paid == Answer.YES,
            str(_("extorted again after paying")): self.extorted_again == Answer.YES,
            str(_("victim under 13")): self.victim_age is not None and self.victim_age < 13,
        }
        return [flag for flag, on in flags.items() if on]


class PlatformRole(models.TextChoices):
    FIRST_CONTACT = "first_contact", _("first contact")
    CONTENT_OBTAINED = "content_obtained", _("where the content was obtained")
    THREATS = "threats", _("where threats were made")
    MOVED_TO = "moved_to", _("moved to")


@pghistory.track()
class CasePlatform(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="platforms")
    platform = models.ForeignKey(
        Term, on_delete=models.PROTECT, related_name="+", limit_choices_to={"vocabulary": "platform"}
    )
    role = models.CharField(max_length=20, choices=PlatformRole.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "platform", "role"], name="caseplatform_unique")]
        indexes = [models.Index(fields=["platform", "role"], name="caseplatform_platform")]
        verbose_name = _("case platform")
        verbose_name_plural = _("case platforms")

    def __str__(self) -> str:
        return f"{self.platform} ({self.get_role_display()})"


class IdentifierKind(models.TextChoices):
    USERNAME = "username", _("username or handle")
    PROFILE_LINK = "profile_link", _("profile link")
    PAYMENT_HANDLE = "payment_handle", _("payment handle")
    PHONE = "phone", _("phone number")
    EMAIL = "email", _("e-mail address")


@pghistory.track()
class OffenderIdentifier(models.Model):
    """Evidence about the offender, kept with the case and as a keyed hash to link cases."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="offender_identifiers")
    kind = models.CharField(max_length=20, choices=IdentifierKind.choices)
    platform = models.ForeignKey(
        Term,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"vocabulary": "platform"},
    )
    value = models.CharField(max_length=300)
    value_hash = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("offender identifier")
        verbose_name_plural = _("offender identifiers")

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"


class ContactType(models.TextChoices):
    """The kinds of contact Child Helpline International counts apart: only counselling contacts have a reason."""

    COUNSELLING = "counselling", _("Counselling")
    INFORMATION = "information", _("Information or referral only")
    SILENT = "silent", _("Silent")
    ABUSIVE = "abusive", _("Abusive or prank")
    TESTING = "testing", _("Testing the service")
    OTHER = "other", _("Other")


@pghistory.track()
class Contact(models.Model):
    """One interaction on a case: a call, a chat, an e-mail."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="contacts")
    at = models.DateTimeField()
    channel = models.ForeignKey(
        Term, on_delete=models.PROTECT, related_name="+", limit_choices_to={"vocabulary": "channel"}
    )
    contact_type = models.CharField(
        _("type of contact"),
        max_length=16,
        choices=ContactType.choices,
        default=ContactType.COUNSELLING,
        db_default=ContactType.COUNSELLING,
    )
    duration_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    worker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contacts")

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["case", "at"], name="contact_case_at"),
            # Recent contacts (this week's per person, cases heard from lately) without reading the table.
            models.Index(fields=["at"], include=["case", "worker"], name="contact_at"),
        ]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return f"{self.case} {self.at:%Y-%m-%d %H:%M}"


@pghistory.track()
class ChiCategory(models.Model):
    """A reason for contact of Child Helpline International's data framework, as the yearly figures name it.

    Shared by every organisation and edited by the deployment operator, like the step catalogue.
    """

    code = models.SlugField(_("code"), max_length=64, unique=True)
    label = models.CharField(_("label"), max_length=160)
    position = models.PositiveSmallIntegerField(_("position"), default=100)
    active = models.BooleanField(_("active"), default=True, help_text=_("Inactive categories are not reported."))

    class Meta:
        ordering = ["position", "label"]
        triggers = [pgtrigger.ReadOnly(name="code_fixed", fields=["code"])]
        verbose_name = _("CHI reason for contact")
        verbose_name_plural = _("CHI reasons for contact")

    def __str__(self) -> str:
        return self.label


class ChiFact(models.TextChoices):
    """Facts of a case that are not terms of a vocabulary (reports/rollups.py FACTS gives their conditions)."""

    EVERY_CASE = "every_case", _("every case")
    SELF_HARM = "self_harm", _("self-harm or suicidal thoughts")
    IMMEDIATE_DANGER = "immediate_danger", _("immediate danger")
    DISTRIBUTED = "distributed", _("content already distributed")
    PAID = "paid", _("payment already made")
    EXTORTED_AGAIN = "extorted_again", _("extorted again after paying")


@pghistory.track()
class ChiMapping(models.Model):
    """Contacts on a case with this term (or this fact) count under this CHI reason for contact.

    A case can have several reasons; a contact counts once under each.
    """

    category = models.ForeignKey(
        ChiCategory, on_delete=models.CASCADE, related_name="mappings", verbose_name=_("CHI reason")
    )
    term = models.ForeignKey(
        Term,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        limit_choices_to={"vocabulary__in": ["sextortion_type", "demand", "approach", "content_type", "threat"]},
        verbose_name=_("term"),
    )
    fact = models.CharField(_("case fact"), max_length=32, choices=ChiFact.choices, blank=True)

    class Meta:
        ordering = ["category__position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(term__isnull=False) & Q(fact="")) | (Q(term__isnull=True) & ~Q(fact="")),
                name="chimapping_term_or_fact",
                violation_error_message=_("Choose either a term or a case fact."),
            ),
            models.UniqueConstraint(fields=["category", "term"], name="chimapping_unique_term"),
            models.UniqueConstraint(fields=["category", "fact"], condition=~Q(fact=""), name="chimapping_unique_fact"),
        ]
        verbose_name = _("CHI mapping")
        verbose_name_plural = _("CHI mappings")

    def __str__(self) -> str:
        source = self.term.label if self.term else self.get_fact_display()
        return f"{source} → {self.category}"


class StepStatus(models.TextChoices):
    TODO = "todo", _("To do")
    DONE = "done", _("Done")
    DECLINED = "declined", _("Declined")
    NOT_APPLICABLE = "not_applicable", _("Not applicable")


class ResponseStepQuerySet(models.QuerySet["ResponseStep"]):
    def overdue(self, now: datetime | None = None) -> "ResponseStepQuerySet":
        """Steps still to do after their due time."""
        return self.filter(status=StepStatus.TODO, due_at__lt=now or timezone.now())


@pghistory.track()
class ResponseStep(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="steps")
    step_type = models.ForeignKey(StepType, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=StepStatus.choices, default=StepStatus.TODO)
    due_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True, help_text=_("Why the playbook added it."))

    objects = ResponseStepQuerySet.as_manager()

    class Meta:
        ordering = ["step_type__position", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "step_type"], name="responsestep_unique")]
        indexes = [
            # Steps still to do, by case: the overdue marks of the list and the overdue filter.
            models.Index(fields=["case", "due_at"], condition=Q(status="todo"), name="responsestep_case_todo"),
        ]
        verbose_name = _("response step")
        verbose_name_plural = _("response steps")

    def __str__(self) -> str:
        return f"{self.case}: {self.step_type}"


@pghistory.track()
class Note(models.Model):
    """Free text on a case; never shown to analysts."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    identifiers_kept = models.JSONField(
        default=list, blank=True, help_text=_("Kinds of identifier the author chose to keep in the text.")
    )

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("note")
        verbose_name_plural = _("notes")

    def __str__(self) -> str:
        return f"note on {self.case}"


class EventKind(models.TextChoices):
    OPENED = "opened", _("Case opened")
    STATUS = "status", _("Status changed")
    ASSIGNED = "assigned", _("Assignment changed")
    FACTS = "facts", _("Facts updated")
    STEP = "step", _("Step updated")
    REFERRAL = "referral", _("Referral")
    CLOSURE = "closure", _("Closure approval")


class CaseActivity(models.Model):
    """What happened to a case, for its timeline; written by the services."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="activities")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    detail = models.JSONField(default=dict)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"], name="caseactivity_case_at")]

    def __str__(self) -> str:
        return f"{self.case} {self.kind}"


class ClosureStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    SENT_BACK = "sent_back", _("Sent back")
    WITHDRAWN = "withdrawn", _("Withdrawn")


@pghistory.track()
class ClosureRequest(models.Model):
    """A worker's request to close a high or critical case, approved or sent back by a supervisor."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="closure_requests")
    status = models.CharField(max_length=16, choices=ClosureStatus.choices, default=ClosureStatus.PENDING)
    closure_reason = models.ForeignKey(
        Term, on_delete=models.PROTECT, related_name="+", limit_choices_to={"vocabulary": "closure_reason"}
    )
    comment = models.TextField(blank=True)
    risk_level = models.CharField(
        max_length=16, choices=Risk.choices, help_text=_("The risk of the case when closure was requested.")
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True, help_text=_("Why the supervisor sent the request back."))

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            # The database, not only the service, keeps one request waiting per case.
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(status="pending"),
                name="closurerequest_one_pending",
                violation_error_message=_("A closure request for this case is already waiting for approval."),
            ),
            models.CheckConstraint(
                condition=Q(status="pending", decided_by__isnull=True, decided_at__isnull=True)
                | (~Q(status="pending") & Q(decided_by__isnull=False, decided_at__isnull=False)),
                name="closurerequest_decided",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent_back") | ~Q(decision_comment=""),
                name="closurerequest_sent_back_comment",
                violation_error_message=_("Say why the request is sent back."),
            ),
        ]
        indexes = [
            models.Index(fields=["requested_at"], condition=Q(status="pending"), name="closurerequest_pending"),
        ]
        verbose_name = _("closure request")
        verbose_name_plural = _("closure requests")

    def __str__(self) -> str:
        return f"closure of {self.case_id}: {self.status}"


class IdempotencyKey(models.Model):
    """Remembers which case an API create with this key made, so a retry returns it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotencykey_unique")]

    def __str__(self) -> str:
        return self.key

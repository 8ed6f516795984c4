from typing import Any

import pghistory
from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role


@pghistory.track()
class Organisation(models.Model):
    """A helpline. Every user, case and referral belongs to exactly one."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("ISO 3166-1 alpha-2 code"))
    username_suffix = models.SlugField(
        _("username suffix"),
        max_length=40,
        unique=True,
        help_text=_(
            "Accounts added by the organisation's administrators are named name@suffix, so that no administrator "
            "ever asks for a username another organisation holds."
        ),
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    # Exposure care (supervision.selectors.exposure_of): contacts on cases that have been at high or critical
    # risk, or with self-harm or suicidal thoughts, per person, in a shift and in the past seven days.
    exposure_shift_hours = models.PositiveSmallIntegerField(
        _("shift length (hours)"),
        default=8,
        validators=[MinValueValidator(1), MaxValueValidator(24)],
        help_text=_(
            "Exposure in a shift is counted over this many hours back from now; a prompt put away stays away as long."
        ),
    )
    exposure_shift_threshold = models.PositiveSmallIntegerField(
        _("hard contacts per shift"),
        default=6,
        validators=[MinValueValidator(1)],
        help_text=_(
            "From this many contacts on high-risk or self-harm cases in a shift, the person is offered a break or a "
            "debrief, and their supervisors see it."
        ),
    )
    exposure_week_threshold = models.PositiveSmallIntegerField(
        _("hard contacts per week"),
        default=20,
        validators=[MinValueValidator(1)],
        help_text=_("The same, over the past seven days."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    exposure_shift_hours__gte=1,
                    exposure_shift_hours__lte=24,
                    exposure_shift_threshold__gte=1,
                    exposure_week_threshold__gte=1,
                ),
                name="organisation_exposure_thresholds_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.username_suffix:
            self.username_suffix = slugify(self.name)[:40]
        super().save(*args, **kwargs)


class HelplineUserManager(UserManager["User"]):
    def get_queryset(self) -> models.QuerySet["User"]:
        return super().get_queryset().select_related("organisation")


@pghistory.track(exclude=["password", "last_login"])
class User(AbstractUser):
    # A user has exactly one role, so the role is a column rather than a
    # many-to-many to groups; the permissions still come from the role's group.
    groups = None  # type: ignore[assignment]
    user_permissions = None  # type: ignore[assignment]

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="users", verbose_name=_("organisation")
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("Of the pages, notifications and e-mails; empty: the site's default language."),
    )
    is_demo = models.BooleanField(
        _("is demo"),
        default=False,
        help_text=_("Demo account: exempt from two-factor login while DEBUG is on, never in production."),
    )

    report_organisations = models.ManyToManyField(
        Organisation,
        blank=True,
        related_name="+",
        verbose_name=_("reports on other organisations"),
        help_text=_(
            "Analysts only: other helplines whose statistics this analyst may read, always disclosure-controlled."
        ),
    )

    objects = HelplineUserManager()  # type: ignore[misc]

    REQUIRED_FIELDS = ["organisation", "role"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="user_role_valid"),
        ]

    def __str__(self) -> str:
        return self.username

    def set_staff_status(self) -> None:
        """The administration site is for administrators and the deployment operator (superusers) only."""
        self.is_staff = self.is_superuser or self.role == Role.ADMINISTRATOR

    @property
    def interface_language(self) -> str:
        return language_to_activate(self.language)


class InvitationReason(models.TextChoices):
    NEW_ACCOUNT = "new_account", _("new account")
    PASSWORD_RESET = "password_reset", _("password reset")
    TWO_FACTOR_RESET = "two_factor_reset", _("two-factor reset")


class Invitation(models.Model):
    """A single-use link with which a person sets their own password: for a new account or after a reset.

    Only the SHA-256 of its token is kept. An account has at most one invitation waiting: a new one replaces it.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="invitations", verbose_name=_("user"))
    reason = models.CharField(_("reason"), max_length=20, choices=InvitationReason.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(used_at__isnull=True), name="invitation_one_waiting_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.reason})"


def language_to_activate(code: str) -> str:
    """A stored language choice as a code to activate: the site's default when empty or no longer offered."""
    return code if code in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def default_mfa_amr() -> list[str]:
    return ["mfa"]


def default_mfa_acr() -> list[str]:
    return ["http://schemas.openid.net/pape/policies/2007/06/multi-factor"]


@pghistory.track(exclude=["client_secret"])
class IdentityProvider(models.Model):
    """An organisation's OpenID Connect provider: its staff sign in there (accounts/sso.py).

    The provider's groups give the role: the first group of ``group_roles`` the person belongs to wins, and a
    person in none of them is refused. Its second factor counts only where the ID token's ``amr`` or ``acr``
    claim names one of the values accepted here; otherwise our own authenticator code is asked for.
    """

    organisation = models.OneToOneField(
        Organisation, on_delete=models.PROTECT, related_name="identity_provider", verbose_name=_("organisation")
    )
    slug = models.SlugField(_("address name"), max_length=40, unique=True, help_text=_("In the sign-in address."))
    label = models.CharField(_("button label"), max_length=100, help_text=_('e.g. "Sign in with Example Helpline"'))
    issuer = models.URLField(
        _("issuer"), help_text=_("The provider's issuer URL; its /.well-known/openid-configuration is read.")
    )
    client_id = models.CharField(_("client ID"), max_length=255)
    client_secret = models.CharField(_("client secret"), max_length=255)
    groups_claim = models.CharField(_("groups claim"), max_length=100, default="groups")
    group_roles = models.JSONField(
        _("groups and roles"),
        default=list,
        help_text=_('Pairs [group, role] in order of precedence, e.g. [["helpline-supervisors", "supervisor"]].'),
    )
    mfa_amr = models.JSONField(_("amr values that prove a second factor"), default=default_mfa_amr, blank=True)
    mfa_acr = models.JSONField(_("acr values that prove a second factor"), default=default_mfa_acr, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        verbose_name = _("identity provider")
        verbose_name_plural = _("identity providers")
        constraints = [
            # One client at one provider is one organisation's: its people could otherwise sign in to another.
            models.UniqueConstraint(fields=["issuer", "client_id"], name="identity_provider_unique_client"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"


class ExternalIdentity(models.Model):
    """A person at an identity provider (its ``sub``), who is this account of the provider's organisation."""

    provider = models.ForeignKey(
        IdentityProvider, on_delete=models.CASCADE, related_name="identities", verbose_name=_("identity provider")
    )
    subject = models.CharField(_("subject"), max_length=255, help_text=_("The provider's sub claim."))
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="external_identities", verbose_name=_("user"))
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("external identity")
        verbose_name_plural = _("external identities")
        constraints = [
            models.UniqueConstraint(fields=["provider", "subject"], name="external_identity_unique_subject"),
            models.UniqueConstraint(fields=["provider", "user"], name="external_identity_one_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.provider.slug}:{self.subject}"

    def clean(self) -> None:
        user = getattr(self, "user", None)
        provider = getattr(self, "provider", None)
        if user is None or provider is None:
            return
        if user.is_superuser or user.organisation_id != provider.organisation_id:
            raise ValidationError(
                {"user": _("Only an account of the provider's organisation, never an operator's, can be linked.")}
            )

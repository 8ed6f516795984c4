from typing import Any

from axes.utils import reset as axes_reset
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UsernameField
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import RegexValidator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_stubs_ext import StrOrPromise

from accounts import services
from accounts.models import ExternalIdentity, IdentityProvider, Organisation, User
from accounts.roles import Role
from accounts.selectors import invitation_waiting, organisations_visible_to, users_visible_to
from audit.models import Action
from audit.services import access_log_record
from helpline import gate
from helpline.admin import AuditedSaveMixin, ScopedAdminMixin, site


@admin.register(Organisation, site=site)
class OrganisationAdmin(AuditedSaveMixin, ScopedAdminMixin, admin.ModelAdmin[Organisation]):
    list_display = ["name", "country", "created"]
    search_fields = ["name"]
    fieldsets = [
        (None, {"fields": ["name", "country", "username_suffix"]}),
        (
            _("Exposure care"),
            {
                "fields": ["exposure_shift_hours", "exposure_shift_threshold", "exposure_week_threshold"],
                "description": _(
                    "Hard contacts are those on cases that have been at high or critical risk, or with self-harm or "
                    "suicidal thoughts. A person who reaches a threshold is offered a break or a debrief, and their "
                    "supervisors see it; nobody else sees these figures."
                ),
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organisation]:
        return organisations_visible_to(gate.signed_in_user(request))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # The suffix is fixed once given: usernames carry it, and a freed suffix could be taken by another helpline.
        fixed = ["username_suffix"] if obj is not None else []
        # A rename could probe for the names of other helplines ("already exists").
        return fixed if request.user.is_superuser else ["name", *fixed]


USERNAME_PART = RegexValidator(
    r"^[\w.+-]+\Z", _("Use only letters, digits and the characters . + - _ (the @ and what follows are added).")
)


EMAIL_NEEDED = _("An e-mail address is needed: the invitation link is sent there, and shown to nobody.")


class UserInviteForm(forms.ModelForm[User]):
    """A new account: who it is for, their role and their address. The password is its owner's to set, from the
    invitation e-mailed to that address and shown to nobody.

    The username gets the organisation's suffix, so no name another organisation holds can ever be asked for,
    and no answer here can tell whether one exists.
    """

    organisation: Organisation  # the administrator's, set by the admin for each request
    actor: User  # the administrator, set likewise

    username = UsernameField(
        label=_("Username"),
        max_length=100,
        validators=[USERNAME_PART],
        error_messages={"unique": _("Choose another username.")},  # of any name taken, whoever holds it
    )

    class Meta:
        model = User
        fields = ["username", "role", "first_name", "last_name", "email", "language"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].help_text = _("They will log in as this name followed by @%(suffix)s.") % {
            "suffix": self.organisation.username_suffix
        }
        self.fields["email"].required = True
        self.fields["email"].error_messages["required"] = EMAIL_NEEDED
        self.fields["email"].help_text = _(
            "The person's own address: the invitation link is e-mailed there and shown to nobody else, you neither."
        )

    def clean_username(self) -> str:
        return f"{self.cleaned_data['username']}@{self.organisation.username_suffix}"

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"]
        services.invitation_address_validate(address=email, organisation=self.organisation, actor=self.actor)
        return email

    def clean(self) -> dict[str, Any] | None:
        services.supervision_require(organisation=self.organisation, actor=self.actor)
        return super().clean()


class UserEditForm(forms.ModelForm[User]):
    """What an administrator may change on an account: never its password, nor its name."""

    actor: User  # the administrator, set by the admin for each request

    class Meta:
        model = User
        fields = list(services.EDITABLE)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].help_text = _(
            "Invitations after a reset go to this address only. A change is told to the supervisors and ends "
            "any invitation still waiting."
        )

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"]
        if email and "email" in self.changed_data:
            organisation = self.instance.organisation
            services.invitation_address_validate(
                address=email, organisation=organisation, actor=self.actor, user=self.instance
            )
        return email


@admin.register(User, site=site)
class HelplineUserAdmin(ScopedAdminMixin, UserAdmin):
    form = UserEditForm
    add_form = UserInviteForm
    add_form_template = "admin/accounts/user/add_form.html"
    list_display = ["username", "first_name", "last_name", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    search_fields = ["username", "first_name", "last_name", "email"]
    ordering = ["username"]
    filter_horizontal = []
    fieldsets = [
        (None, {"fields": ["username", "sign_in"]}),
        (_("Person"), {"fields": ["first_name", "last_name", "email", "language"]}),
        (_("Access"), {"fields": ["role", "is_active"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["username", "role", "first_name", "last_name", "email", "language"]})
    ]
    actions = ["reset_password", "reset_two_factor", "unlock"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        # Also what the admin's autocomplete searches, whichever field asks: never another organisation's users.
        return users_visible_to(gate.signed_in_user(request)).order_by("username")

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        actor = gate.signed_in_user(request)
        form.actor = actor  # type: ignore[attr-defined]
        if obj is None:
            form.organisation = actor.organisation  # type: ignore[attr-defined]
        return form

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        fields = ["username", "sign_in", "last_login", "date_joined"]
        if obj.pk == request.user.pk:
            # Nobody demotes or deactivates themselves, so an organisation keeps an administrator.
            fields += ["role", "is_active"]
        return fields

    @admin.display(description=_("Sign-in"))
    def sign_in(self, obj: User) -> str:
        invitation = invitation_waiting(obj)
        password: StrOrPromise
        if obj.has_usable_password():
            password = _("Password set by its owner.")
        elif invitation is not None and invitation.expires_at > timezone.now():
            password = _("No password yet: the invitation link works until %(date)s.") % {
                "date": date_format(timezone.localtime(invitation.expires_at), "DATETIME_FORMAT")
            }
        else:
            password = _("No password, and no invitation link that still works.")
        enrolled = TOTPDevice.objects.filter(user=obj, confirmed=True).exists()
        return format_html(
            '{} {} <a href="{}">{}</a>',
            password,
            _("Authenticator enrolled.") if enrolled else _("No authenticator yet."),
            reverse("admin:auth_user_password_change", args=[obj.pk]),
            _("Reset the password and e-mail a new invitation"),
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Accounts are deactivated, never deleted: the audit trail points at them.
        return False

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        actor = gate.signed_in_user(request)
        if change:
            values = {name: form.cleaned_data[name] for name in form.changed_data}
            services.user_update(user=obj, values=values, actor=actor, request=request)
            return
        sent = services.user_invite(
            organisation=actor.organisation,
            username=obj.username,
            role=Role(obj.role),
            first_name=obj.first_name,
            last_name=obj.last_name,
            email=obj.email,
            language=obj.language,
            actor=actor,
            request=request,
        )
        # The admin logs and answers about the form's instance: it becomes the account just made.
        obj.pk, obj._state.adding = sent.user.pk, False
        request._sent = [sent]  # type: ignore[attr-defined]

    def response_add(self, request: HttpRequest, obj: User, post_url_continue: str | None = None) -> HttpResponse:
        return self._invitations_sent_page(request, request._sent, title=_("Account added"))  # type: ignore[attr-defined]

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        """Nobody sets another person's password: this page resets it and issues an invitation instead."""
        user = self.get_object(request, unquote(id))
        if user is None:
            gate.refuse(request, object_type=self.opts.label_lower, object_id=str(id)[:64])
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        address_problem = self._address_problem(request, user)
        if request.method == "POST" and request.POST.get("confirm") == "reset" and address_problem is None:
            sent = services.user_password_reset(user=user, actor=gate.signed_in_user(request), request=request)
            return self._invitations_sent_page(request, [sent], title=_("Password reset"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reset the password of %(username)s") % {"username": user.get_username()},
            "opts": self.opts,
            "original": user,
            "address_problem": address_problem,
        }
        # Anything else posted here (a new password, say), or a reset without a right address, changes nothing.
        status = 400 if request.method == "POST" else 200
        page = TemplateResponse(request, "admin/accounts/user/password_reset.html", context, status=status)
        return self._record_view(request, page, str(user.pk))

    @admin.action(description=_("Reset the password and e-mail an invitation"), permissions=["change"])
    def reset_password(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        if not self._addresses_fit(request, queryset):
            return None
        actor = gate.signed_in_user(request)
        sent = [services.user_password_reset(user=user, actor=actor, request=request) for user in queryset]
        return self._invitations_sent_page(request, sent, title=_("Passwords reset"))

    @admin.action(description=_("Reset two-factor login (lost phone) and e-mail an invitation"), permissions=["change"])
    def reset_two_factor(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        if not self._addresses_fit(request, queryset):
            return None
        actor = gate.signed_in_user(request)
        sent = [services.two_factor_reset(user=user, actor=actor, request=request) for user in queryset]
        return self._invitations_sent_page(request, sent, title=_("Two-factor login reset"))

    @admin.action(description=_("Unlock after failed logins"), permissions=["change"])
    def unlock(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            axes_reset(username=user.username)
            access_log_record(action=Action.CHANGE, request=request, obj=user, detail={"unlocked": True})
        messages.success(request, _("The selected accounts can log in again."))

    def _address_problem(self, request: HttpRequest, user: User) -> str | None:
        """Why no invitation can go to this account's address now (no supervisor to tell, or not a fitting
        address), or None if one can."""
        actor = gate.signed_in_user(request)
        try:
            services.supervision_require(organisation=user.organisation, actor=actor)
            services.invitation_address_validate(
                address=user.email, organisation=user.organisation, actor=actor, user=user
            )
        except ValidationError as error:
            return " ".join(error.messages)
        return None

    def _addresses_fit(self, request: HttpRequest, queryset: QuerySet[User]) -> bool:
        """Whether every selected account can be sent its invitation; if one cannot, none is reset and the
        administrator is told which and why."""
        problems = [(user, self._address_problem(request, user)) for user in queryset]
        for user, problem in problems:
            if problem is not None:
                messages.error(
                    request,
                    _("%(username)s: %(problem)s Nothing was reset.")
                    % {"username": user.get_username(), "problem": problem},
                )
        return all(problem is None for _user, problem in problems)

    def _invitations_sent_page(
        self, request: HttpRequest, sent: list[services.InvitationSent], title: StrOrPromise
    ) -> HttpResponse:
        """Where each invitation went. The links themselves are in those mailboxes only, never on this page."""
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "sent": sent,
            "lifetime_hours": int(settings.INVITATION_LIFETIME.total_seconds() // 3600),
        }
        return TemplateResponse(request, "admin/accounts/user/invitations.html", context)


class IdentityProviderForm(forms.ModelForm[IdentityProvider]):
    client_secret = forms.CharField(
        label=_("client secret"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Never shown again. Leave empty to keep the one saved."),
    )

    class Meta:
        model = IdentityProvider
        fields = [
            "organisation",
            "slug",
            "label",
            "issuer",
            "client_id",
            "client_secret",
            "groups_claim",
            "group_roles",
            "mfa_amr",
            "mfa_acr",
            "enabled",
        ]

    def clean_issuer(self) -> str:
        issuer = str(self.cleaned_data.get("issuer") or "").rstrip("/")
        if not issuer.startswith("https://") and not settings.DEBUG:
            raise ValidationError(_("The issuer must be an https:// address: its keys vouch for every sign-in."))
        return issuer

    def clean_client_secret(self) -> str:
        secret = str(self.cleaned_data.get("client_secret") or "")
        if secret:
            return secret
        if self.instance.pk and self.instance.client_secret:
            return self.instance.client_secret
        raise ValidationError(_("The client secret is needed."))

    def clean_group_roles(self) -> list[list[str]]:
        pairs = self.cleaned_data.get("group_roles")
        valid = isinstance(pairs, list) and all(
            isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str) and pair[1] in Role.values
            for pair in pairs
        )
        if not valid:
            raise ValidationError(
                _("Give a list of [group, role] pairs; the roles are %(roles)s.") % {"roles": ", ".join(Role.values)}
            )
        return pairs  # type: ignore[return-value]

    def _clean_values(self, name: str) -> list[str]:
        values = self.cleaned_data.get(name)
        if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
            raise ValidationError(_('Give a list of values, e.g. ["mfa"].'))
        return values

    def clean_mfa_amr(self) -> list[str]:
        return self._clean_values("mfa_amr")

    def clean_mfa_acr(self) -> list[str]:
        return self._clean_values("mfa_acr")


class ExternalIdentityInline(admin.TabularInline[ExternalIdentity, IdentityProvider]):
    model = ExternalIdentity
    extra = 0
    fields = ["subject", "user", "created"]
    readonly_fields = ["created"]
    raw_id_fields = ["user"]


@admin.register(IdentityProvider, site=site)
class IdentityProviderAdmin(AuditedSaveMixin, admin.ModelAdmin[IdentityProvider]):
    """The deployment operator's: a provider decides who is which role in its organisation."""

    form = IdentityProviderForm
    inlines = [ExternalIdentityInline]
    list_display = ["label", "organisation", "issuer", "enabled"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

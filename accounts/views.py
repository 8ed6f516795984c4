import base64
import logging
from typing import Any

import qrcode
import qrcode.image.svg
import requests
from authlib.common.errors import AuthlibBaseError
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from joserfc.errors import JoseError

from accounts import services, sso
from accounts.forms import LanguageForm, TokenForm
from accounts.models import IdentityProvider
from accounts.selectors import INVITATION_OBJECT_TYPE, invitation_refusals_exceeded, invitation_usable
from audit.models import Action
from audit.services import access_log_record
from helpline.client_address import client_address

logger = logging.getLogger(__name__)


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return str(reverse_lazy("home"))


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if user.totpdevice_set.filter(confirmed=True).exists():
        return redirect("two_factor_verify" if not user.is_verified() else "account")
    device = services.two_factor_device_for_enrolment(user=user)
    form = TokenForm(request.POST or None)
    if form.is_valid():
        codes = services.two_factor_enrol(request=request, device=device, token=form.cleaned_data["token"])
        if codes is not None:
            return render(request, "accounts/backup_codes.html", {"codes": codes, "next": _next_url(request)})
        form.add_error("token", _("That code is not right. Check the time on your phone and try the newest code."))
    qr = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    secret = base64.b32encode(device.bin_key).decode()
    return render(
        request,
        "accounts/two_factor_setup.html",
        {"form": form, "qr_svg": qr.to_string(encoding="unicode"), "secret": secret, "next": _next_url(request)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if user.is_verified():
        return HttpResponseRedirect(_next_url(request))
    if not user.totpdevice_set.filter(confirmed=True).exists():
        return redirect("two_factor_setup")
    form = TokenForm(request.POST or None)
    if form.is_valid():
        if services.two_factor_verify(request=request, token=form.cleaned_data["token"]):
            return HttpResponseRedirect(_next_url(request))
        form.add_error("token", _("That code is not right, or was already used. Wait for a new code and try again."))
    return render(request, "accounts/two_factor_verify.html", {"form": form, "next": _next_url(request)})


@login_required
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    """The account page; its one form of its own is the language choice, posted back here."""
    user: Any = request.user
    language_form = LanguageForm(request.POST or None, initial={"language": user.interface_language})
    if language_form.is_valid():
        services.user_set_language(user=user, language=language_form.cleaned_data["language"], request=request)
        # Said in the language just chosen, as the next page will be.
        with translation.override(user.interface_language):
            messages.success(request, _("The language of your pages has been changed."))
        return redirect("account")
    return render(
        request,
        "accounts/account.html",
        {
            "has_authenticator": user.totpdevice_set.filter(confirmed=True).exists(),
            "backup_codes_left": sum(d.token_set.count() for d in user.staticdevice_set.all()),
            "language_form": language_form,
        },
        status=400 if language_form.errors else 200,
    )


@login_required
@require_POST
def backup_codes_regenerate(request: HttpRequest) -> HttpResponse:
    codes = services.backup_codes_regenerate(request=request)
    return render(request, "accounts/backup_codes.html", {"codes": codes, "next": reverse_lazy("account")})


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("account")

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        response = super().form_valid(form)
        access_log_record(action=Action.PASSWORD_CHANGED, request=self.request)
        messages.success(self.request, _("Your password has been changed."))
        return response


@never_cache
@sensitive_post_parameters("new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The public page of an invitation link, where its holder sets the account's password.

    A link that cannot be used gets one answer, whatever the reason, and is logged; an address with too many
    of those is turned away for a while. Nothing here says whether an account exists.
    """
    if request.user.is_authenticated:
        # Signed in as someone else (an administrator trying the link): the link is not for this session.
        return render(request, "accounts/invitation_signed_in.html")
    if invitation_refusals_exceeded(client_address(request)):
        return render(request, "accounts/invitation_invalid.html", {"too_many": True}, status=429)
    invitation = invitation_usable(token)
    if invitation is None:
        return _invitation_refused(request)
    form = SetPasswordForm(invitation.user, request.POST or None)
    if form.is_valid():
        try:
            services.invitation_accept(token=token, password=form.cleaned_data["new_password1"], request=request)
        except services.InvitationInvalid:  # used up by another submission a moment ago
            return _invitation_refused(request)
        messages.success(request, _("Your password is set. Log in with it, then set up your authenticator app."))
        return redirect("login")
    context = {"form": form, "username": invitation.user.get_username(), "expires_at": invitation.expires_at}
    return render(request, "accounts/invitation.html", context, status=400 if form.errors else 200)


def _invitation_refused(request: HttpRequest) -> HttpResponse:
    access_log_record(action=Action.REFUSED, request=request, object_type=INVITATION_OBJECT_TYPE)
    return render(request, "accounts/invitation_invalid.html", status=404)


class LoginView(auth_views.LoginView):
    """The password login, with a button for each organisation's own sign-in."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        providers = IdentityProvider.objects.filter(enabled=True).order_by("label").values("slug", "label")
        return {**super().get_context_data(**kwargs), "identity_providers": list(providers)}


@never_cache
@require_GET
def sso_start(request: HttpRequest, slug: str) -> HttpResponse:
    if request.user.is_authenticated:
        return HttpResponseRedirect(_next_url(request))
    provider = get_object_or_404(IdentityProvider, slug=slug, enabled=True)
    request.session[sso.SSO_NEXT] = _next_url(request)
    redirect_uri = request.build_absolute_uri(reverse("sso_callback", args=[provider.slug]))
    try:
        return sso.client(provider).authorize_redirect(request, redirect_uri)
    except (AuthlibBaseError, requests.RequestException, ValueError):
        logger.warning("The identity provider %s could not be reached.", provider.slug)
        message = _("%(provider)s cannot be reached just now. Try again shortly.") % {"provider": provider.label}
        messages.error(request, message)
        return redirect("login")


@never_cache
@require_GET
def sso_callback(request: HttpRequest, slug: str) -> HttpResponse:
    if request.user.is_authenticated:
        return HttpResponseRedirect(_next_url(request))
    provider = get_object_or_404(IdentityProvider.objects.select_related("organisation"), slug=slug, enabled=True)
    try:
        claims = sso.id_token_claims(sso.client(provider), provider, request)
        user = sso.account_for(provider, claims, request)
    except (AuthlibBaseError, JoseError, requests.RequestException, ValueError) as error:
        logger.warning("A sign-in with %s failed: %s.", provider.slug, type(error).__name__)
        message = _("The sign-in with %(provider)s did not complete. Try again.") % {"provider": provider.label}
        return _sso_refused(request, provider, message, "token")
    except sso.SignInRefused as refusal:
        return _sso_refused(request, provider, str(refusal), refusal.reason, refusal.user)
    next_url = request.session.pop(sso.SSO_NEXT, "") or str(reverse_lazy("home"))
    login(request, user, backend="accounts.backends.RoleBackend")
    if sso.second_factor_proven(provider, claims):
        request.session[sso.SSO_MFA] = provider.pk
    return HttpResponseRedirect(next_url)


def _sso_refused(
    request: HttpRequest, provider: IdentityProvider, message: str, reason: str, user: Any = None
) -> HttpResponse:
    access_log_record(
        action=Action.LOGIN_FAILED,
        request=request,
        actor=user,
        username=f"sso:{provider.slug}",
        detail={"reason": reason},
    )
    messages.error(request, message)
    return redirect("login")

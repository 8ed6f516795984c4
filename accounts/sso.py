"""Single sign-on with an organisation's OpenID Connect provider, by Authlib's Django client.

The start sends the browser to the provider with a state, a nonce and a PKCE challenge kept in the session. The
callback exchanges the code and checks the ID token: its signature against the provider's published keys, the
issuer, the audience (our client ID), the expiry and the nonce. The person is then the account of the provider's
organisation linked to their ``sub``, made on their first sign-in. Their role follows the provider's groups at
every sign-in; a person in no mapped group, or linked to an account of another organisation, is refused.
"""

import re
from typing import Any

from authlib.integrations.django_client import DjangoOAuth2App, OAuth
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import ExternalIdentity, IdentityProvider, User
from accounts.roles import Role

# The session key naming the provider whose second factor verified this session (accounts.middleware).
SSO_MFA = "accounts_sso_mfa"
SSO_NEXT = "accounts_sso_next"
TIMEOUT = 10  # seconds for each call to the provider


class SignInRefused(Exception):
    """The provider vouched for the person, but they may not sign in here; the message says why."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason  # for the access log


def client(provider: IdentityProvider) -> DjangoOAuth2App:
    app: DjangoOAuth2App = OAuth().register(
        name=f"provider-{provider.pk}",
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        server_metadata_url=provider.discovery_url,
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256", "timeout": TIMEOUT},
    )
    return app


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value] if isinstance(value, list | tuple) else []


def role_for(provider: IdentityProvider, claims: dict[str, Any]) -> str | None:
    groups = set(_as_list(claims.get(provider.groups_claim)))
    for group, role in provider.group_roles:
        if group in groups and role in Role.values:
            return str(role)
    return None


def second_factor_proven(provider: IdentityProvider, claims: dict[str, Any]) -> bool:
    """Whether the ID token says the provider asked for more than one factor, in terms this provider accepts."""
    if set(_as_list(claims.get("amr"))) & set(provider.mfa_amr):
        return True
    return bool(claims.get("acr")) and claims["acr"] in provider.mfa_acr


def _username(provider: IdentityProvider, claims: dict[str, Any]) -> str:
    """name@suffix, as administrators name accounts: the preferred username or the e-mail's local part."""
    name = str(claims.get("preferred_username") or str(claims.get("email", "")).split("@")[0] or claims["sub"])
    name = re.sub(r"[^\w.+-]", "", name.split("@")[0])[:100] or "user"
    return f"{name}@{provider.organisation.username_suffix}"


@transaction.atomic
def account_for(provider: IdentityProvider, claims: dict[str, Any]) -> User:
    """The account this person is, with the role their groups give now; made on their first sign-in."""
    role = role_for(provider, claims)
    if role is None:
        raise SignInRefused(
            _("Your account at %(provider)s gives you no role at this helpline. Ask your administrator.")
            % {"provider": provider.label},
            "no_role",
        )
    identity = (
        ExternalIdentity.objects.select_related("user")
        .select_for_update()
        .filter(provider=provider, subject=str(claims["sub"]))
        .first()
    )
    if identity is None:
        return _first_sign_in(provider, claims, role)
    user = identity.user
    if user.organisation_id != provider.organisation_id or user.is_superuser:
        raise SignInRefused(_("This account cannot sign in here. Ask your administrator."), "organisation")
    if not user.is_active:
        raise SignInRefused(_("This account is switched off. Ask your administrator."), "inactive")
    if user.role != role:
        user.role = role
        user.set_staff_status()
        user.save(update_fields=["role", "is_staff"])
    return user


def _first_sign_in(provider: IdentityProvider, claims: dict[str, Any], role: str) -> User:
    username = _username(provider, claims)
    if User.objects.filter(username=username).exists():
        # Never taken over by a name the provider sends: an administrator links the existing account.
        raise SignInRefused(
            _("An account named %(username)s already exists. Ask your administrator to link it to your sign-in.")
            % {"username": username},
            "username_taken",
        )
    user = User(
        username=username,
        email=str(claims.get("email", ""))[:254],
        first_name=str(claims.get("given_name", ""))[:150],
        last_name=str(claims.get("family_name", ""))[:150],
        organisation=provider.organisation,
        role=role,
    )
    user.set_unusable_password()
    user.set_staff_status()
    user.save()
    ExternalIdentity.objects.create(provider=provider, subject=str(claims["sub"]), user=user)
    return user

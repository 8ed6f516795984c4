"""Single sign-on with an organisation's OpenID Connect provider, by Authlib's Django client.

The start sends the browser to the provider with a state, a nonce and a PKCE challenge kept in the session. The
callback exchanges the code and checks the ID token: its signature against the provider's published keys, the
issuer, the audience (our client ID), the expiry and the nonce. The person is then the account of the provider's
organisation linked to their ``sub``, made on their first sign-in. Their role follows the provider's groups at
every sign-in; a person in no mapped group, or linked to an account of another organisation, is refused.
"""

import re
import unicodedata
from typing import Any

from authlib.integrations.django_client import DjangoOAuth2App, OAuth
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from accounts import services
from accounts.models import ExternalIdentity, IdentityProvider, User
from accounts.roles import Role
from audit.models import Action
from audit.services import access_log_record
from notifications.services import AccountEvent, account_change_notify

# The session key naming the provider whose second factor verified this session (accounts.middleware).
SSO_MFA = "accounts_sso_mfa"
SSO_NEXT = "accounts_sso_next"
TIMEOUT = 10  # seconds for each call to the provider


class SignInRefused(Exception):
    """The provider vouched for the person, but they may not sign in here; the message says why."""

    def __init__(self, message: str, reason: str, user: User | None = None) -> None:
        super().__init__(message)
        self.reason = reason  # for the access log
        self.user = user


def client(provider: IdentityProvider) -> DjangoOAuth2App:
    app: DjangoOAuth2App = OAuth().register(
        name=f"provider-{provider.pk}",
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        server_metadata_url=provider.discovery_url,
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256", "default_timeout": TIMEOUT},
    )
    return app


def id_token_claims(app: DjangoOAuth2App, provider: IdentityProvider, request: HttpRequest) -> dict[str, Any]:
    """The claims of the ID token the provider returned for this request's code, once checked (else an Authlib
    error): signed by a key the provider publishes, for our client ID, by the configured issuer, with our nonce."""
    issuer = provider.issuer.rstrip("/")
    checks = {
        "iss": {"essential": True, "values": [issuer]},
        "aud": {"essential": True, "values": [provider.client_id]},
    }
    token = app.authorize_access_token(request, claims_options=checks)
    if "id_token" not in token or not token.get("userinfo"):
        # Claims that came without an ID token are unsigned: never trusted.
        raise SignInRefused(_("The sign-in did not complete. Try again."), "no_id_token")
    return dict(token["userinfo"])


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
    """name@suffix, as administrators name accounts: the preferred username or the e-mail's local part, in plain
    lower-case letters, so that no look-alike of a colleague's name is made."""
    name = str(claims.get("preferred_username") or str(claims.get("email", "")).split("@")[0] or claims["sub"])
    name = unicodedata.normalize("NFKC", name.split("@")[0]).casefold()
    name = re.sub(r"[^a-z0-9._+-]", "", name)[:100] or "user"
    return f"{name}@{provider.organisation.username_suffix}"


def _plain(value: Any, limit: int) -> str:
    """A name claim as text to keep: no control characters, within the column's length."""
    return "".join(char for char in str(value or "") if unicodedata.category(char)[0] != "C")[:limit]


def account_for(provider: IdentityProvider, claims: dict[str, Any], request: HttpRequest | None = None) -> User:
    """The account this person is, with the role their groups give now; made on their first sign-in."""
    subject = str(claims.get("sub") or "")
    if not subject or len(subject) > 255:
        raise SignInRefused(_("The sign-in did not complete. Try again."), "claims")
    try:
        return _account_for(provider, claims, subject, request)
    except IntegrityError:  # the same person's first sign-in twice at once: the other one made the account
        raise SignInRefused(_("The sign-in did not complete. Try again."), "concurrent") from None
    except ValidationError:  # a name the account cannot have
        raise SignInRefused(_("The sign-in did not complete. Try again."), "claims") from None


@transaction.atomic
def _account_for(provider: IdentityProvider, claims: dict[str, Any], subject: str, request: HttpRequest | None) -> User:
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
        .filter(provider=provider, subject=subject)
        .first()
    )
    if identity is None:
        return _first_sign_in(provider, claims, subject, role, request)
    user = identity.user
    if user.organisation_id != provider.organisation_id or user.is_superuser:
        raise SignInRefused(_("This account cannot sign in here. Ask your administrator."), "organisation", user)
    if not user.is_active:
        raise SignInRefused(_("This account is switched off. Ask your administrator."), "inactive", user)
    if user.role != role:
        # Told to the supervisors and administrators as any role change is; the provider made it, not a person.
        return services.user_update(user=user, values={"role": role}, actor=None, request=request)
    return user


def _first_sign_in(
    provider: IdentityProvider, claims: dict[str, Any], subject: str, role: str, request: HttpRequest | None
) -> User:
    username = _username(provider, claims)
    if User.objects.filter(username__iexact=username).exists():
        # Never taken over by a name the provider sends: an administrator links the existing account.
        raise SignInRefused(
            _("An account named %(username)s already exists. Ask your administrator to link it to your sign-in.")
            % {"username": username},
            "username_taken",
        )
    # An address the provider has verified and no colleague uses; else none (resets are e-mailed there).
    email = _plain(claims.get("email"), 254) if claims.get("email_verified") is True else ""
    try:
        validate_email(email)
    except ValidationError:
        email = ""
    if email and User.objects.filter(organisation=provider.organisation, email__iexact=email).exists():
        email = ""
    user = User(
        username=username,
        email=email,
        first_name=_plain(claims.get("given_name"), 150),
        last_name=_plain(claims.get("family_name"), 150),
        organisation=provider.organisation,
        role=role,
    )
    user.set_unusable_password()
    user.set_staff_status()
    user.full_clean(exclude=["password"])
    user.save()
    ExternalIdentity.objects.create(provider=provider, subject=subject, user=user)
    detail = {"role": role, "sso": provider.slug, "email": email}
    entry = access_log_record(action=Action.CREATE, request=request, obj=user, detail=detail)
    account_change_notify(events=[AccountEvent.CREATED], user=user, actor=None, entry=entry, role=role, email=email)
    return user

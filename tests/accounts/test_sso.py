"""Single sign-on against real OpenID Connect providers: oidc-provider-mock, built on Authlib, one per organisation,
each serving discovery, its signing keys, the authorization and the token endpoints over HTTP in a thread.
"""

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client
from django.urls import reverse
from oidc_provider_mock import run_server_in_thread

from accounts.models import ExternalIdentity, IdentityProvider, Organisation, User
from accounts.roles import Role
from accounts.sso import SSO_MFA
from audit.models import AccessLog, Action
from tests.factories import CaseFactory, OrganisationFactory, UserFactory

GROUP_ROLES = [["helpline-supervisors", Role.SUPERVISOR], ["helpline-workers", Role.WORKER]]


@pytest.fixture(scope="module")
def issuers() -> Iterator[tuple[str, str]]:
    """Two providers: the home organisation's and the other's, each with its own keys and users."""
    with run_server_in_thread() as home, run_server_in_thread() as other:
        yield f"http://localhost:{home.server_port}", f"http://localhost:{other.server_port}"


def provider_for(organisation: Organisation, issuer: str, slug: str, **fields: Any) -> IdentityProvider:
    return IdentityProvider.objects.create(
        organisation=organisation,
        slug=slug,
        label=f"Sign in with {organisation.name}",
        issuer=issuer,
        client_id=f"helpline-{slug}",
        client_secret="client-secret",
        group_roles=GROUP_ROLES,
        **fields,
    )


@pytest.fixture
def home(db: Any, issuers: tuple[str, str]) -> IdentityProvider:
    return provider_for(OrganisationFactory.create(name="Home Helpline", username_suffix="home"), issuers[0], "home")


@pytest.fixture
def other(db: Any, issuers: tuple[str, str]) -> IdentityProvider:
    return provider_for(OrganisationFactory.create(name="Other Helpline", username_suffix="other"), issuers[1], "other")


def person(provider: IdentityProvider, sub: str, **claims: Any) -> str:
    """The person ``sub`` at the provider, with these claims in their ID token."""
    answer = requests.put(f"{provider.issuer}/users/{sub}", json=claims, timeout=5)
    answer.raise_for_status()
    return sub


def sign_in(client: Client, provider: IdentityProvider, sub: str, next_url: str = "") -> Any:
    """The whole round: our start page, the provider's authorization (the person chooses ``sub``), our callback."""
    query = f"?next={next_url}" if next_url else ""
    start = client.get(reverse("sso_start", args=[provider.slug]) + query)
    assert start.status_code == 302, start.content
    authorize = start["Location"]
    assert authorize.startswith(f"{provider.issuer}/oauth2/authorize"), authorize
    assert parse_qs(urlsplit(authorize).query)["code_challenge_method"] == ["S256"]
    answer = requests.post(authorize, data={"sub": sub}, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    callback = urlsplit(answer.headers["Location"])
    assert callback.path == reverse("sso_callback", args=[provider.slug])
    return client.get(f"{callback.path}?{callback.query}")


def test_sign_in_with_mfa_makes_the_account_with_the_groups_role(home: IdentityProvider) -> None:
    person(
        home,
        "a-1",
        preferred_username="alice",
        email="alice@home.example",
        groups=["helpline-workers"],
        amr=["pwd", "mfa"],
    )
    client = Client()

    response = sign_in(client, home, "a-1", next_url=reverse("case_list"))

    assert response.status_code == 302 and response["Location"] == reverse("case_list")
    user = User.objects.get(external_identities__provider=home, external_identities__subject="a-1")
    assert (user.username, user.role, user.organisation, user.has_usable_password()) == (
        "alice@home",
        Role.WORKER,
        home.organisation,
        False,
    )
    assert client.get(reverse("case_list")).status_code == 200  # the provider's second factor counts
    assert AccessLog.objects.filter(action=Action.LOGIN, actor=user).count() == 1


def test_role_follows_the_groups_at_every_sign_in(home: IdentityProvider) -> None:
    person(home, "s-1", preferred_username="sam", groups=["helpline-workers", "helpline-supervisors"], amr=["mfa"])
    sign_in(Client(), home, "s-1")
    user = User.objects.get(username="sam@home")
    assert user.role == Role.SUPERVISOR  # the first pair that matches wins

    person(home, "s-1", preferred_username="sam", groups=["helpline-workers"], amr=["mfa"])
    sign_in(Client(), home, "s-1")
    user.refresh_from_db()
    assert user.role == Role.WORKER
    assert User.objects.filter(organisation=home.organisation).count() == 1


def test_no_mapped_group_is_refused_and_nothing_is_made(home: IdentityProvider) -> None:
    person(home, "n-1", preferred_username="nobody", groups=["finance"], amr=["mfa"])
    client = Client()

    response = sign_in(client, home, "n-1")

    assert response["Location"] == reverse("login")
    assert not User.objects.filter(username="nobody@home").exists()
    assert "_auth_user_id" not in client.session
    refused = AccessLog.objects.get(action=Action.LOGIN_FAILED)
    assert (refused.username, refused.detail) == ("sso:home", {"reason": "no_role"})
    page = client.get(reverse("login"))
    assert "gives you no role at this helpline" in page.content.decode()


def test_token_without_mfa_asks_for_our_authenticator(home: IdentityProvider) -> None:
    person(home, "p-1", preferred_username="pat", groups=["helpline-workers"], amr=["pwd"], acr="1")
    client = Client()

    sign_in(client, home, "p-1")

    assert SSO_MFA not in client.session
    answer = client.get(reverse("case_list"))
    assert answer.status_code == 302 and answer["Location"].startswith(reverse("two_factor_setup"))


def test_acr_accepted_by_the_provider_counts_as_mfa(home: IdentityProvider) -> None:
    home.mfa_acr = ["gold"]
    home.save()
    person(home, "g-1", preferred_username="gina", groups=["helpline-workers"], acr="gold")
    client = Client()

    sign_in(client, home, "g-1")

    assert client.get(reverse("case_list")).status_code == 200


def test_a_disabled_provider_no_longer_vouches_for_the_session(home: IdentityProvider) -> None:
    person(home, "d-1", preferred_username="dan", groups=["helpline-workers"], amr=["mfa"])
    client = Client()
    sign_in(client, home, "d-1")
    assert client.get(reverse("case_list")).status_code == 200

    IdentityProvider.objects.filter(pk=home.pk).update(enabled=False)

    assert client.get(reverse("case_list"))["Location"].startswith(reverse("two_factor_setup"))
    assert Client().get(reverse("sso_start", args=[home.slug])).status_code == 404  # nor starts a sign-in


def test_another_organisations_provider_signs_in_to_that_organisation_only(
    home: IdentityProvider, other: IdentityProvider
) -> None:
    home_case = CaseFactory.create(organisation=home.organisation)
    person(other, "o-1", preferred_username="olga", groups=["helpline-supervisors"], amr=["mfa"])
    client = Client()

    sign_in(client, other, "o-1")

    user = User.objects.get(username="olga@other")
    assert user.organisation == other.organisation
    assert client.get(reverse("case_detail", args=[home_case.pk])).status_code == 404
    assert client.get(reverse("case_list")).status_code == 200


def test_an_account_of_another_organisation_is_never_signed_in_by_this_provider(
    home: IdentityProvider, other: IdentityProvider
) -> None:
    outsider = UserFactory.create(username="olga@other", organisation=other.organisation, role=Role.SUPERVISOR)
    ExternalIdentity.objects.create(provider=home, subject="o-2", user=outsider)  # a link made by mistake
    person(home, "o-2", preferred_username="olga", groups=["helpline-supervisors"], amr=["mfa"])
    client = Client()

    response = sign_in(client, home, "o-2")

    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session
    assert AccessLog.objects.get(action=Action.LOGIN_FAILED).detail == {"reason": "organisation"}


def test_a_code_from_another_provider_is_refused_at_this_providers_callback(
    home: IdentityProvider, other: IdentityProvider
) -> None:
    person(other, "x-1", preferred_username="xena", groups=["helpline-workers"], amr=["mfa"])
    client = Client()
    start = client.get(reverse("sso_start", args=[home.slug]))
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    other_start = Client().get(reverse("sso_start", args=[other.slug]))
    answer = requests.post(other_start["Location"], data={"sub": "x-1"}, allow_redirects=False, timeout=5)
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]

    # The other provider's code with this session's state for the home provider: the token endpoint or the
    # ID token's issuer and audience refuse it.
    response = client.get(reverse("sso_callback", args=[home.slug]), {"code": code, "state": state})

    assert response["Location"] == reverse("login")
    assert not User.objects.filter(username="xena@home").exists()
    assert "_auth_user_id" not in client.session


def test_a_forged_state_is_refused(home: IdentityProvider) -> None:
    client = Client()
    response = client.get(reverse("sso_callback", args=[home.slug]), {"code": "made-up", "state": "made-up"})

    assert response["Location"] == reverse("login")
    assert AccessLog.objects.get(action=Action.LOGIN_FAILED).detail == {"reason": "token"}


def test_a_taken_username_is_not_taken_over(home: IdentityProvider) -> None:
    local = UserFactory.create(username="alice@home", organisation=home.organisation, role=Role.ADMINISTRATOR)
    person(home, "a-9", preferred_username="alice", groups=["helpline-workers"], amr=["mfa"])
    client = Client()

    sign_in(client, home, "a-9")

    assert "_auth_user_id" not in client.session
    assert not ExternalIdentity.objects.filter(user=local).exists()
    assert "already exists" in client.get(reverse("login")).content.decode()


def test_the_login_page_offers_each_provider_and_the_password_still_works(home: IdentityProvider) -> None:
    UserFactory.create(
        username="local@home", organisation=home.organisation, role=Role.WORKER, password="pw-long-enough-1"
    )
    client = Client()

    page = client.get(reverse("login"), {"next": "/cases/"})

    assert f'href="{reverse("sso_start", args=["home"])}?next=/cases/"' in page.content.decode()
    answer = client.post(reverse("login"), {"username": "local@home", "password": "pw-long-enough-1"})
    assert answer.status_code == 302


def test_an_unreachable_provider_says_so(home: IdentityProvider) -> None:
    IdentityProvider.objects.filter(pk=home.pk).update(issuer="http://localhost:9")  # nothing listens there
    client = Client()

    response = client.get(reverse("sso_start", args=[home.slug]))

    assert response["Location"] == reverse("login")
    assert "cannot be reached just now" in client.get(reverse("login")).content.decode()


def test_new_accounts_and_role_changes_are_logged_and_told(home: IdentityProvider) -> None:
    supervisor = UserFactory.create(username="boss@home", organisation=home.organisation, role=Role.SUPERVISOR)
    person(home, "r-1", preferred_username="Rita", groups=["helpline-workers"], amr=["mfa"])
    sign_in(Client(), home, "r-1")
    user = User.objects.get(username="rita@home")  # plain lower-case, as administrators name accounts
    created = AccessLog.objects.get(action=Action.CREATE, object_id=str(user.pk))
    assert created.detail == {"role": "worker", "sso": "home", "email": ""}

    person(home, "r-1", preferred_username="Rita", groups=["helpline-supervisors"], amr=["mfa"])
    sign_in(Client(), home, "r-1")

    changed = AccessLog.objects.get(action=Action.CHANGE, object_id=str(user.pk))
    assert changed.detail["role"] == ["worker", "supervisor"]
    assert supervisor.notifications.count() == 2  # told of the new account and of the role change


def test_only_a_verified_unused_address_is_kept(home: IdentityProvider) -> None:
    UserFactory.create(username="vera@home", organisation=home.organisation, email="vera@home.example")
    person(
        home,
        "e-1",
        preferred_username="eve",
        email="VERA@home.example",
        email_verified=True,
        groups=["helpline-workers"],
    )
    person(home, "e-2", preferred_username="ed", email="ed@home.example", groups=["helpline-workers"])
    person(
        home, "e-3", preferred_username="em", email="em@home.example", email_verified=True, groups=["helpline-workers"]
    )
    for sub in ("e-1", "e-2", "e-3"):
        sign_in(Client(), home, sub)

    emails = dict(User.objects.filter(username__in=["eve@home", "ed@home", "em@home"]).values_list("username", "email"))
    assert emails == {"eve@home": "", "ed@home": "", "em@home": "em@home.example"}


def test_odd_claims_are_refused_or_cleaned_never_a_server_error(home: IdentityProvider) -> None:
    person(home, "c" * 300, preferred_username="long", groups=["helpline-workers"])
    person(home, "n-9", preferred_username="nul", given_name="Ni\x00na\x1b", groups=["helpline-workers"])

    assert sign_in(Client(), home, "c" * 300)["Location"] == reverse("login")
    assert sign_in(Client(), home, "n-9").status_code == 302
    assert User.objects.get(username="nul@home").first_name == "Nina"
    assert AccessLog.objects.get(action=Action.LOGIN_FAILED).detail == {"reason": "claims"}


def test_a_slow_provider_is_given_up_on(home: IdentityProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts connections and never answers
    monkeypatch.setattr("accounts.sso.TIMEOUT", 0.5)
    IdentityProvider.objects.filter(pk=home.pk).update(issuer=f"http://127.0.0.1:{listener.getsockname()[1]}")
    try:
        response = Client().get(reverse("sso_start", args=[home.slug]))
    finally:
        listener.close()

    assert response["Location"] == reverse("login")


def test_the_admin_form_wants_https_and_one_organisation_per_client(
    home: IdentityProvider, other: Any, settings: Any
) -> None:
    from accounts.admin import IdentityProviderForm

    fields = {
        "organisation": OrganisationFactory.create(name="Third Helpline").pk,
        "slug": "again",
        "label": "Again",
        "client_id": home.client_id,
        "client_secret": "s",
        "groups_claim": "groups",
        "group_roles": '[["helpline-workers", "worker"]]',
        "mfa_amr": '["mfa"]',
        "mfa_acr": "[]",
        "enabled": True,
    }
    plain = IdentityProviderForm(data={**fields, "issuer": "http://idp.example"})
    assert "issuer" in plain.errors

    settings.DEBUG = True  # plain http allowed, for a provider on this machine
    shared = IdentityProviderForm(data={**fields, "issuer": home.issuer + "/"})  # the same client, with a slash
    assert "__all__" in shared.errors, shared.errors
    fresh = IdentityProviderForm(data={**fields, "issuer": home.issuer, "client_id": "other-client"})
    assert fresh.is_valid(), fresh.errors


def test_claims_without_an_id_token_are_never_trusted(home: IdentityProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    """A token endpoint answering unsigned claims of its own (no ID token) signs nobody in."""
    from authlib.integrations.django_client import DjangoOAuth2App

    forged = {"sub": "forged", "preferred_username": "forged", "groups": ["helpline-supervisors"], "amr": ["mfa"]}
    monkeypatch.setattr(
        DjangoOAuth2App,
        "fetch_access_token",
        lambda self, **kwargs: {"access_token": "a", "token_type": "Bearer", "userinfo": forged},
    )
    client = Client()
    start = client.get(reverse("sso_start", args=[home.slug]))
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]

    response = client.get(reverse("sso_callback", args=[home.slug]), {"code": "any", "state": state})

    assert response["Location"] == reverse("login")
    assert not User.objects.filter(username="forged@home").exists()
    assert AccessLog.objects.get(action=Action.LOGIN_FAILED).detail == {"reason": "no_id_token"}


def test_a_password_login_never_keeps_the_providers_second_factor(home: IdentityProvider) -> None:
    UserFactory.create(username="pia@home", organisation=home.organisation, password="pw-long-enough-1")
    client = Client()
    session = client.session
    session[SSO_MFA] = home.pk  # left over in this browser's session
    session.save()

    client.post(reverse("login"), {"username": "pia@home", "password": "pw-long-enough-1"})

    assert SSO_MFA not in client.session

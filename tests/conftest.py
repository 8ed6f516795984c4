"""Named personas, one per role and organisation, and a client logged in as each."""

from collections.abc import Callable, Iterator
from typing import Any

import pgtrigger
import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY

from accounts.models import Organisation, User
from accounts.roles import Role
from tests.factories import OrganisationFactory, TOTPDeviceFactory, UserFactory

PERSONAS = {
    "worker": ("alice", Role.WORKER, "home"),
    "supervisor": ("sofia", Role.SUPERVISOR, "home"),
    "analyst": ("anna", Role.ANALYST, "home"),
    "administrator": ("amir", Role.ADMINISTRATOR, "home"),
    "other_worker": ("oscar", Role.WORKER, "other"),
    "other_administrator": ("olga", Role.ADMINISTRATOR, "other"),
}


@pytest.fixture
def home_org(db: Any) -> Organisation:
    return OrganisationFactory.create(name="Home Helpline")


@pytest.fixture
def other_org(db: Any) -> Organisation:
    return OrganisationFactory.create(name="Other Helpline", country="AU")


@pytest.fixture
def personas(home_org: Organisation, other_org: Organisation) -> dict[str, User]:
    orgs = {"home": home_org, "other": other_org}
    return {
        key: UserFactory.create(username=username, role=role, organisation=orgs[org])
        for key, (username, role, org) in PERSONAS.items()
    }


def login_verified(client: Client, user: User) -> Client:
    """Log in past both factors, as a user with an enrolled authenticator."""
    device = TOTPDeviceFactory.create(user=user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def client_for(personas: dict[str, User]) -> Callable[[str], Client]:
    def make(persona: str) -> Client:
        client = Client()
        if persona == "anonymous":
            return client
        return login_verified(client, personas[persona])

    return make


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Password hashing is slow on purpose; the tests do not need it to be."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True, scope="session")
def allow_test_database_flush() -> Iterator[None]:
    """Transactional tests empty the tables with TRUNCATE between tests, which the access log refuses.

    Only the test database's flush is let through; UPDATE and DELETE stay refused.
    """
    from django.core.management.commands import flush

    original = flush.Command.handle

    def handle(self: Any, **options: Any) -> Any:
        with pgtrigger.ignore("audit.AccessLog:no_truncate"):
            return original(self, **options)

    flush.Command.handle = handle  # type: ignore[method-assign]
    yield
    flush.Command.handle = original  # type: ignore[method-assign]

"""Named personas, one per role and organisation, and a client logged in as each.

Under pytest-xdist each worker process has a test database of its own (pytest-django adds the worker's
name to it) and, from ``pytest_configure`` here, a Celery queue of its own. The statistics cache needs
nothing: its files are named by process.
"""

import os
from collections.abc import Callable, Iterator
from typing import Any

import pgtrigger
import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client, override_settings
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django import DjangoDbBlocker

from accounts.models import Organisation, User
from accounts.roles import Role
from tests.factories import OrganisationFactory, TOTPDeviceFactory, UserFactory
from tests.workers import TaskWorker, worker_thread


def pytest_configure(config: pytest.Config) -> None:
    """Each xdist worker process takes the tasks of its own queue: a worker thread on a shared queue would run
    another process's tasks against the wrong database."""
    name = os.environ.get("PYTEST_XDIST_WORKER")
    if not name:
        return
    from helpline.celery import app

    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-{name}"
    settings.CELERY_TASK_DEFAULT_QUEUE = os.environ["CELERY_TASK_DEFAULT_QUEUE"] = queue
    if app.configured:
        app.conf.task_default_queue = queue


PERSONAS = {
    "worker": ("alice", Role.WORKER, "home"),
    "supervisor": ("sofia", Role.SUPERVISOR, "home"),
    "analyst": ("anna", Role.ANALYST, "home"),
    "administrator": ("amir", Role.ADMINISTRATOR, "home"),
    "other_worker": ("oscar", Role.WORKER, "other"),
    "other_administrator": ("olga", Role.ADMINISTRATOR, "other"),
}


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """pytest-xdist's "load" distribution (``-n``), but with the browser journeys together in one worker, which
    starts the app and Chromium for them once (tests/e2e/conftest.py), and first, as the longest piece of work.

    Each worker otherwise runs its tests in pytest-django's order, the transactional ones, which empty the tables,
    after the others: handing out whole files (``--dist loadfile``) would not keep that order.
    """
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    config.option.loadscopereorder = True  # the biggest group first

    class JourneysTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "tests/e2e/" if nodeid.startswith("tests/e2e/") else nodeid

    return JourneysTogether(config, log)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that use no test database first, then pytest-django's order (plain, then transactional).

    The ones with no database start servers and browsers of their own and are among the longest: begun last,
    one worker process would still run them while the other had nothing left to do.
    """
    db_fixtures = {"db", "transactional_db", "live_server"}

    def uses_db(item: pytest.Item) -> bool:
        return bool(item.get_closest_marker("django_db") or db_fixtures & set(getattr(item, "fixturenames", ())))

    items.sort(key=uses_db)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Browser journeys skipped for want of Chromium (tests/e2e/conftest.py), said loudly; here, in the process
    that writes the summary, because pytest-xdist's workers collect and run them."""
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if report.nodeid.startswith("tests/e2e/") and "Chromium is not installed" in str(report.longrepr)
    ]
    if skipped:
        terminalreporter.write_sep("!", "BROWSER JOURNEYS SKIPPED", red=True, bold=True)
        terminalreporter.write_line(
            f"{len(skipped)} browser journeys did not run: Chromium is not installed. "
            "Install Debian's package (apt-get install chromium) to run them.",
            red=True,
        )
    replica = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if "No streaming replica could be started" in str(report.longrepr)
    ]
    if replica:
        terminalreporter.write_sep("!", "STREAMING REPLICA NOT TESTED", red=True, bold=True)
        terminalreporter.write_line(
            "Reports reading from a real PostgreSQL replica did not run (tests/reports/test_replica_streaming.py): "
            + str(replica[0].longrepr[-1] if isinstance(replica[0].longrepr, tuple) else replica[0].longrepr),
            red=True,
        )


@pytest.fixture
def home_org(db: Any) -> Organisation:
    return OrganisationFactory.create(name="Home Helpline")


@pytest.fixture
def other_org(db: Any) -> Organisation:
    return OrganisationFactory.create(name="Other Helpline", country="AU")


def make_personas(home_org: Organisation, other_org: Organisation) -> dict[str, User]:
    orgs = {"home": home_org, "other": other_org}
    return {
        key: UserFactory.create(username=username, role=role, organisation=orgs[org])
        for key, (username, role, org) in PERSONAS.items()
    }


@pytest.fixture
def personas(home_org: Organisation, other_org: Organisation) -> dict[str, User]:
    return make_personas(home_org, other_org)


@pytest.fixture(scope="module")
def module_personas(module_transaction: None, django_db_blocker: DjangoDbBlocker) -> dict[str, User]:
    """The personas, made once for a whole module (see ``module_transaction``)."""
    with django_db_blocker.unblock():
        home_org = OrganisationFactory.create(name="Home Helpline")
        other_org = OrganisationFactory.create(name="Other Helpline", country="AU")
        return make_personas(home_org, other_org)


def login_verified(client: Client, user: User, device: TOTPDevice | None = None) -> Client:
    """Log in past both factors, as a user with an enrolled authenticator (this one, or a new one)."""
    device = device or TOTPDeviceFactory.create(user=user)
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


@pytest.fixture(autouse=True, scope="session")
def fast_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Password hashing is slow on purpose; the tests do not need it to be. WhiteNoise looks a static file up
    when it is asked for, as under `make run`, instead of listing every static file again for each test client.
    Each test process has its own backup workspace, whose lock allows one backup or restore per machine."""
    with override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        WHITENOISE_AUTOREFRESH=True,
        BACKUP_WORK_DIR=tmp_path_factory.mktemp("backup-work"),
    ):
        yield


@pytest.fixture(scope="module")
def module_transaction(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[None]:
    """One transaction around a whole module, rolled back after its last test, as Django's TestCase has around
    a class for setUpTestData.

    Module-scoped fixtures that depend on this one write the records the module's tests share, once (within
    ``django_db_blocker.unblock()``); each test (``db``) runs in a savepoint of it, so that what one test writes
    the next one does not see.
    """
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def task_worker() -> Iterator[TaskWorker]:
    """A Celery worker thread on this process's test queue."""
    with worker_thread() as worker:
        yield worker


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

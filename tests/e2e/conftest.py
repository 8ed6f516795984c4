"""Browser journeys: Debian's Chromium, driven by Playwright, against the app as `make run` starts it.

The app runs in its own database (the test database's name plus ``_e2e``, made afresh), its own
var folder and a free port, with DEBUG off so that every account logs in with two factors. As with
`make run`, migrations run as the owner of the tables and web, worker and beat as a role that owns
nothing (``helpline_app``, made by the first migrate on the server). Each
page a journey looks at is screenshotted under ``screenshots/e2e/`` and checked with axe-core.
Without Chromium the journeys are skipped, loudly; with ``E2E_REQUIRED=1`` (CI) they fail instead.
"""

import base64
import email
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.conf import settings
from django_otp.oath import hotp
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, sync_playwright

BASE_DIR = Path(settings.BASE_DIR)
SCREENSHOTS = BASE_DIR / "screenshots" / "e2e"
AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text()
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or ""
DEMO_PASSWORD = "journeys-demo-password-2fa"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SKIP_REASON = "Chromium is not installed (apt-get install chromium): the browser journeys did not run"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Without Chromium the journeys are skipped (tests/conftest.py says so at the end), or fail on CI."""
    if CHROMIUM or os.environ.get("E2E_REQUIRED"):
        return
    for item in items:
        if "tests/e2e/" in str(item.path):
            item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


@pytest.fixture(autouse=True, scope="session")
def chromium_or_fail() -> None:
    """With E2E_REQUIRED (CI), the journeys fail instead of being skipped, before the app is started for them."""
    if not CHROMIUM:
        pytest.fail(f"E2E_REQUIRED is set but {SKIP_REASON}.", pytrace=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


RUNTIME_ROLE = "helpline_app"


def _database_url(name: str, user: str | None = None) -> str:
    """The URL of a database on the test server, as the owner the tests use or as another role."""
    parts = urlsplit(settings.DATABASE_OWNER_URL)._replace(path=f"/{name}")
    if user:
        parts = parts._replace(netloc=f"{user}@{parts.netloc.rpartition('@')[2]}")
    return urlunsplit(parts)


def _admin_connection() -> psycopg.Connection[Any]:
    """The server the tests use (the embedded one's socket included), on its maintenance database."""
    return psycopg.connect(_database_url("postgres"), autocommit=True)


def _recreate(name: str) -> None:
    with _admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _drop(name: str) -> None:
    with _admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class App:
    url: str
    database_url: str
    log: Path
    mail: Path  # the app's e-mails, one file per connection: the mailboxes of the people it writes to

    def mailed_link(self, address: str) -> str:
        """The newest invitation link e-mailed to this address, as its owner would read it."""
        messages = [
            message
            for path in sorted(self.mail.glob("*.log"))
            for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n")
            if chunk.strip()
            for message in [email.message_from_bytes(chunk)]
            if message["To"] == address
        ]
        assert messages, f"nothing was e-mailed to {address}"
        payload = messages[-1].get_payload(decode=True)
        assert isinstance(payload, bytes)
        body = payload.decode()
        found = re.search(r"https?://\S+/account/invitation/[\w-]+/", body)
        assert found, body
        return found[0]


@pytest.fixture(scope="package")
def app(tmp_path_factory: pytest.TempPathFactory, django_db_setup: None) -> Iterator[App]:
    """`python -m helpline.run` (what `make run` runs): migrate, seed_demo, then web, worker and beat.

    Stopped after the last journey, as is the browser: the process goes on with other tests under pytest-xdist.
    """
    name = f"{settings.DATABASES['default']['NAME']}_e2e"
    _recreate(name)
    var = tmp_path_factory.mktemp("e2e-var")
    mail = var / "mail"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "PYTEST_"))}
    env.update(
        DATABASE_URL=_database_url(name, RUNTIME_ROLE),
        DATABASE_OWNER_URL=_database_url(name),
        HELPLINE_VAR_DIR=str(var),
        PORT=str(port),
        DJANGO_ENV="development",
        DJANGO_DEBUG="false",
        DEMO_PASSWORD=DEMO_PASSWORD,
        EMAIL_URL=f"filemail:///{mail}",  # read by the journeys, as a person reads their mailbox
    )
    log = var / "run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "helpline.run"],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{url}/healthz", process, log)
        assert _roles_connected_to(name) == {RUNTIME_ROLE}
        yield App(url=url, database_url=env["DATABASE_URL"], log=log, mail=mail)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        _drop(name)


def _roles_connected_to(name: str) -> set[str]:
    with _admin_connection() as conn:
        rows = conn.execute("SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = %s", [name]).fetchall()
    return {row[0] for row in rows}


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"`python -m helpline.run` stopped with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"the app did not answer {url} within 240 s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Playwright keeps an event loop running while it is open, in which the ORM refuses to run."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Journey:
    """One person's session in the browser: screenshots and an accessibility check of every page seen."""

    name: str
    page: Page
    app: App
    shots: int = 0
    console_errors: list[str] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)
    used_steps: dict[str, int] = field(default_factory=dict)

    def go(self, path: str) -> None:
        self.page.goto(self.app.url + path)

    def look(self, what: str) -> None:
        """Screenshot the page and fail on any serious or critical axe-core violation."""
        self.shots += 1
        folder = SCREENSHOTS / self.name
        folder.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", what.lower()).strip("-")
        self.page.screenshot(path=folder / f"{self.shots:02d}-{slug}.png", full_page=True)
        if not self.page.evaluate("() => typeof window.axe !== 'undefined'"):
            self.page.evaluate(AXE)
        # No preload: axe would copy the stylesheets into <style> elements, which the CSP refuses.
        result = self.page.evaluate("() => axe.run(document, {resultTypes: ['violations'], preload: false})")
        bad = [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert not bad, f"accessibility of {self.page.url} ({what}):\n" + "\n".join(bad)

    def on_console(self, message: ConsoleMessage) -> None:
        # A form with errors answers 400 and Chromium logs that too: on_response sees what matters.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.console_errors.append(f"{self.page.url}: {message.text}")

    def on_response(self, response: Response) -> None:
        """Scripts, styles, images and fetches must load; pages, and the parts of a page htmx asks for, may answer
        4xx on purpose (a form's errors, a conflict)."""
        request = response.request
        on_purpose = request.resource_type == "document" or (
            response.status < 500 and request.headers.get("hx-request") == "true"
        )
        if response.status >= 400 and not on_purpose:
            self.console_errors.append(f"{response.status} {response.url}")

    def login(self, username: str) -> None:
        """Password, then the authenticator code; the first login enrols the authenticator."""
        page = self.page
        self.go("/account/login/")
        self.look("login")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        if "/two-factor/setup/" in page.url:
            self.look("enrol authenticator")
            secret = page.locator("figure.qr code").inner_text().strip()
            self.secrets[username] = secret
            self.enter_code(secret, "Confirm")
            self.look("backup codes")
            page.get_by_role("link", name="I have kept them, continue").click()
        else:
            self.look("second factor")
            self.enter_code(self.secrets[username], "Verify")

    def enter_code(self, secret: str, button: str) -> None:
        """The device takes the codes of the time steps either side of the current one, each once, so up to three
        logins of one person need no wait: the oldest step still taken first, looking two seconds ahead in case
        the server's clock crosses into the next step meanwhile."""
        oldest = int(time.time() + 2) // 30 - 1
        step = max(oldest, self.used_steps.get(secret, -1) + 1)
        if step > int(time.time()) // 30 + 1:
            time.sleep(30 - time.time() % 30 + 0.5)
        self.used_steps[secret] = step
        code = hotp(base64.b32decode(secret), step, digits=6)  # TOTP is HOTP of the time step
        self.page.get_by_label("Code").fill(f"{code:06d}")
        self.page.get_by_role("button", name=button).click()

    def logout(self) -> None:
        self.page.get_by_role("button", name="Log out").click()


@pytest.fixture
def journey(request: pytest.FixtureRequest, app: App, browser: Browser) -> Iterator[Journey]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    name = request.node.name.removeprefix("test_")
    shutil.rmtree(SCREENSHOTS / name, ignore_errors=True)
    trip = Journey(name=name, page=page, app=app)
    page.on("console", trip.on_console)
    page.on("pageerror", lambda error: trip.console_errors.append(str(error)))
    page.on("response", trip.on_response)
    try:
        yield trip
    finally:
        context.close()
    assert not trip.console_errors, f"errors in the browser console: {trip.console_errors}"

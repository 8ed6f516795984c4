"""Login, logout, lockout, two-factor login and session lifetime, as a browser does them."""

import time
from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.middleware import LOGIN_AT
from accounts.models import User
from accounts.sessions import RENEWED_AT
from audit.models import AccessLog, Action
from tests.conftest import login_verified
from tests.factories import PASSWORD, TOTPDeviceFactory, UserFactory
from tests.helpers import totp_code

pytestmark = pytest.mark.django_db


def login(client: Client, username: str, password: str = PASSWORD, address: str = "10.0.0.1") -> Any:
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address, HTTP_USER_AGENT="pytest"
    )


@pytest.fixture
def worker(db: Any) -> User:
    return UserFactory.create(username="wendy")


def test_login_with_password_then_enrol_two_factor(client: Client, worker: User, settings: Any) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # no pause after the wrong code
    response = login(client, "wendy")
    assert response.status_code == 302
    assert client.get(reverse("home"))["Location"].startswith(reverse("two_factor_setup"))

    page = client.get(reverse("two_factor_setup"))
    assert page.status_code == 200
    assert b"<svg" in page.content  # the QR code, inline
    device = TOTPDevice.objects.get(user=worker)
    assert not device.confirmed

    wrong = client.post(reverse("two_factor_setup"), {"token": "000000" if totp_code(device) != "000000" else "111111"})
    assert wrong.status_code == 200
    assert "not right" in wrong.content.decode()

    done = client.post(reverse("two_factor_setup"), {"token": totp_code(device)})
    assert done.status_code == 200
    codes = done.context["codes"]
    assert len(codes) == 10
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("home")).status_code == 200
    actions = list(AccessLog.objects.filter(actor=worker).values_list("action", flat=True))
    assert {Action.LOGIN, Action.TWO_FACTOR_FAILED, Action.TWO_FACTOR_ENROLLED} <= set(actions)


def test_login_asks_for_the_code_of_the_enrolled_device(client: Client, worker: User, settings: Any) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # no pause after the wrong code
    device = TOTPDeviceFactory.create(user=worker)
    login(client, "wendy")
    response = client.get(reverse("home"))
    assert response["Location"].startswith(reverse("two_factor_verify"))
    assert client.get(reverse("api-me")).status_code == 401  # an unverified session counts for nothing

    bad = client.post(reverse("two_factor_verify"), {"token": totp_code(device, offset_steps=10)})
    assert "not right" in bad.content.decode()
    assert client.get(reverse("home")).status_code == 302
    assert AccessLog.objects.filter(actor=worker, action=Action.TWO_FACTOR_FAILED).count() == 1

    key_before = client.session.session_key
    good = client.post(reverse("two_factor_verify"), {"token": totp_code(device), "next": reverse("account")})
    assert good["Location"] == reverse("account")
    assert client.session.session_key != key_before  # a new session once past the second factor
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("api-me")).json()["username"] == "wendy"


def test_a_backup_code_works_once(client: Client, worker: User) -> None:
    from django_otp.plugins.otp_static.models import StaticDevice

    TOTPDeviceFactory.create(user=worker)
    backup = StaticDevice.objects.create(user=worker, name="backup")
    StaticToken.objects.create(device=backup, token="abcd2345")

    login(client, "wendy")
    client.post(reverse("two_factor_verify"), {"token": "abcd2345"})
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("logout"))

    login(client, "wendy")
    again = client.post(reverse("two_factor_verify"), {"token": "abcd2345"})
    assert "not right" in again.content.decode()


def test_repeated_wrong_codes_are_throttled(client: Client, worker: User) -> None:
    device = TOTPDeviceFactory.create(user=worker)
    login(client, "wendy")
    client.post(reverse("two_factor_verify"), {"token": totp_code(device, offset_steps=10)})
    # Right after a wrong code even the right one is refused, so codes cannot be guessed at speed.
    refused = client.post(reverse("two_factor_verify"), {"token": totp_code(device)})
    assert refused.status_code == 200
    assert client.get(reverse("home")).status_code == 302


def test_next_url_to_another_site_is_ignored(client: Client, worker: User) -> None:
    device = TOTPDeviceFactory.create(user=worker)
    login(client, "wendy")
    response = client.post(
        reverse("two_factor_verify"), {"token": totp_code(device), "next": "https://evil.example/steal"}
    )
    assert response["Location"] == reverse("home")


def test_wrong_password_is_refused_and_logged(client: Client, worker: User) -> None:
    response = login(client, "wendy", password="wrong password")
    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()
    entry = AccessLog.objects.get(action=Action.LOGIN_FAILED)
    assert (entry.actor, entry.username, entry.address, entry.user_agent) == (worker, "wendy", "10.0.0.1", "pytest")


def test_lockout_is_per_username_and_address(client: Client, worker: User, settings: Any) -> None:
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit):
        login(client, "wendy", password="wrong password", address="10.0.0.66")
    locked = login(client, "wendy", address="10.0.0.66")  # even the right password now
    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.content.decode()
    assert AccessLog.objects.filter(action=Action.LOCKED_OUT, username="wendy").exists()

    entry = AccessLog.objects.filter(action=Action.LOCKED_OUT).first()
    assert entry is not None
    assert entry.organisation == worker.organisation  # so the organisation's administrators see it

    # The same person from the office's other address, and a colleague behind the attacker's address, still get in.
    assert login(Client(), "wendy", address="10.0.0.1").status_code == 302
    UserFactory.create(username="colleague")
    assert login(Client(), "colleague", address="10.0.0.66").status_code == 302


def test_a_forged_forwarded_address_does_not_move_the_lockout(client: Client, worker: User, settings: Any) -> None:
    settings.TRUSTED_PROXY_COUNT = 0
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            reverse("login"),
            {"username": "wendy", "password": "wrong"},
            REMOTE_ADDR="10.0.0.66",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        )
    assert login(Client(), "wendy", address="10.0.0.66").status_code == 429
    assert set(AccessLog.objects.values_list("address", flat=True)) == {"10.0.0.66"}


def attempt(client: Client, username: str, password: str, *, remote: str, forwarded: str | None = None) -> Any:
    """A login as it reaches the app: from `remote`, with the X-Forwarded-For header the proxies passed on."""
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        headers={"X-Forwarded-For": forwarded} if forwarded is not None else None,
        REMOTE_ADDR=remote,
    )


PROXY = "172.18.0.1"  # the reverse proxy next to the app
OUTER_PROXY = "172.18.0.2"  # with two, the one that faces the internet


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "address"),
    [
        (0, "10.0.0.66", None, "10.0.0.66"),
        (0, "10.0.0.66", "198.51.100.1", "10.0.0.66"),
        (1, PROXY, "203.0.113.7", "203.0.113.7"),
        (1, PROXY, "10.9.9.1, 203.0.113.7", "203.0.113.7"),
        (1, PROXY, "10.9.9.1,203.0.113.7", "203.0.113.7"),
        (1, PROXY, "10.9.9.1, 2001:DB8:0::1", "2001:db8::1"),
        (1, PROXY, None, PROXY),
        (1, PROXY, "", PROXY),
        (1, PROXY, "203.0.113.7, garbage", PROXY),
        (1, PROXY, "fe80::1%eth0", PROXY),
        (2, PROXY, f"203.0.113.7, {OUTER_PROXY}", "203.0.113.7"),
        (2, PROXY, f"10.9.9.1, 203.0.113.7, {OUTER_PROXY}", "203.0.113.7"),
        (2, PROXY, OUTER_PROXY, PROXY),
        (2, PROXY, f"garbage, {OUTER_PROXY}", PROXY),
    ],
)
def test_the_client_address_is_the_one_the_outermost_trusted_proxy_appended(
    client: Client, worker: User, settings: Any, proxies: int, remote: str, forwarded: str | None, address: str
) -> None:
    settings.TRUSTED_PROXY_COUNT = proxies
    attempt(client, "wendy", "wrong", remote=remote, forwarded=forwarded)
    assert AccessLog.objects.get(action=Action.LOGIN_FAILED).address == address
    assert AccessAttempt.objects.get(username="wendy").ip_address == address


@pytest.mark.parametrize(
    ("proxies", "attacker", "victim"),
    [
        (0, {"remote": "203.0.113.7"}, {"remote": "198.51.100.20"}),
        (1, {"remote": PROXY, "forwarded": "203.0.113.7"}, {"remote": PROXY, "forwarded": "198.51.100.20"}),
        (
            2,
            {"remote": PROXY, "forwarded": f"203.0.113.7, {OUTER_PROXY}"},
            {"remote": PROXY, "forwarded": f"198.51.100.20, {OUTER_PROXY}"},
        ),
    ],
)
def test_someone_who_knows_only_a_username_locks_it_out_from_their_own_address_only(
    client: Client, worker: User, settings: Any, proxies: int, attacker: dict[str, str], victim: dict[str, str]
) -> None:
    settings.TRUSTED_PROXY_COUNT = proxies
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "wendy", "wrong", **attacker)
    assert attempt(client, "wendy", PASSWORD, **attacker).status_code == 429
    assert attempt(Client(), "wendy", PASSWORD, **victim).status_code == 302


def test_rotating_the_forged_first_entry_does_not_escape_the_lockout(
    client: Client, worker: User, settings: Any
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "wendy", "wrong", remote=PROXY, forwarded=f"10.9.9.{n}, 203.0.113.7")
    assert attempt(client, "wendy", PASSWORD, remote=PROXY, forwarded="10.9.9.99, 203.0.113.7").status_code == 429
    addresses = AccessLog.objects.filter(action__in=[Action.LOGIN_FAILED, Action.LOCKED_OUT]).values_list(
        "address", flat=True
    )
    assert set(addresses) == {"203.0.113.7"}


def test_spraying_passwords_over_many_usernames_locks_out_the_address(
    client: Client, worker: User, settings: Any
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    sprayer = {"remote": PROXY, "forwarded": "203.0.113.7"}
    assert settings.AXES_ADDRESS_FAILURE_LIMIT > settings.AXES_FAILURE_LIMIT
    for n in range(settings.AXES_ADDRESS_FAILURE_LIMIT):
        # Fewer failures per username than the username lockout needs, and usernames that exist or not.
        response = attempt(client, f"colleague-{n // 2}", "Summer2026!", **sprayer)
    assert response.status_code == 429
    # The address is locked for every username, even with the right password...
    assert attempt(client, "wendy", PASSWORD, **sprayer).status_code == 429
    locked = AccessLog.objects.filter(action=Action.LOCKED_OUT, username="wendy").get()
    assert (locked.address, locked.detail) == ("203.0.113.7", {"lockout": "address"})
    # ...and for nobody anywhere else.
    assert attempt(Client(), "wendy", PASSWORD, remote=PROXY, forwarded="198.51.100.20").status_code == 302


def test_failures_a_login_cleared_do_not_lock_out_an_office_behind_one_address(worker: User, settings: Any) -> None:
    settings.AXES_ADDRESS_FAILURE_LIMIT = settings.AXES_FAILURE_LIMIT + 1
    office = {"remote": "192.0.2.50"}
    for name in ["wendy", "colleague", "another"]:
        UserFactory.create(username=name)
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            attempt(Client(), name, "typo", **office)
        assert attempt(Client(), name, PASSWORD, **office).status_code == 302


def test_two_factor_codes_cannot_be_guessed_faster_from_a_new_session_or_address(
    client: Client, worker: User, settings: Any
) -> None:
    from django_otp.plugins.otp_static.models import StaticDevice

    settings.OTP_TOTP_THROTTLE_FACTOR = settings.OTP_STATIC_THROTTLE_FACTOR = 60  # a minute after a wrong code
    device = TOTPDeviceFactory.create(user=worker)
    backup = StaticDevice.objects.create(user=worker, name="backup")
    StaticToken.objects.create(device=backup, token="abcd2345")
    login(client, "wendy", address="203.0.113.7")
    client.post(reverse("two_factor_verify"), {"token": totp_code(device, offset_steps=10)})

    for token in [totp_code(device), "abcd2345"]:
        elsewhere = Client()
        login(elsewhere, "wendy", address="198.51.100.20")
        refused = elsewhere.post(reverse("two_factor_verify"), {"token": token})
        assert "not right" in refused.content.decode()
        assert elsewhere.get(reverse("home")).status_code == 302


def test_login_starts_a_new_session(client: Client, worker: User) -> None:
    client.get(reverse("login"))
    client.cookies["sessionid"] = "attacker-chosen-session-key"
    session = client.session
    session["planted"] = True
    session.save()
    before = session.session_key
    login(client, "wendy")
    assert client.session.session_key != before


def test_logout_ends_the_session(client_for: Any, personas: dict[str, User]) -> None:
    client = client_for("worker")
    assert client.get(reverse("home")).status_code == 200
    response = client.post(reverse("logout"))
    assert response["Location"] == reverse("login")
    assert client.get(reverse("home"))["Location"].startswith(reverse("login"))
    assert AccessLog.objects.filter(actor=personas["worker"], action=Action.LOGOUT).exists()


def test_idle_session_expires(client_for: Any, settings: Any) -> None:
    client = client_for("worker")
    assert settings.SESSION_COOKIE_AGE == settings.SESSION_IDLE_TIMEOUT == 30 * 60
    client.get(reverse("home"))
    session = Session.objects.get(session_key=client.session.session_key)
    assert session.expire_date > timezone.now() + timedelta(minutes=29)

    # Each request renews the idle timeout (29 minutes on)...
    stored = client.session
    stored[RENEWED_AT] = time.time() - 29 * 60
    stored.save()
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() + timedelta(minutes=1))
    assert client.get(reverse("home")).status_code == 200
    assert Session.objects.get(pk=session.pk).expire_date > timezone.now() + timedelta(minutes=29)

    # ...and thirty minutes without one end the session.
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    assert client.get(reverse("home"))["Location"].startswith(reverse("login"))


def test_session_ends_after_its_absolute_lifetime(client_for: Any, settings: Any) -> None:
    client = client_for("worker")
    session = client.session
    session[LOGIN_AT] = time.time() - settings.SESSION_ABSOLUTE_LIFETIME - 1
    session.save()
    response = client.get(reverse("account"))
    assert response["Location"] == f"{reverse('login')}?next=%2Faccount%2F"
    assert client.get(reverse("home"))["Location"].startswith(reverse("login"))


def test_demo_accounts_skip_two_factor_only_with_debug(client: Client, settings: Any) -> None:
    UserFactory.create(username="demo-worker", is_demo=True)
    login(client, "demo-worker")
    settings.DEBUG = True
    assert client.get(reverse("home")).status_code == 200
    settings.DEBUG = False
    assert client.get(reverse("home"))["Location"].startswith(reverse("two_factor_setup"))


def test_authenticated_pages_are_not_cached_and_carry_a_strict_policy(client_for: Any) -> None:
    response = client_for("worker").get(reverse("home"))
    assert "no-store" in response["Cache-Control"]
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


def test_password_change_applies_the_validators(client_for: Any, personas: dict[str, User]) -> None:
    client = client_for("worker")
    url = reverse("password_change")
    weak = client.post(url, {"old_password": PASSWORD, "new_password1": "password123", "new_password2": "password123"})
    assert weak.status_code == 200
    assert "too common" in weak.content.decode()
    assert "too short" in weak.content.decode()
    new = "a much longer passphrase 2026"
    assert client.post(url, {"old_password": PASSWORD, "new_password1": new, "new_password2": new}).status_code == 302
    personas["worker"].refresh_from_db()
    assert personas["worker"].check_password(new)
    assert client.get(reverse("home")).status_code == 200  # the session survives its own password change
    assert AccessLog.objects.filter(actor=personas["worker"], action=Action.PASSWORD_CHANGED).exists()


@pytest.mark.parametrize("change", ["deleted", "unconfirmed", "another user's"])
def test_a_session_is_verified_only_by_a_confirmed_device_of_its_own_user(
    client: Client, personas: dict[str, User], change: str
) -> None:
    """The device a session was verified with is checked on every request, against the devices read with the user."""
    device = TOTPDeviceFactory.create(user=personas["worker"])
    login_verified(client, personas["worker"], device)
    assert client.get(reverse("home")).status_code == 200
    if change == "deleted":
        device.delete()
    elif change == "unconfirmed":
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=False)
    else:
        TOTPDevice.objects.filter(pk=device.pk).update(user=personas["supervisor"])
    assert client.get(reverse("home"))["Location"].startswith("/account/two-factor/")
    assert DEVICE_ID_SESSION_KEY not in client.session


def test_a_backup_code_verifies_a_session_as_the_authenticator_does(client: Client, personas: dict[str, User]) -> None:
    backup = StaticDevice.objects.create(user=personas["worker"], name="backup", confirmed=True)
    login_verified(client, personas["worker"], TOTPDeviceFactory.create(user=personas["worker"]))
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = backup.persistent_id
    session.save()
    assert client.get(reverse("home")).status_code == 200

"""Accounts start from an invitation link that only their owner completes; supervisors hear of account changes."""

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.models import Invitation, User
from accounts.roles import Role
from audit.models import AccessLog, Action
from audit.services import access_log_record
from notifications.models import Kind, Notification
from tests.factories import PASSWORD, UserFactory
from tests.helpers import invitation_token

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a long enough password 42"


@pytest.fixture
def outbox(settings: Any) -> list[Any]:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return mail.outbox


@pytest.fixture
def invited(personas: dict[str, User], outbox: list[Any]) -> tuple[User, str]:
    """A new account, and the token its owner finds in their mailbox."""
    sent = services.user_invite(
        organisation=personas["administrator"].organisation,
        username="newbie@home-helpline",
        role=Role.WORKER,
        email="newbie@example.org",
        actor=personas["administrator"],
    )
    return sent.user, invitation_token("newbie@example.org")


def url(token: str) -> str:
    return reverse("invitation_accept", args=[token])


def accept(client: Client, token: str, password: str = NEW_PASSWORD, address: str = "10.0.0.7") -> Any:
    return client.post(url(token), {"new_password1": password, "new_password2": password}, REMOTE_ADDR=address)


def logs_in(username: str, password: str) -> bool:
    client = Client()
    client.post(reverse("login"), {"username": username, "password": password})
    return "_auth_user_id" in client.session


# --- the invitee ------------------------------------------------------------------------------------------------------


def test_the_new_user_sets_their_password_then_enrols_at_first_login(invited: tuple[User, str]) -> None:
    user, token = invited
    page = Client().get(url(token))
    assert page.status_code == 200
    assert "newbie@home-helpline" in page.content.decode()

    response = accept(Client(), token)
    assert response.status_code == 302 and response["Location"] == reverse("login")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert Invitation.objects.get(user=user).used_at is not None
    entry = AccessLog.objects.get(action=Action.PASSWORD_CHANGED, object_id=str(user.pk))
    assert (entry.actor, entry.address, entry.detail["reason"]) == (user, "10.0.0.7", "new_account")

    client = Client()
    client.post(reverse("login"), {"username": user.username, "password": NEW_PASSWORD})
    assert client.get(reverse("home"))["Location"].startswith(reverse("two_factor_setup"))


def test_nobody_logs_in_to_an_invited_account_before_its_owner_sets_the_password(invited: tuple[User, str]) -> None:
    user, _token = invited
    for guess in ("", PASSWORD, NEW_PASSWORD, "!"):
        assert not logs_in(user.username, guess)


def test_the_validators_apply_and_a_refused_password_changes_nothing(invited: tuple[User, str]) -> None:
    user, token = invited
    response = accept(Client(), token, password="password")
    assert response.status_code == 400
    assert "too common" in response.content.decode()
    user.refresh_from_db()
    assert not user.has_usable_password()
    assert Invitation.objects.get(user=user).used_at is None
    assert accept(Client(), token).status_code == 302  # the link still works


def test_a_link_works_once(invited: tuple[User, str]) -> None:
    user, token = invited
    assert accept(Client(), token).status_code == 302
    second = accept(Client(), token, password="another long password 43")
    assert second.status_code == 404
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert AccessLog.objects.filter(action=Action.REFUSED, object_type="accounts.invitation").count() == 1


def test_an_expired_link_is_refused(invited: tuple[User, str]) -> None:
    user, token = invited
    Invitation.objects.filter(user=user).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Client().get(url(token)).status_code == 404
    assert accept(Client(), token).status_code == 404
    user.refresh_from_db()
    assert not user.has_usable_password()


def test_a_deactivated_accounts_link_is_refused(invited: tuple[User, str]) -> None:
    user, token = invited
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert accept(Client(), token).status_code == 404


def test_a_new_invitation_replaces_the_one_waiting(invited: tuple[User, str], personas: dict[str, User]) -> None:
    user, first = invited
    services.user_password_reset(user=user, actor=personas["administrator"])
    second = invitation_token("newbie@example.org")
    assert accept(Client(), first).status_code == 404
    assert accept(Client(), second).status_code == 302


def test_every_refused_link_reads_the_same(invited: tuple[User, str]) -> None:
    """Unknown, used or expired: one page, which says nothing of any account."""
    _user, token = invited
    unknown = Client().get(url("x" * 43))
    accept(Client(), token)
    used = Client().get(url(token))
    assert unknown.status_code == used.status_code == 404
    assert unknown.content == used.content
    assert "newbie" not in used.content.decode()


def test_only_a_hash_of_the_token_is_stored(invited: tuple[User, str]) -> None:
    user, token = invited
    invitation = Invitation.objects.get(user=user)
    assert token not in (invitation.token_hash, str(invitation.pk))
    assert len(token) >= 43  # 256 random bits


def test_too_many_refused_links_from_one_address_are_turned_away(invited: tuple[User, str], settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    _user, token = invited
    for attempt in range(3):
        assert Client().get(url(f"guess-{attempt}"), REMOTE_ADDR="10.9.9.9").status_code == 404
    assert Client().get(url(token), REMOTE_ADDR="10.9.9.9").status_code == 429  # even the right one, for a while
    assert AccessLog.objects.filter(action=Action.REFUSED, object_type="accounts.invitation").count() == 3
    assert Client().get(url(token), REMOTE_ADDR="10.1.1.1").status_code == 200  # another address is not held up


def test_a_signed_in_administrator_cannot_use_the_link(invited: tuple[User, str], client_for: Any) -> None:
    user, token = invited
    response = client_for("administrator").post(
        url(token), {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 200
    assert gettext("You are logged in") in response.content.decode()
    user.refresh_from_db()
    assert not user.has_usable_password()


def test_the_invitation_is_emailed_in_the_users_language(
    client_for: Any, personas: dict[str, User], outbox: list[Any]
) -> None:
    response = client_for("administrator").post(
        reverse("admin:accounts_user_add"),
        {"username": "giulia", "role": "worker", "email": "giulia@example.org", "language": "it"},
    )
    (sent,) = response.context["sent"]
    (message,) = outbox
    with translation.override("it"):
        assert message.subject == gettext("Set the password of your helpline back office account")
    assert message.to == ["giulia@example.org"]
    assert "http://testserver/account/invitation/" in message.body  # a whole link, from the request's host
    assert (sent.address, sent.emailed) == ("giulia@example.org", True)


def test_a_two_factor_reset_starts_again_from_the_invitation(personas: dict[str, User], outbox: list[Any]) -> None:
    worker = personas["worker"]
    User.objects.filter(pk=worker.pk).update(email="alice@example.org")
    worker.refresh_from_db()
    TOTPDevice.objects.create(user=worker, name="lost", confirmed=True)
    services.two_factor_reset(user=worker, actor=personas["administrator"])
    token = invitation_token("alice@example.org")
    assert not logs_in("alice", PASSWORD)  # the old password alone no longer leads to enrolment
    assert accept(Client(), token).status_code == 302
    client = Client()
    client.post(reverse("login"), {"username": "alice", "password": NEW_PASSWORD})
    assert client.get(reverse("home"))["Location"].startswith(reverse("two_factor_setup"))


# --- usernames --------------------------------------------------------------------------------------------------------


def test_a_failed_login_reads_the_same_for_any_username(personas: dict[str, User], invited: tuple[User, str]) -> None:
    """Another organisation's user, an invited account without a password, and nobody: one answer."""
    answers = set()
    for username in ("oscar", "newbie@home-helpline", "nobody-at-all"):
        response = Client().post(reverse("login"), {"username": username, "password": "wrong password 1"})
        assert response.status_code == 200
        answers.add(str(response.context["form"].non_field_errors()))
    assert len(answers) == 1


def test_no_admin_search_filter_or_autocomplete_finds_another_organisations_user(
    client_for: Any, personas: dict[str, User]
) -> None:
    client = client_for("administrator")
    oscar = personas["other_worker"]
    access_log_record(action=Action.LOGIN, actor=oscar)
    # Each probe asks for part of the name only, so that the page cannot echo the whole of it.
    probes: list[tuple[str, dict[str, Any]]] = [
        (reverse("admin:accounts_user_changelist"), {"q": "osc"}),
        (reverse("admin:accounts_user_changelist"), {"organisation__id__exact": oscar.organisation_id}),
        (reverse("admin:accounts_user_changelist"), {"username__startswith": "osc"}),
        (reverse("admin:audit_accesslog_changelist"), {"q": "osc"}),
        (
            reverse("admin:autocomplete"),
            {"app_label": "audit", "model_name": "accesslog", "field_name": "actor", "term": "osc"},
        ),
    ]
    for path, query in probes:
        response = client.get(path, query)
        assert "oscar" not in response.content.decode(), (path, query, response.status_code)
    # The autocomplete answers (it searches the user admin's list), with the home organisation's users only.
    found = client.get(reverse("admin:autocomplete"), {**probes[-1][1], "term": ""}).json()["results"]
    assert {result["text"] for result in found} == {"alice", "sofia", "anna", "amir"}


def test_the_suffix_of_an_organisation_is_fixed_for_its_administrators(
    client_for: Any, personas: dict[str, User]
) -> None:
    organisation = personas["administrator"].organisation
    client_for("administrator").post(
        reverse("admin:accounts_organisation_change", args=[organisation.pk]),
        {"country": "IT", "username_suffix": "other-helpline"},
    )
    organisation.refresh_from_db()
    assert organisation.username_suffix == "home-helpline"


# --- the supervisors --------------------------------------------------------------------------------------------------


def account_notifications(user: User) -> list[str]:
    return list(Notification.objects.filter(recipient=user, kind=Kind.ACCOUNT_CHANGED).values_list("text", flat=True))


def test_supervisors_hear_of_a_new_account(
    client_for: Any, personas: dict[str, User], django_capture_on_commit_callbacks: Any, outbox: list[Any]
) -> None:
    from helpline.celery import app

    User.objects.filter(pk=personas["supervisor"].pk).update(email="sofia@example.org")
    other_supervisor = UserFactory.create(
        username="otto", role=Role.SUPERVISOR, organisation=personas["other_worker"].organisation
    )
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            client_for("administrator").post(
                reverse("admin:accounts_user_add"), {"username": "n", "role": "analyst", "email": "n@example.org"}
            )
    finally:
        app.conf.task_always_eager = False
    told = "amir added the account n@home-helpline, role Analyst, and sent its invitation link to n@example.org."
    assert account_notifications(personas["supervisor"]) == [told]
    assert account_notifications(other_supervisor) == []
    (message,) = [m for m in outbox if m.to == ["sofia@example.org"]]
    assert told in message.body
    assert "/account/invitation/" not in message.body  # the address, never the link
    assert Client().get(reverse("notification_list")).status_code == 302
    page = client_for("supervisor").get(reverse("notification_list"))
    assert told in page.content.decode()


def test_supervisors_hear_of_role_and_activation_changes(client_for: Any, personas: dict[str, User]) -> None:
    worker = personas["worker"]
    client = client_for("administrator")
    change = reverse("admin:accounts_user_change", args=[worker.pk])
    assert client.post(change, {"role": "supervisor", "is_active": "on"}).status_code == 302
    assert client.post(change, {"role": "supervisor"}).status_code == 302
    assert client.post(change, {"role": "supervisor", "is_active": "on", "first_name": "Alice"}).status_code == 302
    assert account_notifications(personas["supervisor"]) == [
        "amir reactivated the account alice.",
        "amir deactivated the account alice.",
        "amir changed the role of alice from Helpline worker to Supervisor.",
    ]
    changes = AccessLog.objects.filter(action=Action.CHANGE, object_id=str(worker.pk)).order_by("pk")
    assert [entry.detail for entry in changes] == [
        {"fields": ["role"], "role": ["worker", "supervisor"]},
        {"fields": ["is_active"], "is_active": [True, False]},
        {"fields": ["first_name", "is_active"], "is_active": [False, True]},
    ]
    # alice, a supervisor now, hears of the changes that follow
    personas["analyst"].email = "anna@example.org"
    personas["analyst"].save(update_fields=["email"])
    client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "reset_password", "_selected_action": [personas["analyst"].pk]},
    )
    told = "amir reset the password of anna, who sets a new one from an invitation link sent to anna@example.org."
    assert account_notifications(worker)[0] == told


def test_supervisors_hear_of_resets_in_their_language(client_for: Any, personas: dict[str, User]) -> None:
    User.objects.filter(pk=personas["supervisor"].pk).update(language="it")
    User.objects.filter(pk=personas["analyst"].pk).update(email="anna@example.org")
    analyst = personas["analyst"]
    client_for("administrator").post(
        reverse("admin:accounts_user_changelist"), {"action": "reset_two_factor", "_selected_action": [analyst.pk]}
    )
    with translation.override("it"):
        expected = gettext(
            "%(actor)s reset the two-factor login of %(user)s, who sets a new password from an invitation link "
            "sent to %(email)s and enrols a new authenticator."
        ) % {"actor": "amir", "user": "anna", "email": "anna@example.org"}
    assert account_notifications(personas["supervisor"]) == [expected]


def test_nothing_is_told_when_nothing_changed(client_for: Any, personas: dict[str, User]) -> None:
    worker = personas["worker"]
    client_for("administrator").post(
        reverse("admin:accounts_user_change", args=[worker.pk]), {"role": "worker", "is_active": "on"}
    )
    assert account_notifications(personas["supervisor"]) == []
    assert not AccessLog.objects.filter(action=Action.CHANGE, object_id=str(worker.pk)).exists()


# --- where the link goes ----------------------------------------------------------------------------------------------


def test_whoever_sends_an_invitation_gets_the_address_never_the_link(
    personas: dict[str, User], outbox: list[Any]
) -> None:
    admin = personas["administrator"]
    worker = personas["worker"]
    User.objects.filter(pk=worker.pk).update(email="alice@example.org")
    worker.refresh_from_db()
    answers = [
        services.user_invite(
            organisation=admin.organisation, username="n@home-helpline", role=Role.WORKER, email="n@x.org", actor=admin
        ),
        services.user_password_reset(user=worker, actor=admin),
        services.two_factor_reset(user=worker, actor=admin),
    ]
    tokens = [invitation_token("n@x.org"), invitation_token("alice@example.org")]
    for answer in answers:
        assert not any(token in repr(answer) for token in tokens)
        assert answer.emailed
    assert [answer.address for answer in answers] == ["n@x.org", "alice@example.org", "alice@example.org"]


def test_no_service_sends_an_invitation_to_the_acting_administrator(
    personas: dict[str, User], outbox: list[Any]
) -> None:
    admin, worker = personas["administrator"], personas["worker"]
    User.objects.filter(pk=admin.pk).update(email="amir@example.org")
    User.objects.filter(pk=worker.pk).update(email="Amir@Example.ORG")
    admin.refresh_from_db()
    worker.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        services.user_invite(
            organisation=admin.organisation,
            username="p@home-helpline",
            role=Role.WORKER,
            email="AMIR@example.org",
            actor=admin,
        )
    assert refused.value.code == "email_of_actor"
    for reset in (services.user_password_reset, services.two_factor_reset):
        with pytest.raises(ValidationError):
            reset(user=worker, actor=admin)
    with pytest.raises(ValidationError):
        services.user_update(user=personas["analyst"], values={"email": "amir@EXAMPLE.org"}, actor=admin)
    assert outbox == [] and not Invitation.objects.exists()
    assert not User.objects.filter(username="p@home-helpline").exists()
    worker.refresh_from_db()
    assert worker.check_password(PASSWORD)

"""Administrators manage the accounts of their own organisation, and only those."""

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from accounts.models import Invitation, InvitationReason, User
from accounts.selectors import invitation_token_hash
from audit.models import AccessLog, Action
from notifications.models import Notification
from tests.factories import PASSWORD, UserFactory
from tests.helpers import INVITATION_LINK, invitation_token

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a long enough password 42"
TOKEN_LIKE = re.compile(r"[\w-]{43}")  # what secrets.token_urlsafe(32) gives


@pytest.fixture
def outbox(settings: Any) -> list[Any]:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return mail.outbox


def add_user(client: Any, **fields: str) -> Any:
    """The add form, with an address of the new user's own unless the test gives one."""
    address = f"{fields.get('username', 'someone')}@example.org"
    return client.post(reverse("admin:accounts_user_add"), {"role": "worker", "email": address, **fields})


def give_address(user: User, address: str) -> None:
    User.objects.filter(pk=user.pk).update(email=address)
    user.refresh_from_db()


def test_administrator_adds_a_user_who_is_invited_to_set_their_password(
    client_for: Any, personas: dict[str, User], outbox: list[Any]
) -> None:
    response = add_user(client_for("administrator"), username="newbie", role="supervisor", email="newbie@example.org")
    assert response.status_code == 200, response.content.decode()[:2000]
    user = User.objects.get(username="newbie@home-helpline")
    assert (user.organisation, user.role, user.is_staff, user.email) == (
        personas["administrator"].organisation,
        "supervisor",
        False,
        "newbie@example.org",
    )
    assert not user.has_usable_password()
    token = invitation_token("newbie@example.org")
    assert Invitation.objects.get(user=user).token_hash == invitation_token_hash(token) != token
    (message,) = [m for m in outbox if m.to == ["newbie@example.org"]]
    assert "newbie@home-helpline" in message.body
    page = response.content.decode()
    assert "Sent to newbie@example.org." in page
    assert token not in page and "/account/invitation/" not in page
    entry = AccessLog.objects.get(action=Action.CREATE, object_type="accounts.user", object_id=str(user.pk))
    assert entry.detail == {"role": "supervisor", "invitation": True, "email": "newbie@example.org", "emailed": True}


def test_the_administrator_never_learns_the_link_so_cannot_complete_the_invitation(
    client_for: Any, personas: dict[str, User], outbox: list[Any], caplog: Any, settings: Any
) -> None:
    """The attack: the administrator adds an account, then opens its invitation in a private window to set the
    password and enrol an authenticator of their own. Every page they are shown, the access log and the
    application's log are searched for the link; whatever looks like a token there is tried. None works."""
    caplog.set_level("DEBUG")
    admin = client_for("administrator")
    seen = [add_user(admin, username="victim", email="victim@example.org")]
    victim = User.objects.get(username="victim@home-helpline")
    seen.append(
        admin.post(
            reverse("admin:accounts_user_changelist"), {"action": "reset_password", "_selected_action": [victim.pk]}
        )
    )
    seen.append(admin.post(reverse("admin:auth_user_password_change", args=[victim.pk]), {"confirm": "reset"}))
    seen += [
        admin.get(reverse("admin:accounts_user_change", args=[victim.pk])),
        admin.get(reverse("admin:accounts_user_changelist")),
        admin.get(reverse("admin:accounts_user_history", args=[victim.pk])),
        admin.get(reverse("admin:audit_accesslog_changelist")),
    ]
    pages = "\n".join(response.content.decode() for response in seen)
    logged = "\n".join(
        [str(row) for row in AccessLog.objects.values_list("object_id", "user_agent", "detail")]
        + [record.getMessage() for record in caplog.records]
    )
    assert [message.to for message in outbox] == [["victim@example.org"]] * 3  # there, and only there
    tokens = [found[1] for message in outbox for found in INVITATION_LINK.finditer(message.body)]
    assert len(tokens) == 3 and all(TOKEN_LIKE.fullmatch(token) for token in tokens)
    for where in (pages, logged):
        assert "/account/invitation/" not in where
        assert not any(token in where for token in tokens)

    settings.AXES_FAILURE_LIMIT = 10_000  # every guess is tried, not turned away
    private_window = Client()
    for guess in set(TOKEN_LIKE.findall(pages + logged)):
        private_window.post(
            reverse("invitation_accept", args=[guess]), {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
        )
    victim.refresh_from_db()
    assert not victim.has_usable_password()
    login = Client()
    login.post(reverse("login"), {"username": victim.username, "password": NEW_PASSWORD})
    assert "_auth_user_id" not in login.session


def test_an_email_address_is_needed_to_add_a_user(
    client_for: Any, personas: dict[str, User], outbox: list[Any]
) -> None:
    response = add_user(client_for("administrator"), username="nomail", email="")
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "email": ["An e-mail address is needed: the invitation link is sent there, and shown to nobody."]
    }
    assert not User.objects.filter(username__startswith="nomail").exists()
    assert outbox == [] and not Invitation.objects.exists()
    assert not Notification.objects.exists()


def test_the_administrators_own_address_or_a_colleagues_is_refused_for_a_new_user(
    client_for: Any, personas: dict[str, User], outbox: list[Any]
) -> None:
    give_address(personas["administrator"], "Amir@Example.org")
    give_address(personas["worker"], "alice@example.org")
    give_address(personas["other_worker"], "oscar@example.org")
    client = client_for("administrator")
    own = add_user(client, username="puppet", email="amir@EXAMPLE.org")
    colleague = add_user(client, username="puppet", email="ALICE@example.org")
    assert own.context["adminform"].form.errors == {
        "email": ["This is your own address. The invitation link must go to the person's own mailbox, never to yours."]
    }
    assert colleague.context["adminform"].form.errors == {
        "email": ["Another account of the organisation has this address. Each invitation goes to its owner's mailbox."]
    }
    assert not User.objects.filter(username__startswith="puppet").exists()
    assert outbox == [] and not Invitation.objects.exists()
    # Another organisation's addresses are not looked at: the form tells nothing about them.
    assert add_user(client, username="oscar2", email="oscar@example.org").status_code == 200
    assert User.objects.get(username="oscar2@home-helpline").email == "oscar@example.org"


def test_passwords_posted_with_a_new_user_are_ignored(client_for: Any, personas: dict[str, User]) -> None:
    """The old add form, posted as it was: the account is made, its password is nobody's yet."""
    response = add_user(
        client_for("administrator"),
        username="puppet",
        usable_password="true",
        password1=NEW_PASSWORD,
        password2=NEW_PASSWORD,
    )
    assert response.status_code == 200
    puppet = User.objects.get(username="puppet@home-helpline")
    assert not puppet.has_usable_password()
    assert not puppet.check_password(NEW_PASSWORD)
    login = Client().post(reverse("login"), {"username": puppet.username, "password": NEW_PASSWORD})
    assert login.status_code == 200 and "_auth_user_id" not in login.client.session


def test_the_old_password_form_sets_no_password(client_for: Any, personas: dict[str, User]) -> None:
    worker = personas["worker"]
    url = reverse("admin:auth_user_password_change", args=[worker.pk])
    client = client_for("administrator")
    page = client.get(url)
    assert page.status_code == 200 and 'name="password1"' not in page.content.decode()
    response = client.post(url, {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 400
    worker.refresh_from_db()
    assert worker.check_password(PASSWORD) and not worker.check_password(NEW_PASSWORD)
    assert not Invitation.objects.exists()
    assert not AccessLog.objects.filter(
        object_id=str(worker.pk), action__in=[Action.CHANGE, Action.PASSWORD_CHANGED]
    ).exists()


def test_a_password_posted_to_the_change_form_is_ignored(client_for: Any, personas: dict[str, User]) -> None:
    worker = personas["worker"]
    response = client_for("administrator").post(
        reverse("admin:accounts_user_change", args=[worker.pk]),
        {"role": "worker", "is_active": "on", "password": "md5$salt$0123456789abcdef", "password1": NEW_PASSWORD},
    )
    assert response.status_code == 302
    worker.refresh_from_db()
    assert worker.check_password(PASSWORD)


def test_the_password_page_resets_the_password_and_emails_an_invitation(
    client_for: Any, personas: dict[str, User], outbox: list[Any]
) -> None:
    worker = personas["worker"]
    give_address(worker, "alice@example.org")
    url = reverse("admin:auth_user_password_change", args=[worker.pk])
    client = client_for("administrator")
    assert "alice@example.org" in client.get(url).content.decode()  # where it will go, said before
    response = client.post(url, {"confirm": "reset"})
    assert response.status_code == 200
    worker.refresh_from_db()
    assert not worker.has_usable_password()
    invitation = Invitation.objects.get(user=worker)
    assert invitation.reason == InvitationReason.PASSWORD_RESET
    token = invitation_token("alice@example.org")
    assert invitation.token_hash == invitation_token_hash(token)
    page = response.content.decode()
    assert "Sent to alice@example.org." in page and token not in page
    entry = AccessLog.objects.get(action=Action.CHANGE, object_id=str(worker.pk))
    assert (entry.actor, entry.detail) == (
        personas["administrator"],
        {"password": "reset", "api_tokens_revoked": 0, "email": "alice@example.org", "emailed": True},
    )
    assert Client().post(reverse("login"), {"username": "alice", "password": PASSWORD}).status_code == 200


def test_a_new_username_gets_the_organisations_suffix_and_is_refused_without_the_suffix(client_for: Any) -> None:
    response = add_user(client_for("administrator"), username="oscar@other-helpline")
    assert response.status_code == 200
    assert "the @ and what follows are added" in response.content.decode()
    assert not User.objects.filter(username__startswith="oscar@").exists()


def test_adding_another_organisations_username_says_nothing_about_it(
    client_for: Any, personas: dict[str, User]
) -> None:
    """oscar works for the other helpline: asking for "oscar" here is like asking for a name nobody has."""
    client = client_for("administrator")
    taken_elsewhere = add_user(client, username="oscar")
    free = add_user(client, username="nobody-has-this")
    assert (taken_elsewhere.status_code, free.status_code) == (200, 200)
    assert "already exists" not in taken_elsewhere.content.decode()
    created = User.objects.get(username="oscar@home-helpline")
    assert created.organisation == personas["administrator"].organisation
    oscar = User.objects.get(username="oscar")
    assert (oscar.organisation, oscar.role) == (personas["other_worker"].organisation, "worker")


def test_a_username_clash_reads_the_same_whoever_holds_the_name(client_for: Any, personas: dict[str, User]) -> None:
    """Only a deployment operator could give another helpline's account this helpline's suffix; even then the
    answer is the one an own account gets, which says nothing about who holds it."""
    UserFactory.create(username="planted@home-helpline", organisation=personas["other_worker"].organisation)
    client = client_for("administrator")
    add_user(client, username="colleague")
    own = add_user(client, username="colleague", email="another@example.org")
    foreign = add_user(client, username="planted")
    assert (own.status_code, foreign.status_code) == (200, 200)
    assert own.context["adminform"].form.errors == foreign.context["adminform"].form.errors
    assert foreign.context["adminform"].form.errors == {"username": ["Choose another username."]}


def test_a_role_that_does_not_exist_is_refused(client_for: Any) -> None:
    response = add_user(client_for("administrator"), username="newbie", role="superhero")
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not User.objects.filter(username__startswith="newbie").exists()


def test_user_list_shows_only_the_own_organisation(client_for: Any) -> None:
    page = client_for("administrator").get(reverse("admin:accounts_user_changelist")).content.decode()
    assert "alice" in page
    assert "oscar" not in page


def test_administrator_cannot_change_a_foreign_user(client_for: Any, personas: dict[str, User]) -> None:
    foreign = personas["other_worker"]
    response = client_for("administrator").post(
        reverse("admin:accounts_user_change", args=[foreign.pk]),
        {"username": "hijacked", "role": "administrator", "is_active": "on"},
    )
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert (foreign.username, foreign.role) == ("oscar", "worker")


def test_promoting_to_administrator_opens_the_administration(client_for: Any, personas: dict[str, User]) -> None:
    worker = personas["worker"]
    client = client_for("administrator")
    response = client.post(
        reverse("admin:accounts_user_change", args=[worker.pk]),
        {"username": worker.username, "role": "administrator", "is_active": "on"},
    )
    assert response.status_code == 302
    worker.refresh_from_db()
    assert (worker.role, worker.is_staff) == ("administrator", True)
    assert client_for("worker").get(reverse("admin:index")).status_code == 200


def test_reset_two_factor_action(client_for: Any, personas: dict[str, User], outbox: list[Any]) -> None:
    worker, foreign = personas["worker"], personas["other_worker"]
    give_address(worker, "alice@example.org")
    give_address(foreign, "oscar@example.org")
    TOTPDevice.objects.create(user=worker, name="lost phone", confirmed=True)
    TOTPDevice.objects.create(user=foreign, name="their phone", confirmed=True)
    response = client_for("administrator").post(
        reverse("admin:accounts_user_changelist"),
        {"action": "reset_two_factor", "_selected_action": [worker.pk, foreign.pk]},
    )
    assert response.status_code == 200
    assert not TOTPDevice.objects.filter(user=worker).exists()
    worker.refresh_from_db()
    assert not worker.has_usable_password()  # a stolen password alone cannot enrol a new phone
    assert Invitation.objects.get(user=worker).reason == InvitationReason.TWO_FACTOR_RESET
    assert invitation_token("alice@example.org") not in response.content.decode()
    assert [message.to for message in outbox] == [["alice@example.org"]]
    # the other organisation's worker was not in the administrator's list, so was not touched
    assert TOTPDevice.objects.filter(user=foreign).exists()
    assert not Invitation.objects.filter(user=foreign).exists()
    assert AccessLog.objects.filter(action=Action.CHANGE, object_id=str(worker.pk)).exists()
    assert not AccessLog.objects.filter(action=Action.CHANGE, object_id=str(foreign.pk)).exists()


def test_reset_password_action(client_for: Any, personas: dict[str, User]) -> None:
    worker = personas["worker"]
    give_address(worker, "alice@example.org")
    TOTPDevice.objects.create(user=worker, name="phone", confirmed=True)
    response = client_for("administrator").post(
        reverse("admin:accounts_user_changelist"), {"action": "reset_password", "_selected_action": [worker.pk]}
    )
    assert response.status_code == 200
    worker.refresh_from_db()
    assert not worker.has_usable_password()
    assert TOTPDevice.objects.filter(user=worker).exists()  # the phone still works
    assert Invitation.objects.get(user=worker).reason == InvitationReason.PASSWORD_RESET


def test_viewing_a_user_record_is_logged(client_for: Any, personas: dict[str, User]) -> None:
    worker = personas["worker"]
    client_for("administrator").get(reverse("admin:accounts_user_change", args=[worker.pk]))
    assert AccessLog.objects.filter(action=Action.VIEW, object_type="accounts.user", object_id=str(worker.pk)).exists()


def test_superusers_are_out_of_an_administrators_reach(client_for: Any, personas: dict[str, User]) -> None:
    operator = User.objects.create(
        username="operator", organisation=personas["administrator"].organisation, role="administrator"
    )
    User.objects.filter(pk=operator.pk).update(is_superuser=True, is_staff=True)
    client = client_for("administrator")
    assert "operator" not in client.get(reverse("admin:accounts_user_changelist")).content.decode()
    url = reverse("admin:auth_user_password_change", args=[operator.pk])
    assert client.post(url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}).status_code == 404
    operator.refresh_from_db()
    assert not operator.check_password(NEW_PASSWORD)


def test_administrators_cannot_demote_or_deactivate_themselves(client_for: Any, personas: dict[str, User]) -> None:
    me = personas["administrator"]
    response = client_for("administrator").post(
        reverse("admin:accounts_user_change", args=[me.pk]), {"username": me.username, "role": "worker"}
    )
    assert response.status_code == 302
    me.refresh_from_db()
    assert (me.role, me.is_active, me.is_staff) == ("administrator", True, True)


def test_organisation_name_is_not_editable_by_administrators(client_for: Any, personas: dict[str, User]) -> None:
    org = personas["administrator"].organisation
    response = client_for("administrator").post(
        reverse("admin:accounts_organisation_change", args=[org.pk]),
        {
            "name": "Other Helpline",
            "country": "FR",
            "exposure_shift_hours": 8,
            "exposure_shift_threshold": 6,
            "exposure_week_threshold": 20,
        },
    )
    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.name, org.country) == ("Home Helpline", "FR")


def test_lists_and_histories_are_logged(client_for: Any, personas: dict[str, User]) -> None:
    client = client_for("administrator")
    client.get(reverse("admin:audit_accesslog_changelist"), {"action": "login"})
    client.get(reverse("admin:accounts_user_history", args=[personas["worker"].pk]))
    views = AccessLog.objects.filter(action=Action.VIEW, actor=personas["administrator"])
    assert views.filter(object_type="audit.accesslog", object_id="", detail={"query": "action=login"}).exists()
    assert views.filter(object_type="accounts.user", object_id=str(personas["worker"].pk)).exists()


# --- resets and addresses ---------------------------------------------------------------------------------------------


def nothing_was_reset(worker: User) -> bool:
    worker.refresh_from_db()
    return (
        worker.check_password(PASSWORD)
        and TOTPDevice.objects.filter(user=worker).exists()
        and not Invitation.objects.filter(user=worker).exists()
        and not AccessLog.objects.filter(action=Action.CHANGE, object_id=str(worker.pk)).exists()
        and not Notification.objects.exists()
    )


def test_a_reset_needs_the_owners_address(client_for: Any, personas: dict[str, User], outbox: list[Any]) -> None:
    """Without an address the link would have nowhere to go but the administrator's screen: nothing is reset."""
    worker, analyst = personas["worker"], personas["analyst"]
    give_address(analyst, "anna@example.org")
    TOTPDevice.objects.create(user=worker, name="phone", confirmed=True)
    client = client_for("administrator")
    page = client.post(reverse("admin:auth_user_password_change", args=[worker.pk]), {"confirm": "reset"})
    assert page.status_code == 400
    assert "An e-mail address is needed" in page.content.decode()
    for action in ("reset_password", "reset_two_factor"):
        response = client.post(
            reverse("admin:accounts_user_changelist"),
            {"action": action, "_selected_action": [worker.pk, analyst.pk]},
            follow=True,
        )
        (message,) = [str(m) for m in response.context["messages"]]
        assert message == (
            "alice: An e-mail address is needed: the invitation link is sent there, and shown to nobody. "
            "Nothing was reset."
        )
    assert nothing_was_reset(worker)
    analyst.refresh_from_db()
    assert analyst.check_password(PASSWORD)  # selected with alice, so not reset either
    assert outbox == []


def test_a_reset_to_the_administrators_own_address_is_refused(
    client_for: Any, personas: dict[str, User], outbox: list[Any]
) -> None:
    """An address set before these checks existed, or put there by hand: the reset would mail the administrator."""
    worker = personas["worker"]
    give_address(personas["administrator"], "amir@example.org")
    give_address(worker, "AMIR@example.org")
    TOTPDevice.objects.create(user=worker, name="phone", confirmed=True)
    client = client_for("administrator")
    url = reverse("admin:auth_user_password_change", args=[worker.pk])
    assert "This is your own address" in client.get(url).content.decode()
    assert client.post(url, {"confirm": "reset"}).status_code == 400
    client.post(
        reverse("admin:accounts_user_changelist"), {"action": "reset_two_factor", "_selected_action": [worker.pk]}
    )
    assert nothing_was_reset(worker)
    assert outbox == []


def test_an_administrator_resets_their_own_password_to_their_own_address(
    client_for: Any, personas: dict[str, User], outbox: list[Any]
) -> None:
    me = personas["administrator"]
    give_address(me, "amir@example.org")
    response = client_for("administrator").post(
        reverse("admin:auth_user_password_change", args=[me.pk]), {"confirm": "reset"}
    )
    assert response.status_code == 200
    assert [message.to for message in outbox] == [["amir@example.org"]]


def test_changing_an_address_is_told_logged_and_ends_the_waiting_invitation(
    client_for: Any, personas: dict[str, User], outbox: list[Any]
) -> None:
    client = client_for("administrator")
    add_user(client, username="newbie", email="newbie@example.org")
    newbie = User.objects.get(username="newbie@home-helpline")
    first_link = reverse("invitation_accept", args=[invitation_token("newbie@example.org")])
    Notification.objects.all().delete()
    response = client.post(
        reverse("admin:accounts_user_change", args=[newbie.pk]),
        {"role": "worker", "is_active": "on", "email": "newbie@private.example"},
    )
    assert response.status_code == 302
    told = "amir changed the e-mail address of newbie@home-helpline from newbie@example.org to newbie@private.example."
    told_to = set(Notification.objects.values_list("recipient__username", "text"))
    assert told_to == {("sofia", told), ("newbie@home-helpline", told)}  # the owner too, at the new address
    entry = AccessLog.objects.filter(action=Action.CHANGE, object_id=str(newbie.pk)).get()
    assert entry.detail == {
        "fields": ["email"],
        "email": ["newbie@example.org", "newbie@private.example"],
        "invitations_withdrawn": 1,
    }
    assert Client().get(first_link).status_code == 404  # the link in the old mailbox no longer works
    assert (
        "no invitation link that still works"
        in client.get(reverse("admin:accounts_user_change", args=[newbie.pk])).content.decode()
    )


def test_an_address_can_be_removed_and_the_supervisors_hear_of_it(client_for: Any, personas: dict[str, User]) -> None:
    worker = personas["worker"]
    give_address(worker, "alice@example.org")
    client_for("administrator").post(
        reverse("admin:accounts_user_change", args=[worker.pk]), {"role": "worker", "is_active": "on", "email": ""}
    )
    worker.refresh_from_db()
    assert worker.email == ""
    told = "amir changed the e-mail address of alice from alice@example.org to no address."
    assert set(Notification.objects.values_list("recipient__username", "text")) == {("sofia", told), ("alice", told)}


def test_the_change_form_refuses_the_administrators_own_address(client_for: Any, personas: dict[str, User]) -> None:
    """First the address, then a reset: the change is refused, so the reset has nowhere else to send the link."""
    worker = personas["worker"]
    give_address(personas["administrator"], "amir@example.org")
    give_address(personas["analyst"], "anna@example.org")
    give_address(worker, "alice@example.org")
    client = client_for("administrator")
    change = reverse("admin:accounts_user_change", args=[worker.pk])
    own = client.post(change, {"role": "worker", "is_active": "on", "email": "Amir@example.org"})
    colleague = client.post(change, {"role": "worker", "is_active": "on", "email": "anna@example.org"})
    assert (own.status_code, colleague.status_code) == (200, 200)
    assert "This is your own address" in own.content.decode()
    assert "Another account of the organisation has this address" in colleague.content.decode()
    worker.refresh_from_db()
    assert worker.email == "alice@example.org"
    assert not Notification.objects.exists()
    assert not AccessLog.objects.filter(action=Action.CHANGE, object_id=str(worker.pk)).exists()


def test_one_save_that_changes_address_role_and_activation_tells_all_three_at_once(
    client_for: Any, personas: dict[str, User]
) -> None:
    worker = personas["worker"]
    give_address(worker, "alice@example.org")
    response = client_for("administrator").post(
        reverse("admin:accounts_user_change", args=[worker.pk]), {"role": "supervisor", "email": "a@example.org"}
    )
    assert response.status_code == 302
    told = (
        "amir changed the e-mail address of alice from alice@example.org to a@example.org. "
        "amir changed the role of alice from Helpline worker to Supervisor. "
        "amir deactivated the account alice."
    )
    assert set(Notification.objects.values_list("recipient__username", "text")) == {("sofia", told), ("alice", told)}


@pytest.mark.parametrize("action", ["reset_password", "reset_two_factor"])
def test_a_reset_revokes_the_users_api_tokens(client_for: Any, personas: dict[str, User], action: str) -> None:
    analyst = personas["analyst"]
    give_address(analyst, "anna@example.org")
    _instance, token = AuthToken.objects.create(user=analyst)
    assert Client().get(reverse("api-me"), HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
    client_for("administrator").post(
        reverse("admin:accounts_user_changelist"), {"action": action, "_selected_action": [analyst.pk]}
    )
    assert Client().get(reverse("api-me"), HTTP_AUTHORIZATION=f"Token {token}").status_code == 401
    assert not AuthToken.objects.filter(user=analyst).exists()
    entry = AccessLog.objects.get(action=Action.CHANGE, object_id=str(analyst.pk))
    assert entry.detail["api_tokens_revoked"] == 1


def test_an_invitation_that_cannot_be_mailed_is_withdrawn_and_the_administrator_told(
    client_for: Any, personas: dict[str, User], settings: Any
) -> None:
    """A mail server that refuses the connection: the reset stands (the old password is dead), the link is gone."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    worker = personas["worker"]
    give_address(worker, "alice@example.org")
    response = client_for("administrator").post(
        reverse("admin:auth_user_password_change", args=[worker.pk]), {"confirm": "reset"}
    )
    assert response.status_code == 200
    assert "Could not be sent to alice@example.org, so it was withdrawn" in response.content.decode()
    worker.refresh_from_db()
    assert not worker.has_usable_password()
    assert not Invitation.objects.filter(user=worker, expires_at__gt=timezone.now()).exists()
    entry = AccessLog.objects.get(action=Action.CHANGE, object_id=str(worker.pk))
    assert entry.detail["emailed"] is False

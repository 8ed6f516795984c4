"""Administrators manage the accounts of their own organisation, and only those."""

from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Invitation, InvitationReason, User
from accounts.selectors import invitation_token_hash
from audit.models import AccessLog, Action
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a long enough password 42"


@pytest.fixture
def outbox(settings: Any) -> list[Any]:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return mail.outbox


def add_user(client: Any, **fields: str) -> Any:
    return client.post(reverse("admin:accounts_user_add"), {"role": "worker", **fields})


def invitation_link(response: Any) -> str:
    (issued,) = response.context["issued"]
    return str(issued.link)


def test_administrator_adds_a_user_who_is_invited_to_set_their_password(
    client_for: Any, personas: dict[str, User], outbox: list[Any]
) -> None:
    response = add_user(client_for("administrator"), username="newbie", role="supervisor", email="newbie@example.org")
    assert response.status_code == 200, response.content.decode()[:2000]
    user = User.objects.get(username="newbie@home-helpline")
    assert (user.organisation, user.role, user.is_staff) == (
        personas["administrator"].organisation,
        "supervisor",
        False,
    )
    assert not user.has_usable_password()
    link = invitation_link(response)
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert link in response.content.decode()  # shown once, to hand over
    assert Invitation.objects.get(user=user).token_hash == invitation_token_hash(token) != token
    (message,) = [m for m in outbox if m.to == ["newbie@example.org"]]
    assert link in message.body and "newbie@home-helpline" in message.body
    entry = AccessLog.objects.get(action=Action.CREATE, object_type="accounts.user", object_id=str(user.pk))
    assert entry.detail == {"role": "supervisor", "invitation": True}
    assert token not in str(list(AccessLog.objects.values_list("detail", flat=True)))


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


def test_the_password_page_resets_the_password_and_issues_an_invitation(
    client_for: Any, personas: dict[str, User]
) -> None:
    worker = personas["worker"]
    response = client_for("administrator").post(
        reverse("admin:auth_user_password_change", args=[worker.pk]), {"confirm": "reset"}
    )
    assert response.status_code == 200
    worker.refresh_from_db()
    assert not worker.has_usable_password()
    assert Invitation.objects.get(user=worker).reason == InvitationReason.PASSWORD_RESET
    assert invitation_link(response) in response.content.decode()
    entry = AccessLog.objects.get(action=Action.CHANGE, object_id=str(worker.pk))
    assert (entry.actor, entry.detail) == (personas["administrator"], {"password": "reset"})
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
    own = add_user(client, username="colleague")
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


def test_reset_two_factor_action(client_for: Any, personas: dict[str, User]) -> None:
    worker, foreign = personas["worker"], personas["other_worker"]
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
    assert invitation_link(response) in response.content.decode()
    # the other organisation's worker was not in the administrator's list, so was not touched
    assert TOTPDevice.objects.filter(user=foreign).exists()
    assert not Invitation.objects.filter(user=foreign).exists()
    assert AccessLog.objects.filter(action=Action.CHANGE, object_id=str(worker.pk)).exists()
    assert not AccessLog.objects.filter(action=Action.CHANGE, object_id=str(foreign.pk)).exists()


def test_reset_password_action(client_for: Any, personas: dict[str, User]) -> None:
    worker = personas["worker"]
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
        reverse("admin:accounts_organisation_change", args=[org.pk]), {"name": "Other Helpline", "country": "FR"}
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

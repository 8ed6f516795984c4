"""No administrator changes an account unseen: the supervisors (before and after the change), the other
administrators and the person whose account it is are told, and without a supervisor no account is added or reset."""

from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role
from notifications.models import Kind, Notification
from tests.conftest import login_verified
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NO_SUPERVISOR = (
    "Your organisation has no active supervisor to be told of this: a deployment operator must add one first."
)


@pytest.fixture
def second_administrator(personas: dict[str, User]) -> User:
    return UserFactory.create(
        username="ada", role=Role.ADMINISTRATOR, organisation=personas["administrator"].organisation
    )


def told(text_part: str) -> set[str]:
    """The usernames told of account changes whose text has this part."""
    found = Notification.objects.filter(kind=Kind.ACCOUNT_CHANGED, text__contains=text_part)
    return set(found.values_list("recipient__username", flat=True))


def change(client: Client, user: User, **fields: str) -> Any:
    return client.post(reverse("admin:accounts_user_change", args=[user.pk]), fields)


def emailed_notifications(client: Client, user: User, django_capture_on_commit_callbacks: Any, **fields: str) -> Any:
    """The change saved, with the notifications' e-mails sent as the worker would after commit."""
    from helpline.celery import app

    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            return change(client, user, **fields)
    finally:
        app.conf.task_always_eager = False


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"role": "analyst", "is_active": "on"}, "amir changed the role of sofia from Supervisor to Analyst."),
        ({"role": "supervisor"}, "amir deactivated the account sofia."),
    ],
)
def test_demoting_or_deactivating_the_only_supervisor_tells_them_and_the_other_administrators(
    client_for: Any,
    personas: dict[str, User],
    second_administrator: User,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
    fields: dict[str, str],
    text: str,
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    supervisor = personas["supervisor"]
    User.objects.filter(pk=supervisor.pk).update(email="sofia@example.org")
    response = emailed_notifications(
        client_for("administrator"), supervisor, django_capture_on_commit_callbacks, email="sofia@example.org", **fields
    )
    assert response.status_code == 302
    assert told(text) == {"sofia", "ada"}  # not amir, who did it, nor anyone of the other organisation
    (message,) = [m for m in mail.outbox if m.to == ["sofia@example.org"]]
    assert text in message.body


def test_a_person_whose_role_changes_is_told(client_for: Any, personas: dict[str, User]) -> None:
    worker = personas["worker"]
    assert change(client_for("administrator"), worker, role="analyst", is_active="on").status_code == 302
    assert told("amir changed the role of alice from Helpline worker to Analyst.") == {"alice", "sofia"}


def test_a_new_supervisor_hears_of_their_own_promotion_once(client_for: Any, personas: dict[str, User]) -> None:
    worker = personas["worker"]
    change(client_for("administrator"), worker, role="supervisor", is_active="on")
    assert Notification.objects.filter(recipient=worker, kind=Kind.ACCOUNT_CHANGED).count() == 1


def without_supervisor(client: Client, supervisor: User) -> None:
    assert change(client, supervisor, role="analyst", is_active="on").status_code == 302
    Notification.objects.all().delete()


def test_without_an_active_supervisor_no_account_is_added(client_for: Any, personas: dict[str, User]) -> None:
    client = client_for("administrator")
    without_supervisor(client, personas["supervisor"])
    for role in ("worker", "supervisor"):
        response = client.post(
            reverse("admin:accounts_user_add"), {"username": "sock", "role": role, "email": "sock@example.org"}
        )
        assert response.status_code == 200
        assert NO_SUPERVISOR in response.content.decode()
    assert not User.objects.filter(username__startswith="sock").exists()
    assert not Notification.objects.exists()


@pytest.mark.parametrize("action", ["reset_password", "reset_two_factor"])
def test_without_an_active_supervisor_no_account_is_reset(
    client_for: Any, personas: dict[str, User], action: str
) -> None:
    client = client_for("administrator")
    worker = personas["worker"]
    User.objects.filter(pk=worker.pk).update(email="alice@example.org")
    without_supervisor(client, personas["supervisor"])
    response = client.post(
        reverse("admin:accounts_user_changelist"), {"action": action, "_selected_action": [worker.pk]}, follow=True
    )
    assert NO_SUPERVISOR in response.content.decode()
    page = client.post(reverse("admin:auth_user_password_change", args=[worker.pk]), {"confirm": "reset"})
    assert page.status_code == 400
    assert NO_SUPERVISOR in page.content.decode()
    worker.refresh_from_db()
    assert worker.has_usable_password()
    assert not Notification.objects.exists()


def test_a_deployment_operator_adds_a_supervisor_where_there_is_none(
    client_for: Any, personas: dict[str, User]
) -> None:
    without_supervisor(client_for("administrator"), personas["supervisor"])
    operator = User.objects.create(
        username="operator", organisation=personas["administrator"].organisation, role=Role.ADMINISTRATOR
    )
    User.objects.filter(pk=operator.pk).update(is_superuser=True, is_staff=True)
    operator.refresh_from_db()
    response = login_verified(Client(), operator).post(
        reverse("admin:accounts_user_add"), {"username": "sam", "role": "supervisor", "email": "sam@example.org"}
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    assert User.objects.get(username="sam@home-helpline").role == Role.SUPERVISOR
    # the organisation's administrator is told; and with a supervisor again, accounts can be added
    assert told("operator added the account sam@home-helpline") == {"amir", "sam@home-helpline"}
    add = client_for("administrator").post(
        reverse("admin:accounts_user_add"), {"username": "newbie", "role": "worker", "email": "newbie@example.org"}
    )
    assert add.status_code == 200
    assert User.objects.filter(username="newbie@home-helpline").exists()

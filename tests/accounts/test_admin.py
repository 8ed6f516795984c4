"""Administrators manage the accounts of their own organisation, and only those."""

from typing import Any

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from audit.models import AccessLog, Action

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a long enough password 42"


def test_administrator_creates_a_user_in_their_own_organisation(client_for: Any, personas: dict[str, User]) -> None:
    response = client_for("administrator").post(
        reverse("admin:accounts_user_add"),
        {"username": "newbie", "role": "supervisor", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(username="newbie")
    assert (user.organisation, user.role, user.is_staff) == (
        personas["administrator"].organisation,
        "supervisor",
        False,
    )
    assert user.check_password(NEW_PASSWORD)
    assert AccessLog.objects.filter(action=Action.CREATE, object_type="accounts.user", object_id=str(user.pk)).exists()


def test_a_weak_password_is_refused_with_a_reason(client_for: Any) -> None:
    response = client_for("administrator").post(
        reverse("admin:accounts_user_add"),
        {"username": "newbie", "role": "worker", "password1": "password", "password2": "password"},
    )
    assert response.status_code == 200
    assert "too common" in response.content.decode()
    assert not User.objects.filter(username="newbie").exists()


def test_a_role_that_does_not_exist_is_refused(client_for: Any) -> None:
    response = client_for("administrator").post(
        reverse("admin:accounts_user_add"),
        {"username": "newbie", "role": "superhero", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not User.objects.filter(username="newbie").exists()


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
    worker = personas["worker"]
    TOTPDevice.objects.create(user=worker, name="lost phone", confirmed=True)
    response = client_for("administrator").post(
        reverse("admin:accounts_user_changelist"),
        {"action": "reset_two_factor", "_selected_action": [worker.pk, personas["other_worker"].pk]},
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=worker).exists()
    # the other organisation's worker was not in the administrator's list, so was not touched
    assert AccessLog.objects.filter(action=Action.CHANGE, object_id=str(worker.pk)).exists()
    assert not AccessLog.objects.filter(action=Action.CHANGE, object_id=str(personas["other_worker"].pk)).exists()


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


def test_setting_someone_elses_password_is_logged(client_for: Any, personas: dict[str, User]) -> None:
    worker = personas["worker"]
    url = reverse("admin:auth_user_password_change", args=[worker.pk])
    response = client_for("administrator").post(
        url, {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    worker.refresh_from_db()
    assert worker.check_password(NEW_PASSWORD)
    entry = AccessLog.objects.get(action=Action.PASSWORD_CHANGED)
    assert (entry.actor, entry.object_id) == (personas["administrator"], str(worker.pk))


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

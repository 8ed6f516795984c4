"""The access log is append-only for every connection, the application's own included."""

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from accounts.models import User
from audit.models import AccessLog, Action
from audit.services import access_log_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(personas: dict[str, User]) -> AccessLog:
    return access_log_record(action=Action.VIEW, actor=personas["worker"], object_type="cases.case", object_id=7)


def refused(statement: Any) -> None:
    with pytest.raises(DatabaseError, match=r"append-only|Cannot"), transaction.atomic():
        statement()


def test_orm_update_is_refused(entry: AccessLog) -> None:
    refused(lambda: AccessLog.objects.filter(pk=entry.pk).update(action=Action.CHANGE))
    entry.action = Action.CHANGE
    refused(lambda: entry.save())
    assert AccessLog.objects.get(pk=entry.pk).action == Action.VIEW


def test_orm_delete_is_refused(entry: AccessLog) -> None:
    refused(lambda: AccessLog.objects.filter(pk=entry.pk).delete())
    refused(lambda: entry.delete())
    assert AccessLog.objects.filter(pk=entry.pk).exists()


def test_raw_sql_update_delete_and_truncate_are_refused(entry: AccessLog) -> None:
    table = AccessLog._meta.db_table

    def execute(sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql)

    refused(lambda: execute(f"UPDATE {table} SET username = 'someone else'"))  # noqa: S608
    refused(lambda: execute(f"DELETE FROM {table}"))  # noqa: S608
    execute("SET CONSTRAINTS ALL IMMEDIATE")  # so TRUNCATE meets the trigger, not the pending FK checks
    refused(lambda: execute(f"TRUNCATE {table}"))
    assert AccessLog.objects.get(pk=entry.pk).username == entry.username


def test_entries_record_who_what_when_and_where(client_for: Any, personas: dict[str, User]) -> None:
    client = client_for("worker")
    client.get(reverse("admin:index"), REMOTE_ADDR="192.0.2.10", HTTP_USER_AGENT="Firefox")
    row = AccessLog.objects.filter(action=Action.REFUSED).get()
    assert row.actor == personas["worker"]
    assert row.organisation == personas["worker"].organisation
    assert (row.object_type, row.object_id) == ("admin", "/admin/")
    assert (row.address, row.user_agent) == ("192.0.2.10", "Firefox")
    assert row.at is not None


def test_an_administrator_refused_a_foreign_record_is_logged(client_for: Any, personas: dict[str, User]) -> None:
    foreign = personas["other_worker"]
    response = client_for("administrator").get(reverse("admin:accounts_user_change", args=[foreign.pk]))
    assert response.status_code == 404
    row = AccessLog.objects.get(action=Action.REFUSED)
    assert (row.actor, row.object_type, row.object_id) == (personas["administrator"], "accounts.user", str(foreign.pk))


def test_administrators_see_only_their_organisations_log(client_for: Any, personas: dict[str, User]) -> None:
    access_log_record(action=Action.VIEW, actor=personas["worker"], object_type="home-only")
    access_log_record(action=Action.VIEW, actor=personas["other_worker"], object_type="other-only")
    page = client_for("administrator").get(reverse("admin:audit_accesslog_changelist")).content.decode()
    assert "home-only" in page
    assert "other-only" not in page


def test_changes_to_users_are_kept_in_the_row_history(personas: dict[str, User]) -> None:
    from accounts.models import UserEvent  # type: ignore[attr-defined]

    worker = personas["worker"]
    User.objects.filter(pk=worker.pk).update(first_name="Wilma")  # a bulk update, no save() signal
    events = UserEvent.objects.filter(pgh_obj=worker).order_by("pgh_id")
    assert [e.pgh_label for e in events] == ["insert", "update"]
    assert events.last().first_name == "Wilma"
    assert not hasattr(events.last(), "password")  # password hashes are not copied into the history

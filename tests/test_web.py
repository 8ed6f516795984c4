"""What the Jinja2 templates print is what Django's templates print (helpline.web), and the rows helpers read
back what the ORM reads (helpline.rows)."""

import datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from django.db import connection
from django.template.defaultfilters import date as django_date
from django.urls import NoReverseMatch, reverse, set_script_prefix
from django.utils import timezone, translation
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]

from accounts import backends
from accounts.models import User
from cases.models import Case, Status
from helpline import rows
from helpline.web import _as_django_prints, _date, _display, dates, links, url_for

MOMENTS = [
    datetime.datetime(2026, 1, 5, 0, 7, tzinfo=datetime.UTC),
    datetime.datetime(2026, 3, 29, 0, 59, tzinfo=datetime.UTC),  # the night the clocks go forward in Rome
    datetime.datetime(2026, 10, 25, 1, 30, tzinfo=datetime.UTC),  # and back
    datetime.datetime(987, 12, 31, 23, 59, tzinfo=ZoneInfo("Australia/Sydney")),
]
FORMATS = ["j M Y H:i", "j M H:i", "j M Y", "d/m/Y", "D j F Y", r"j \d\e M", "H:i", "N j, Y"]


@pytest.mark.parametrize("language", ["en", "it"])
def test_dates_print_as_djangos_date_filter_prints_them(language: str) -> None:
    with translation.override(language), timezone.override("Europe/Rome"):
        for moment in MOMENTS:
            for format in FORMATS:
                assert _date(moment, format) == django_date(template_localtime(moment), format), (moment, format)
        for format in ("j M Y", "d/m/Y"):
            assert _date(datetime.date(2026, 5, 9), format) == django_date(datetime.date(2026, 5, 9), format)
        assert _date(None, "j M Y") == django_date(None, "j M Y") == ""
        assert _date("", "j M Y") == ""


def _drawn(draw: Any, *values: Any) -> Any:
    """What is drawn, or the error, as Django refuses a time of day for a date."""
    try:
        return draw(*values)
    except TypeError as error:
        return str(error)


@pytest.mark.parametrize("language", ["en", "it"])
def test_a_lists_dates_print_as_the_date_filter(language: str) -> None:
    naive = datetime.datetime(2026, 5, 9, 14, 30)
    values = [*MOMENTS, naive, datetime.date(2026, 5, 9), None, ""]
    with translation.override(language), timezone.override("Europe/Rome"):
        for format in FORMATS:
            draw = dates(format)
            for value in values:
                assert _drawn(draw, value) == _drawn(_date, value, format), (value, format)
        assert dates("j M Y")(datetime.date(2026, 5, 9)) == django_date(datetime.date(2026, 5, 9), "j M Y")


@pytest.mark.parametrize("language", ["en", "it"])
def test_choice_labels_are_djangos_display(language: str) -> None:
    with translation.override(language):
        for status in [*Status.values, "unknown", ""]:
            case = Case(status=status)
            assert _display(case, "status") == case.get_status_display()


def test_values_print_as_django_prints_them() -> None:
    with translation.override("it"):
        assert _as_django_prints(1234567) == "1234567"
        assert _as_django_prints(True) == "True"
        assert _as_django_prints(1.5) == "1,5"
        assert _as_django_prints('l\'amico "x"') == "l&#x27;amico &quot;x&quot;"
        assert _as_django_prints("<b>") == "<b>"  # Jinja2 escapes it as Django does


@pytest.mark.django_db
@pytest.mark.parametrize("prefix", ["/", "/helpline/"])
def test_links_are_djangos_reverse(prefix: str) -> None:
    set_script_prefix(prefix)
    try:
        for name, args in [
            ("case_detail", (0,)),
            ("case_detail", (7,)),
            ("case_detail", (9_223_372_036_854_775_807,)),
            ("case_step_update", (12, 345)),
            ("referral_detail", (3,)),
            ("case_list", ()),
            ("drafts:save", ()),
        ]:
            assert url_for(name, *args) == reverse(name, args=args)
        assert url_for("case_detail", 7).startswith(prefix)
        # A list's links, each with its row's id.
        for id in (0, 7, 9_876_543_210, 2**63 - 1):
            assert links("case_detail")(id) == links("referral_detail")(id).replace("referrals", "cases")
            assert links("case_detail")(id) == reverse("case_detail", args=[id])
        assert links("case_detail")("7") == reverse("case_detail", args=["7"])
        with pytest.raises(NoReverseMatch):
            links("case_detail")(-1)
        # What is not an id goes to Django's reverse, which refuses what the URL does not take.
        assert url_for("case_detail", "7") == reverse("case_detail", args=["7"])
        for refused in [(-1,), (True,), (1, 2)]:
            with pytest.raises(NoReverseMatch):
                url_for("case_detail", *refused)
    finally:
        set_script_prefix("/")


def test_a_query_compiled_once_reads_as_the_orm(personas: dict[str, User]) -> None:
    by_name = rows.compiled_once(
        lambda organisation, username: User.objects.select_related("organisation").filter(
            organisation_id=organisation, username=username
        )
    )
    for user in personas.values():
        found = by_name(user.organisation_id, user.username)
        assert [(u.pk, u.username, u.organisation.name) for u in found] == [
            (user.pk, user.username, user.organisation.name)
        ]
    worker, outsider = personas["worker"], personas["other_worker"]
    assert by_name(outsider.organisation_id, worker.username) == []  # each value in its own place


@pytest.mark.django_db
def test_split_reads_models_one_after_the_other(personas: dict[str, User]) -> None:
    worker = personas["worker"]
    sql = f"SELECT {rows.columns(User, 'u')}, 42 FROM accounts_user u WHERE u.id = %s"  # noqa: S608
    with rows.prepared_cursor() as cursor:
        cursor.execute(sql, [worker.pk])
        user, answer = rows.split(cursor.fetchone(), User)
    assert (user.pk, user.username, user.organisation_id, answer) == (worker.pk, "alice", worker.organisation_id, 42)
    assert rows.split([None] * len(User._meta.concrete_fields), User) == [None]  # an outer join that found none


@pytest.mark.django_db(transaction=True)
def test_a_prepared_read_replaces_a_connection_that_died_between_requests(personas: dict[str, User]) -> None:
    """As Django's own cursors do (CONN_HEALTH_CHECKS): a kept connection whose server went away is replaced."""
    worker = personas["worker"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    parameters = {key: value for key, value in connection.get_connection_params().items() if key != "context"}
    with psycopg.connect(**parameters, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    connection.close_if_unusable_or_obsolete()  # as every request starts
    assert [user.pk for user in backends._user_as_pages_read_them(worker.pk)] == [worker.pk]

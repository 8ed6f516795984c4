"""The notifications page: only one's own, marking read, and the counter."""

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from notifications.context_processors import unread_count
from notifications.models import Kind, Notification
from tests.notifications.conftest import open_case, overdue_step

pytestmark = pytest.mark.django_db


def notify(user: User, text: str, code: str = "notif-view") -> Notification:
    step = overdue_step(open_case(user), code=code)
    return Notification.objects.create(
        recipient=user,
        kind=Kind.STEP_OVERDUE,
        case=step.case,
        step=step,
        subject_key=f"step:{step.pk}",
        day=timezone.localdate(),
        text=text,
    )


@pytest.fixture
def notes(personas: dict[str, User]) -> dict[str, Notification]:
    return {
        "mine": notify(personas["worker"], "MINE-1"),
        "mine_too": notify(personas["worker"], "MINE-2", code="notif-view-2"),
        "colleague": notify(personas["supervisor"], "COLLEAGUE"),
        "other_org": notify(personas["other_worker"], "OTHER-ORG"),
    }


def test_the_page_lists_only_my_own(client_for: Callable[[str], Client], notes: dict[str, Notification]) -> None:
    response = client_for("worker").get(reverse("notification_list"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "MINE-1" in page and "MINE-2" in page
    assert "COLLEAGUE" not in page and "OTHER-ORG" not in page
    assert page.index("MINE-2") < page.index("MINE-1")  # newest first
    assert page.count('class="unread"') == 2


@pytest.mark.parametrize("persona", ["supervisor", "analyst", "administrator", "other_administrator"])
def test_every_role_has_a_page_showing_nobody_elses(
    persona: str, client_for: Callable[[str], Client], notes: dict[str, Notification]
) -> None:
    response = client_for(persona).get(reverse("notification_list"))
    assert response.status_code == 200
    assert "MINE-1" not in response.content.decode()


def test_marking_one_read(client_for: Callable[[str], Client], notes: dict[str, Notification]) -> None:
    client = client_for("worker")
    response = client.post(reverse("notification_read", args=[notes["mine"].pk]))
    assert response.status_code == 302
    notes["mine"].refresh_from_db()
    notes["mine_too"].refresh_from_db()
    assert notes["mine"].read_at is not None
    assert notes["mine_too"].read_at is None
    assert client.get(reverse("notification_list")).content.decode().count('class="unread"') == 1


@pytest.mark.parametrize("whose", ["colleague", "other_org"])
def test_nobody_marks_anothers_notification(
    whose: str, client_for: Callable[[str], Client], notes: dict[str, Notification]
) -> None:
    response = client_for("worker").post(reverse("notification_read", args=[notes[whose].pk]))
    assert response.status_code == 404
    notes[whose].refresh_from_db()
    assert notes[whose].read_at is None


def test_marking_all_read_marks_only_mine(client_for: Callable[[str], Client], notes: dict[str, Notification]) -> None:
    response = client_for("worker").post(reverse("notification_read_all"))
    assert response.status_code == 302
    unread = set(Notification.objects.filter(read_at__isnull=True).values_list("text", flat=True))
    assert unread == {"COLLEAGUE", "OTHER-ORG"}


@pytest.mark.parametrize("name", ["notification_read_all", "notification_read"])
def test_marking_is_post_only(name: str, client_for: Callable[[str], Client], notes: dict[str, Notification]) -> None:
    args = [notes["mine"].pk] if name == "notification_read" else []
    assert client_for("worker").get(reverse(name, args=args)).status_code == 405


def test_the_counter_is_one_query(
    personas: dict[str, User], notes: dict[str, Notification], django_assert_num_queries: Any
) -> None:
    request = RequestFactory().get("/")
    request.user = personas["worker"]
    with django_assert_num_queries(1):
        assert unread_count(request) == {"unread_notifications": 2}


def test_the_counter_in_the_navigation(
    settings: Any, client_for: Callable[[str], Client], notes: dict[str, Notification]
) -> None:
    processors = settings.TEMPLATES[0]["OPTIONS"]["context_processors"]
    if "notifications.context_processors.unread_count" not in processors:
        settings.TEMPLATES = [
            {
                **settings.TEMPLATES[0],
                "OPTIONS": {"context_processors": [*processors, "notifications.context_processors.unread_count"]},
            }
        ]
    response = client_for("worker").get(reverse("notification_list"))
    assert response.context["unread_notifications"] == 2

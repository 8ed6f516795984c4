"""Every filter and cursor of the case list, on the page and the API, answers 200 or a 400 naming it, never a 500.

The property tests send values at and around the edges of each date and number filter, and arbitrary text and
arbitrary decoded positions as cursors.
"""

from base64 import b64encode
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import hypothesis
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import strategies as st

from accounts.models import User
from cases import services
from cases.filters import FILTER_EARLIEST, FILTER_LATEST
from cases.models import Case

pytestmark = pytest.mark.django_db

EXAMPLES = hypothesis.settings(
    max_examples=20,
    deadline=None,
    derandomize=True,  # the same values on every run
    database=None,
    suppress_health_check=[hypothesis.HealthCheck.too_slow],
)
DATE_FILTERS = ["contact_from", "contact_to", "contacted_since"]
ID_FILTERS = ["assigned_to", "referral_owner", "contacted_by"]
BIGINT = 2**63 - 1


def near(edges: list[int], spread: int = 2) -> st.SearchStrategy[int]:
    """Integers at and just around each edge."""
    return st.sampled_from(edges).flatmap(lambda edge: st.integers(edge - spread, edge + spread))


def days_near(edges: list[date]) -> st.SearchStrategy[date]:
    ordinals = near([edge.toordinal() for edge in edges])
    return ordinals.filter(lambda n: 1 <= n <= date.max.toordinal()).map(date.fromordinal)


EDGE_DAYS = [date.min, FILTER_EARLIEST, timezone.localdate(), FILTER_LATEST, date.max]
DAYS = st.one_of(days_near(EDGE_DAYS), st.dates())


def positions() -> st.SearchStrategy[str]:
    """Date-and-time texts at the ends of the calendar, with impossible parts and offsets PostgreSQL refuses."""
    return st.builds(
        "{:04d}-{:02d}-{:02d}{}{:02d}:{:02d}:00{}".format,
        st.sampled_from([1, 1999, 2000, 2026, 9999]),
        st.integers(0, 13),
        st.integers(0, 32),
        st.sampled_from(["T", " "]),
        st.integers(0, 24),
        st.integers(0, 60),
        st.sampled_from(["", "Z", "+00:00", "+14:00", "-14:00", "+15:59", "+16:00", "-23:59", "+2359"]),
    )


def api_cursors() -> st.SearchStrategy[str]:
    """DRF cursors (base64 of o, r and p) holding any position, and any text at all."""
    decoded = st.builds(
        lambda o, r, p: urlencode({"o": o, "r": r, "p": p}),
        st.one_of(near([0, 1000]), st.text(max_size=5)),
        st.one_of(st.sampled_from(["0", "1", "2"]), st.text(max_size=3)),
        st.one_of(positions(), st.text(max_size=30)),
    )
    return st.one_of(decoded.map(lambda text: b64encode(text.encode()).decode()), st.text(max_size=60))


def page_cursors() -> st.SearchStrategy[str]:
    """The page's cursor, "position|id", with any position and id, and any text at all."""
    ids = st.one_of(near([0, BIGINT]).map(str), st.text(max_size=5))
    return st.one_of(st.builds("{}|{}".format, positions(), ids), st.text(max_size=60))


@pytest.fixture
def surfaces(client_for: Callable[[str], Client]) -> dict[str, tuple[Client, str]]:
    """The case list as a page and as the API, for a worker."""
    client = client_for("worker")
    return {"page": (client, reverse("case_list")), "api": (client, reverse("api-case-list"))}


def refused_naming(response: Any, surface: str, parameter: str) -> bool:
    """A 400 whose JSON names the parameter (API), or the page again with a visible error."""
    if response.status_code != 400:
        return False
    if surface == "api":
        return parameter in response.json()
    return 'role="alert"' in response.content.decode()


@pytest.mark.parametrize("surface", ["page", "api"])
def test_the_reported_contact_to_answers_400(surfaces: dict[str, tuple[Client, str]], surface: str) -> None:
    client, url = surfaces[surface]
    response = client.get(url, {"contact_to": "9999-12-31"})
    assert refused_naming(response, surface, "contact_to")
    assert "Enter a date from" in response.content.decode()


@pytest.mark.parametrize("surface", ["page", "api"])
@pytest.mark.parametrize("name", DATE_FILTERS)
def test_date_filters_at_and_around_their_edges(
    surfaces: dict[str, tuple[Client, str]], surface: str, name: str
) -> None:
    client, url = surfaces[surface]

    @EXAMPLES
    @hypothesis.example(day=FILTER_LATEST + timedelta(days=1))
    @hypothesis.example(day=date.max)
    @hypothesis.example(day=date.min)
    @hypothesis.given(day=DAYS)
    def check(day: date) -> None:
        response = client.get(url, {name: day.isoformat()})
        if FILTER_EARLIEST <= day <= FILTER_LATEST:
            assert response.status_code == 200, day
        else:
            assert refused_naming(response, surface, name), (day, response.status_code)

    check()


@pytest.mark.parametrize("surface", ["page", "api"])
@pytest.mark.parametrize("name", [*DATE_FILTERS, "reference", "status", "risk_level", "platform", "mine", "overdue"])
def test_any_text_in_a_filter_is_200_or_400(surfaces: dict[str, tuple[Client, str]], surface: str, name: str) -> None:
    client, url = surfaces[surface]

    @EXAMPLES
    @hypothesis.given(text=st.text(max_size=40))
    def check(text: str) -> None:
        response = client.get(url, {name: text})
        assert response.status_code == 200 or refused_naming(response, surface, name), (text, response.status_code)

    check()


@pytest.mark.parametrize("surface", ["page", "api"])
def test_days_without_contact_at_and_around_their_edges(surfaces: dict[str, tuple[Client, str]], surface: str) -> None:
    client, url = surfaces[surface]

    @EXAMPLES
    @hypothesis.given(days=st.one_of(near([0, 1, 365, BIGINT]), st.integers()))
    def check(days: int) -> None:
        response = client.get(url, {"no_contact_days": str(days)})
        if 1 <= days <= 365:
            assert response.status_code == 200, days
        else:
            assert refused_naming(response, surface, "no_contact_days"), (days, response.status_code)

    check()


@pytest.mark.parametrize("surface", ["page", "api"])
@pytest.mark.parametrize("name", ID_FILTERS)
def test_person_filters_take_only_a_colleague(
    surfaces: dict[str, tuple[Client, str]], surface: str, name: str, personas: dict[str, User]
) -> None:
    client, url = surfaces[surface]
    colleagues = {user.pk for user in User.objects.filter(organisation=personas["worker"].organisation)}
    assert client.get(url, {name: personas["supervisor"].pk}).status_code == 200

    @EXAMPLES
    @hypothesis.given(user_id=st.one_of(near([0, personas["other_worker"].pk, BIGINT]), st.integers()))
    def check(user_id: int) -> None:
        response = client.get(url, {name: str(user_id)})
        if user_id in colleagues:
            assert response.status_code == 200, user_id
        else:
            assert refused_naming(response, surface, name), (user_id, response.status_code)

    check()


def test_the_reported_api_cursor_answers_400(client_for: Callable[[str], Client]) -> None:
    response = client_for("worker").get(reverse("api-case-list"), {"cursor": "cD0yMDI2LTEzLTAx"})  # p=2026-13-01
    assert (response.status_code, response.json()) == (400, {"cursor": ["Invalid cursor"]})


def test_any_api_cursor_is_200_or_400(client_for: Callable[[str], Client]) -> None:
    client = client_for("worker")

    @EXAMPLES
    @hypothesis.given(cursor=api_cursors())
    def check(cursor: str) -> None:
        response = client.get(reverse("api-case-list"), {"cursor": cursor})
        assert response.status_code == 200 or response.json() == {"cursor": ["Invalid cursor"]}, cursor

    check()


def test_any_page_cursor_is_200_or_400(client_for: Callable[[str], Client]) -> None:
    client = client_for("worker")

    @EXAMPLES
    @hypothesis.given(cursor=page_cursors())
    def check(cursor: str) -> None:
        response = client.get(reverse("case_list"), {"before": cursor})
        assert response.status_code in (200, 400), cursor
        if response.status_code == 400:
            assert "This link to older cases is not valid" in response.content.decode()

    check()


def test_a_page_cursor_with_an_impossible_date_shows_the_newest_cases_and_says_so(
    client_for: Callable[[str], Client], personas: dict[str, User]
) -> None:
    case = services.case_open(actor=personas["worker"], facts={})
    response = client_for("worker").get(reverse("case_list"), {"before": f"2026-13-01T00:00:00+00:00|{case.pk}"})
    assert response.status_code == 400
    assert "This link to older cases is not valid; the newest cases are shown." in response.content.decode()
    assert [c.pk for c in response.context["cases"]] == [case.pk]


def open_cases(worker: User, count: int) -> list[Case]:
    start = timezone.now() - timedelta(days=count)
    return [
        services.case_open(actor=worker, facts={"first_contact_at": start + timedelta(days=n)}) for n in range(count)
    ]


def test_the_api_cursors_it_hands_out_still_work(
    client_for: Callable[[str], Client], personas: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    from cases.api import CasePagination

    monkeypatch.setattr(CasePagination, "page_size", 2)
    cases = open_cases(personas["worker"], 5)
    client = client_for("worker")
    seen, url = [], reverse("api-case-list")
    while url:
        body = client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert seen == [case.pk for case in reversed(cases)]
    back = client.get(body["previous"]).json()  # a reversed cursor with a position
    assert [row["id"] for row in back["results"]] == [cases[2].pk, cases[1].pk]


def test_the_page_cursors_it_hands_out_still_work(
    client_for: Callable[[str], Client], personas: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("cases.views.PAGE_SIZE", 2)
    cases = open_cases(personas["worker"], 5)
    client = client_for("worker")
    seen, before = [], ""
    while True:
        response = client.get(reverse("case_list"), {"before": before} if before else {})
        assert response.status_code == 200
        seen += [case.pk for case in response.context["cases"]]
        before = response.context["following"]
        if not before:
            break
    assert seen == [case.pk for case in reversed(cases)]


def test_the_date_filters_keep_their_first_and_last_day(
    client_for: Callable[[str], Client], personas: dict[str, User]
) -> None:
    first = services.case_open(
        actor=personas["worker"], facts={"first_contact_at": timezone.make_aware(datetime(2000, 1, 1, 12))}
    )
    client = client_for("worker")
    everything = {"contact_from": FILTER_EARLIEST.isoformat(), "contact_to": FILTER_LATEST.isoformat()}
    assert [row["id"] for row in client.get(reverse("api-case-list"), everything).json()["results"]] == [first.pk]
    assert client.get(reverse("api-case-list"), {"contact_to": "1999-12-31"}).status_code == 400

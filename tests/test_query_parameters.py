"""Query parameters outside the case and referral lists: the board's days, page numbers and the admin's filters.

Each answers 200, or 400 (a redirect to the flagged list in the admin, as Django answers any wrong filter there),
never a 500. The lists' own filters and cursors are tested beside them (tests/cases, tests/referrals, tests/reports).
"""

from collections.abc import Callable
from typing import Any

import hypothesis
import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import strategies as st

from accounts.models import User
from cases import services
from tests.cases.test_query_parameters import BIGINT, EXAMPLES, near

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["supervision:board", "api-workload"])
def test_days_without_contact_at_and_around_their_edges(client_for: Callable[[str], Client], url: str) -> None:
    client = client_for("supervisor")

    @EXAMPLES
    @hypothesis.given(days=st.one_of(near([0, 1, 365, BIGINT]), st.integers()))
    def check(days: int) -> None:
        response = client.get(reverse(url), {"days": str(days)})
        assert response.status_code == (200 if 1 <= days <= 365 else 400), days

    check()


def paged_urls(personas: dict[str, User]) -> list[str]:
    case = services.case_open(actor=personas["worker"], facts={})
    return [
        reverse("referral_list"),
        reverse("closure_request_list"),
        reverse("case_access_log", args=[case.pk]),
        reverse("supervision:worker_cases", args=[personas["worker"].pk]),
        reverse("imports:list"),
        reverse("reports:snapshot_list"),
    ]


def test_any_page_number_shows_a_page(client_for: Callable[[str], Client], personas: dict[str, User]) -> None:
    client = client_for("supervisor")
    urls = paged_urls(personas)

    @EXAMPLES
    @hypothesis.given(page=st.one_of(near([0, 1, BIGINT]).map(str), st.text(max_size=20)))
    def check(page: str) -> None:
        for url in urls:
            assert client.get(url, {"page": page}).status_code == 200, (url, page)

    check()


ACCESS_LOG = "/admin/audit/accesslog/"


@pytest.mark.parametrize(
    "query",
    [
        {"at__year": "9999"},
        {"at__year": "9999", "at__month": "12"},
        {"at__year": "9999", "at__month": "12", "at__day": "31"},
        {"action": "view\x00"},
        {"object_type\x00": "x"},
    ],
)
def test_a_wrong_admin_filter_is_flagged_not_a_server_error(
    client_for: Callable[[str], Client], query: dict[str, str]
) -> None:
    response = client_for("administrator").get(ACCESS_LOG, query)
    assert (response.status_code, response["Location"]) == (302, f"{ACCESS_LOG}?e=1")


def test_admin_date_hierarchy_at_and_around_the_ends_of_the_calendar(client_for: Callable[[str], Client]) -> None:
    client = client_for("administrator")

    @EXAMPLES
    @hypothesis.given(
        year=near([0, 1, 2000, 9999]),
        month=st.one_of(st.none(), st.integers(0, 13)),
        day=st.one_of(st.none(), st.integers(0, 32)),
    )
    def check(year: int, month: int | None, day: int | None) -> None:
        query: dict[str, Any] = {"at__year": year}
        if month is not None:
            query["at__month"] = month
            if day is not None:
                query["at__day"] = day
        response = client.get(ACCESS_LOG, query)
        assert response.status_code in (200, 302), (query, response.status_code)

    check()


def test_a_sound_admin_date_filter_still_filters(client_for: Callable[[str], Client]) -> None:
    assert client_for("administrator").get(ACCESS_LOG, {"at__year": "2026", "at__month": "1"}).status_code == 200

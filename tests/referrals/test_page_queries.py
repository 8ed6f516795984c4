"""The referral list and a referral's page run a fixed number of queries, however many referrals there are.

Their speed is measured at a million cases by ``manage.py benchmark_cases``; see tests/cases/test_page_queries.py.
"""

from typing import Any

import pytest
from django.urls import reverse

from accounts.models import User
from referrals.models import Referral
from tests.cases.test_page_queries import busy_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def referrals(personas: dict[str, User]) -> list[Referral]:
    for n in range(3):
        busy_case(personas["worker"], reference_handle=f"@handle_{n}")
    busy_case(personas["supervisor"], reference_handle="@supervised")
    return list(Referral.objects.order_by("pk"))


@pytest.mark.parametrize("query", ["", "scope=all", "scope=all&status=sent", "overdue=1"])
def test_the_referral_list_runs_a_fixed_number_of_queries(
    client_for: Any, referrals: list[Referral], query: str, django_assert_max_num_queries: Any
) -> None:
    client = client_for("worker")
    # Session, user (with the unread notifications); the access-log row; one page of referrals with their cases,
    # agencies and owners (no count: one row more than a page says whether another follows); the agencies of the
    # filter.
    with django_assert_max_num_queries(5):
        page = client.get(f"{reverse('referral_list')}?{query}")
    assert page.status_code == 200


def test_the_referral_list_pages_as_the_paginator_did(
    client_for: Any, referrals: list[Referral], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Newer and older links, and a page number that is no page, as from ``Paginator.get_page``."""
    from referrals import views

    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    client = client_for("worker")
    newest_first = [reverse("referral_detail", args=[r.pk]) for r in sorted(referrals, key=lambda r: r.pk)][::-1]

    def shown(page: str) -> tuple[list[str], bool, bool]:
        html = client.get(reverse("referral_list"), {"scope": "all", "page": page}).content.decode()
        return [link for link in newest_first if link in html], "Newer" in html, "Older" in html

    last = newest_first[(len(newest_first) - 1) // 3 * 3 :]
    assert len(newest_first) == 8
    assert shown("1") == shown("x") == shown("") == (newest_first[:3], False, True)
    assert shown("2") == (newest_first[3:6], True, True)
    assert shown("3") == shown("99") == shown("0") == shown("-1") == shown(str(2**64)) == (last, True, False)


def test_a_referral_page_runs_a_fixed_number_of_queries(
    client_for: Any, referrals: list[Referral], django_assert_max_num_queries: Any
) -> None:
    takedown = next(r for r in referrals if r.kind == "takedown" and r.items.exists())
    client = client_for("worker")
    # Session, user, authenticator, permissions; the referral with its case, agency and owner; the access-log
    # row; its moves; its items; the unread notifications; the platforms of the item form.
    with django_assert_max_num_queries(10):
        page = client.get(reverse("referral_detail", args=[takedown.pk]))
    assert page.status_code == 200
    assert "https://instagram.com/p/2" in page.content.decode()

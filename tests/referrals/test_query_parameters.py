"""Every filter, page number and cursor of the referral list, on the page and the API: 200 or 400, never a 500."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import hypothesis
import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import strategies as st

from accounts.models import User
from cases import services as case_services
from referrals import services
from referrals.models import Agency, Referral
from tests.cases.test_query_parameters import BIGINT, EXAMPLES, api_cursors, near

pytestmark = pytest.mark.django_db


def draft(worker: User, agency: str) -> Referral:
    case = case_services.case_open(actor=worker, facts={})
    return services.referral_create(actor=worker, case=case, kind="police", agency=Agency.objects.get(code=agency))


def test_the_reported_api_cursor_answers_400(client_for: Callable[[str], Client]) -> None:
    response = client_for("worker").get(reverse("api-referral-list"), {"cursor": "cD0yMDI2LTEzLTAx"})  # p=2026-13-01
    assert (response.status_code, response.json()) == (400, {"cursor": ["Invalid cursor"]})


def test_any_api_cursor_is_200_or_400(client_for: Callable[[str], Client]) -> None:
    client = client_for("worker")

    @EXAMPLES
    @hypothesis.given(cursor=api_cursors())
    def check(cursor: str) -> None:
        response = client.get(reverse("api-referral-list"), {"cursor": cursor})
        assert response.status_code == 200 or response.json() == {"cursor": ["Invalid cursor"]}, cursor

    check()


def test_the_api_cursors_it_hands_out_still_work(
    client_for: Callable[[str], Client], personas: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    from referrals.api import ReferralPagination

    monkeypatch.setattr(ReferralPagination, "page_size", 2)
    referrals = [draft(personas["worker"], "polizia_postale") for _ in range(5)]
    client = client_for("worker")
    seen, url = [], reverse("api-referral-list")
    while url:
        body = client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert seen == [referral.pk for referral in reversed(referrals)]


@pytest.mark.parametrize(
    ("name", "wrong"),
    [("status", "lost"), ("mine", "perhaps"), ("agency", "ceop\x00")],
)
def test_a_wrong_api_filter_is_a_400_naming_it(client_for: Callable[[str], Client], name: str, wrong: str) -> None:
    response = client_for("worker").get(reverse("api-referral-list"), {name: wrong})
    assert response.status_code == 400
    assert list(response.json()) == [name]


def test_api_filters_still_filter(client_for: Callable[[str], Client], personas: dict[str, User]) -> None:
    mine = draft(personas["worker"], "polizia_postale")
    theirs = draft(personas["supervisor"], "ceop")
    client = client_for("worker")

    def ids(**query: str) -> list[int]:
        return [row["id"] for row in client.get(reverse("api-referral-list"), query).json()["results"]]

    assert ids() == [theirs.pk, mine.pk]
    assert ids(mine="true") == [mine.pk]
    assert ids(agency="ceop") == [theirs.pk]
    assert ids(status="draft", mine="false") == [theirs.pk, mine.pk]
    assert ids(status="sent") == []


@pytest.mark.parametrize("name", ["scope", "status", "agency", "overdue", "page"])
def test_any_text_in_a_page_parameter_is_200_or_400(client_for: Callable[[str], Client], name: str) -> None:
    client = client_for("worker")

    @EXAMPLES
    @hypothesis.given(text=st.text(max_size=40))
    def check(text: str) -> None:
        response = client.get(reverse("referral_list"), {name: text})
        assert response.status_code in (200, 400), (text, response.status_code)
        if response.status_code == 400:
            assert 'role="alert"' in response.content.decode()

    check()


def test_agency_ids_at_and_around_their_edges(client_for: Callable[[str], Client]) -> None:
    client = client_for("worker")

    @EXAMPLES
    @hypothesis.example(agency_id=BIGINT + 1)
    @hypothesis.given(agency_id=st.one_of(near([0, 1, BIGINT]), st.integers()))
    def check(agency_id: int) -> None:
        response = client.get(reverse("referral_list"), {"scope": "all", "agency": str(agency_id)})
        assert response.status_code == (200 if 1 <= agency_id <= BIGINT else 400), agency_id

    check()


def test_the_reported_kinds_of_wrong_value_show_the_page_with_the_error(
    client_for: Callable[[str], Client], personas: dict[str, User]
) -> None:
    mine = draft(personas["worker"], "polizia_postale")
    client = client_for("worker")
    for wrong, label in (({"agency": "²"}, "Agency"), ({"status": "lost"}, "Status"), ({"scope": "everyone"}, "Whose")):
        response = client.get(reverse("referral_list"), wrong)
        assert response.status_code == 400, wrong
        assert 'role="alert"' in response.content.decode()
        assert f"<li>{label}: " in response.content.decode()  # named as the filter is on the page
        assert [referral.pk for referral in response.context["page"]] == [mine.pk]  # the other filters still apply
    page = client.get(reverse("referral_list"), {"agency": str(mine.agency_id), "overdue": "false"})
    assert page.status_code == 200
    assert [referral.pk for referral in page.context["page"]] == [mine.pk]


def test_the_overdue_filter_of_the_page(client_for: Callable[[str], Client], personas: dict[str, User]) -> None:
    late = draft(personas["worker"], "polizia_postale")
    Referral.objects.filter(pk=late.pk).update(
        status="sent", consent="victim", follow_up_on=late.created_at.date() - timedelta(days=1)
    )
    draft(personas["worker"], "ceop")
    page: Any = client_for("worker").get(reverse("referral_list"), {"overdue": "1"})
    assert [referral.pk for referral in page.context["page"]] == [late.pk]

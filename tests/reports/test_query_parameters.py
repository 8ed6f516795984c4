"""Every report parameter, on the page and the API, answers 200 or a 400 naming it, never a 500."""

from collections.abc import Callable
from typing import Any

import hypothesis
import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import strategies as st

from accounts.models import User
from tests.cases.test_query_parameters import BIGINT, EXAMPLES, near

pytestmark = pytest.mark.django_db

SURFACES = {"page": "reports:report", "api": "api-report"}


def refused(response: Any, surface: str, parameter: str) -> bool:
    """A 400 whose JSON names the parameter (API), or the page again with the error at its field."""
    if response.status_code != 400:
        return False
    if surface == "api":
        return parameter in response.json()["errors"]
    return parameter in response.context["form"].errors


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("name", ["start", "end"])
def test_the_year_zero_is_a_400(client_for: Callable[[str], Client], surface: str, name: str) -> None:
    response = client_for("supervisor").get(reverse(SURFACES[surface]), {name: "0000-01"})
    assert refused(response, surface, name)


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("name", ["start", "end"])
def test_months_at_and_around_their_edges(client_for: Callable[[str], Client], surface: str, name: str) -> None:
    client = client_for("supervisor")

    @EXAMPLES
    @hypothesis.given(year=st.one_of(near([0, 1999, 2000, 9999]), st.integers(0, 9999)), month=st.integers(0, 13))
    def check(year: int, month: int) -> None:
        response = client.get(reverse(SURFACES[surface]), {name: f"{year:04d}-{month:02d}"})
        if year < 2000 or not 1 <= month <= 12:
            assert refused(response, surface, name), (year, month, response.status_code)
        else:
            assert response.status_code in (200, 400), (year, month)  # a valid month, maybe not with the other

    check()


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize(
    "name", ["start", "end", "granularity", "age_scheme", "bands", "platform", "sextortion_type", "region"]
)
def test_any_text_in_a_parameter_is_200_or_400(client_for: Callable[[str], Client], surface: str, name: str) -> None:
    client = client_for("supervisor")

    @EXAMPLES
    @hypothesis.given(text=st.text(max_size=20))
    def check(text: str) -> None:
        query = {name: text, "age_scheme": "custom"} if name == "bands" else {name: text}
        response = client.get(reverse(SURFACES[surface]), query)
        assert response.status_code == 200 or refused(response, surface, name), (text, response.status_code)

    check()


@pytest.mark.parametrize("surface", SURFACES)
def test_organisation_ids_at_and_around_their_edges(
    client_for: Callable[[str], Client], personas: dict[str, User], surface: str
) -> None:
    client = client_for("supervisor")
    own = personas["supervisor"].organisation_id

    @EXAMPLES
    @hypothesis.given(organisation=st.one_of(near([0, own, BIGINT]), st.integers()))
    def check(organisation: int) -> None:
        response = client.get(reverse(SURFACES[surface]), {"organisations": str(organisation)})
        if organisation == own:
            assert response.status_code == 200
        else:
            assert refused(response, surface, "organisations"), (organisation, response.status_code)

    check()

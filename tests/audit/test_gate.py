"""The gate: every refusal leaves exactly one row, whichever layer refused; what a client sends is stored cut short.

The permission table checks the rows of every page and endpoint for every role; these are the attacks that once
left no trace, performed as they were reported.
"""

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Organisation, User
from audit.models import AccessLog, Action
from audit.services import DETAIL_TEXT_LIMIT
from cases.services import case_open
from reports.models import Snapshot

pytestmark = pytest.mark.django_db
ClientFor = Callable[[str], Client]


def rows_after(last: int, actor: User) -> list[AccessLog]:
    """What the requests since ``last`` wrote about the actor (signing the test client in is not one of them)."""
    return list(AccessLog.objects.filter(id__gt=last, actor=actor).exclude(action=Action.LOGIN).order_by("id"))


def last_row() -> int:
    return AccessLog.objects.order_by("-id").values_list("id", flat=True).first() or 0


def snapshot_of(organisation: Organisation) -> Snapshot:
    return Snapshot.objects.create(
        organisation=organisation, title="Monthly", parameters={}, threshold=5, tables=[], tables_suppressed=[]
    )


@pytest.mark.parametrize("persona", ["analyst", "administrator"])
def test_a_role_refused_a_case_by_the_api_leaves_one_refusal_row(
    client_for: ClientFor, personas: dict[str, User], persona: str
) -> None:
    case = case_open(actor=personas["worker"], facts={})
    last = last_row()
    response = client_for(persona).get(reverse("api-case-detail", args=[case.pk]))
    assert response.status_code == 403
    [row] = rows_after(last, personas[persona])
    assert (row.action, row.object_type, row.object_id) == (Action.REFUSED, "cases.case", str(case.pk))


@pytest.mark.parametrize("name", ["api-report", "api-workload", "api-snapshot-list", "api-case-list"])
def test_a_worker_or_analyst_refused_an_api_endpoint_leaves_one_refusal_row(
    client_for: ClientFor, personas: dict[str, User], name: str
) -> None:
    persona = "analyst" if name == "api-case-list" else "worker"
    last = last_row()
    response = client_for(persona).get(reverse(name))
    assert response.status_code == 403
    assert [row.action for row in rows_after(last, personas[persona])] == [Action.REFUSED]


def test_another_organisations_snapshot_is_refused_and_logged_on_page_and_api(
    client_for: ClientFor, personas: dict[str, User], other_org: Organisation
) -> None:
    foreign = snapshot_of(other_org)
    for url in (
        reverse("reports:snapshot_detail", args=[foreign.pk]),
        reverse("api-snapshot-detail", args=[foreign.pk]),
    ):
        last = last_row()
        assert client_for("analyst").get(url).status_code == 404
        [row] = rows_after(last, personas["analyst"])
        assert (row.action, row.object_type, row.object_id) == (Action.REFUSED, "reports.snapshot", str(foreign.pk))


@pytest.mark.parametrize("url", ["/reports/", "/reports/export/?format=csv", "/api/v1/reports/"])
def test_a_report_of_another_helpline_is_refused_and_logged(
    client_for: ClientFor, personas: dict[str, User], other_org: Organisation, url: str
) -> None:
    last = last_row()
    separator = "&" if "?" in url else "?"
    response = client_for("analyst").get(f"{url}{separator}organisations={other_org.pk}")
    assert response.status_code == 400
    [row] = rows_after(last, personas["analyst"])
    assert (row.action, row.object_type, row.object_id) == (Action.REFUSED, "accounts.organisation", str(other_org.pk))


def test_an_ordinary_mistake_in_a_report_is_not_a_refusal(client_for: ClientFor, personas: dict[str, User]) -> None:
    last = last_row()
    assert client_for("analyst").get("/reports/?start=2026-13").status_code == 400
    assert rows_after(last, personas["analyst"]) == []


def test_an_unknown_url_refused_to_a_signed_in_user_is_logged_once(
    client_for: ClientFor, personas: dict[str, User]
) -> None:
    last = last_row()
    assert client_for("worker").get("/cases/not-a-page/").status_code == 404
    [row] = rows_after(last, personas["worker"])
    assert (row.action, row.object_id) == (Action.REFUSED, "/cases/not-a-page/")


def test_a_refusal_inside_a_rolled_back_transaction_is_still_logged(
    client_for: ClientFor, personas: dict[str, User]
) -> None:
    """A worker's forged approval is refused inside the service's transaction; the row is written after it."""
    case = case_open(actor=personas["worker"], facts={"risk_level": "high"})
    last = last_row()
    response = client_for("worker").post(
        reverse("api-case-closure-decision", args=[case.pk]), {"decision": "approve"}, content_type="application/json"
    )
    assert response.status_code == 403
    [row] = rows_after(last, personas["worker"])
    assert (row.action, row.detail["closure"]) == (Action.REFUSED, "approve")


def test_a_long_query_string_is_stored_cut_short(client_for: ClientFor, personas: dict[str, User]) -> None:
    last = last_row()
    assert client_for("worker").get("/cases/", {"reference": "A" * 10_000}).status_code in (200, 400)
    rows = rows_after(last, personas["worker"])
    assert rows
    for row in rows:
        assert all(len(str(value)) <= DETAIL_TEXT_LIMIT for value in row.detail.values())
        assert len(row.object_id) <= 64


def test_a_long_path_refused_is_stored_cut_short(client_for: ClientFor, personas: dict[str, User]) -> None:
    last = last_row()
    assert client_for("worker").get("/cases/" + "9" * 5_000 + "/").status_code == 404
    [row] = rows_after(last, personas["worker"])
    assert len(row.object_id) <= 64


def test_anonymous_requests_write_nothing(client: Any) -> None:
    last = last_row()
    client.get("/no-such-page/")
    client.get("/api/v1/cases/")
    assert not AccessLog.objects.filter(id__gt=last).exists()

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from audit.models import AccessLog, Action
from supervision.selectors import workload
from tests.supervision.conftest import World

FIGURES = [
    "open_cases",
    "high_risk",
    "overdue_steps",
    "no_contact",
    "followups_overdue",
    "contacts_this_week",
    "median_age_days",
]


@pytest.mark.parametrize("persona", ["supervisor", "administrator"])
def test_supervisors_and_administrators_read_the_figures(
    world: World, client_for: Callable[[str], Client], persona: str
) -> None:
    response = client_for(persona).get(reverse("api-workload"), {"days": 30})
    assert response.status_code == 200
    data = response.json()
    board = workload(world.organisation, stale_days=30)
    assert data["organisation"] == {"id": world.organisation.pk, "name": world.organisation.name}
    assert data["stale_days"] == 30 and data["week_start"] == board.week_start.isoformat()
    assert [w["user"]["username"] for w in data["workers"]] == [w.user.username for w in board.workers]
    for got, want in zip(data["workers"], board.workers, strict=True):
        assert {k: got[k] for k in FIGURES} == {k: getattr(want, k) for k in FIGURES}
    assert {k: data["totals"][k] for k in FIGURES} == {k: v for k, v in asdict(board.totals).items() if k in FIGURES}
    assert data["unassigned"]["followups_overdue"] is None
    ivan = next(w for w in data["workers"] if w["user"]["username"] == "ivan")
    assert ivan["user"]["is_active"] is False and ivan["user"]["role"] == "worker"
    assert "reference" not in response.content.decode()  # figures only: no case is named
    log = AccessLog.objects.get(action=Action.VIEW, object_type="workload")
    assert log.object_id == str(world.organisation.pk) and log.detail == {"days": 30, "api": True}


def test_each_organisation_reads_only_its_own(
    world: World, client_for: Callable[[str], Client], personas: dict[str, User]
) -> None:
    data = client_for("other_administrator").get(reverse("api-workload")).json()
    assert data["organisation"]["name"] == "Other Helpline"
    assert [w["user"]["username"] for w in data["workers"]] == ["oscar"]
    assert data["totals"]["open_cases"] == 5


def test_asking_for_another_organisation_is_refused_and_logged(
    world: World, client_for: Callable[[str], Client], personas: dict[str, User]
) -> None:
    other = personas["other_worker"].organisation
    response = client_for("supervisor").get(reverse("api-workload"), {"organisation": other.pk})
    assert response.status_code == 403
    refused = AccessLog.objects.get(action=Action.REFUSED, object_type="workload")
    assert refused.object_id == str(other.pk) and refused.actor == personas["supervisor"]
    own = client_for("supervisor").get(reverse("api-workload"), {"organisation": world.organisation.pk})
    assert own.status_code == 200


@pytest.mark.parametrize("persona", ["worker", "analyst", "other_worker"])
def test_workers_and_analysts_get_403(world: World, client_for: Callable[[str], Client], persona: str) -> None:
    assert client_for(persona).get(reverse("api-workload")).status_code == 403


def test_anonymous_gets_401() -> None:
    assert Client().get(reverse("api-workload")).status_code == 401


@pytest.mark.parametrize("days", ["0", "366", "x"])
def test_bad_days_are_a_400_naming_the_parameter(world: World, client_for: Callable[[str], Client], days: str) -> None:
    response = client_for("supervisor").get(reverse("api-workload"), {"days": days})
    assert response.status_code == 400
    assert response.json() == {"days": ["Give a whole number of days from 1 to 365."]}


def test_the_schema_describes_the_endpoint(client_for: Callable[[str], Client]) -> None:
    schema: dict[str, Any] = (
        client_for("supervisor").get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    )
    operation = schema["paths"]["/api/v1/workload/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"days", "organisation"}
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Workload")
    workers = schema["components"]["schemas"]["Workload"]["properties"]["workers"]
    assert workers["items"]["$ref"].endswith("/WorkerFigures")
    case_list = schema["paths"]["/api/v1/cases/"]["get"]["parameters"]
    assert {"assigned_to", "open", "high_risk", "no_contact_days", "referral_followup_overdue"} <= {
        p["name"] for p in case_list
    }

"""Assign and bulk reassign: exactly the selected cases move, each with its timeline line and audit row."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from audit.models import AccessLog, Action
from cases.models import Case, CaseActivity, EventKind
from supervision.services import cases_reassign
from tests.factories import UserFactory
from tests.supervision.conftest import make_case


@pytest.fixture
def bob(personas: dict[str, User]) -> User:
    return UserFactory.create(username="bob", role=Role.WORKER, organisation=personas["worker"].organisation)


def cases_of(holder: User | None, organisation: Any, n: int, status: str = "open") -> list[Case]:
    creator = holder or User.objects.filter(organisation=organisation).first()
    assert creator is not None
    return [
        make_case(
            organisation,
            assigned_to=holder,
            first_contact_at=timezone.now() - timedelta(days=n - i),
            status=status,
            created_by=creator,
        )
        for i in range(n)
    ]


def post(client: Client, case_ids: list[Any], assign_to: Any, next_url: str = "/supervision/") -> Any:
    return client.post(reverse("supervision:reassign"), {"cases": case_ids, "assign_to": assign_to, "next": next_url})


def holders(cases: list[Case]) -> list[int | None]:
    return [Case.objects.get(pk=c.pk).assigned_to_id for c in cases]


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_bulk_reassign_moves_exactly_the_selected_cases(
    personas: dict[str, User], bob: User, client_for: Callable[[str], Client]
) -> None:
    alice, sofia = personas["worker"], personas["supervisor"]
    mine = cases_of(alice, alice.organisation, 5)
    chosen, kept = mine[:3], mine[3:]
    response = post(client_for("supervisor"), [c.pk for c in chosen], bob.pk, f"/supervision/workers/{alice.pk}/")
    assert response.status_code == 302 and response.url == f"/supervision/workers/{alice.pk}/"
    assert holders(chosen) == [bob.pk] * 3
    assert holders(kept) == [alice.pk] * 2
    for case in chosen:
        activity = CaseActivity.objects.get(case=case, kind=EventKind.ASSIGNED)
        assert activity.actor == sofia and activity.detail == {"from": "alice", "to": "bob"}
        log = AccessLog.objects.get(action=Action.CHANGE, object_type="cases.case", object_id=str(case.pk))
        assert log.actor == sofia and log.detail == {"assigned": {"from": "alice", "to": "bob"}}
    assert not CaseActivity.objects.filter(case__in=kept).exists()
    assert "3 cases given to bob." in messages_of(response)


def test_assigning_from_the_unassigned_queue_opens_new_cases(
    personas: dict[str, User], client_for: Callable[[str], Client]
) -> None:
    alice = personas["worker"]
    waiting = cases_of(None, alice.organisation, 3, status="new")
    response = post(client_for("supervisor"), [waiting[0].pk, waiting[2].pk], alice.pk)
    assert response.status_code == 302 and response.url == "/supervision/"
    assert holders(waiting) == [alice.pk, None, alice.pk]
    assert [Case.objects.get(pk=c.pk).status for c in waiting] == ["open", "new", "open"]


def test_cases_already_with_the_target_are_left_alone(
    personas: dict[str, User], bob: User, client_for: Callable[[str], Client]
) -> None:
    alice = personas["worker"]
    theirs = cases_of(bob, alice.organisation, 1)[0]
    other = cases_of(alice, alice.organisation, 1)[0]
    response = post(client_for("supervisor"), [theirs.pk, other.pk], bob.pk)
    assert holders([theirs, other]) == [bob.pk, bob.pk]
    assert not CaseActivity.objects.filter(case=theirs).exists()
    assert messages_of(response) == ["1 case given to bob. 1 was already with them."]


@pytest.mark.parametrize("target", ["other_organisation", "inactive", "analyst", "administrator", "nobody", "junk"])
def test_bad_targets_are_refused_and_nothing_changes(
    personas: dict[str, User], client_for: Callable[[str], Client], target: str
) -> None:
    alice = personas["worker"]
    mine = cases_of(alice, alice.organisation, 2)
    gone = UserFactory.create(username="gone", role=Role.WORKER, organisation=alice.organisation, is_active=False)
    target_id = {
        "other_organisation": personas["other_worker"].pk,
        "inactive": gone.pk,
        "analyst": personas["analyst"].pk,
        "administrator": personas["administrator"].pk,
        "nobody": "",
        "junk": "1 OR 1=1",
    }[target]
    response = post(client_for("supervisor"), [c.pk for c in mine], target_id)
    assert response.status_code == 302
    assert holders(mine) == [alice.pk, alice.pk]
    assert not CaseActivity.objects.filter(case__in=mine).exists()
    assert not AccessLog.objects.filter(action=Action.CHANGE).exists()
    text = " ".join(messages_of(response))
    assert "worker or supervisor of your organisation" in text or "Choose who should take" in text


def test_a_case_of_another_organisation_in_the_selection_refuses_the_whole_selection(
    personas: dict[str, User], bob: User, client_for: Callable[[str], Client]
) -> None:
    alice, oscar = personas["worker"], personas["other_worker"]
    mine = cases_of(alice, alice.organisation, 2)
    foreign = cases_of(oscar, oscar.organisation, 1)
    response = post(client_for("supervisor"), [mine[0].pk, foreign[0].pk, mine[1].pk], bob.pk)
    assert holders(mine) == [alice.pk, alice.pk]
    assert holders(foreign) == [oscar.pk]
    assert "1 of the selected cases was not found." in messages_of(response)
    refused = AccessLog.objects.get(action=Action.REFUSED, object_type="cases.case")
    assert refused.detail == {"reassign": [foreign[0].pk]} and refused.actor == personas["supervisor"]


@pytest.mark.parametrize("selection", [[], ["abc"], ["12x"], ["-4"]])
def test_a_missing_or_malformed_selection_is_refused(
    personas: dict[str, User], bob: User, client_for: Callable[[str], Client], selection: list[str]
) -> None:
    mine = cases_of(personas["worker"], personas["worker"].organisation, 1)
    response = post(client_for("supervisor"), selection, bob.pk)
    assert response.status_code == 302
    assert holders(mine) == [personas["worker"].pk]
    assert messages_of(response)


def test_a_selection_of_unknown_ids_is_refused(
    personas: dict[str, User], bob: User, client_for: Callable[[str], Client]
) -> None:
    response = post(client_for("supervisor"), [999_999_999], bob.pk)
    assert "1 of the selected cases was not found." in messages_of(response)


def test_the_way_back_stays_on_the_board(
    personas: dict[str, User], bob: User, client_for: Callable[[str], Client]
) -> None:
    mine = cases_of(personas["worker"], personas["worker"].organisation, 1)
    for elsewhere in ("https://evil.example/supervision/", "//evil.example/", "/cases/"):
        response = post(client_for("supervisor"), [mine[0].pk], bob.pk, elsewhere)
        assert response.url == "/supervision/"


@pytest.mark.parametrize("persona", ["worker", "analyst", "administrator", "other_worker", "other_administrator"])
def test_only_supervisors_may_reassign(
    personas: dict[str, User], bob: User, client_for: Callable[[str], Client], persona: str
) -> None:
    mine = cases_of(personas["worker"], personas["worker"].organisation, 1)
    response = post(client_for(persona), [mine[0].pk], bob.pk)
    assert response.status_code == 404
    assert holders(mine) == [personas["worker"].pk]
    assert AccessLog.objects.filter(action=Action.REFUSED, actor=personas[persona]).exists()


def test_anonymous_is_sent_to_log_in(personas: dict[str, User], bob: User) -> None:
    mine = cases_of(personas["worker"], personas["worker"].organisation, 1)
    response = post(Client(), [mine[0].pk], bob.pk)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert holders(mine) == [personas["worker"].pk]


# The service, whoever calls it


def test_service_refuses_targets_out_of_scope(personas: dict[str, User]) -> None:
    alice, sofia = personas["worker"], personas["supervisor"]
    mine = cases_of(alice, alice.organisation, 2)
    gone = UserFactory.create(username="gone", role=Role.WORKER, organisation=alice.organisation, is_active=False)
    for target in (personas["other_worker"], gone, personas["analyst"], None):
        with pytest.raises(ValidationError):
            cases_reassign(actor=sofia, case_ids=[c.pk for c in mine], assignee=target)
    assert holders(mine) == [alice.pk, alice.pk]


def test_service_refuses_actors_without_the_permission(personas: dict[str, User], bob: User) -> None:
    mine = cases_of(personas["worker"], personas["worker"].organisation, 1)
    for actor in ("worker", "analyst", "administrator"):
        with pytest.raises(PermissionDenied):
            cases_reassign(actor=personas[actor], case_ids=[mine[0].pk], assignee=bob)
    assert holders(mine) == [personas["worker"].pk]


def test_service_is_all_or_nothing(personas: dict[str, User], bob: User, monkeypatch: Any) -> None:
    """A failure half-way (here on the third case) leaves every case where it was."""
    mine = cases_of(personas["worker"], personas["worker"].organisation, 4)
    from supervision import services

    real = services.case_assign
    calls = []

    def failing(**kwargs: Any) -> Case:
        calls.append(kwargs["case"].pk)
        if len(calls) == 3:
            raise ValidationError("the database went away")
        return real(**kwargs)

    monkeypatch.setattr(services, "case_assign", failing)
    with pytest.raises(ValidationError):
        cases_reassign(actor=personas["supervisor"], case_ids=[c.pk for c in mine], assignee=bob)
    assert holders(mine) == [personas["worker"].pk] * 4
    assert not CaseActivity.objects.filter(case__in=mine).exists()
    assert not AccessLog.objects.filter(action=Action.CHANGE).exists()


def test_service_refuses_too_large_a_selection(personas: dict[str, User], bob: User) -> None:
    with pytest.raises(ValidationError):
        cases_reassign(actor=personas["supervisor"], case_ids=range(1, 502), assignee=bob)

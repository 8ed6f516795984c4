"""The board's figures against counts made here, in Python, from the rows the test wrote."""

import statistics
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from audit.models import AccessLog, Action
from cases.models import Contact, Term
from supervision.selectors import Figures, workload
from supervision.views import figure_links
from tests.factories import UserFactory
from tests.supervision.conftest import World, build_world, make_case, week_start

UNDER_WAY = {"sent", "acknowledged", "in_progress"}


def expected(world: World, days: int, holder: Any = "everyone") -> Figures:
    """Every figure for one holder (a user, None for the unassigned, or "everyone"), counted by hand."""
    now = world.now
    cutoff = now - timedelta(days=days)
    monday = week_start(now)
    today = timezone.localdate(now)

    def held(case: Any) -> bool:
        return holder == "everyone" or case.assigned_to_id == (holder.pk if holder else None)

    open_cases = [c for c in world.cases if c.status != "closed" and held(c)]
    overdue = {s.case_id for s in world.steps if s.status == "todo" and s.due_at is not None and s.due_at < now}
    heard = {c.case_id for c in world.contacts if c.at >= cutoff}
    ages = [(now - c.first_contact_at).total_seconds() / 86400 for c in open_cases]
    if holder is None:
        followups, contacts = None, None
    else:

        def mine(user_id: int) -> bool:
            return holder == "everyone" or user_id == holder.pk

        followups = sum(
            1
            for r in world.referrals
            if r.status in UNDER_WAY and r.follow_up_on is not None and r.follow_up_on < today and mine(r.owner_id)
        )
        contacts = sum(1 for c in world.contacts if c.at >= monday and mine(c.worker_id))
    return Figures(
        open_cases=len(open_cases),
        high_risk=sum(1 for c in open_cases if c.risk_level in ("high", "critical")),
        overdue_steps=sum(1 for c in open_cases if c.pk in overdue),
        no_contact=sum(1 for c in open_cases if c.first_contact_at < cutoff and c.pk not in heard),
        followups_overdue=followups,
        contacts_this_week=contacts,
        median_age_days=round(statistics.median(ages), 1) if ages else None,
    )


def assert_same(got: Figures, want: Figures) -> None:
    for name in ("open_cases", "high_risk", "overdue_steps", "no_contact", "followups_overdue", "contacts_this_week"):
        assert getattr(got, name) == getattr(want, name), name
    if want.median_age_days is None:
        assert got.median_age_days is None
    else:
        assert got.median_age_days == pytest.approx(want.median_age_days, abs=0.11)


@pytest.mark.parametrize("seed", [6, 7, 8])
def test_figures_per_person_unassigned_and_totals(personas: dict[str, User], seed: int) -> None:
    world = build_world(personas, seed)
    for days in (1, 7, 30):
        board = workload(world.organisation, stale_days=days, now=world.now)
        rows = {row.user.username: row for row in board.workers}
        # Active workers and supervisors, with or without cases, and the inactive worker who still holds some.
        assert sorted(rows) == ["alice", "bob", "ivan", "sofia", "zoe"]
        for name, person in world.people.items():
            assert_same(rows[name], expected(world, days, person))
        assert rows["zoe"].open_cases == 0 and rows["zoe"].median_age_days is None
        assert_same(board.unassigned, expected(world, days, None))
        assert_same(board.totals, expected(world, days))
        assert board.totals.open_cases == sum(r.open_cases for r in board.workers) + board.unassigned.open_cases
        assert board.stale_days == days


def test_the_world_exercises_every_figure(world: World) -> None:
    """The random world is not empty where it matters, so the comparisons above mean something."""
    totals = expected(world, 7)
    for name in ("open_cases", "high_risk", "overdue_steps", "no_contact", "followups_overdue", "contacts_this_week"):
        assert getattr(totals, name), name
    assert expected(world, 7, None).open_cases


def test_other_organisations_count_for_nothing(world: World, personas: dict[str, User]) -> None:
    board = workload(world.organisation, stale_days=7, now=world.now)
    assert personas["other_worker"].pk not in {row.user.pk for row in board.workers}
    other = workload(personas["other_worker"].organisation, stale_days=7, now=world.now)
    assert [row.user.username for row in other.workers] == ["oscar"]
    assert other.totals.open_cases == 5 and other.totals.contacts_this_week == 5


def test_contacts_this_week_start_on_monday_at_local_midnight(personas: dict[str, User]) -> None:
    alice = personas["worker"]
    now = timezone.now()
    monday = week_start(now)
    case = make_case(
        alice.organisation, assigned_to=alice, first_contact_at=monday - timedelta(days=10), created_by=alice
    )
    chat = Term.objects.get(vocabulary="channel", code="chat")
    for at in (monday - timedelta(seconds=1), monday, monday + timedelta(seconds=1), now):
        Contact.objects.create(case=case, at=at, channel=chat, worker=alice)
    board = workload(alice.organisation, stale_days=7, now=now)
    row = next(r for r in board.workers if r.user == alice)
    assert row.contacts_this_week == 3  # Monday 00:00 local counts; Sunday 23:59:59 does not
    assert timezone.localtime(monday).weekday() == 0 and timezone.localtime(monday).hour == 0
    assert board.week_start == timezone.localdate(monday)


def test_a_case_is_quiet_when_nothing_was_heard_for_exactly_the_days_given(personas: dict[str, User]) -> None:
    alice = personas["worker"]
    now = timezone.now()
    chat = Term.objects.get(vocabulary="channel", code="chat")
    old = make_case(alice.organisation, assigned_to=alice, first_contact_at=now - timedelta(days=20), created_by=alice)
    Contact.objects.create(case=old, at=now - timedelta(days=5), channel=chat, worker=alice)
    make_case(alice.organisation, assigned_to=alice, first_contact_at=now - timedelta(days=6), created_by=alice)
    make_case(alice.organisation, assigned_to=alice, first_contact_at=now - timedelta(days=8), created_by=alice)

    def quiet(days: int) -> int:
        return next(
            r for r in workload(alice.organisation, stale_days=days, now=now).workers if r.user == alice
        ).no_contact

    assert quiet(4) == 3  # nothing in the last 4 days on any of them
    assert quiet(7) == 1  # only the case opened 8 days ago: the old one was heard 5 days ago
    assert quiet(10) == 0


def test_the_board_takes_a_handful_of_queries_whatever_the_number_of_people(personas: dict[str, User]) -> None:
    build_world(personas)
    home = personas["worker"].organisation

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            workload(home, stale_days=7)
        return len(captured)

    before = queries()
    for n in range(20):
        person = UserFactory.create(username=f"extra-{n}", role=Role.WORKER, organisation=home)
        make_case(home, assigned_to=person, first_contact_at=timezone.now() - timedelta(days=3), created_by=person)
    assert queries() == before <= 8


# The page


def test_supervisor_sees_the_board_with_a_link_behind_every_figure(
    world: World, client_for: Callable[[str], Client]
) -> None:
    response = client_for("supervisor").get(reverse("supervision:board"))
    assert response.status_code == 200
    html = response.content.decode()
    board = workload(world.organisation, stale_days=7)
    for row in board.workers:
        assert f'href="/supervision/workers/{row.user.pk}/"' in html
        for column, url in figure_links(board, row.user).items():
            assert f'href="{url.replace("&", "&amp;")}"' in html, (row.user, column)
    for url in [*figure_links(board).values(), *figure_links(board, unassigned=True).values()]:
        assert f'href="{url.replace("&", "&amp;")}"' in html
    assert "?scope=all&amp;overdue=1" in html  # the organisation's overdue follow-ups, on the referral list
    log = AccessLog.objects.filter(action=Action.VIEW, object_type="workload").latest("id")
    assert log.actor == world.people["sofia"] and log.detail["days"] == 7


def test_the_lists_behind_the_figures_hold_what_was_counted(world: World, client_for: Callable[[str], Client]) -> None:
    """Each link, asked of the case API (the same filters as the case list), lists as many cases as counted."""
    client = client_for("supervisor")
    board = workload(world.organisation, stale_days=7)

    def listed(url: str) -> set[int]:
        path, _, query = url.partition("?")
        assert path == reverse("case_list")
        found: set[int] = set()
        page: str | None = f"{reverse('api-case-list')}?{query}"
        while page:
            response = client.get(page)
            assert response.status_code == 200, response.content
            found |= {c["id"] for c in response.json()["results"]}
            page = response.json()["next"]
        return found

    for figures, links in [
        *[(row, figure_links(board, row.user)) for row in board.workers],
        (board.unassigned, figure_links(board, unassigned=True)),
        (board.totals, figure_links(board)),
    ]:
        for column in ("open_cases", "high_risk", "overdue_steps", "no_contact"):
            assert len(listed(links[column])) == getattr(figures, column), column
    alice = world.people["alice"]
    owned_overdue = {
        r.case_id
        for r in world.referrals
        if r.owner_id == alice.pk and r.status in UNDER_WAY and r.follow_up_on and r.follow_up_on < timezone.localdate()
    }
    assert listed(figure_links(board, alice)["followups_overdue"]) == owned_overdue
    monday = week_start(world.now)
    contacted = {c.case_id for c in world.contacts if c.worker_id == alice.pk and c.at >= monday}
    assert listed(figure_links(board, alice)["contacts_this_week"]) == contacted


def test_the_case_list_names_the_board_filters_it_applies(world: World, client_for: Callable[[str], Client]) -> None:
    alice = world.people["alice"]
    response = client_for("supervisor").get(
        reverse("case_list"),
        {"assigned_to": str(alice.pk), "open": "true", "no_contact_days": "7", "risk_level": "high"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="filter-labels"' in html
    assert "Assigned to alice" in html and "Not closed" in html and "No contact for 7 days" in html
    # Each label removes only itself; the hidden fields keep the others when the form is sent again.
    assert f"?assigned_to={alice.pk}&amp;no_contact_days=7&amp;risk_level=high" in html
    assert f'type="hidden" name="assigned_to" value="{alice.pk}"' in html
    assert 'name="mine"' in html  # the visible filters are still fields


def test_case_list_refuses_someone_of_another_organisation_as_a_filter(
    world: World, client_for: Callable[[str], Client], personas: dict[str, User]
) -> None:
    response = client_for("supervisor").get(reverse("api-case-list"), {"assigned_to": personas["other_worker"].pk})
    assert response.status_code == 400
    response = client_for("supervisor").get(reverse("api-case-list"), {"no_contact_days": 0})
    assert response.status_code == 400


def test_case_list_filters_are_each_organisations_own_whoever_asked_first(
    world: World, client_for: Callable[[str], Client], personas: dict[str, User]
) -> None:
    """The filters' form is built once for each organisation: a colleague is a choice of theirs, never of another."""
    asked = [("supervisor", "worker", "other_worker"), ("other_worker", "other_administrator", "worker")]
    for asking, colleague, stranger in asked:
        client = client_for(asking)
        for url in (reverse("case_list"), reverse("api-case-list")):
            assert client.get(url, {"assigned_to": personas[colleague].pk}).status_code == 200
            assert client.get(url, {"assigned_to": personas[stranger].pk}).status_code == 400


def test_a_case_filter_whose_menu_depends_on_more_than_the_organisation_is_refused(
    world: World, personas: dict[str, User], rf: Any
) -> None:
    """The form class is shared by an organisation's people: a menu of the asker's own would be shared too."""
    import django_filters
    from django.core.exceptions import ImproperlyConfigured

    from cases.filters import CaseFilter
    from cases.models import Case

    class Mine(CaseFilter):
        held_by = django_filters.ModelChoiceFilter(
            queryset=lambda request: Case.objects.filter(assigned_to=request.user)
        )

    request = rf.get("/cases/")
    request.user = personas["worker"]
    with pytest.raises(ImproperlyConfigured, match=r"Mine\.held_by"):
        Mine(request.GET, queryset=Case.objects.all(), request=request).get_form_class()
    assert CaseFilter(request.GET, queryset=Case.objects.all(), request=request).form.is_valid()


@pytest.mark.parametrize("days", ["0", "366", "seven", "-3"])
def test_days_out_of_range_are_refused_with_a_clear_error(
    world: World, client_for: Callable[[str], Client], days: str
) -> None:
    response = client_for("supervisor").get(reverse("supervision:board"), {"days": days})
    assert response.status_code == 400
    assert "Give a whole number of days from 1 to 365." in response.content.decode()
    assert response.context["days"] == 7  # the figures shown are the default's


def test_days_change_the_quiet_column(world: World, client_for: Callable[[str], Client]) -> None:
    response = client_for("supervisor").get(reverse("supervision:board"), {"days": "30"})
    assert response.status_code == 200
    assert response.context["board"].totals.no_contact == expected(world, 30).no_contact
    assert "No contact for 30 days" in response.content.decode()


def test_default_days_come_from_the_setting(world: World, client_for: Callable[[str], Client], settings: Any) -> None:
    settings.SUPERVISION_STALE_DAYS = 14
    response = client_for("supervisor").get(reverse("supervision:board"))
    assert response.context["board"].stale_days == 14
    assert response.context["board"].totals.no_contact == expected(world, 14).no_contact


def test_unassigned_queue_is_oldest_first_with_risk(world: World, client_for: Callable[[str], Client]) -> None:
    response = client_for("supervisor").get(reverse("supervision:board"))
    queue = response.context["queue"]
    want = sorted(
        (c for c in world.cases if c.assigned_to_id is None and c.status != "closed"),
        key=lambda c: (c.first_contact_at, c.pk),
    )
    assert [c.pk for c in queue] == [c.pk for c in want]
    html = response.content.decode()
    assert f'name="cases" value="{want[0].pk}"' in html
    assert f"risk risk-{want[0].risk_level}" in html


def test_a_persons_page_lists_their_open_cases_oldest_first(world: World, client_for: Callable[[str], Client]) -> None:
    ivan = world.people["ivan"]
    response = client_for("supervisor").get(reverse("supervision:worker_cases", args=[ivan.pk]))
    assert response.status_code == 200
    want = sorted(
        (c for c in world.cases if c.assigned_to_id == ivan.pk and c.status != "closed"),
        key=lambda c: (c.first_contact_at, c.pk),
    )
    assert [c.pk for c in response.context["cases"]] == [c.pk for c in want]
    assert ivan.pk not in [pk for pk, _ in response.context["targets"]]  # inactive: not a target
    assert "This account is inactive" in response.content.decode()


@pytest.mark.parametrize("persona", ["worker", "analyst", "administrator", "other_worker"])
def test_other_roles_do_not_see_the_board(world: World, client_for: Callable[[str], Client], persona: str) -> None:
    client = client_for(persona)
    assert client.get(reverse("supervision:board")).status_code == 404
    assert client.get(reverse("supervision:worker_cases", args=[world.people["alice"].pk])).status_code == 404
    assert AccessLog.objects.filter(action=Action.REFUSED, object_type="workload").exists()


def test_nav_shows_workload_to_supervisors_only(client_for: Callable[[str], Client]) -> None:
    assert 'href="/supervision/"' in client_for("supervisor").get(reverse("home")).content.decode()
    for persona in ("worker", "analyst", "administrator"):
        assert 'href="/supervision/"' not in client_for(persona).get(reverse("home")).content.decode()

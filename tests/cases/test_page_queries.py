"""The pages a worker has open during a call run a fixed number of queries, however much a case holds.

Their speed is measured at a million cases by ``manage.py benchmark_cases``, never here; these tests pin the
count of queries (the signed-in user's session, account, authenticator and permissions included), so that a
query per row, per part of the page or per permission check cannot creep back.
"""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import OuterRef, QuerySet
from django.db.models.functions import JSONObject
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from cases import selectors, services
from cases.models import Case, CasePlatform, OffenderIdentifier, PlatformRole, Term
from helpline import rows
from referrals import services as referral_services
from referrals.models import Agency
from tests.accounts.test_sessions import shared_cache
from tests.helpers import case_timeline

pytestmark = pytest.mark.django_db

# The session; the user with their authenticators and unread notifications (permissions come from the role); the
# case with the status of its last closure request; its steps; its offender identifiers with the other cases that
# have them; its referrals; its terms, platforms and the terms its forms offer; its timeline
# (cases.selectors._detail_sql); the access-log row; the note's draft. A closure request waiting or sent back is
# read too.
CASE_PAGE_QUERIES = 10


def term(vocabulary: str, code: str) -> Term:
    return Term.objects.get(vocabulary=vocabulary, code=code, organisation=None)


def busy_case(worker: User, *, reference_handle: str = "@dark_angel99") -> Case:
    """A case as it looks some days into the work: facts, platforms, steps done, contacts, notes, offender
    identifiers (one also on another case), referrals with their moves, a closure request sent back."""
    facts = {
        "risk_level": "high",
        "channel": term("channel", "phone"),
        "reporter_type": term("reporter_type", "victim"),
        "sextortion_type": term("sextortion_type", "financial"),
        "payment_method": term("payment_method", "gift_card"),
        "approaches": [term("approach", "fake_romance"), term("approach", "flattery")],
        "content_types": [term("content_type", "self_image")],
        "demands": [term("demand", "money"), term("demand", "more_images")],
        "threats": [term("threat", "friends"), term("threat", "family")],
        "victim_age": 15,
    }
    platforms = [
        (term("platform", "instagram"), PlatformRole.FIRST_CONTACT),
        (term("platform", "snapchat"), PlatformRole.MOVED_TO),
    ]
    case = services.case_open(actor=worker, facts=facts, platforms=platforms)
    for step in list(case.steps.select_related("step_type"))[:3]:
        services.step_update(actor=worker, step=step, status="done")
    for days in (3, 2, 1):
        at = timezone.now() - timedelta(days=days)
        services.contact_add(actor=worker, case=case, at=at, channel=term("channel", "chat"), duration_minutes=20)
    for text in ("Victim calmer after the call.", "Blocked the account together.", "Call back on Monday."):
        services.note_add(actor=worker, case=case, text=text)
    instagram = term("platform", "instagram")
    for value in (reference_handle, "@second_handle", "@third_handle"):
        services.offender_identifier_add(actor=worker, case=case, kind="username", value=value, platform=instagram)
    police = referral_services.referral_create(
        actor=worker, case=case, kind="police", agency=Agency.objects.get(code="polizia_postale"), consent="victim"
    )
    referral_services.referral_transition(actor=worker, referral=police, to="sent")
    takedown = referral_services.referral_create(
        actor=worker, case=case, kind="takedown", agency=Agency.objects.get(code="esafety"), consent="victim"
    )
    for link in ("https://instagram.com/p/1", "https://instagram.com/p/2"):
        referral_services.takedown_item_add(
            actor=worker, referral=takedown, platform=instagram, link=link, content_type="image"
        )
    return case


@pytest.fixture
def case(personas: dict[str, User]) -> Case:
    worker = personas["worker"]
    case = busy_case(worker)
    other = services.case_open(actor=worker, facts={})
    services.offender_identifier_add(actor=worker, case=other, kind="username", value="@dark_angel99")
    return case


def test_the_case_page_runs_a_fixed_number_of_queries(
    client_for: Any, case: Case, django_assert_max_num_queries: Any
) -> None:
    client = client_for("worker")
    with django_assert_max_num_queries(CASE_PAGE_QUERIES):
        page = client.get(reverse("case_detail", args=[case.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    # What the queries fetched is all on the page.
    for shown in (
        "Fake romantic profile",
        "Self-taken image",
        "Gift card",
        "Snapchat",
        "Call back on Monday.",
        "@third_handle",
    ):
        assert shown in text, shown
    assert str(Agency.objects.get(code="esafety")) in text
    assert "Also seen in 1 other case" in text


def test_the_case_page_runs_no_more_queries_for_a_bigger_case(
    client_for: Any, personas: dict[str, User], case: Case, django_assert_max_num_queries: Any
) -> None:
    worker = personas["worker"]
    for n in range(5):
        services.note_add(actor=worker, case=case, text=f"Another note {n}.")
        services.offender_identifier_add(actor=worker, case=case, kind="username", value=f"@more_{n}")
        services.contact_add(actor=worker, case=case, at=timezone.now(), channel=term("channel", "phone"))
    client = client_for("worker")
    with django_assert_max_num_queries(CASE_PAGE_QUERIES):
        assert client.get(reverse("case_detail", args=[case.pk])).status_code == 200


def test_a_closure_request_waiting_is_read_with_one_query_more(
    client_for: Any, personas: dict[str, User], case: Case, django_assert_max_num_queries: Any
) -> None:
    worker = personas["worker"]
    services.closure_request_create(actor=worker, case=case, closure_reason=term("closure_reason", "resolved"))
    client = client_for("worker")
    with django_assert_max_num_queries(CASE_PAGE_QUERIES + 1):
        page = client.get(reverse("case_detail", args=[case.pk]))
    assert "Waiting for a supervisor" in page.content.decode()


def test_a_shared_cache_keeps_the_session_out_of_the_database(
    client_for: Any, case: Case, django_assert_max_num_queries: Any
) -> None:
    with override_settings(SESSION_ENGINE="accounts.cached_sessions", CACHES=shared_cache()):
        client = client_for("worker")
        client.get(reverse("case_detail", args=[case.pk]))
        with django_assert_max_num_queries(CASE_PAGE_QUERIES - 1):
            assert client.get(reverse("case_detail", args=[case.pk])).status_code == 200


def test_the_new_case_form_reads_its_terms_in_one_query(client_for: Any, django_assert_max_num_queries: Any) -> None:
    client = client_for("worker")
    # Session, user, the form's draft, the terms of every menu.
    with django_assert_max_num_queries(4):
        page = client.get(reverse("case_new"))
    assert "Fake romantic profile" in page.content.decode() and "Snapchat" in page.content.decode()


@pytest.mark.parametrize("query", ["", "status=waiting", "mine=true", "risk_level=high&platform=instagram"])
def test_the_case_list_runs_a_fixed_number_of_queries(
    client_for: Any, personas: dict[str, User], case: Case, query: str, django_assert_max_num_queries: Any
) -> None:
    for n in range(4):
        busy_case(personas["worker"], reference_handle=f"@handle_{n}")
    client = client_for("worker")
    # Session, user; the platform filtered by, if any; a page of cases with their platforms and an overdue step of
    # each; the access-log row; the terms of the platform and sextortion type menus.
    with django_assert_max_num_queries(6 if "platform" in query else 5):
        page = client.get(f"{reverse('case_list')}?{query}")
    assert page.status_code == 200
    assert page.content.count(b'<td><a href="/cases/') >= 5


def test_the_case_list_names_each_cases_platforms_and_type(client_for: Any, personas: dict[str, User]) -> None:
    busy = busy_case(personas["worker"])
    bare = services.case_open(actor=personas["worker"], facts={})
    # A term the organisation's menus do not hold (another organisation's own): still named, read on its own.
    stray = Term.objects.create(
        organisation=personas["other_worker"].organisation, vocabulary="platform", code="stray", label="Stray app"
    )
    CasePlatform.objects.create(case=bare, platform=stray, role=PlatformRole.THREATS)
    page = client_for("worker").get(reverse("case_list")).content.decode()
    rows_of = {case.pk: page[page.index(f'href="/cases/{case.pk}/"') :].split("</tr>")[0] for case in (busy, bare)}
    listed = ", ".join(held.platform.label for held in busy.platforms.order_by("pk"))  # as they were recorded
    assert listed in ("Instagram, Snapchat", "Snapchat, Instagram")
    assert "<td>Financial</td>" in rows_of[busy.pk] and f"<td>{listed}</td>" in rows_of[busy.pk]
    assert "<td>—</td>\n      <td>Stray app</td>" in rows_of[bare.pk]


def _identifiers_with_linked_cases(user: User) -> QuerySet[OffenderIdentifier]:
    """The ORM's reading of what the case page shows of offender identifiers: each with the other cases of the
    user's organisation that have the same one, in order of reference."""
    others = (
        OffenderIdentifier.objects.filter(value_hash=OuterRef("value_hash"), case__in=selectors.cases_visible_to(user))
        .exclude(case_id=OuterRef("case_id"))
        .values("case_id", "case__reference")
        .distinct()
        .order_by("case__reference")
        .values(json=JSONObject(pk="case_id", reference="case__reference"))
    )
    return OffenderIdentifier.objects.select_related("platform").annotate(others=ArraySubquery(others))


def _fields(row: Any) -> dict[str, Any]:
    return {name: value for name, value in vars(row).items() if not name.startswith("_")}


def test_the_case_pages_reads_give_what_the_orm_gives(personas: dict[str, User], case: Case) -> None:
    """The written-out reads (cases.selectors._detail_sql) against the ORM's, field by field."""
    worker = personas["worker"]
    services.case_assign(actor=personas["supervisor"], case=case, assignee=worker)
    read = selectors._load_detail(worker, case.pk)
    assert read is not None
    orm = Case.objects.select_related("assigned_to").get(pk=case.pk)
    assert read.assigned_to == orm.assigned_to == worker
    assert {name: getattr(read, name) for name in _fields(orm)} == _fields(orm)
    steps = list(orm.steps.select_related("step_type", "done_by"))
    assert [_fields(step) for step in read.listed_steps] == [_fields(step) for step in steps]
    assert [step.step_type.label for step in read.listed_steps] == [step.step_type.label for step in steps]
    assert [str(step.done_by) for step in read.listed_steps] == [str(step.done_by) for step in steps]
    identifiers = list(_identifiers_with_linked_cases(worker).filter(case=case))
    assert [(_fields(i), i.platform) for i in read.listed_identifiers] == [
        (_fields(i), i.platform) for i in identifiers
    ]
    others = [getattr(i, "others") for i in read.listed_identifiers]  # noqa: B009 (set by the read)
    assert others == [getattr(i, "others") for i in identifiers]  # noqa: B009 (an annotation)
    assert any(others)
    referrals = list(case.referrals.select_related("agency"))
    assert [(_fields(r), r.agency) for r in read.listed_referrals] == [(_fields(r), r.agency) for r in referrals]
    assert read.timeline == case_timeline(case)
    assert read.listed_terms["approaches"] == list(case.approaches.all())
    assert {(p.platform, p.role) for p in read.listed_platforms} == {(p.platform, p.role) for p in case.platforms.all()}
    offered = selectors.terms_offered_to(case.organisation_id, "channel")
    assert read.offered_terms["channel"] == list(offered)


def test_the_case_pages_reads_give_nothing_of_another_organisation(personas: dict[str, User], case: Case) -> None:
    """Each of the case page's reads reads only the user's organisation's case: for another's, nothing (and the
    terms its forms offer are the outsider's own organisation's)."""
    outsider = personas["other_worker"]
    assert selectors._load_detail(outsider, case.pk) is None
    parameters: dict[str, Any] = {
        "case": case.pk,
        "organisation": outsider.organisation_id,
        "offered": [vocabulary.value for vocabulary in selectors.CASE_PAGE_OFFERS],
    }
    found = []
    with rows.prepared_cursor() as cursor:
        for statement in selectors._detail_sql():
            cursor.execute(statement, parameters)
            found.append(cursor.fetchall())
    case_rows, step_rows, identifier_rows, referral_rows, term_rows, timeline_rows = found
    assert case_rows == step_rows == identifier_rows == referral_rows == timeline_rows == []
    terms = [rows.split(row, Term) for row in term_rows]
    assert terms and all(offered and lists == [] for _term, offered, lists in terms)  # none from the case
    assert {term.organisation_id for term, _offered, _lists in terms} <= {None, outsider.organisation_id}


def test_the_case_pages_reads_stay_prepared_on_the_connection(client_for: Any, case: Case) -> None:
    """Parsed and planned once per connection (helpline.rows.prepared_cursor), not on every request."""
    client = client_for("worker")
    for _ in range(2):
        assert client.get(reverse("case_detail", args=[case.pk])).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [statement for (statement,) in cursor.fetchall()]
    for table in ("cases_responsestep step", "cases_offenderidentifier identifier", "cases_caseactivity activity"):
        assert sum(table in statement for statement in prepared) == 1, table  # prepared once, used twice
    assert any('"accounts_user"' in statement for statement in prepared)  # the signed-in user's query

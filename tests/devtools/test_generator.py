"""The synthetic case generator and the demo cases of seed_demo."""

import itertools
from collections import Counter
from datetime import timedelta
from io import StringIO
from typing import Any

import pycountry
import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection, models
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Organisation, User
from accounts.roles import Role
from cases import pii, services
from cases.models import (
    Case,
    CaseActivity,
    CaseCounter,
    CasePlatform,
    Contact,
    Note,
    OffenderIdentifier,
    PlatformRole,
    ResponseStep,
    Status,
    StepStatus,
    StepType,
)
from cases.playbook import BASE_STEPS, playbook_steps
from devtools.generator import generate_cases
from devtools.management.commands import benchmark_cases
from referrals.models import (
    Agency,
    Consent,
    ItemStatus,
    Referral,
    ReferralKind,
    ReferralStatus,
    ReferralTransition,
    TakedownItem,
)
from referrals.services import (
    AGENCY_KIND,
    CLOSED,
    ITEM_KINDS,
    OUTCOMES,
    STEP_DONE_BY_SENDING,
    TRANSITIONS,
    items_outcome,
)
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

COUNT = 200
CHILDREN: list[type[models.Model]] = [CasePlatform, Contact, ResponseStep, OffenderIdentifier, Note, CaseActivity]


@pytest.fixture
def organisation() -> Organisation:
    return OrganisationFactory.create(name="Generated Helpline", country="IT")


@pytest.fixture
def workers(organisation: Organisation) -> list[User]:
    return [
        UserFactory.create(username="gen-worker", role=Role.WORKER, organisation=organisation),
        UserFactory.create(username="gen-supervisor", role=Role.SUPERVISOR, organisation=organisation),
    ]


def generate(organisation: Organisation, workers: list[User], count: int = COUNT, **options: Any) -> int:
    today = timezone.localdate()
    return generate_cases(
        organisation=organisation,
        workers=workers,
        count=count,
        start=today - timedelta(days=3 * 365),
        end=today,
        seed=options.pop("seed", 1),
        **options,
    )


def dangling(model: type[models.Model]) -> int:
    """Rows of the model whose foreign keys point at nothing (the generator may skip the checks)."""
    broken = 0
    for field in model._meta.concrete_fields:
        if isinstance(field, models.ForeignKey):
            target = field.related_model._meta.default_manager.values("pk")  # type: ignore[union-attr]
            rows = model._default_manager.exclude(**{f"{field.attname}__isnull": True})
            broken += rows.exclude(**{f"{field.attname}__in": target}).count()
    return broken


def test_generated_cases_are_valid_and_consistent(organisation: Organisation, workers: list[User]) -> None:
    year = timezone.localdate().year
    CaseCounter.objects.create(organisation=organisation, year=year, last=41)

    assert generate(organisation, workers) == COUNT

    cases = list(Case.objects.filter(organisation=organisation).order_by("first_contact_at", "id"))
    assert len(cases) == COUNT == Case.objects.count()
    for case in cases[:: COUNT // 25]:
        case.full_clean()
    for model in CHILDREN:
        for row in model._default_manager.all()[:20]:
            row.full_clean()
        assert model._default_manager.exclude(case__organisation=organisation).count() == 0
    for model in [
        Case,
        *CHILDREN,
        *(getattr(Case, name).through for name in ("approaches", "demands")),
        Referral,
        ReferralTransition,
        TakedownItem,
    ]:
        assert dangling(model) == 0, model

    # The check constraints, as the database would enforce them.
    assert not Case.objects.filter(status=Status.CLOSED, closure_reason__isnull=True).exists()
    assert not Case.objects.filter(status=Status.CLOSED, closed_at__isnull=True).exists()
    assert not Case.objects.filter(victim_age__isnull=False).exclude(victim_age_unknown="").exists()
    assert not Case.objects.filter(closure_reason__isnull=False).exclude(closure_reason__vocabulary="closure_reason")

    now = timezone.now()
    regions = {s.code for s in pycountry.subdivisions.get(country_code="IT")}
    for case in cases:
        assert case.organisation_id == organisation.pk
        assert case.victim_country == "IT"
        assert case.victim_region == "" or case.victim_region in regions
        assert case.first_contact_at <= now and (case.closed_at is None or case.first_contact_at <= case.closed_at)
        assert (case.victim_age is None) != (case.victim_age_unknown == "")
        assert case.victim_age is None or 9 <= case.victim_age <= 45
        assert case.assigned_to_id in (None, *(w.pk for w in workers))
        assert 1 <= case.contacts.count() <= 4
        platforms = list(case.platforms.values_list("role", flat=True))
        assert 1 <= len(platforms) <= 3 and PlatformRole.FIRST_CONTACT in platforms
        demands = set(case.demands.values_list("code", flat=True))
        assert demands and case.threats.exists() and case.approaches.exists()
        if case.sextortion_type and case.sextortion_type.code == "financial":
            assert "money" in demands
        else:
            assert case.payment_method is None
        assert not pii.find_identifiers(case.incident_description)

        # Exactly the playbook's steps, with its reasons, and those that sending a referral added and did.
        wanted = {code: str(reason) for code, reason, _ in playbook_steps(case)}
        done_by_sending = {
            STEP_DONE_BY_SENDING[ReferralKind(r.kind)]: r.sent_at
            for r in case.referrals.all()
            if r.sent_at and r.kind in STEP_DONE_BY_SENDING
        }
        steps = {step.step_type.code: step for step in case.steps.select_related("step_type")}
        assert {code: step.reason for code, step in steps.items()} == wanted | {
            code: "Referral sent" for code in done_by_sending if code not in wanted
        }
        for code, sent_at in done_by_sending.items():
            assert steps[code].status == StepStatus.DONE and steps[code].done_at == sent_at
    for text in Note.objects.values_list("text", flat=True):
        assert not pii.find_identifiers(text)

    # Old cases are closed, their steps mostly done; about 10% of cases have nobody assigned.
    old = [case for case in cases if case.first_contact_at < now - timedelta(days=120)]
    assert sum(case.status == Status.CLOSED for case in old) >= 0.85 * len(old)
    old_steps = Counter(ResponseStep.objects.filter(case__in=old).values_list("status", flat=True))
    assert old_steps["done"] >= 0.75 * sum(old_steps.values())
    assert 0.03 * COUNT <= sum(case.assigned_to_id is None for case in cases) <= 0.2 * COUNT

    # References: unique, one series per year, continuing the counter.
    references = [case.reference for case in cases]
    assert len(set(references)) == COUNT
    for counter in CaseCounter.objects.filter(organisation=organisation):
        numbers = sorted(int(r.rsplit("-", 1)[1]) for r in references if r.startswith(f"SX-{counter.year}-"))
        first = 42 if counter.year == year else 1
        assert numbers == list(range(first, counter.last + 1))
    last = CaseCounter.objects.get(organisation=organisation, year=year).last
    opened = services.case_open(actor=workers[0], facts={"first_contact_at": timezone.now()})
    assert opened.reference == f"SX-{year}-{last + 1:05d}"

    # Offender identifiers on about 30% of cases, hashed like the service does, some linking cases.
    identifiers = list(OffenderIdentifier.objects.all())
    assert 0.15 * COUNT <= len({i.case_id for i in identifiers}) <= 0.45 * COUNT
    assert all(i.value_hash == services.identifier_hash(i.kind, i.value) for i in identifiers)
    cases_per_hash = Counter(h for h, _ in {(i.value_hash, i.case_id) for i in identifiers})
    assert max(cases_per_hash.values()) > 1

    # No history for the synthetic rows, and history is back on for what follows.
    case_event = apps.get_model("cases", "CaseEvent")
    assert list(case_event.objects.values_list("pgh_obj_id", flat=True)) == [opened.pk]
    assert Referral.objects.exists() and TakedownItem.objects.exists()
    for name in ("ReferralEvent", "TakedownItemEvent"):
        assert not apps.get_model("referrals", name).objects.exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('session_replication_role')")
        assert cursor.fetchone()[0] == "origin"


def test_generated_referrals_are_realistic_and_consistent(organisation: Organisation, workers: list[User]) -> None:
    count = 1500
    generate(organisation, workers, count=count)
    now = timezone.now()
    worker_ids = {w.pk for w in workers}
    cases = {
        case.pk: case for case in Case.objects.filter(organisation=organisation).prefetch_related("platforms__platform")
    }
    referrals = list(Referral.objects.select_related("agency").prefetch_related("transitions", "items").order_by("pk"))
    for referral in referrals[::50]:
        referral.full_clean()
        for item in referral.items.all():
            item.full_clean()

    # About a third of the cases are referred, some more than once; never before the case is taken on.
    per_case = Counter(r.case_id for r in referrals)
    assert 0.25 * count <= len(per_case) <= 0.45 * count
    assert 0.1 * len(per_case) <= sum(n > 1 for n in per_case.values()) <= 0.45 * len(per_case)
    assert not any(cases[pk].status == Status.NEW for pk in per_case)
    kinds = Counter(r.kind for r in referrals)
    assert kinds[ReferralKind.POLICE] == max(kinds.values())
    assert {ReferralKind.POLICE, ReferralKind.TAKEDOWN, ReferralKind.PLATFORM, ReferralKind.HASH_MATCHING} <= set(kinds)
    statuses = Counter(r.status for r in referrals)
    assert statuses[ReferralStatus.COMPLETED] >= 0.5 * len(referrals)
    assert statuses[ReferralStatus.DRAFT] <= 0.03 * len(referrals)
    assert statuses[ReferralStatus.DECLINED] and statuses[ReferralStatus.WITHDRAWN]
    assert 0.7 * len(referrals) <= sum(r.acknowledged_at is not None for r in referrals) < len(referrals)

    for referral in referrals:
        case = cases[referral.case_id]
        minor = case.is_minor
        platforms = {p.platform_id for p in case.platforms.all()}
        # The right agency: of the kind, of the country or international, for the victim's age group.
        agency = referral.agency
        assert agency.active and agency.kind == AGENCY_KIND[ReferralKind(referral.kind)]
        if referral.kind == ReferralKind.PLATFORM:
            first = next(p.platform for p in case.platforms.all() if p.role == PlatformRole.FIRST_CONTACT)
            assert agency.code == first.code
        elif referral.kind == ReferralKind.HASH_MATCHING:
            assert agency.code == ("take_it_down" if minor else "stopncii")
        elif referral.kind == ReferralKind.POLICE:
            assert agency.code in (("polizia_postale", "cncpo") if minor else ("polizia_postale",))
        elif referral.kind == ReferralKind.CHILD_PROTECTION:
            assert minor and agency.code == "inhope"
        if referral.kind in (ReferralKind.TAKEDOWN, ReferralKind.HASH_MATCHING):
            assert case.content_types.exclude(code="none").exists()

        # The check constraints, and the times the services would set.
        sent = referral.status not in (ReferralStatus.DRAFT, ReferralStatus.WITHDRAWN) or referral.sent_at
        assert referral.consent or not sent
        assert referral.consent != Consent.NOT_REQUIRED or referral.consent_reason
        assert (referral.status == ReferralStatus.COMPLETED) == bool(referral.outcome)
        assert referral.status != ReferralStatus.COMPLETED or referral.outcome in OUTCOMES[ReferralKind(referral.kind)]
        assert (referral.status in CLOSED) == (referral.closed_at is not None)
        assert (referral.sent_at is not None) == (referral.follow_up_on is not None)
        assert referral.owner_id in worker_ids and referral.created_by_id == referral.owner_id
        times = [referral.created_at, referral.sent_at, referral.acknowledged_at, referral.closed_at]
        assert all(case.first_contact_at <= t <= now for t in times if t is not None)

        # One transition per move, allowed by the services, agreeing with the times.
        moves = list(referral.transitions.all())
        assert (moves[0].from_status, moves[0].to_status, moves[0].at) == ("draft", "draft", referral.created_at)
        for before, move in itertools.pairwise(moves):
            assert move.from_status == before.to_status and move.to_status in TRANSITIONS[move.from_status]
            assert before.at <= move.at
        assert moves[-1].to_status == referral.status
        assert all(move.actor_id in worker_ids for move in moves)
        at = {move.to_status: move.at for move in reversed(moves[1:])}
        assert referral.sent_at == at.get("sent")
        answers = [m.at for m in moves if m.to_status in ("acknowledged", "in_progress", "completed", "declined")]
        assert referral.acknowledged_at == (answers[0] if answers else None)
        assert referral.closed_at == next((at[s] for s in CLOSED if s in at), None)

        # Items only on takedown and platform referrals, settled by the time the referral completes.
        items = list(referral.items.all())
        if referral.kind not in ITEM_KINDS:
            assert not items
            continue
        assert 1 <= len(items) <= 3
        for item in items:
            assert item.platform_id in platforms and item.link.startswith("https://example.com/")
            assert referral.created_at <= item.created_at <= now
            assert (item.status == ItemStatus.REMOVED) == (item.removed_at is not None)
            if item.removed_at is not None:
                assert referral.sent_at and referral.sent_at <= item.removed_at <= now
        settled = [item.status for item in items]
        if referral.status == ReferralStatus.COMPLETED:
            assert referral.outcome == items_outcome(settled)
        elif referral.status not in CLOSED:
            assert ItemStatus.REQUESTED in settled

    # Realistic delays: platforms and hash services answer within days, the police take longer.
    def median_hours(kind: str) -> float:
        waits = sorted(
            (r.acknowledged_at - r.sent_at).total_seconds() / 3600
            for r in referrals
            if r.kind == kind and r.acknowledged_at and r.sent_at
        )
        return waits[len(waits) // 2]

    assert median_hours(ReferralKind.HASH_MATCHING) < 2 < median_hours(ReferralKind.PLATFORM) < 48
    assert 24 < median_hours(ReferralKind.POLICE) < 24 * 10
    removed = [i for r in referrals for i in r.items.all() if i.status == ItemStatus.REMOVED]
    assert len(removed) > 20

    # Old cases' referrals are closed but for a few the agency never answered or is still working on.
    old = [r for r in referrals if cases[r.case_id].first_contact_at < now - timedelta(days=365)]
    assert sum(r.status in CLOSED for r in old) > 0.9 * len(old)


def test_recent_referrals_are_mostly_under_way(organisation: Organisation, workers: list[User]) -> None:
    today = timezone.localdate()
    generate_cases(
        organisation=organisation, workers=workers, count=600, start=today - timedelta(days=6), end=today, seed=2
    )
    statuses = Counter(Referral.objects.values_list("status", flat=True))
    under_way = sum(statuses[s] for s in ("draft", "sent", "acknowledged", "in_progress"))
    assert under_way > 0.6 * sum(statuses.values()) > 60
    assert statuses["draft"] < 0.2 * sum(statuses.values())


def test_referrals_go_to_agencies_of_the_country() -> None:
    australian = OrganisationFactory.create(name="Australian Helpline", country="AU")
    staff = [UserFactory.create(username="au-worker", role=Role.WORKER, organisation=australian)]
    Agency.objects.filter(code="take_it_down").update(active=False)
    generate(australian, staff, count=400)
    by_kind: dict[str, set[str]] = {}
    for kind, code in Referral.objects.values_list("kind", "agency__code"):
        by_kind.setdefault(kind, set()).add(code)
    assert by_kind[ReferralKind.POLICE] == {"accce"}
    assert by_kind[ReferralKind.TAKEDOWN] == {"esafety"}
    assert by_kind[ReferralKind.HASH_MATCHING] == {"stopncii"}  # Take It Down is inactive
    assert by_kind.get(ReferralKind.SUPPORT, {"kids_helpline"}) == {"kids_helpline"}
    for referral in Referral.objects.select_related("case"):
        if referral.kind in (ReferralKind.POLICE, ReferralKind.CHILD_PROTECTION, ReferralKind.SUPPORT):
            assert referral.case.is_minor
        elif referral.kind == ReferralKind.HASH_MATCHING:
            assert not referral.case.is_minor


def test_same_seed_same_cases(organisation: Organisation, workers: list[User]) -> None:
    other = OrganisationFactory.create(name="Twin Helpline", country="IT")
    twin_workers = [UserFactory.create(username=f"twin-{w.username}", role=w.role, organisation=other) for w in workers]
    generate(organisation, workers, count=30, seed=5)
    generate(other, twin_workers, count=30, seed=5)

    def facts(org: Organisation) -> list[tuple[Any, ...]]:
        return list(
            Case.objects.filter(organisation=org)
            .order_by("reference")
            .values_list("reference", "first_contact_at", "status", "victim_age", "risk_level", "sextortion_type")
        )

    assert facts(organisation) == facts(other)

    def referrals(org: Organisation) -> list[tuple[Any, ...]]:
        return [
            (
                *row,
                list(ReferralTransition.objects.filter(referral_id=row[0]).values_list("to_status", "at")),
                list(TakedownItem.objects.filter(referral_id=row[0]).values_list("link", "status", "removed_at")),
            )
            for row in Referral.objects.filter(case__organisation=org)
            .order_by("case__reference", "kind")
            .values_list("id", "case__reference", "kind", "agency", "status", "outcome", "sent_at", "closed_at")
        ]

    mine, twin = referrals(organisation), referrals(other)
    assert mine and [row[1:] for row in mine] == [row[1:] for row in twin]


def test_without_referrals(organisation: Organisation, workers: list[User]) -> None:
    generate(organisation, workers, count=50, with_referrals=False)
    assert Case.objects.count() == 50 and not Referral.objects.exists()
    assert not ResponseStep.objects.filter(reason="Referral sent").exists()


def test_with_foreign_key_checks_and_without_notes(organisation: Organisation, workers: list[User]) -> None:
    """The path for database roles that may not turn triggers off: the foreign keys are checked at once."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert generate(organisation, workers, count=30, skip_triggers=False, with_notes=False) == 30
    assert Case.objects.count() == 30 and not Note.objects.exists()
    assert ResponseStep.objects.count() >= 30 * len(BASE_STEPS)
    assert not apps.get_model("cases", "ResponseStepEvent").objects.exists()


def test_inactive_step_types_are_left_out_like_the_playbook_does(
    organisation: Organisation, workers: list[User]
) -> None:
    StepType.objects.filter(code="review_privacy").update(active=False)
    generate(organisation, workers, count=20)
    assert ResponseStep.objects.exists()
    assert not ResponseStep.objects.filter(step_type__code="review_privacy").exists()


def test_workers_must_belong_to_the_organisation(organisation: Organisation) -> None:
    stranger = UserFactory.create(username="stranger", organisation=OrganisationFactory.create(name="Elsewhere"))
    with pytest.raises(ValueError, match="belong"):
        generate(organisation, [stranger], count=5)
    with pytest.raises(ValueError, match="worker"):
        generate(organisation, [], count=5)


def test_generate_cases_command_adds_workers_up_to_five(organisation: Organisation, workers: list[User]) -> None:
    out = StringIO()
    call_command("generate_cases", organisation=organisation.name, count=50, years=1, stdout=out)
    assert Case.objects.filter(organisation=organisation).count() == 50
    assert User.objects.filter(organisation=organisation, role=Role.WORKER).count() == 5
    assert not User.objects.get(username="generated-helpline-synthetic-worker-1").has_usable_password()
    assert "cases/s" in out.getvalue()


def test_seed_demo_adds_demo_cases_once(settings: Any) -> None:
    settings.DEMO_PASSWORD = "demo password for tests"
    first, second = StringIO(), StringIO()
    call_command("seed_demo", stdout=first)
    counts = {o.name: o.cases.count() for o in Organisation.objects.all()}
    assert counts == {"Demo Helpline": 300, "Other Helpline": 40}
    total = (Case.objects.count(), ResponseStep.objects.count(), Contact.objects.count())

    call_command("seed_demo", stdout=second)
    assert (Case.objects.count(), ResponseStep.objects.count(), Contact.objects.count()) == total
    assert first.getvalue() == second.getvalue()
    demo_holders = set(Case.objects.filter(organisation__name="Demo Helpline").values_list("created_by__username"))
    assert demo_holders == {("demo-worker",), ("demo-supervisor",)}
    assert set(Case.objects.filter(organisation__name="Other Helpline").values_list("victim_country", flat=True)) == {
        "AU"
    }


def test_benchmark_command_measures_both_lists(organisation: Organisation, workers: list[User]) -> None:
    generate(organisation, workers, count=60)
    out = StringIO()
    call_command("benchmark_cases", runs=2, warmups=0, threshold=0, explain=True, stdout=out)
    report = out.getvalue()
    assert f"Measuring as {workers[1].username}" in report
    for target in ("page", "api"):
        for name in ("no filter", "status=open", "platform=instagram", "mine=true", "reference=SX-2025-001"):
            assert f"{target:<6} {name}" in report
    assert "Over 0 ms median:" in report and "mostly" in report
    # The pages of a call, as a worker, with their queries and template time against the targets.
    assert f"Pages of a call, as {workers[0].username}" in report
    for page in ("case page", "case list      no filter", "case list      mine=true", "referral list  scope=all"):
        assert page in report
    assert "Targets missed:" in report or "Every target met." in report
    assert not TOTPDevice.objects.filter(user=workers[1]).exists()  # the temporary authenticator is gone

    command = benchmark_cases.Command(stdout=out)
    sql = 'SELECT "cases_case"."id" FROM "cases_case" ORDER BY "cases_case"."id"'
    command._explain(benchmark_cases.Result("page", "test", "/cases/", [1.0], 1, 1.0, 60, sql, 1.0))
    assert "Execution Time" in out.getvalue()

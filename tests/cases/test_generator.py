"""The synthetic case generator and the demo cases of seed_demo."""

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
from cases.generator import generate_cases
from cases.management.commands import benchmark_cases
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
    StepType,
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
    for model in [Case, *CHILDREN, *(getattr(Case, name).through for name in ("approaches", "demands"))]:
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

        # Exactly the playbook's steps, with its reasons.
        wanted = {code: str(reason) for code, reason, _ in services.playbook_steps(case)}
        steps = {step.step_type.code: step.reason for step in case.steps.select_related("step_type")}
        assert steps == wanted
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
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('session_replication_role')")
        assert cursor.fetchone()[0] == "origin"


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


def test_with_foreign_key_checks_and_without_notes(organisation: Organisation, workers: list[User]) -> None:
    """The path for database roles that may not turn triggers off: the foreign keys are checked at once."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert generate(organisation, workers, count=30, skip_triggers=False, with_notes=False) == 30
    assert Case.objects.count() == 30 and not Note.objects.exists()
    assert ResponseStep.objects.count() >= 30 * len(services.BASE_STEPS)
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
    assert not TOTPDevice.objects.filter(user=workers[1]).exists()  # the temporary authenticator is gone

    command = benchmark_cases.Command(stdout=out)
    sql = 'SELECT "cases_case"."id" FROM "cases_case" ORDER BY "cases_case"."id"'
    command._explain(benchmark_cases.Result("page", "test", "/cases/", [1.0], 1, 1.0, 60, sql, 1.0))
    assert "Execution Time" in out.getvalue()

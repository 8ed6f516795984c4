"""A home organisation with a known workload, written row by row so that each figure can be counted by hand."""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import count
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Organisation, User
from accounts.roles import Role
from cases.models import Case, Contact, ResponseStep, StepStatus, StepType, Term
from referrals.models import Agency, Referral
from tests.factories import UserFactory

_references = count(1)


def make_case(
    organisation: Organisation,
    *,
    assigned_to: User | None,
    first_contact_at: datetime,
    status: str = "open",
    risk_level: str = "medium",
    created_by: User,
) -> Case:
    closed = status == "closed"
    return Case.objects.create(
        organisation=organisation,
        reference=f"SX-2026-{next(_references):05d}",
        status=status,
        risk_level=risk_level,
        assigned_to=assigned_to,
        created_by=created_by,
        first_contact_at=first_contact_at,
        closed_at=first_contact_at + timedelta(hours=1) if closed else None,
        closure_reason=Term.objects.filter(vocabulary="closure_reason").first() if closed else None,
    )


@dataclass
class World:
    now: datetime
    organisation: Organisation
    people: dict[str, User]
    cases: list[Case] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    steps: list[ResponseStep] = field(default_factory=list)
    referrals: list[Referral] = field(default_factory=list)
    foreign_cases: list[Case] = field(default_factory=list)


def build_world(personas: dict[str, User], seed: int = 6) -> World:
    """About sixty cases of the home organisation spread over its people at random, with a fixed seed."""
    rng = random.Random(seed)  # noqa: S311 - synthetic test data, not security
    now = timezone.now()
    home = personas["worker"].organisation
    people = {
        "alice": personas["worker"],
        "sofia": personas["supervisor"],
        "bob": UserFactory.create(username="bob", role=Role.WORKER, organisation=home),
        "zoe": UserFactory.create(username="zoe", role=Role.WORKER, organisation=home),  # holds nothing
        "ivan": UserFactory.create(username="ivan", role=Role.WORKER, organisation=home, is_active=False),
    }
    world = World(now=now, organisation=home, people=people)
    holders: list[User | None] = [people["alice"], people["sofia"], people["bob"], people["ivan"], None]
    channel = Term.objects.get(vocabulary="channel", code="chat")
    step_types = list(StepType.objects.all()[:4])
    agency = Agency.objects.get(code="esafety")
    contact_makers = [people["alice"], people["sofia"], people["bob"]]
    for _ in range(60):
        case = make_case(
            home,
            assigned_to=rng.choice(holders),
            first_contact_at=now - timedelta(days=rng.uniform(0.5, 60)),
            status=rng.choice(["new", "open", "waiting", "reopened", "closed"]),
            risk_level=rng.choice(["low", "medium", "high", "critical"]),
            created_by=people["alice"],
        )
        world.cases.append(case)
        for _ in range(rng.randint(0, 3)):
            seconds = (now - case.first_contact_at).total_seconds()
            world.contacts.append(
                Contact.objects.create(
                    case=case,
                    at=case.first_contact_at + timedelta(seconds=rng.uniform(0, seconds)),
                    channel=channel,
                    worker=rng.choice(contact_makers),
                )
            )
        for step_type in rng.sample(step_types, rng.randint(0, 3)):
            world.steps.append(
                ResponseStep.objects.create(
                    case=case,
                    step_type=step_type,
                    status=rng.choice([StepStatus.TODO, StepStatus.TODO, StepStatus.DONE]),
                    due_at=rng.choice([None, now - timedelta(hours=rng.uniform(1, 100)), now + timedelta(hours=5)]),
                )
            )
        if rng.random() < 0.5:
            status = rng.choice(["draft", "sent", "acknowledged", "in_progress", "completed", "declined"])
            world.referrals.append(
                Referral.objects.create(
                    case=case,
                    kind="takedown",
                    agency=agency,
                    status=status,
                    outcome="removed" if status == "completed" else "",
                    consent="victim",
                    owner=rng.choice(contact_makers),
                    created_by=people["alice"],
                    follow_up_on=rng.choice(
                        [None, timezone.localdate() - timedelta(days=3), timezone.localdate() + timedelta(days=3)]
                    ),
                )
            )
    # Contacts of this week, however early in the week the tests run.
    this_week = max(now - timedelta(minutes=5), week_start(now))
    world.contacts.append(
        Contact.objects.create(case=world.cases[0], at=this_week, channel=channel, worker=people["alice"])
    )
    oscar = personas["other_worker"]
    for _ in range(5):
        foreign = make_case(
            oscar.organisation, assigned_to=oscar, first_contact_at=now - timedelta(days=20), created_by=oscar
        )
        Contact.objects.create(case=foreign, at=this_week, channel=channel, worker=oscar)
        world.foreign_cases.append(foreign)
    return world


@pytest.fixture
def world(personas: dict[str, User]) -> World:
    return build_world(personas)


def week_start(now: datetime) -> datetime:
    today = timezone.localdate(now)
    monday = today - timedelta(days=today.weekday())
    return timezone.make_aware(datetime.combine(monday, datetime.min.time()))


def ids(queryset: Any) -> set[int]:
    return {obj.pk for obj in queryset}

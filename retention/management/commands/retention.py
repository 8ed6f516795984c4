"""Apply the retention policies now, or (--dry-run) list what they would erase."""

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import Organisation
from retention import services
from retention.selectors import HISTORY, retention_policy_for

LABELS = {
    "notes": "notes",
    "referral_notes": "referral comments",
    "closure_comments": "closure comments",
    "incident_description": "incident description",
    "offender_identifiers": "offender identifiers",
    "takedown_links": "takedown links",
    HISTORY: "history rows",
}


def describe(counts: Counter[str]) -> str:
    return ", ".join(f"{LABELS[key]} {counts[key]}" for key in LABELS if counts[key]) or "nothing"


class Command(BaseCommand):
    help = "Erase the content of cases closed longer ago than their organisation's retention policy allows."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="List what would be erased; change nothing.")
        parser.add_argument("--organisation", help="Only this organisation (its id or exact name).")
        parser.add_argument("--batch-size", type=int, default=services.BATCH_SIZE, help="Cases per transaction.")

    def handle(self, *args: Any, dry_run: bool, organisation: str | None, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        organisations = Organisation.objects.order_by("name")
        if organisation:
            match = organisations.filter(pk=int(organisation)) if organisation.isdigit() else organisations.none()
            organisations = match or organisations.filter(name=organisation)
            if not organisations:
                raise CommandError(f"No organisation with the id or name {organisation!r}.")
        now = timezone.now()
        for org in organisations:
            policy = retention_policy_for(org)
            source = "default policy" if policy.is_default else "its policy"
            erases = ", ".join(policy.contents) or "nothing"
            self.stdout.write(
                f"{org.name}: {source}, {policy.months_after_closure} months after closure; erases {erases}"
            )
            if dry_run:
                totals: Counter[str] = Counter()
                cases = 0
                for erasure in services.retention_plan(organisation=org, now=now, batch_size=batch_size):
                    cases += 1
                    totals.update(erasure.counts)
                    closed = timezone.localtime(erasure.closed_at).date().isoformat()
                    self.stdout.write(f"  {erasure.reference} (closed {closed}): {describe(erasure.counts)}")
                self.stdout.write(f"  would erase {cases} cases: {describe(totals)}")
            else:
                outcome = services.retention_apply(organisation=org, now=now, batch_size=batch_size)
                self.stdout.write(f"  erased {outcome.cases} cases: {describe(outcome.counts)}")

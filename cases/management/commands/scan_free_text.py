"""List, per organisation, the cases whose stored free text the current guard flags: references and counts only."""

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organisation
from audit.models import Action
from audit.services import access_log_record
from cases.identifiers import case_region
from cases.models import Case, ClosureRequest, Note
from cases.services import text_findings

PLACES = {
    "incident_description": "incident description",
    "notes": "notes",
    "closure_comments": "closure comments",
    "consent_reasons": "consent reasons",
    "referral_notes": "referral notes",
}


def stored_texts(organisation: Organisation) -> Iterable[tuple[int, str, str]]:
    """(case id, place, text) for every non-empty free text of the organisation's cases."""
    mine = {"case__organisation": organisation}
    cases = Case.objects.filter(organisation=organisation).exclude(incident_description="")
    for case_id, text in cases.values_list("pk", "incident_description").iterator():
        yield case_id, "incident_description", text
    for case_id, text in Note.objects.filter(**mine).exclude(text="").values_list("case_id", "text").iterator():
        yield case_id, "notes", text
    closures = ClosureRequest.objects.filter(**mine).values_list("case_id", "comment", "decision_comment")
    for case_id, comment, decision_comment in closures.iterator():
        for text in (comment, decision_comment):
            if text:
                yield case_id, "closure_comments", text
    # Referrals build on cases: their texts are reached through the relation they add (case.referrals).
    referred = Case.objects.filter(organisation=organisation)
    reasons = referred.filter(referrals__consent_reason__gt="").values_list("pk", "referrals__consent_reason")
    for case_id, text in reasons.iterator():
        yield case_id, "consent_reasons", text
    notes = referred.filter(referrals__transitions__note__gt="").values_list("pk", "referrals__transitions__note")
    for case_id, text in notes.iterator():
        yield case_id, "referral_notes", text


class Command(BaseCommand):
    help = (
        "List, per organisation, the cases whose notes, incident description, comments or consent reasons the "
        "free-text guard flags today: case references and counts per kind, never the text. Changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organisation", help="Only this organisation (its id or exact name).")

    def handle(self, *args: Any, organisation: str | None, **options: Any) -> None:
        organisations = Organisation.objects.order_by("name")
        if organisation:
            match = organisations.filter(pk=int(organisation)) if organisation.isdigit() else organisations.none()
            organisations = match or organisations.filter(name=organisation)
            if not organisations:
                raise CommandError(f"No organisation with the id or name {organisation!r}.")
        for org in organisations:
            self._scan(org)

    def _scan(self, org: Organisation) -> None:
        regions = {
            pk: case_region(country, org.country)
            for pk, country in Case.objects.filter(organisation=org).values_list("pk", "victim_country")
        }
        kinds: defaultdict[int, Counter[str]] = defaultdict(Counter)
        places: defaultdict[int, set[str]] = defaultdict(set)
        for case_id, place, text in stored_texts(org):
            findings = text_findings(text, regions.get(case_id))
            if findings:
                kinds[case_id].update(finding.kind for finding in findings)
                places[case_id].add(place)
        references = dict(Case.objects.filter(pk__in=kinds).values_list("pk", "reference"))
        totals: Counter[str] = sum(kinds.values(), Counter())
        self.stdout.write(f"{org.name}: {len(kinds)} of {len(regions)} cases have text the guard flags")
        for case_id in sorted(kinds, key=lambda pk: references[pk]):
            counts = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds[case_id].items()))
            where = ", ".join(PLACES[place] for place in PLACES if place in places[case_id])
            self.stdout.write(f"  {references[case_id]}: {counts} (in {where})")
        access_log_record(
            action=Action.VIEW,
            object_type="cases.case",
            username="scan_free_text",
            detail={
                "scan_free_text": org.pk,
                "cases_flagged": len(kinds),
                "cases_scanned": len(regions),
                "kinds": dict(sorted(totals.items())),
            },
        )

"""The draw tables of one generation, resolved to the organisation's terms, step types and agencies."""

import json
import random
from collections.abc import Mapping, Sequence
from typing import Any

import pycountry
from django.utils import timezone
from psycopg.types.json import Jsonb

from accounts.models import Organisation, User
from cases.bulk import Playbook
from cases.identifiers import identifier_hash
from cases.models import Gender, IdentifierKind, Status, Vocabulary
from cases.selectors import terms_offered_to
from devtools.generator.distributions import (
    ADJECTIVES,
    AGES_FEMALE,
    AGES_MALE,
    AMOUNTS,
    APPROACHES,
    CHANNELS,
    CLOSURE_REASONS,
    CONTENT,
    DEMANDS,
    FIRST_PLATFORMS,
    GENDERS,
    HOURS,
    IDENTIFIER_KINDS,
    INCIDENTS,
    MOVED_TO,
    NOUNS,
    OFFENDER_COUNTRIES,
    OTHER_TYPES,
    PAYMENT_METHODS,
    PAYMENT_METHODS_MINOR,
    REPORTERS,
    REPORTERS_CHILD,
    STATUSES,
    THREATS,
    N,
    answer_table,
    draw_table,
)
from devtools.generator.referrals import (
    AGENCY_AGES,
    AGENCY_WEIGHTS,
    ANY_COUNTRY,
    ITEM_CONTENT,
    ITEM_STATUSES,
    OUTCOMES,
    TABLE_KINDS,
    WORLDWIDE,
)
from referrals.models import Agency, ReferralKind
from referrals.selectors import agencies_offered_to
from referrals.services import AGENCY_KIND, STEP_DONE_BY_SENDING


def jsonb_once(value: Any) -> Jsonb:
    """A jsonb value encoded once, for the many rows that share it."""
    return Jsonb(json.dumps(value), dumps=str)


class DrawTables:
    """Draw tables resolved to database ids, built once per call."""

    def __init__(self, organisation: Organisation, workers: Sequence[User], seed: int, count: int) -> None:
        self.random = random.Random(seed)  # noqa: S311 - synthetic data, not security
        self.organisation = organisation
        self.workers = [worker.pk for worker in workers]
        active = terms_offered_to(organisation.pk)
        self.terms: dict[str, dict[str, int]] = {}
        self.labels: dict[int, str] = {}
        for term in active:
            self.terms.setdefault(term.vocabulary, {})[term.code] = term.pk
            self.labels[term.pk] = term.label
        self.playbook = Playbook()
        self.step_types = self.playbook.step_types
        self.country = (organisation.country or "").upper()
        subdivisions = pycountry.subdivisions.get(country_code=self.country) if self.country else None
        self.regions = sorted(s.code for s in subdivisions or [] if len(s.code) <= 6)

        self.genders = draw_table(GENDERS)
        self.ages: dict[str, list[int]] = {Gender.MALE: draw_table(AGES_MALE), Gender.FEMALE: draw_table(AGES_FEMALE)}
        self.ages[""] = draw_table({age: AGES_MALE[age] + AGES_FEMALE[age] for age in AGES_MALE})
        self.other_types = draw_table(OTHER_TYPES)
        self.sextortion_types = {code: self.terms.get(Vocabulary.SEXTORTION_TYPE, {}).get(code) for code in INCIDENTS}
        self.hours = draw_table(HOURS)
        self.first_platforms = {band: self._ids(Vocabulary.PLATFORM, w) for band, w in FIRST_PLATFORMS.items()}
        self.moved_to = self._ids(Vocabulary.PLATFORM, MOVED_TO)
        self.channels = self._ids(Vocabulary.CHANNEL, CHANNELS)
        self.phone_chat = self._ids(Vocabulary.CHANNEL, {"phone": 50, "chat": 50})
        self.channel_codes = {pk: code for code, pk in self.terms.get(Vocabulary.CHANNEL, {}).items()}
        self.reporters = self._ids(Vocabulary.REPORTER_TYPE, REPORTERS)
        self.reporters_child = self._ids(Vocabulary.REPORTER_TYPE, REPORTERS_CHILD)
        self.closure_reasons = self._ids(Vocabulary.CLOSURE_REASON, CLOSURE_REASONS)
        self.payment_methods = self._ids(Vocabulary.PAYMENT_METHOD, PAYMENT_METHODS)
        self.payment_methods_minor = self._ids(Vocabulary.PAYMENT_METHOD, PAYMENT_METHODS_MINOR)
        self.amounts = draw_table(AMOUNTS)
        self.approaches = self._many(Vocabulary.APPROACH, APPROACHES)
        self.content = self._many(Vocabulary.CONTENT_TYPE, CONTENT)
        self.content_none = self.terms.get(Vocabulary.CONTENT_TYPE, {}).get("none")
        self.content_live = self.terms.get(Vocabulary.CONTENT_TYPE, {}).get("live_capture")
        self.content_manipulated = self.terms.get(Vocabulary.CONTENT_TYPE, {}).get("manipulated")
        self.approach_live = self.terms.get(Vocabulary.APPROACH, {}).get("live_capture")
        self.approach_ai = self.terms.get(Vocabulary.APPROACH, {}).get("ai_generated")
        self.demands = self._many(Vocabulary.DEMAND, DEMANDS)
        self.threats = self._many(Vocabulary.THREAT, THREATS)
        self.offender_countries = {
            kind: draw_table({(self.country if code == "home" else code): w for code, w in weights.items()})
            for kind, weights in OFFENDER_COUNTRIES.items()
        }
        self.paid = {"financial": answer_table(0.28, 0.55), "other": answer_table(0.05, 0.7)}
        self.complied = {"financial": answer_table(0.35, 0.45), "other": answer_table(0.3, 0.5)}
        self.distributed = answer_table(0.08, 0.5)
        self.network = {"financial": answer_table(0.45, 0.15), "other": answer_table(0.05, 0.3)}
        self.known_offline = answer_table(0.0, 0.6)
        self.offender_counts = draw_table({None: 50, 1: 40, 2: 7, 3: 3})
        self.platform_labels = {pk: self.labels[pk] for pk in self.terms.get(Vocabulary.PLATFORM, {}).values()}
        self.platform_codes = {pk: code for code, pk in self.terms.get(Vocabulary.PLATFORM, {}).items()}
        self.platform_slugs = {pk: code.replace("_", "-") for pk, code in self.platform_codes.items()}
        self.identifier_kinds = draw_table(IDENTIFIER_KINDS)
        self.statuses = [draw_table(weights) for weights in STATUSES]
        self.pool = self._offender_pool(max(30, count // 3))
        self.opened = {status: jsonb_once({"status": status}) for status in (Status.NEW, Status.OPEN)}
        self.closed_detail = {
            pk: jsonb_once({"from": Status.OPEN.value, "to": Status.CLOSED.value, "reason": self.labels[pk]})
            for pk in set(self.closure_reasons)
        }
        self.waiting_detail = jsonb_once({"from": Status.OPEN.value, "to": Status.WAITING.value})

        # Referrals: the agencies that fit each kind for minors and for adults, and a platform's own agency.
        self.zone = timezone.get_current_timezone()
        agencies = list(agencies_offered_to(organisation.pk).order_by("pk"))
        self.agency_tables = {
            minor: tuple(self._agencies(agencies, kind, minor) for kind in TABLE_KINDS) for minor in (False, True)
        }
        platform_agencies = {a.code: a.pk for a in agencies if a.kind == AGENCY_KIND[ReferralKind.PLATFORM]}
        self.platform_agency = {
            pk: platform_agencies[code]
            for code, pk in self.terms.get(Vocabulary.PLATFORM, {}).items()
            if code in platform_agencies
        }
        self.response_days = {a.pk: a.expected_response_days for a in agencies}
        self.reference_prefix = {a.pk: a.code.replace("_", "")[:4].upper() for a in agencies}
        self.outcomes = {kind: draw_table(weights) for kind, weights in OUTCOMES.items()}
        self.item_statuses = {kind: draw_table(weights) for kind, weights in ITEM_STATUSES.items()}
        self.item_content = {kind: draw_table(weights) for kind, weights in ITEM_CONTENT.items()}
        self.step_by_kind: dict[str, int] = {
            kind: self.step_types[code] for kind, code in STEP_DONE_BY_SENDING.items() if code in self.step_types
        }
        self.threat_publish = self.terms.get(Vocabulary.THREAT, {}).get("publish")

    def _agencies(self, agencies: list[Agency], kind: str, minor: bool) -> list[int] | None:
        """A draw table of the agencies a helpline of this country refers minors (or adults) to, or None.

        Those of the country, else international ones, and those that take reports from anywhere;
        agencies for the other age group are left out.
        """
        if kind == ReferralKind.CHILD_PROTECTION and not minor:
            return None
        who = "minor" if minor else "adult"
        fit = [a for a in agencies if a.kind == AGENCY_KIND[kind] and AGENCY_AGES.get(a.code, who) == who]
        near = [a for a in fit if a.country and a.country == self.country] or [a for a in fit if not a.country]
        near += [a for a in fit if a.code in WORLDWIDE and a not in near]
        if not near and kind in ANY_COUNTRY:
            near = fit
        return draw_table({a.pk: AGENCY_WEIGHTS.get(a.code, 1) for a in near}) if near else None

    def _ids(self, vocabulary: str, weights: Mapping[str, float]) -> list[int]:
        """A draw table of term ids; codes no longer active are left out."""
        terms = self.terms.get(vocabulary, {})
        present = {terms[code]: weight for code, weight in weights.items() if code in terms}
        if not present:
            if not terms:
                raise ValueError(f"No active terms in the {vocabulary} taxonomy.")
            present = {pk: 1.0 for pk in terms.values()}
        return draw_table(present)

    def _many(self, vocabulary: str, table: dict[str, list[tuple[str, float]]]) -> dict[str, list[tuple[int, float]]]:
        terms = self.terms.get(vocabulary, {})
        return {kind: [(terms[code], p) for code, p in pairs if code in terms] for kind, pairs in table.items()}

    def _offender_pool(self, size: int) -> list[tuple[str, int | None, list[tuple[str, str]]]]:
        """Made-up offender identifiers, each with the ways a worker might write it down, and their hashes."""
        draw = random.Random(f"offenders-{self.random.random()}")  # noqa: S311
        platforms = self.first_platforms["young"]
        pool = []
        for number in range(size):
            handle = f"demo_{draw.choice(ADJECTIVES)}_{draw.choice(NOUNS)}{number:05d}"
            kind = self.identifier_kinds[int(draw.random() * N)]
            platform: int | None = None
            if kind == IdentifierKind.USERNAME:
                platform = platforms[int(draw.random() * N)]
                values = [handle, f"@{handle}", handle.upper()]
            elif kind == IdentifierKind.PROFILE_LINK:
                platform = platforms[int(draw.random() * N)]
                site = self.platform_codes[platform].replace("_", "-")
                values = [f"https://{site}.example/{handle}", f"{site}.example/{handle}/"]
            elif kind == IdentifierKind.PAYMENT_HANDLE:
                values = [f"${handle}", handle]
            else:
                values = [f"{handle}@example.invalid", f"{handle.upper()}@example.invalid"]
            pool.append((kind, platform, [(value, identifier_hash(kind, value)) for value in values]))
        return pool

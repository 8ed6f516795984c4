"""Synthetic, anonymised cases in bulk, for demonstrations and load tests.

Nothing generated describes a real person: victims are an age band, a gender and a
region; incident descriptions and notes come from a small set of neutral template
sentences; offender handles are made-up ``demo_...`` names on reserved example domains.

The distributions follow what helplines report: boys of 14 to 17 and young men are the
most frequent victims, Instagram and Snapchat the usual first contact, and financial
sextortion (money, usually by gift card, payment app or crypto) a growing share year
after year. The facts of a case agree with each other (a financial case demands money,
a relational one involves someone known offline) and its response steps are exactly
those of the playbook.

About a third of the cases are referred to agencies (police, a regulator, the platform, a
hash-matching or support service), some to two or three. Each referral runs the life the
referral services would give it, with delays drawn per kind of agency: drafted, sent, answered
after hours or weeks (some never), then completed with an outcome, declined or withdrawn; its
times stop at now, so recent referrals are mostly still under way. Takedown and platform
referrals list the content to remove, settled item by item. Sending marks the response step it
stands for as done, as the services do.

Rows go in with PostgreSQL COPY, one transaction per batch, so a million cases with
their contacts, steps, platforms, identifiers, notes, timeline and referrals take minutes.
"""

import bisect
import json
import math
import random
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

import pgtrigger
import pycountry
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from accounts.models import Organisation, User
from cases.identifiers import identifier_hash
from cases.models import (
    AgeUnknown,
    Answer,
    Case,
    CaseActivity,
    CaseCounter,
    CasePlatform,
    Contact,
    EventKind,
    Gender,
    IdentifierKind,
    Note,
    OffenderIdentifier,
    PlatformRole,
    ResponseStep,
    Risk,
    Status,
    StepStatus,
    StepType,
    Vocabulary,
)
from cases.selectors import terms_offered_to
from cases.services import playbook_steps
from referrals.models import (
    Agency,
    Consent,
    ItemContent,
    ItemStatus,
    Outcome,
    Referral,
    ReferralKind,
    ReferralStatus,
    ReferralTransition,
    TakedownItem,
)
from referrals.selectors import agencies_offered_to
from referrals.services import AGENCY_KIND, STEP_DONE_BY_SENDING, items_outcome

BATCH_SIZE = 20_000

# The history triggers (pghistory) of the tables written here. They are skipped: the
# cases are synthetic bulk data with no history worth keeping, and the triggers would
# double every write. pgtrigger.ignore sets a transaction-local variable with the first
# statement Django runs in each batch's transaction; the COPY that follows on the same
# connection and transaction sees it too.
HISTORY_TRIGGERS = [
    f"{model._meta.label}:insert_insert"
    for model in (Case, CasePlatform, OffenderIdentifier, Contact, ResponseStep, Note, Referral, TakedownItem)
]

INCIDENTS: dict[str, list[str]] = {
    "financial": [
        "Contacted by a stranger on {platform} who asked for images, then demanded money.",
        "Met someone on {platform} who seemed friendly; after images were shared, payment was demanded.",
        "A new contact on {platform} started a video call, recorded it and then asked for money.",
        "Received threats on {platform} to send intimate images to family and friends unless a payment was made.",
        "Someone on {platform} posing as a young person of the same age asked for images, then asked for money.",
        "Paid once after threats on {platform}; the demands continued and grew.",
    ],
    "sexual": [
        "Contacted on {platform} by someone who asked for more images after the first ones were shared.",
        "Someone on {platform} threatened to publish images unless more content was sent.",
        "A stranger on {platform} offered game credit for images, then demanded more under threat.",
        "Pressured on {platform} to take part in a live video call under threat of sharing images.",
    ],
    "relational": [
        "A former partner threatened to share intimate images on {platform} after the relationship ended.",
        "Someone known from school threatened to share images on {platform} unless the victim met them.",
        "A person known offline used images shared in confidence to make demands on {platform}.",
    ],
    "other": [
        "Received a message on {platform} claiming to hold manipulated images and threatening to share them.",
        "An account on {platform} was taken over and private images were used for threats.",
        "Someone on {platform} sent an altered image and threatened to spread it.",
    ],
}
NOTES = [
    "Reassured the caller that it is not their fault.",
    "Advised not to pay and to stop all contact with the offender.",
    "Helped preserve evidence before blocking the account.",
    "Explained how to report the account to the platform.",
    "Follow-up call: the victim feels safer and has had no new messages.",
    "Explained how to report to the police online-crime unit.",
    "Discussed wellbeing support; the victim agreed to talk to a counsellor.",
    "Parent present during the call; agreed next steps together.",
    "Went through privacy settings and password changes together.",
    "The victim reports new threats on another platform.",
    "Explained how to request removal of images from the platforms.",
]
_ADJECTIVES = ["amber", "silver", "quiet", "rapid", "lunar", "cobalt", "maple", "north", "pixel", "velvet"]
_NOUNS = ["fox", "river", "stone", "comet", "harbor", "falcon", "meadow", "echo", "cedar", "orbit"]

_N = 10_000  # size of the draw tables: table[int(random() * _N)] is one weighted draw


def _table(weights: Mapping[Any, float]) -> list[Any]:
    """_N items in proportion to their weights (largest remainders), for one-random-call draws."""
    items = [(item, weight) for item, weight in weights.items() if weight > 0]
    if not items:
        raise ValueError("Nothing to draw from.")
    total = sum(weight for _, weight in items)
    exact = [weight / total * _N for _, weight in items]
    counts = [int(x) for x in exact]
    for index in sorted(range(len(items)), key=lambda i: exact[i] - counts[i], reverse=True)[: _N - sum(counts)]:
        counts[index] += 1
    table: list[Any] = []
    for (item, _), count in zip(items, counts, strict=True):
        table.extend([item] * count)
    return table


def _ages(peak: dict[int, float]) -> dict[int, float]:
    """Weights for ages 9 to 45: the given ones, then a tail falling from 25 to 45."""
    weights = {age: 0.3 for age in range(9, 46)}
    for age in range(25, 46):
        weights[age] = max(0.3, 2.4 - 0.1 * (age - 25))
    weights.update(peak)
    return weights


AGES_MALE = _ages(
    {9: 0.4, 10: 0.7, 11: 1.1, 12: 2, 13: 4, 14: 8, 15: 11, 16: 12, 17: 11}
    | {18: 9, 19: 8, 20: 7, 21: 6, 22: 5, 23: 4, 24: 3.5}
)
AGES_FEMALE = _ages(
    {9: 0.5, 10: 1, 11: 1.6, 12: 3, 13: 6, 14: 8, 15: 9, 16: 8, 17: 7}
    | {18: 5, 19: 4.5, 20: 4, 21: 3.5, 22: 3, 23: 2.6, 24: 2.3}
)
GENDERS = {Gender.MALE: 68, Gender.FEMALE: 27, Gender.OTHER: 2, Gender.NOT_STATED: 3}
# Share of financial sextortion by gender, in the first year of the range and added each year after.
FINANCIAL_SHARE = {Gender.MALE: (0.62, 0.07), Gender.FEMALE: (0.22, 0.05), "": (0.45, 0.06)}
FINANCIAL_SHARE_MAX = 0.9
OTHER_TYPES = {"sexual": 70, "relational": 20, "other": 10}
# Hour of first contact (local time, from midnight): mostly the evening, little at night.
HOURS = dict(enumerate([6, 4, 2, 1, 1, 1, 1, 1, 2, 3, 3, 4, 4, 5, 6, 7, 8, 9, 10, 11, 12, 12, 11, 9]))
# First-contact platform by age band: child (12 or under), young (13 to 24 or unknown minor), adult.
FIRST_PLATFORMS = {
    "child": {"roblox": 18, "online_game": 12, "tiktok": 18, "snapchat": 20, "instagram": 14, "discord": 8}
    | {"whatsapp": 5, "other": 5},
    "young": {"instagram": 40, "snapchat": 28, "tiktok": 6, "facebook": 4, "discord": 4, "whatsapp": 3}
    | {"video_chat": 3, "x": 2, "dating_app": 3, "online_game": 2, "telegram": 1, "roblox": 1, "email": 1}
    | {"sms": 1, "other": 1},
    "adult": {"instagram": 34, "facebook": 18, "snapchat": 10, "dating_app": 14, "whatsapp": 6, "x": 4}
    | {"telegram": 3, "video_chat": 3, "tiktok": 3, "email": 3, "sms": 1, "other": 1},
}
MOVED_TO = {"snapchat": 35, "whatsapp": 25, "instagram": 15, "telegram": 15, "discord": 5, "video_chat": 5}
CHANNELS = {"chat": 40, "phone": 25, "web_form": 15, "email": 10, "referral": 7, "in_person": 3}
REPORTERS = {"victim": 70, "parent": 15, "friend": 4, "relative": 3, "school": 3, "professional": 3}
REPORTERS |= {"anonymous": 2}
REPORTERS_CHILD = {"parent": 60, "victim": 20, "school": 8, "relative": 7, "professional": 5}
CLOSURE_REASONS = {"resolved": 45, "no_contact": 25, "referred": 20, "declined": 5, "out_of_scope": 3}
CLOSURE_REASONS |= {"duplicate": 2}
# Multi-valued facts: (code, probability), by sextortion type; the first is used if none is drawn.
APPROACHES = {
    "financial": [
        ("fake_romance", 0.55),
        ("flattery", 0.35),
        ("live_capture", 0.15),
        ("ai_generated", 0.08),
        ("hacked_account", 0.05),
        ("offer", 0.05),
    ],
    "sexual": [
        ("flattery", 0.5),
        ("fake_romance", 0.3),
        ("offer", 0.25),
        ("impersonation", 0.15),
        ("hacked_account", 0.05),
    ],
    "relational": [("known_offline", 1.0), ("hacked_account", 0.1)],
    "other": [("hacked_account", 0.4), ("ai_generated", 0.4), ("impersonation", 0.3)],
}
CONTENT = {
    "financial": [("self_image", 0.75), ("self_video", 0.35)],
    "sexual": [("self_image", 0.85), ("self_video", 0.4)],
    "relational": [("self_image", 0.7), ("self_video", 0.3)],
    "other": [("manipulated", 0.5)],
}
DEMANDS = {
    "financial": [("money", 1.0), ("more_images", 0.1)],
    "sexual": [("more_images", 0.85), ("live_acts", 0.3), ("meeting", 0.07)],
    "relational": [("other", 0.4), ("more_images", 0.4), ("meeting", 0.3)],
    "other": [("other", 0.6), ("money", 0.2), ("more_images", 0.2)],
}
THREATS = {
    "financial": [("friends", 0.7), ("family", 0.65), ("publish", 0.3), ("school_work", 0.25)],
    "sexual": [("friends", 0.6), ("publish", 0.45), ("family", 0.4), ("school_work", 0.2)],
    "relational": [("friends", 0.6), ("publish", 0.4), ("school_work", 0.3), ("family", 0.2)],
    "other": [("publish", 0.6), ("friends", 0.4), ("family", 0.3), ("other", 0.1)],
}
PAYMENT_METHODS = {"payment_app": 35, "gift_card": 25, "crypto": 15, "bank_transfer": 12, "game_currency": 8}
PAYMENT_METHODS |= {"other": 5}
PAYMENT_METHODS_MINOR = {"gift_card": 40, "game_currency": 25, "payment_app": 25, "crypto": 5, "other": 5}
AMOUNTS = {"under_50": 30, "50_249": 35, "250_999": 20, "1000_plus": 8, "unknown": 7}
OFFENDER_COUNTRIES = {
    "financial": {"": 50, "NG": 20, "CI": 10, "PH": 7, "GH": 5, "US": 3, "home": 5},
    "sexual": {"": 60, "home": 25, "US": 5, "GB": 5, "PH": 5},
    "relational": {"home": 90, "": 10},
    "other": {"": 70, "home": 20, "US": 10},
}
IDENTIFIER_KINDS = {
    IdentifierKind.USERNAME: 60,
    IdentifierKind.PAYMENT_HANDLE: 20,
    IdentifierKind.PROFILE_LINK: 10,
    IdentifierKind.EMAIL: 10,
}
IDENTIFIER_SHARE = 0.3
# Offender identifiers are drawn from a pool of count / 3, skewed so that most appear once, some in a
# few cases and a few in a hundred or so (a network reusing its accounts): index = size * random() ** skew.
POOL_SKEW = 1.6
# Status by age of the case in days: up to 7, 30, 90, older.
STATUS_AGES = [7, 30, 90]
STATUSES: list[dict[str, float]] = [
    {Status.NEW: 15, Status.OPEN: 60, Status.WAITING: 10, Status.CLOSED: 15},
    {Status.NEW: 3, Status.OPEN: 35, Status.WAITING: 20, Status.CLOSED: 40, Status.REOPENED: 2},
    {Status.OPEN: 12, Status.WAITING: 10, Status.CLOSED: 75, Status.REOPENED: 3},
    {Status.OPEN: 1.5, Status.WAITING: 2, Status.CLOSED: 96, Status.REOPENED: 0.5},
]

# Referrals. Agencies of the catalogue (referrals.agencies) that take only minors or only adults; others take anyone.
AGENCY_AGES = {
    "cncpo": "minor",
    "accce": "minor",
    "ceop": "minor",
    "ncmec_cybertipline": "minor",
    "iwf": "minor",
    "inhope": "minor",
    "take_it_down": "minor",
    "report_remove": "minor",
    "telefono_azzurro": "minor",
    "kids_helpline": "minor",
    "stopncii": "adult",
    "revenge_porn_helpline": "adult",
}
# Agencies used from any country; the others only by helplines of their country, or international ones (no country).
WORLDWIDE = {"take_it_down"}
# Kinds referred abroad when neither the country nor an international body has such an agency, as referrals.demo does.
ANY_COUNTRY = {ReferralKind.TAKEDOWN}
# Relative weights where several agencies fit (others weigh 1): national police over the child-abuse centre, etc.
AGENCY_WEIGHTS = {"polizia_postale": 6, "cncpo": 1, "take_it_down": 3, "report_remove": 1}


class _Life(NamedTuple):
    """How referrals of one kind go: times are drawn from exponential or log-normal (skewed) distributions."""

    draft_hours: float  # mean time from the case opening to drafting the referral
    silent: float  # share never answered
    ack_hours: float  # median time from sending to the first answer
    ack_spread: float  # standard deviation of its logarithm
    direct: float  # share whose first answer is already the outcome (or the refusal)
    in_progress: float  # share marked in progress between the acknowledgement and the outcome
    done_days: float  # median time from the first answer to the outcome
    done_spread: float
    declined: float
    withdrawn: float
    follow_up_days: int  # the next follow-up a worker sets after an answer


LIVES: dict[str, _Life] = {
    ReferralKind.POLICE: _Life(36, 0.08, 80, 1.1, 0.03, 0.7, 30, 0.9, 0.07, 0.04, 21),
    ReferralKind.TAKEDOWN: _Life(20, 0.03, 20, 1.0, 0.2, 0.4, 3, 1.0, 0.06, 0.02, 7),
    ReferralKind.PLATFORM: _Life(8, 0.12, 10, 1.3, 0.45, 0.1, 1.5, 1.2, 0.04, 0.02, 7),
    ReferralKind.HASH_MATCHING: _Life(24, 0.01, 0.3, 1.5, 0.0, 0.2, 8, 1.0, 0.02, 0.03, 14),
    ReferralKind.SUPPORT: _Life(60, 0.05, 24, 1.0, 0.3, 0.3, 4, 1.0, 0.05, 0.05, 7),
    ReferralKind.CHILD_PROTECTION: _Life(24, 0.05, 30, 1.0, 0.1, 0.4, 12, 1.0, 0.05, 0.02, 14),
}
# Outcomes of the kinds without takedown items (theirs follow from the items, as in takedown_item_update).
OUTCOMES: dict[str, dict[str, float]] = {
    ReferralKind.POLICE: {
        Outcome.INVESTIGATION_OPENED: 45,
        Outcome.NO_FURTHER_ACTION: 38,
        Outcome.OFFENDER_IDENTIFIED: 11,
        Outcome.CHARGES_LAID: 6,
    },
    ReferralKind.HASH_MATCHING: {Outcome.REMOVED: 40, Outcome.NOT_FOUND: 45, Outcome.PARTLY_REMOVED: 15},
    ReferralKind.SUPPORT: {Outcome.ACCEPTED: 85, Outcome.DECLINED: 15},
    ReferralKind.CHILD_PROTECTION: {Outcome.ACCEPTED: 75, Outcome.DECLINED: 25},
}
SLOW_OUTCOMES = {Outcome.CHARGES_LAID: 4.0, Outcome.OFFENDER_IDENTIFIED: 2.0}  # times longer to reach
ITEM_KINDS = {ReferralKind.TAKEDOWN, ReferralKind.PLATFORM}
# The kinds whose agency is drawn from a table (a platform report goes to the platform of first contact).
TABLE_KINDS = [
    ReferralKind.POLICE,
    ReferralKind.TAKEDOWN,
    ReferralKind.HASH_MATCHING,
    ReferralKind.SUPPORT,
    ReferralKind.CHILD_PROTECTION,
]
ITEM_STATUSES: dict[str, dict[str, float]] = {
    ReferralKind.TAKEDOWN: {ItemStatus.REMOVED: 78, ItemStatus.REFUSED: 9, ItemStatus.NOT_FOUND: 13},
    ReferralKind.PLATFORM: {ItemStatus.REMOVED: 60, ItemStatus.REFUSED: 28, ItemStatus.NOT_FOUND: 12},
}
ITEM_CONTENT: dict[str, dict[str, float]] = {
    ReferralKind.TAKEDOWN: {ItemContent.IMAGE: 55, ItemContent.VIDEO: 25, ItemContent.PROFILE: 12, ItemContent.CHAT: 8},
    ReferralKind.PLATFORM: {
        ItemContent.PROFILE: 40,
        ItemContent.IMAGE: 30,
        ItemContent.CHAT: 20,
        ItemContent.VIDEO: 10,
    },
}
DECLINE_NOTES = [
    "Outside the agency's remit.",
    "Not enough information to act on.",
    "Handled by another service.",
    "",
]
WITHDRAW_NOTES = [
    "The victim decided not to go ahead.",
    "No answer; closed by the helpline.",
    "Sent twice by mistake.",
    "",
]
NOT_REQUIRED_REASONS = {
    "child": "A child at risk of harm: reported to protect them.",
    "account": "Reports the offender's account only; nothing about the victim is shared.",
}
REFERRAL_SENT = "Referral sent"  # the reason step_mark_done gives a step it adds
STILL_DRAFT = 0.04  # share of the referrals of cases under 14 days old still waiting for consent
ABANDONED = 0.012  # share of referrals withdrawn before sending (consent refused)


def _answers(yes: float, no: float) -> list[str]:
    return _table({Answer.YES: yes, Answer.NO: no, Answer.UNKNOWN: max(0.0, 1 - yes - no)})


class _Generator:
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
        self.step_types = dict(StepType.objects.filter(active=True).values_list("code", "pk"))
        self.country = (organisation.country or "").upper()
        subdivisions = pycountry.subdivisions.get(country_code=self.country) if self.country else None
        self.regions = sorted(s.code for s in subdivisions or [] if len(s.code) <= 6)

        self.genders = _table(GENDERS)
        self.ages: dict[str, list[int]] = {Gender.MALE: _table(AGES_MALE), Gender.FEMALE: _table(AGES_FEMALE)}
        self.ages[""] = _table({age: AGES_MALE[age] + AGES_FEMALE[age] for age in AGES_MALE})
        self.other_types = _table(OTHER_TYPES)
        self.sextortion_types = {code: self.terms.get(Vocabulary.SEXTORTION_TYPE, {}).get(code) for code in INCIDENTS}
        self.hours = _table(HOURS)
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
        self.amounts = _table(AMOUNTS)
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
            kind: _table({(self.country if code == "home" else code): w for code, w in weights.items()})
            for kind, weights in OFFENDER_COUNTRIES.items()
        }
        self.paid = {"financial": _answers(0.28, 0.55), "other": _answers(0.05, 0.7)}
        self.complied = {"financial": _answers(0.35, 0.45), "other": _answers(0.3, 0.5)}
        self.distributed = _answers(0.08, 0.5)
        self.network = {"financial": _answers(0.45, 0.15), "other": _answers(0.05, 0.3)}
        self.known_offline = _answers(0.0, 0.6)
        self.offender_counts = _table({None: 50, 1: 40, 2: 7, 3: 3})
        self.platform_labels = {pk: self.labels[pk] for pk in self.terms.get(Vocabulary.PLATFORM, {}).values()}
        self.platform_codes = {pk: code for code, pk in self.terms.get(Vocabulary.PLATFORM, {}).items()}
        self.platform_slugs = {pk: code.replace("_", "-") for pk, code in self.platform_codes.items()}
        self.identifier_kinds = _table(IDENTIFIER_KINDS)
        self.statuses = [_table(weights) for weights in STATUSES]
        self.pool = self._offender_pool(max(30, count // 3))
        self.steps: dict[tuple[Any, ...], list[tuple[int, str, int | None]]] = {}
        self.opened = {status: _json({"status": status}) for status in (Status.NEW, Status.OPEN)}
        self.closed_detail = {
            pk: _json({"from": Status.OPEN.value, "to": Status.CLOSED.value, "reason": self.labels[pk]})
            for pk in set(self.closure_reasons)
        }
        self.waiting_detail = _json({"from": Status.OPEN.value, "to": Status.WAITING.value})

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
        self.outcomes = {kind: _table(weights) for kind, weights in OUTCOMES.items()}
        self.item_statuses = {kind: _table(weights) for kind, weights in ITEM_STATUSES.items()}
        self.item_content = {kind: _table(weights) for kind, weights in ITEM_CONTENT.items()}
        self.step_by_kind: dict[str, int] = {
            kind: self.step_types[code] for kind, code in STEP_DONE_BY_SENDING.items() if code in self.step_types
        }
        self.threat_publish = self.terms.get(Vocabulary.THREAT, {}).get("publish")
        tables = [Case._meta.db_table, *MANY_TABLES.values(), *CHILD_COLUMNS, Referral._meta.db_table]
        self.column_types = column_types([*tables, *REFERRAL_CHILD_COLUMNS])

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
        return _table({a.pk: AGENCY_WEIGHTS.get(a.code, 1) for a in near}) if near else None

    def _ids(self, vocabulary: str, weights: Mapping[str, float]) -> list[int]:
        """A draw table of term ids; codes no longer active are left out."""
        terms = self.terms.get(vocabulary, {})
        present = {terms[code]: weight for code, weight in weights.items() if code in terms}
        if not present:
            if not terms:
                raise ValueError(f"No active terms in the {vocabulary} taxonomy.")
            present = {pk: 1.0 for pk in terms.values()}
        return _table(present)

    def _many(self, vocabulary: str, table: dict[str, list[tuple[str, float]]]) -> dict[str, list[tuple[int, float]]]:
        terms = self.terms.get(vocabulary, {})
        return {kind: [(terms[code], p) for code, p in pairs if code in terms] for kind, pairs in table.items()}

    def _offender_pool(self, size: int) -> list[tuple[str, int | None, list[tuple[str, str]]]]:
        """Made-up offender identifiers, each with the ways a worker might write it down, and their hashes."""
        draw = random.Random(f"offenders-{self.random.random()}")  # noqa: S311
        platforms = self.first_platforms["young"]
        pool = []
        for number in range(size):
            handle = f"demo_{draw.choice(_ADJECTIVES)}_{draw.choice(_NOUNS)}{number:05d}"
            kind = self.identifier_kinds[int(draw.random() * _N)]
            platform: int | None = None
            if kind == IdentifierKind.USERNAME:
                platform = platforms[int(draw.random() * _N)]
                values = [handle, f"@{handle}", handle.upper()]
            elif kind == IdentifierKind.PROFILE_LINK:
                platform = platforms[int(draw.random() * _N)]
                site = self.platform_codes[platform].replace("_", "-")
                values = [f"https://{site}.example/{handle}", f"{site}.example/{handle}/"]
            elif kind == IdentifierKind.PAYMENT_HANDLE:
                values = [f"${handle}", handle]
            else:
                values = [f"{handle}@example.invalid", f"{handle.upper()}@example.invalid"]
            pool.append((kind, platform, [(value, identifier_hash(kind, value)) for value in values]))
        return pool

    def playbook(
        self, age: int | None, risk: str, distributed: str, paid: str, self_harm: bool, danger: bool
    ) -> list[tuple[int, str, int | None]]:
        """The steps playbook_steps gives a case with these facts (the ones it reads), as (type id, reason, due s).

        Remembered per combination, since only a few thousand combinations exist.
        """
        key = (age, risk, distributed, paid, self_harm, danger)
        steps = self.steps.get(key)
        if steps is None:
            case = Case(
                victim_age=age,
                risk_level=risk,
                content_distributed=distributed,
                victim_paid=paid,
                self_harm=self_harm,
                immediate_danger=danger,
            )
            steps = [
                (self.step_types[code], str(reason), int(due.total_seconds()) if due else None)
                for code, reason, due in playbook_steps(case)
                if code in self.step_types
            ]
            self.steps[key] = steps
        return steps


S = ReferralStatus
ANSWERS = (S.ACKNOWLEDGED, S.IN_PROGRESS, S.COMPLETED, S.DECLINED)  # the first answer acknowledges the referral
ENDS = (S.COMPLETED, S.DECLINED, S.WITHDRAWN)


class _Referrals:
    """The referrals of one batch, as rows of Referral, ReferralTransition and TakedownItem.

    Each row starts with the referral's number in the batch, replaced by its id when the ids are
    taken from the sequence at the end of the batch.
    """

    def __init__(self, g: _Generator, now_ts: int) -> None:
        self.g = g
        self.now = now_ts
        self.today = datetime.fromtimestamp(now_ts, g.zone).date()
        self.rnd = g.random.random
        self.gauss = g.random.gauss
        self.referrals: list[tuple[Any, ...]] = []
        self.transitions: list[tuple[Any, ...]] = []
        self.items: list[tuple[Any, ...]] = []

    def case(
        self,
        case_id: int,
        opened_at: int,
        case_end: int,
        age_days: float,
        holder: int,
        age: int | None,
        minor: bool,
        facts: tuple[bool, bool, bool, bool, bool, bool, bool],
        platforms: tuple[int, int | None],
    ) -> dict[int, tuple[int, int]] | None:
        """Refer a case to none, one, two or three agencies.

        ``facts``: whether the case is waiting, of high or critical risk, its content distributed,
        the victim paid, self-harm or danger, a threat to publish, any content obtained. ``platforms``:
        of first contact, and where the offender moved (or None). Returns the response steps that
        sending marked done, as {step type id: (at, by)}, or None if there are none.
        """
        rnd = self.rnd
        waiting, high, shared, paid, urgent, publish, has_content = facts
        police, takedown, hashing, support, child = self.g.agency_tables[minor]
        boost = 1.8 if waiting else 1.0  # a case waiting is often waiting on an agency
        chosen: list[tuple[str, int]] = []
        if police and rnd() < boost * (0.07 + 0.08 * minor + 0.1 * high + 0.15 * shared + 0.04 * paid):
            chosen.append((ReferralKind.POLICE, police[int(rnd() * _N)]))
        if has_content:
            if takedown and rnd() < boost * (0.4 if shared else 0.03 if publish else 0.0):
                chosen.append((ReferralKind.TAKEDOWN, takedown[int(rnd() * _N)]))
            if hashing and rnd() < boost * (0.35 if shared else 0.08 + 0.04 * publish):
                chosen.append((ReferralKind.HASH_MATCHING, hashing[int(rnd() * _N)]))
        platform_agency = self.g.platform_agency.get(platforms[0])
        if platform_agency is not None and rnd() < boost * (0.1 + 0.15 * shared):
            chosen.append((ReferralKind.PLATFORM, platform_agency))
        if support and rnd() < boost * (0.025 + 0.08 * urgent):
            chosen.append((ReferralKind.SUPPORT, support[int(rnd() * _N)]))
        if child and rnd() < boost * (0.015 + 0.1 * shared):
            chosen.append((ReferralKind.CHILD_PROTECTION, child[int(rnd() * _N)]))
        if not chosen:
            return None

        done_steps: dict[int, tuple[int, int]] = {}
        step_by_kind = self.g.step_by_kind
        for kind, agency in chosen[:3]:
            sent = self._one(
                case_id, kind, agency, opened_at, case_end, age_days, holder, age, minor, urgent, platforms
            )
            step = step_by_kind.get(kind)
            if sent is not None and step is not None:
                done_steps[step] = (sent, holder)
        return done_steps

    def _one(
        self,
        case_id: int,
        kind: str,
        agency: int,
        opened_at: int,
        case_end: int,
        age_days: float,
        owner: int,
        age: int | None,
        minor: bool,
        urgent: bool,
        platforms: tuple[int, int | None],
    ) -> int | None:
        """One referral, its moves and items; returns when it was sent, or None."""
        rnd, gauss, log, exp, g, now = self.rnd, self.gauss, math.log, math.exp, self.g, self.now
        life = LIVES[kind]
        number = len(self.referrals)
        drafted = opened_at + int(-log(1 - rnd()) * life.draft_hours * 3600)
        if drafted > case_end:
            drafted = opened_at + int(rnd() * (case_end - opened_at))

        consent: str = Consent.VICTIM
        reason = ""
        if kind == ReferralKind.PLATFORM and rnd() < 0.3:
            consent, reason = Consent.NOT_REQUIRED, NOT_REQUIRED_REASONS["account"]
        elif minor and urgent and kind in (ReferralKind.POLICE, ReferralKind.CHILD_PROTECTION) and rnd() < 0.5:
            consent, reason = Consent.NOT_REQUIRED, NOT_REQUIRED_REASONS["child"]
        elif minor and (age is None or age < 16 or rnd() < 0.4):
            consent = Consent.GUARDIAN

        # The moves (to, at, by, note) as they would happen; those after now are cut off below.
        moves: list[tuple[str, int, int, str]] = []
        item_kind = kind in ITEM_KINDS
        outcome = ""
        settled: list[tuple[str, int]] = []  # per item: its status and when it was settled
        u = rnd()
        if u < ABANDONED:  # consent refused: withdrawn without sending
            consent, reason = "", ""
            moves.append((S.WITHDRAWN, drafted + 600 + int(-log(1 - rnd()) * 2 * DAY), owner, WITHDRAW_NOTES[0]))
        elif u < ABANDONED + STILL_DRAFT and age_days < 14:
            consent, reason = "", ""  # waiting for consent
        else:
            sent = drafted + 300 + int(-log(1 - rnd()) * 7200)
            moves.append((S.SENT, sent, owner, ""))
            u = rnd()
            if u < life.silent:  # never answered; most are given up after one to three months
                if rnd() < 0.7:
                    moves.append((S.WITHDRAWN, sent + int((30 + 60 * rnd()) * DAY), owner, WITHDRAW_NOTES[1]))
            else:
                first = sent + 60 + int(life.ack_hours * 3600 * exp(life.ack_spread * gauss()))
                workers = g.workers
                answerer = owner if rnd() < 0.85 else workers[int(rnd() * len(workers))]
                later = first + 600 + int(life.done_days * DAY * exp(life.done_spread * gauss()))
                u = rnd()
                if u < life.declined:
                    note = DECLINE_NOTES[int(rnd() * len(DECLINE_NOTES))]
                    if rnd() < 0.5:
                        moves.append((S.DECLINED, first, answerer, note))
                    else:
                        moves.append((S.ACKNOWLEDGED, first, answerer, ""))
                        moves.append((S.DECLINED, first + (later - first) // 3, answerer, note))
                elif u < life.declined + life.withdrawn:
                    moves.append((S.ACKNOWLEDGED, first, answerer, ""))
                    note = WITHDRAW_NOTES[(0, 2, 3)[int(rnd() * 3)]]
                    moves.append((S.WITHDRAWN, first + (later - first) // 2, owner, note))
                else:
                    direct = rnd() < life.direct
                    if item_kind:
                        # Each item is settled on its own answer; the last one completes the referral.
                        statuses = g.item_statuses[kind]
                        settled = [(statuses[int(rnd() * _N)], first if direct else later)]
                        for _ in range((rnd() < 0.4) + (rnd() < 0.3)):
                            when = first
                            if not direct:
                                when = first + 600 + int(life.done_days * DAY * exp(life.done_spread * gauss()))
                            settled.append((statuses[int(rnd() * _N)], when))
                        done = max(when for _, when in settled)
                        outcome = items_outcome([item_status for item_status, _ in settled])
                    else:
                        outcome = g.outcomes[kind][int(rnd() * _N)]
                        done = first + int((later - first) * SLOW_OUTCOMES.get(outcome, 1.0))
                    if direct:
                        moves.append((S.COMPLETED, first, answerer, ""))
                    else:
                        moves.append((S.ACKNOWLEDGED, first, answerer, ""))
                        if rnd() < life.in_progress:
                            progress = first + int((done - first) * (0.05 + 0.3 * rnd()))
                            moves.append((S.IN_PROGRESS, progress, answerer, ""))
                        moves.append((S.COMPLETED, done, answerer, ""))
        while moves and moves[-1][1] > now:
            moves.pop()

        # The transitions, and the times on the referral that agree with them.
        status: str = S.DRAFT
        sent_at = acknowledged_at = closed_at = last_at = None
        sent_ts: int | None = None
        transitions = self.transitions
        drafted_at = _at(drafted)
        transitions.append((number, status, status, drafted_at, owner, "Drafted"))
        for to, when, by, note in moves:
            last_at = when_at = _at(when)
            transitions.append((number, status, to, when_at, by, note))
            status = to
            if to == S.SENT:
                sent_at, sent_ts = when_at, when
            elif acknowledged_at is None and to in ANSWERS:
                acknowledged_at = when_at
            if to in ENDS:
                closed_at = when_at
        if status != S.COMPLETED:
            outcome = ""
        follow_up = None
        external_reference = ""
        if sent_at is not None:
            # Set on sending; once answered, the worker sets the next one and mostly keeps it current.
            follow_up = sent_at.astimezone(g.zone).date() + timedelta(days=g.response_days[agency])
            if status in (S.ACKNOWLEDGED, S.IN_PROGRESS) and last_at is not None:
                days = life.follow_up_days
                follow_up = last_at.astimezone(g.zone).date() + timedelta(days=days)
                if follow_up < self.today and rnd() < 0.7:
                    follow_up = self.today + timedelta(days=1 + int(rnd() * days))
            if acknowledged_at is not None and rnd() < 0.6:
                external_reference = f"{g.reference_prefix[agency]}-{1_000_000 + int(rnd() * 9_000_000)}"
        self.referrals.append(
            (
                number,
                case_id,
                kind,
                agency,
                status,
                outcome,
                consent,
                reason,
                external_reference,
                follow_up,
                owner,
                owner,
                drafted_at,
                sent_at,
                acknowledged_at,
                closed_at,
            )
        )

        if item_kind:
            # Listed when drafting; settled as the answers come (all by the completion), else still requested.
            contents = g.item_content[kind]
            first_platform, second = platforms
            count = len(settled) or 1 + (rnd() < 0.4) + (rnd() < 0.3)
            for index in range(count):
                platform = first_platform
                if second is not None and kind == ReferralKind.TAKEDOWN and rnd() < 0.5:
                    platform = second
                content_type = contents[int(rnd() * _N)]
                link = f"https://example.com/{g.platform_slugs[platform]}/{content_type}/{int(rnd() * 2**40):010x}"
                item_status: str = ItemStatus.REQUESTED
                removed_at = None
                if settled and settled[index][1] <= now:
                    item_status = settled[index][0]
                    if item_status == ItemStatus.REMOVED:
                        removed_at = _at(settled[index][1])
                created = drafted_at + timedelta(minutes=index + 1) if drafted + 60 * (index + 1) <= now else drafted_at
                self.items.append((number, platform, link, content_type, item_status, removed_at, created))
        return sent_ts


CASE_COLUMNS = [
    "id",
    "organisation_id",
    "reference",
    "status",
    "closure_reason_id",
    "risk_level",
    "self_harm",
    "immediate_danger",
    "assigned_to_id",
    "created_by_id",
    "first_contact_at",
    "closed_at",
    "channel_id",
    "reporter_type_id",
    "victim_age",
    "victim_age_unknown",
    "victim_gender",
    "victim_country",
    "victim_region",
    "incident_description",
    "sextortion_type_id",
    "victim_complied",
    "victim_paid",
    "amount_band",
    "payment_method_id",
    "content_distributed",
    "extorted_again",
    "offender_count",
    "offender_country",
    "offender_known_offline",
    "organised_network_suspected",
    "version",
    "created_at",
    "updated_at",
]
CHILD_COLUMNS: dict[str, list[str]] = {
    CasePlatform._meta.db_table: ["case_id", "platform_id", "role"],
    Contact._meta.db_table: ["case_id", "at", "channel_id", "duration_minutes", "worker_id"],
    ResponseStep._meta.db_table: ["case_id", "step_type_id", "status", "due_at", "done_by_id", "done_at", "reason"],
    OffenderIdentifier._meta.db_table: ["case_id", "kind", "platform_id", "value", "value_hash", "created_at"],
    Note._meta.db_table: ["case_id", "author_id", "text", "created_at", "identifiers_kept"],
    CaseActivity._meta.db_table: ["case_id", "at", "actor_id", "kind", "detail"],
}
# The referral tables; their rows start with the referral id.
REFERRAL_COLUMNS = [
    "id",
    "case_id",
    "kind",
    "agency_id",
    "status",
    "outcome",
    "consent",
    "consent_reason",
    "external_reference",
    "follow_up_on",
    "owner_id",
    "created_by_id",
    "created_at",
    "sent_at",
    "acknowledged_at",
    "closed_at",
]
REFERRAL_CHILD_COLUMNS: dict[str, list[str]] = {
    ReferralTransition._meta.db_table: ["referral_id", "from_status", "to_status", "at", "actor_id", "note"],
    TakedownItem._meta.db_table: [
        "referral_id",
        "platform_id",
        "link",
        "content_type",
        "status",
        "removed_at",
        "created_at",
    ],
}
# The tables of the many-to-many facts (case_id, term_id).
MANY_TABLES = {
    name: getattr(Case, name).field.m2m_db_table() for name in ("approaches", "content_types", "demands", "threats")
}

DAY = 86_400


def _stamps(rnd: Callable[[], float], hours: list[int], count: int, start: int, end: int) -> list[int]:
    """Sorted first-contact times (epoch seconds): more cases in later days (volume grows by 80%), evenings."""
    days = max(1, math.ceil((end - start) / DAY))
    growth = 0.8
    stamps = []
    for _ in range(count):
        while True:
            u = rnd()
            # Inverse of the distribution with density proportional to 1 + growth * t on [0, 1].
            t = (math.sqrt(1 + 2 * growth * u * (1 + growth / 2)) - 1) / growth
            day = min(days - 1, int(t * days))
            stamp = start + day * DAY + hours[int(rnd() * _N)] * 3600 + int(rnd() * 3600)
            if start <= stamp < end:
                break
        stamps.append(stamp)
    stamps.sort()
    return stamps


def generate_cases(
    *,
    organisation: Organisation,
    workers: list[User],
    count: int,
    start: date,
    end: date,
    seed: int = 0,
    with_notes: bool = True,
    with_referrals: bool = True,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
    skip_triggers: bool = True,
) -> int:
    """Add ``count`` synthetic cases with first contact between ``start`` and ``end`` (inclusive, not after now).

    ``workers`` (workers or supervisors of the organisation) open, hold and work the cases.
    References continue the organisation's counters, which are left at the last number used.
    Returns the number of cases made; ``progress(done, count)`` is called after each batch.
    With ``with_referrals``, about a third of the cases are referred to the active agencies of the
    catalogue that fit the case and the organisation's country, with their moves and takedown items.

    The history triggers are skipped (synthetic data has no history to keep). With ``skip_triggers``
    and a database role allowed to set session_replication_role, the foreign-key checks are skipped
    too, which makes the generation about 2.5 times faster; otherwise they run at each commit.
    """
    if not workers:
        raise ValueError("Give at least one worker to open and hold the cases.")
    if any(worker.organisation_id != organisation.pk for worker in workers):
        raise ValueError("Every worker must belong to the organisation.")
    if count <= 0:
        return 0
    now = timezone.now()
    zone = timezone.get_current_timezone()
    start_ts = int(datetime.combine(start, time(), tzinfo=zone).timestamp())
    end_ts = min(int(datetime.combine(end + timedelta(days=1), time(), tzinfo=zone).timestamp()), int(now.timestamp()))
    if end_ts <= start_ts:
        raise ValueError("The date range is empty or entirely in the future.")
    generator = _Generator(organisation, workers, seed, count)
    stamps = _stamps(generator.random.random, generator.hours, count, start_ts, end_ts)
    # Local-time year boundaries, so that references follow the year a worker would see.
    first_year, last_year = timezone.localtime(_at(start_ts)).year, timezone.localtime(_at(end_ts)).year
    years = list(range(first_year, last_year + 2))
    boundaries = [int(datetime(year, 1, 1, tzinfo=zone).timestamp()) for year in years]
    done = 0
    skip_all = skip_triggers and _may_skip_triggers()
    with pgtrigger.ignore(*HISTORY_TRIGGERS):
        for offset in range(0, count, batch_size):
            chunk = stamps[offset : offset + batch_size]
            case_years = [years[bisect.bisect_right(boundaries, stamp) - 1] for stamp in chunk]
            with transaction.atomic():
                previous = _replication_role("replica") if skip_all else None
                _batch(generator, chunk, case_years, first_year, int(now.timestamp()), with_notes, with_referrals)
                if previous is not None:
                    # Back to normal for the rest of an enclosing transaction (seed_demo, tests).
                    _replication_role(previous)
            done += len(chunk)
            if progress is not None:
                progress(done, count)
    return done


class _Rollback(Exception):
    pass


def _may_skip_triggers() -> bool:
    """Whether this database role may turn all triggers off for a transaction (superusers, or granted)."""
    try:
        with transaction.atomic():
            _replication_role("replica")
            raise _Rollback
    except _Rollback:
        return True
    except DatabaseError:
        return False


def _replication_role(role: str) -> str:
    """Set session_replication_role until the end of the transaction (or savepoint); return the previous one.

    In "replica" no trigger fires: neither the history triggers nor the foreign-key checks, which
    otherwise cost more than the inserts themselves (one lookup per key per row, deferred to the
    commit). The generator can do without them: every key it writes is a case id it has just taken
    from the sequence, or the id of a term, step type, user or organisation read in this call.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('session_replication_role'), set_config('session_replication_role', %s, true)",
            [role],
        )
        return str(cursor.fetchone()[0])


def _at(stamp: int) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


def _references(organisation: Organisation, case_years: list[int]) -> list[str]:
    """The next references of each year, in order, taken from the locked counters."""
    wanted: dict[int, int] = {}
    for year in case_years:
        wanted[year] = wanted.get(year, 0) + 1
    for year in wanted:
        CaseCounter.objects.get_or_create(organisation=organisation, year=year)
    # Locked like _next_reference, so a case opened meanwhile gets a number after these.
    counters = {c.year: c for c in CaseCounter.objects.select_for_update().filter(organisation=organisation)}
    last = {year: counters[year].last for year in wanted}
    references = []
    for year in case_years:
        last[year] += 1
        references.append(f"SX-{year}-{last[year]:05d}")
    for year, number in last.items():
        CaseCounter.objects.filter(pk=counters[year].pk).update(last=number)
    return references


def _batch(
    g: _Generator,
    stamps: list[int],
    case_years: list[int],
    first_year: int,
    now_ts: int,
    with_notes: bool,
    with_referrals: bool = True,
) -> None:
    """One batch of cases, their children and referrals, written with COPY in the current transaction."""
    n = len(stamps)
    with connection.cursor() as cursor:
        # Run through Django, so pgtrigger.ignore sets its variable for the COPYs that follow in this transaction.
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [Case._meta.db_table, n]
        )
        ids = [row[0] for row in cursor.fetchall()]
    references = _references(g.organisation, case_years)

    rnd = g.random.random
    at = _at
    organisation_id = g.organisation.pk
    workers = g.workers
    n_workers = len(workers)
    country, regions = g.country, g.regions
    n_regions = len(regions)
    genders, ages, other_types = g.genders, g.ages, g.other_types
    sextortion_types = g.sextortion_types
    platforms_by_band, moved_to = g.first_platforms, g.moved_to
    platform_labels = g.platform_labels
    channels, phone_chat, channel_codes = g.channels, g.phone_chat, g.channel_codes
    approaches, content, demands, threats = g.approaches, g.content, g.demands, g.threats
    pool, n_pool = g.pool, len(g.pool)
    statuses, status_ages = g.statuses, STATUS_AGES

    cases: list[tuple[Any, ...]] = []
    children: dict[str, list[tuple[Any, ...]]] = {table: [] for table in CHILD_COLUMNS}
    platforms_rows = children[CasePlatform._meta.db_table]
    contacts_rows = children[Contact._meta.db_table]
    steps_rows = children[ResponseStep._meta.db_table]
    identifier_rows = children[OffenderIdentifier._meta.db_table]
    note_rows = children[Note._meta.db_table]
    activity_rows = children[CaseActivity._meta.db_table]
    many: dict[str, list[tuple[int, int]]] = {table: [] for table in MANY_TABLES.values()}
    approach_rows, content_rows = many[MANY_TABLES["approaches"]], many[MANY_TABLES["content_types"]]
    demand_rows, threat_rows = many[MANY_TABLES["demands"]], many[MANY_TABLES["threats"]]
    referrals = _Referrals(g, now_ts)
    refer = referrals.case if with_referrals else None
    content_none, threat_publish = g.content_none, g.threat_publish

    for index in range(n):
        case_id, stamp = ids[index], stamps[index]
        age_days = (now_ts - stamp) / DAY

        # The victim: an age or an age band, a gender, a region. Nothing else.
        gender = genders[int(rnd() * _N)]
        if rnd() < 0.08:
            age = None
            age_unknown: str = AgeUnknown.MINOR if rnd() < 0.6 else AgeUnknown.ADULT
            band = "young" if age_unknown == AgeUnknown.MINOR else "adult"
            minor = age_unknown == AgeUnknown.MINOR
        else:
            age = ages.get(gender, ages[""])[int(rnd() * _N)]
            age_unknown = ""
            band = "child" if age <= 12 else "young" if age <= 24 else "adult"
            minor = age < 18
        region = regions[int(rnd() * n_regions)] if n_regions and rnd() < 0.85 else ""

        # What happened: the type drives demands, threats, approaches, content and payment.
        base, rise = FINANCIAL_SHARE.get(gender, FINANCIAL_SHARE[""])
        if rnd() < min(FINANCIAL_SHARE_MAX, base + rise * (case_years[index] - first_year)):
            kind = "financial"
        else:
            kind = other_types[int(rnd() * _N)]
            if kind == "relational" and band == "child":
                kind = "sexual"
        first_platform = platforms_by_band[band][int(rnd() * _N)]

        chosen_approaches = [pk for pk, p in approaches[kind] if rnd() < p] or [pk for pk, _ in approaches[kind][:1]]
        if g.approach_live in chosen_approaches and g.content_live:
            chosen_content = [g.content_live]
        elif g.approach_ai in chosen_approaches and g.content_manipulated:
            chosen_content = [g.content_manipulated]
        elif kind != "relational" and g.content_none and rnd() < 0.05:
            chosen_content = [g.content_none]  # a bluff: nothing was ever sent
        else:
            chosen_content = [pk for pk, p in content[kind] if rnd() < p]
            if not chosen_content:
                chosen_content = [content[kind][0][0]] if content[kind] else []
        chosen_demands = [pk for pk, p in demands[kind] if rnd() < p] or [pk for pk, _ in demands[kind][:1]]
        chosen_threats = [pk for pk, p in threats[kind] if rnd() < p] or [pk for pk, _ in threats[kind][:1]]

        financial = kind == "financial"
        outcome = "financial" if financial else "other"
        paid = g.paid[outcome][int(rnd() * _N)]
        complied = Answer.YES if paid == Answer.YES else g.complied[outcome][int(rnd() * _N)]
        amount = g.amounts[int(rnd() * _N)] if paid == Answer.YES else ""
        payment_method = None
        if financial and (paid == Answer.YES or rnd() < 0.6):
            payment_method = (g.payment_methods_minor if minor else g.payment_methods)[int(rnd() * _N)]
        if paid == Answer.YES:
            extorted_again = Answer.YES if rnd() < 0.5 else Answer.NO if rnd() < 0.6 else Answer.UNKNOWN
        else:
            extorted_again = Answer.NO if rnd() < 0.3 else Answer.UNKNOWN
        distributed = g.distributed[int(rnd() * _N)]
        offender_country = g.offender_countries[kind][int(rnd() * _N)]
        known_offline = Answer.YES if kind == "relational" else g.known_offline[int(rnd() * _N)]
        network = g.network[outcome][int(rnd() * _N)]
        offender_count = g.offender_counts[int(rnd() * _N)]

        # Risk: self-harm (about 6%) always makes it high or critical; about 20% high or critical overall.
        self_harm = rnd() < 0.06
        danger = rnd() < (0.15 if self_harm else 0.01)
        if self_harm or danger:
            risk = Risk.CRITICAL if rnd() < 0.45 else Risk.HIGH
        else:
            u = rnd()
            risk = Risk.LOW if u < 0.37 else Risk.MEDIUM if u < 0.84 else Risk.HIGH if u < 0.965 else Risk.CRITICAL

        # Lifecycle: old cases are closed, recent ones new, open or waiting.
        status = statuses[bisect.bisect_left(status_ages, age_days)][int(rnd() * _N)]
        # New cases wait for a supervisor to assign them; about 10% of cases have nobody assigned.
        creator = workers[int(rnd() * n_workers)]
        if status == Status.NEW or rnd() < 0.09:
            assignee = None
        else:
            assignee = creator if rnd() < 0.8 else workers[int(rnd() * n_workers)]
        holder = assignee or creator
        opened_at = min(now_ts, stamp + 300 + int(rnd() * 1500))
        closed_ts: int | None = None
        closure_reason: int | None = None
        case_end = min(now_ts, stamp + 45 * DAY)
        if status == Status.CLOSED:
            # Closed some days after first contact (12 on average), never after now.
            duration = int(-math.log(1 - rnd()) * 12 * DAY) + 600
            closed_ts = max(opened_at, min(now_ts, stamp + min(duration, max(600, int(age_days * DAY * rnd())))))
            closure_reason = g.closure_reasons[int(rnd() * _N)]
            case_end = closed_ts

        first_contact = at(stamp)
        channel = channels[int(rnd() * _N)]
        reporters = g.reporters_child if band == "child" else g.reporters
        templates = INCIDENTS[kind]
        description = (
            templates[int(rnd() * len(templates))].format(platform=platform_labels[first_platform])
            if rnd() < 0.9
            else ""
        )

        # Contacts: the first one opens the case, with the case's channel; later ones until the case ends.
        n_contacts = 1 + (rnd() < 0.55) + (rnd() < 0.45) + (rnd() < 0.4)
        times = sorted(stamp + int(rnd() * (case_end - stamp)) for _ in range(n_contacts - 1))
        last_ts = max(opened_at, times[-1] if times else stamp, closed_ts or 0)
        for number, contact_ts in enumerate([stamp, *times]):
            contact_channel = channel if number == 0 or rnd() < 0.6 else phone_chat[int(rnd() * _N)]
            code = channel_codes[contact_channel]
            if code == "phone":
                minutes: int | None = 5 + int(rnd() * 50)
            elif code == "chat":
                minutes = 10 + int(rnd() * 70)
            else:
                minutes = None if rnd() < 0.5 else 5 + int(rnd() * 15)
            worker = holder if number == 0 or rnd() < 0.8 else workers[int(rnd() * n_workers)]
            contacts_rows.append((case_id, at(contact_ts), contact_channel, minutes, worker))

        cases.append(
            (
                case_id,
                organisation_id,
                references[index],
                status,
                closure_reason,
                risk,
                self_harm,
                danger,
                assignee,
                creator,
                first_contact,
                at(closed_ts) if closed_ts else None,
                channel,
                reporters[int(rnd() * _N)],
                age,
                age_unknown,
                gender,
                country,
                region,
                description,
                sextortion_types[kind],
                complied,
                paid,
                amount,
                payment_method,
                distributed,
                extorted_again,
                offender_count,
                offender_country,
                known_offline,
                network,
                1,
                at(opened_at),
                at(last_ts),
            )
        )
        for pk in chosen_approaches:
            approach_rows.append((case_id, pk))
        for pk in chosen_content:
            content_rows.append((case_id, pk))
        for pk in chosen_demands:
            demand_rows.append((case_id, pk))
        for pk in chosen_threats:
            threat_rows.append((case_id, pk))

        # Platforms: where it started, often where it moved to, sometimes where the threats came.
        platforms_rows.append((case_id, first_platform, PlatformRole.FIRST_CONTACT))
        second = None
        if rnd() < 0.45:
            second = moved_to[int(rnd() * _N)]
            if second != first_platform:
                platforms_rows.append((case_id, second, PlatformRole.MOVED_TO))
            else:
                second = None
        if rnd() < 0.35:
            platforms_rows.append((case_id, second or first_platform, PlatformRole.THREATS))
        elif second is None and rnd() < 0.25:
            platforms_rows.append((case_id, first_platform, PlatformRole.CONTENT_OBTAINED))

        # Referrals, once the case is taken on; sending one marks its response step done.
        done_by_referral = None
        if refer is not None and status != Status.NEW:
            done_by_referral = refer(
                case_id,
                opened_at,
                case_end,
                age_days,
                holder,
                age,
                minor,
                (
                    status == Status.WAITING,
                    risk == Risk.HIGH or risk == Risk.CRITICAL,
                    distributed == Answer.YES,
                    paid == Answer.YES,
                    self_harm or danger or risk == Risk.CRITICAL,
                    threat_publish in chosen_threats,
                    content_none not in chosen_content,
                ),
                (first_platform, second),
            )

        # Response steps: the playbook's, mostly done on old cases, mostly to do on new ones.
        if status == Status.CLOSED:
            done_share = 0.88
        elif status == Status.NEW:
            done_share = 0.05
        elif age_days > 30:
            done_share = 0.7
        else:
            done_share = 0.25 + 0.5 * min(1.0, age_days / 30)
        for step_type, reason, due in g.playbook(age, risk, distributed, paid, self_harm, danger):
            if done_by_referral and step_type in done_by_referral:
                sent, by = done_by_referral.pop(step_type)
                steps_rows.append(
                    (case_id, step_type, StepStatus.DONE, at(stamp + due) if due else None, by, at(sent), reason)
                )
                continue
            u = rnd()
            if u < done_share:
                steps_rows.append(
                    (
                        case_id,
                        step_type,
                        StepStatus.DONE,
                        at(stamp + due) if due else None,
                        holder,
                        at(min(now_ts, opened_at + int(rnd() * (case_end - opened_at + 1)))),
                        reason,
                    )
                )
            else:
                step_status = StepStatus.TODO
                if status == Status.CLOSED:
                    step_status = StepStatus.NOT_APPLICABLE if u < 0.95 else StepStatus.DECLINED
                elif u < done_share + 0.04:
                    step_status = StepStatus.DECLINED
                steps_rows.append(
                    (case_id, step_type, step_status, at(stamp + due) if due else None, None, None, reason)
                )
        # Steps the playbook did not call for, added when the referral was sent (as step_mark_done does).
        if done_by_referral:
            for step_type, (sent, by) in done_by_referral.items():
                steps_rows.append((case_id, step_type, StepStatus.DONE, None, by, at(sent), REFERRAL_SENT))

        # Offender identifiers for about 30% of cases, from a shared pool so some link cases.
        if rnd() < IDENTIFIER_SHARE:
            for _ in range(1 + (rnd() < 0.25)):
                identifier_kind, identifier_platform, variants = pool[int(n_pool * rnd() ** POOL_SKEW)]
                value, value_hash = variants[int(rnd() * len(variants))]
                identifier_rows.append(
                    (case_id, identifier_kind, identifier_platform, value, value_hash, at(opened_at))
                )

        if with_notes:
            for _ in range((rnd() < 0.7) + (rnd() < 0.35)):
                note_ts = opened_at + int(rnd() * (case_end - opened_at + 1))
                note_rows.append(
                    (case_id, holder, NOTES[int(rnd() * len(NOTES))], at(min(now_ts, note_ts)), NOTHING_KEPT)
                )

        # The timeline: opened, and the last status change.
        opened_status = Status.NEW if status == Status.NEW else Status.OPEN
        activity_rows.append((case_id, at(opened_at), creator, EventKind.OPENED, g.opened[opened_status]))
        if closed_ts is not None and closure_reason is not None:
            activity_rows.append((case_id, at(closed_ts), holder, EventKind.STATUS, g.closed_detail[closure_reason]))
        elif status == Status.WAITING:
            activity_rows.append((case_id, at(last_ts), holder, EventKind.STATUS, g.waiting_detail))

    with connection.cursor() as cursor:
        types = g.column_types
        _copy(cursor, Case._meta.db_table, CASE_COLUMNS, cases, types)
        for table, rows in many.items():
            _copy(cursor, table, ["case_id", "term_id"], rows, types)
        for table, columns in CHILD_COLUMNS.items():
            _copy(cursor, table, columns, children[table], types)
        if referrals.referrals:
            # Ids from the sequence, like the cases; the rows carry their number in the batch until now.
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [Referral._meta.db_table, len(referrals.referrals)],
            )
            referral_ids = [row[0] for row in cursor.fetchall()]
            _copy(cursor, Referral._meta.db_table, REFERRAL_COLUMNS, referrals.referrals, types, referral_ids)
            for table, rows in (
                (ReferralTransition._meta.db_table, referrals.transitions),
                (TakedownItem._meta.db_table, referrals.items),
            ):
                _copy(cursor, table, REFERRAL_CHILD_COLUMNS[table], rows, types, referral_ids)


def _json(value: Any) -> Jsonb:
    """A jsonb value encoded once, for the many rows that share it."""
    return Jsonb(json.dumps(value), dumps=str)


NOTHING_KEPT = _json([])


def column_types(tables: list[str]) -> dict[str, dict[str, int]]:
    """The type (oid) of every column of the tables, for binary COPY."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, a.attname, a.atttypid::int FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
            " WHERE c.oid = ANY(%s::regclass[]) AND a.attnum > 0 AND NOT a.attisdropped",
            [tables],
        )
        types: dict[str, dict[str, int]] = {}
        for table, column, oid in cursor.fetchall():
            types.setdefault(table, {})[column] = oid
    return types


def _copy(
    cursor: Any,
    table: str,
    columns: list[str],
    rows: list[tuple[Any, ...]],
    types: dict[str, dict[str, int]],
    ids: list[int] | None = None,
) -> None:
    """COPY the rows; with ``ids``, each row's first value is an index into them (a batch-local number).

    In binary, with the columns' types: the client encodes a row several times faster than in text.
    """
    if not rows:
        return
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    with cursor.copy(f"COPY {connection.ops.quote_name(table)} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types([types[table][column] for column in columns])
        write = copy.write_row
        if ids is None:
            for row in rows:
                write(row)
        else:
            for row in rows:
                write((ids[row[0]], *row[1:]))

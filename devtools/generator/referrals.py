"""How the referrals of synthetic cases go: agencies, delays and outcomes per kind of referral.

About a third of the cases are referred to agencies (police, a regulator, the platform, a
hash-matching or support service), some to two or three. Each referral runs the life the
referral services would give it, with delays drawn per kind of agency: drafted, sent, answered
after hours or weeks (some never), then completed with an outcome, declined or withdrawn; its
times stop at now, so recent referrals are mostly still under way. Takedown and platform
referrals list the content to remove, settled item by item. Sending marks the response step it
stands for as done, as the services do.
"""

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from django.db import models

from devtools.generator.distributions import DAY, N, stamp_time
from referrals.models import (
    Consent,
    ItemContent,
    ItemStatus,
    Outcome,
    ReferralKind,
    ReferralStatus,
    ReferralTransition,
    TakedownItem,
)
from referrals.services import items_outcome

if TYPE_CHECKING:
    from devtools.generator.tables import DrawTables

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
# Kinds referred abroad when neither the country nor an international body has such an agency, as devtools.demo does.
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


S = ReferralStatus
ANSWERS = (S.ACKNOWLEDGED, S.IN_PROGRESS, S.COMPLETED, S.DECLINED)  # the first answer acknowledges the referral
ENDS = (S.COMPLETED, S.DECLINED, S.WITHDRAWN)


class ReferralDraws:
    """The referrals of one batch, as rows of Referral, ReferralTransition and TakedownItem.

    Each row starts with the referral's number in the batch, replaced by its id when the ids are
    taken from the sequence at the end of the batch.
    """

    def __init__(self, g: "DrawTables", now_ts: int) -> None:
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
            chosen.append((ReferralKind.POLICE, police[int(rnd() * N)]))
        if has_content:
            if takedown and rnd() < boost * (0.4 if shared else 0.03 if publish else 0.0):
                chosen.append((ReferralKind.TAKEDOWN, takedown[int(rnd() * N)]))
            if hashing and rnd() < boost * (0.35 if shared else 0.08 + 0.04 * publish):
                chosen.append((ReferralKind.HASH_MATCHING, hashing[int(rnd() * N)]))
        platform_agency = self.g.platform_agency.get(platforms[0])
        if platform_agency is not None and rnd() < boost * (0.1 + 0.15 * shared):
            chosen.append((ReferralKind.PLATFORM, platform_agency))
        if support and rnd() < boost * (0.025 + 0.08 * urgent):
            chosen.append((ReferralKind.SUPPORT, support[int(rnd() * N)]))
        if child and rnd() < boost * (0.015 + 0.1 * shared):
            chosen.append((ReferralKind.CHILD_PROTECTION, child[int(rnd() * N)]))
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
                        settled = [(statuses[int(rnd() * N)], first if direct else later)]
                        for _ in range((rnd() < 0.4) + (rnd() < 0.3)):
                            when = first
                            if not direct:
                                when = first + 600 + int(life.done_days * DAY * exp(life.done_spread * gauss()))
                            settled.append((statuses[int(rnd() * N)], when))
                        done = max(when for _, when in settled)
                        outcome = items_outcome([item_status for item_status, _ in settled])
                    else:
                        outcome = g.outcomes[kind][int(rnd() * N)]
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
        drafted_at = stamp_time(drafted)
        transitions.append((number, status, status, drafted_at, owner, "Drafted"))
        for to, when, by, note in moves:
            last_at = when_at = stamp_time(when)
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
                content_type = contents[int(rnd() * N)]
                link = f"https://example.com/{g.platform_slugs[platform]}/{content_type}/{int(rnd() * 2**40):010x}"
                item_status: str = ItemStatus.REQUESTED
                removed_at = None
                if settled and settled[index][1] <= now:
                    item_status = settled[index][0]
                    if item_status == ItemStatus.REMOVED:
                        removed_at = stamp_time(settled[index][1])
                created = drafted_at + timedelta(minutes=index + 1) if drafted + 60 * (index + 1) <= now else drafted_at
                self.items.append((number, platform, link, content_type, item_status, removed_at, created))
        return sent_ts


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
REFERRAL_CHILD_COLUMNS: dict[type[models.Model], list[str]] = {
    ReferralTransition: ["referral_id", "from_status", "to_status", "at", "actor_id", "note"],
    TakedownItem: [
        "referral_id",
        "platform_id",
        "link",
        "content_type",
        "status",
        "removed_at",
        "created_at",
    ],
}

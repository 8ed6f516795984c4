"""The cases of each batch, drawn with the tables of ``DrawTables`` and written with COPY.

Rows go in with PostgreSQL COPY, one transaction per batch, so a million cases with
their contacts, steps, platforms, identifiers, notes, timeline and referrals take minutes.
"""

import bisect
import math
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import pgtrigger
from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

from accounts.models import Organisation, User
from cases.bulk import ACTIVITY_COLUMNS, STEP_COLUMNS, CopyWriter, ids_take, references_take
from cases.models import (
    AgeUnknown,
    Answer,
    Case,
    CaseActivity,
    CasePlatform,
    Contact,
    ContactType,
    EventKind,
    Note,
    OffenderIdentifier,
    PlatformRole,
    ResponseStep,
    Risk,
    Status,
    StepStatus,
)
from devtools.generator.distributions import (
    DAY,
    FINANCIAL_SHARE,
    FINANCIAL_SHARE_MAX,
    IDENTIFIER_SHARE,
    INCIDENTS,
    NOTES,
    POOL_SKEW,
    STATUS_AGES,
    N,
    stamp_time,
)
from devtools.generator.referrals import REFERRAL_CHILD_COLUMNS, REFERRAL_COLUMNS, REFERRAL_SENT, ReferralDraws
from devtools.generator.tables import DrawTables, jsonb_once
from referrals.models import Referral, ReferralTransition, TakedownItem

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
# The types of the contacts after the first, by the contact's second modulo 20: mostly counselling.
FOLLOW_UP_TYPES = [ContactType.SILENT.value, ContactType.INFORMATION.value, *[ContactType.COUNSELLING.value] * 18]
CHILD_COLUMNS: dict[type[models.Model], list[str]] = {
    CasePlatform: ["case_id", "platform_id", "role"],
    Contact: ["case_id", "at", "channel_id", "contact_type", "duration_minutes", "worker_id"],
    ResponseStep: STEP_COLUMNS,
    OffenderIdentifier: ["case_id", "kind", "platform_id", "value", "value_hash", "created_at"],
    Note: ["case_id", "author_id", "text", "created_at", "identifiers_kept"],
    CaseActivity: ACTIVITY_COLUMNS,
}
# The tables of the many-to-many facts (case_id, term_id).
MANY_THROUGH: dict[str, type[models.Model]] = {
    name: getattr(Case, name).through for name in ("approaches", "content_types", "demands", "threats")
}


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
            stamp = start + day * DAY + hours[int(rnd() * N)] * 3600 + int(rnd() * 3600)
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
    generator = DrawTables(organisation, workers, seed, count)
    copier = CopyWriter([Case, *MANY_THROUGH.values(), *CHILD_COLUMNS, Referral, *REFERRAL_CHILD_COLUMNS])
    stamps = _stamps(generator.random.random, generator.hours, count, start_ts, end_ts)
    # Local-time year boundaries, so that references follow the year a worker would see.
    first_year, last_year = timezone.localtime(stamp_time(start_ts)).year, timezone.localtime(stamp_time(end_ts)).year
    years = list(range(first_year, last_year + 2))
    boundaries = [int(datetime(year, 1, 1, tzinfo=zone).timestamp()) for year in years]
    now_ts, done = int(now.timestamp()), 0
    skip_all = skip_triggers and _may_skip_triggers()
    with pgtrigger.ignore(*HISTORY_TRIGGERS):
        for offset in range(0, count, batch_size):
            chunk = stamps[offset : offset + batch_size]
            case_years = [years[bisect.bisect_right(boundaries, stamp) - 1] for stamp in chunk]
            with transaction.atomic():
                previous = _replication_role("replica") if skip_all else None
                _batch(generator, copier, chunk, case_years, first_year, now_ts, with_notes, with_referrals)
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


def _batch(
    g: DrawTables,
    copier: CopyWriter,
    stamps: list[int],
    case_years: list[int],
    first_year: int,
    now_ts: int,
    with_notes: bool,
    with_referrals: bool = True,
) -> None:
    """One batch of cases, their children and referrals, written with COPY in the current transaction."""
    n = len(stamps)
    # Through Django first, so that pgtrigger.ignore sets its variable for the COPYs that follow in this transaction.
    ids = ids_take(Case, n)
    references = references_take(organisation_id=g.organisation.pk, years=case_years)

    rnd = g.random.random
    at = stamp_time
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
    children: dict[type[models.Model], list[tuple[Any, ...]]] = {model: [] for model in CHILD_COLUMNS}
    platforms_rows = children[CasePlatform]
    contacts_rows = children[Contact]
    steps_rows = children[ResponseStep]
    identifier_rows = children[OffenderIdentifier]
    note_rows = children[Note]
    activity_rows = children[CaseActivity]
    many: dict[type[models.Model], list[tuple[int, int]]] = {through: [] for through in MANY_THROUGH.values()}
    approach_rows, content_rows = many[MANY_THROUGH["approaches"]], many[MANY_THROUGH["content_types"]]
    demand_rows, threat_rows = many[MANY_THROUGH["demands"]], many[MANY_THROUGH["threats"]]
    referrals = ReferralDraws(g, now_ts)
    refer = referrals.case if with_referrals else None
    content_none, threat_publish = g.content_none, g.threat_publish

    for index in range(n):
        case_id, stamp = ids[index], stamps[index]
        age_days = (now_ts - stamp) / DAY

        # The victim: an age or an age band, a gender, a region. Nothing else.
        gender = genders[int(rnd() * N)]
        if rnd() < 0.08:
            age = None
            age_unknown: str = AgeUnknown.MINOR if rnd() < 0.6 else AgeUnknown.ADULT
            band = "young" if age_unknown == AgeUnknown.MINOR else "adult"
            minor = age_unknown == AgeUnknown.MINOR
        else:
            age = ages.get(gender, ages[""])[int(rnd() * N)]
            age_unknown = ""
            band = "child" if age <= 12 else "young" if age <= 24 else "adult"
            minor = age < 18
        region = regions[int(rnd() * n_regions)] if n_regions and rnd() < 0.85 else ""

        # What happened: the type drives demands, threats, approaches, content and payment.
        base, rise = FINANCIAL_SHARE.get(gender, FINANCIAL_SHARE[""])
        if rnd() < min(FINANCIAL_SHARE_MAX, base + rise * (case_years[index] - first_year)):
            kind = "financial"
        else:
            kind = other_types[int(rnd() * N)]
            if kind == "relational" and band == "child":
                kind = "sexual"
        first_platform = platforms_by_band[band][int(rnd() * N)]

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
        paid = g.paid[outcome][int(rnd() * N)]
        complied = Answer.YES if paid == Answer.YES else g.complied[outcome][int(rnd() * N)]
        amount = g.amounts[int(rnd() * N)] if paid == Answer.YES else ""
        payment_method = None
        if financial and (paid == Answer.YES or rnd() < 0.6):
            payment_method = (g.payment_methods_minor if minor else g.payment_methods)[int(rnd() * N)]
        if paid == Answer.YES:
            extorted_again = Answer.YES if rnd() < 0.5 else Answer.NO if rnd() < 0.6 else Answer.UNKNOWN
        else:
            extorted_again = Answer.NO if rnd() < 0.3 else Answer.UNKNOWN
        distributed = g.distributed[int(rnd() * N)]
        offender_country = g.offender_countries[kind][int(rnd() * N)]
        known_offline = Answer.YES if kind == "relational" else g.known_offline[int(rnd() * N)]
        network = g.network[outcome][int(rnd() * N)]
        offender_count = g.offender_counts[int(rnd() * N)]

        # Risk: self-harm (about 6%) always makes it high or critical; about 20% high or critical overall.
        self_harm = rnd() < 0.06
        danger = rnd() < (0.15 if self_harm else 0.01)
        if self_harm or danger:
            risk = Risk.CRITICAL if rnd() < 0.45 else Risk.HIGH
        else:
            u = rnd()
            risk = Risk.LOW if u < 0.37 else Risk.MEDIUM if u < 0.84 else Risk.HIGH if u < 0.965 else Risk.CRITICAL

        # Lifecycle: old cases are closed, recent ones new, open or waiting.
        status = statuses[bisect.bisect_left(status_ages, age_days)][int(rnd() * N)]
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
            closure_reason = g.closure_reasons[int(rnd() * N)]
            case_end = closed_ts

        first_contact = at(stamp)
        channel = channels[int(rnd() * N)]
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
            contact_channel = channel if number == 0 or rnd() < 0.6 else phone_chat[int(rnd() * N)]
            code = channel_codes[contact_channel]
            if code == "phone":
                minutes: int | None = 5 + int(rnd() * 50)
            elif code == "chat":
                minutes = 10 + int(rnd() * 70)
            else:
                minutes = None if rnd() < 0.5 else 5 + int(rnd() * 15)
            worker = holder if number == 0 or rnd() < 0.8 else workers[int(rnd() * n_workers)]
            # The first contact is counselling; of the later ones a few are silent or only ask for information,
            # chosen from the time so that the random sequence (and every other fact drawn) stays the same.
            contact_type = ContactType.COUNSELLING.value if number == 0 else FOLLOW_UP_TYPES[contact_ts % 20]
            contacts_rows.append((case_id, at(contact_ts), contact_channel, contact_type, minutes, worker))

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
                reporters[int(rnd() * N)],
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
            second = moved_to[int(rnd() * N)]
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
        for step_type, reason, due in g.playbook.steps_of(age, risk, distributed, paid, self_harm, danger):
            if done_by_referral and step_type in done_by_referral:
                sent, by = done_by_referral.pop(step_type)
                steps_rows.append(
                    (case_id, step_type, StepStatus.DONE, first_contact + due if due else None, by, at(sent), reason)
                )
                continue
            u = rnd()
            if u < done_share:
                steps_rows.append(
                    (
                        case_id,
                        step_type,
                        StepStatus.DONE,
                        first_contact + due if due else None,
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
                    (case_id, step_type, step_status, first_contact + due if due else None, None, None, reason)
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

    now = stamp_time(now_ts)
    with connection.cursor() as cursor:
        copier.rows(cursor, Case, CASE_COLUMNS, cases, now)
        for through, rows in many.items():
            copier.rows(cursor, through, ["case_id", "term_id"], rows, now)
        for model, columns in CHILD_COLUMNS.items():
            copier.rows(cursor, model, columns, children[model], now)
        if referrals.referrals:
            # Ids from the sequence, like the cases; the rows carry their number in the batch until now.
            referral_ids = ids_take(Referral, len(referrals.referrals))
            for model, columns, rows in (
                (Referral, REFERRAL_COLUMNS, referrals.referrals),
                (ReferralTransition, REFERRAL_CHILD_COLUMNS[ReferralTransition], referrals.transitions),
                (TakedownItem, REFERRAL_CHILD_COLUMNS[TakedownItem], referrals.items),
            ):
                copier.rows(cursor, model, columns, [(referral_ids[row[0]], *row[1:]) for row in rows], now)


NOTHING_KEPT = jsonb_once([])

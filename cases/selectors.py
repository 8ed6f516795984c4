import json
from collections.abc import Collection, Sequence
from functools import cache
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from audit.models import AccessLog
from cases.models import (
    Case,
    CasePlatform,
    CaseQuerySet,
    ClosureRequest,
    ClosureStatus,
    ContactType,
    EventKind,
    HiddenTerm,
    OffenderIdentifier,
    ResponseStep,
    Status,
    StepStatus,
    StepType,
    Term,
    Vocabulary,
)
from helpline import gate, rows


def cases_visible_to(user: User | AnonymousUser) -> CaseQuerySet:
    """Workers and supervisors see the cases of their organisation; nobody else sees any.

    Workers see every case of the organisation, not only their own, because the
    worker who answers a returning victim is often not the one who opened the case.
    """
    if not user.is_authenticated or not user.has_perm("cases.view_case"):
        return Case.objects.none()
    return Case.objects.filter(organisation_id=user.organisation_id)


# The terms a case names: by a foreign key, and in a list.
CASE_TERMS = ("channel", "reporter_type", "sextortion_type", "payment_method", "closure_reason")
CASE_TERM_LISTS = ("approaches", "content_types", "demands", "threats")


def case_for_user(request: HttpRequest, pk: Any, *, detail: bool = False) -> Case:
    """The case if this user may open it, else 404 (and the refusal is logged).

    With ``detail``, everything the case page shows of the case comes along, in six prepared reads (``_load_detail``):
    the status of its last closure request, its steps (``case.listed_steps``), offender identifiers with the other
    cases that have them (``case.listed_identifiers``), referrals (``case.listed_referrals``), terms and platforms
    (``_load_terms``) and timeline (``case.timeline``).
    """
    if not detail:
        queryset = cases_visible_to(request.user).select_related("assigned_to", *CASE_TERMS)
        return gate.get_or_refuse(request, queryset, pk)
    case = None
    if request.user.has_perm("cases.view_case") and (number := _number(pk)) is not None:  # as cases_visible_to
        case = _load_detail(gate.signed_in_user(request), number)
    if case is None:
        gate.refuse(request, object_type=Case._meta.label_lower, object_id=str(pk)[:64])
    return case


def _number(pk: Any) -> int | None:
    """An id from a URL as a number PostgreSQL takes (a bigint), or None."""
    try:
        number = int(pk)
    except (ValueError, TypeError):
        return None
    return number if -(2**63) <= number < 2**63 else None


# The vocabularies whose terms the forms of the case page offer (a contact's channel, an identifier's platform, the
# reason to close).
CASE_PAGE_OFFERS = (Vocabulary.CHANNEL, Vocabulary.PLATFORM, Vocabulary.CLOSURE_REASON)

# The case of the user's organisation, as every statement of the case page's reads asks: another organisation's
# case reads as nothing, in all of them.
_OURS = "SELECT c.id FROM cases_case c WHERE c.id = %(case)s AND c.organisation_id = %(organisation)s"


@cache
def _detail_sql() -> tuple[str, str, str, str, str, str]:
    """The case page's reads, written out and kept prepared (``rows.prepared_cursor``): compiled by the ORM (with a
    ``select_related`` each, the identifiers' subquery) they took three times as long as running them, and planned
    on every request, longer again."""
    referral = referral_model()
    agency = referral._meta.get_field("agency").related_model
    case = f"""
        SELECT {rows.columns(Case, "c")}, {rows.columns(User, "assigned")},
            (SELECT status FROM cases_closurerequest closure WHERE closure.case_id = c.id
             ORDER BY closure.requested_at DESC, closure.id DESC LIMIT 1) AS last_closure_status
        FROM cases_case c LEFT JOIN accounts_user assigned ON assigned.id = c.assigned_to_id
        WHERE c.id = %(case)s AND c.organisation_id = %(organisation)s
    """  # noqa: S608 (names come from the models, never from input)
    steps = f"""
        SELECT {rows.columns(ResponseStep, "step")}, {rows.columns(StepType, "type")}, {rows.columns(User, "done_by")}
        FROM cases_responsestep step
            JOIN cases_steptype type ON type.id = step.step_type_id
            LEFT JOIN accounts_user done_by ON done_by.id = step.done_by_id
        WHERE step.case_id IN ({_OURS})
        ORDER BY type.position, step.id
    """  # noqa: S608 (names come from the models, never from input)
    # The other cases with the same identifier, of the same organisation: the only cases this user may see.
    identifiers = f"""
        SELECT {rows.columns(OffenderIdentifier, "identifier")}, {rows.columns(Term, "platform")},
            (SELECT coalesce(json_agg(json_build_object('pk', other.id, 'reference', other.reference)
                                      ORDER BY other.reference), '[]')
             FROM cases_case other
             WHERE other.organisation_id = %(organisation)s AND other.id <> identifier.case_id
               AND other.id IN (SELECT same.case_id FROM cases_offenderidentifier same
                                WHERE same.value_hash = identifier.value_hash)) AS others
        FROM cases_offenderidentifier identifier LEFT JOIN cases_term platform ON platform.id = identifier.platform_id
        WHERE identifier.case_id IN ({_OURS})
        ORDER BY identifier.created_at, identifier.id
    """  # noqa: S608 (names come from the models, never from input)
    referrals = f"""
        SELECT {rows.columns(referral, "referral")}, {rows.columns(agency, "agency")}
        FROM {referral._meta.db_table} referral JOIN {agency._meta.db_table} agency ON agency.id = referral.agency_id
        WHERE referral.case_id IN ({_OURS})
        ORDER BY referral.created_at DESC, referral.id DESC
    """  # noqa: S608 (names come from the models, never from input)
    # Its terms, by list (``approaches``... and ``platform <role>``), those its foreign keys name, and every term of
    # CASE_PAGE_OFFERS its organisation offers for a new choice (as ``terms_offered_to``). Joined to the case, five
    # terms made its query slow to plan (eight tables); prefetched, the lists and the platforms took a query each.
    named = ", ".join(f"c.{name}_id" for name in CASE_TERMS)
    terms = f"""
        SELECT {rows.columns(Term, "term")}, offered, lists FROM (
            SELECT term.*,
                term.vocabulary = ANY(%(offered)s)
                AND term.active
                AND (term.organisation_id IS NULL OR term.organisation_id = %(organisation)s)
                AND NOT EXISTS (
                    SELECT FROM cases_hiddenterm hidden
                    WHERE hidden.organisation_id = %(organisation)s AND hidden.term_id = term.id
                ) AS offered,
                coalesce(on_case.lists, '{{}}') AS lists
            FROM cases_term term LEFT JOIN (
                SELECT term_id, array_agg(list ORDER BY list) AS lists
                FROM (
                    SELECT 'approaches' AS list, term_id FROM cases_case_approaches WHERE case_id IN ({_OURS})
                    UNION ALL SELECT 'content_types', term_id FROM cases_case_content_types WHERE case_id IN ({_OURS})
                    UNION ALL SELECT 'demands', term_id FROM cases_case_demands WHERE case_id IN ({_OURS})
                    UNION ALL SELECT 'threats', term_id FROM cases_case_threats WHERE case_id IN ({_OURS})
                    UNION ALL SELECT 'platform ' || role, platform_id FROM cases_caseplatform
                        WHERE case_id IN ({_OURS})
                ) listed
                GROUP BY term_id
            ) on_case ON on_case.term_id = term.id
        ) term
        WHERE offered OR lists <> '{{}}'
            OR id IN (SELECT unnest(ARRAY[{named}]) FROM cases_case c
                      WHERE c.id = %(case)s AND c.organisation_id = %(organisation)s)
        ORDER BY vocabulary, position, label
    """  # noqa: S608 (names come from the models, never from input)
    timeline = f"SELECT * FROM ({CASE_TIMELINE_ROWS}) timeline WHERE EXISTS ({_OURS}) {CASE_TIMELINE_ORDER}"  # noqa: S608
    return case, steps, identifiers, referrals, terms, timeline


def _load_detail(user: User, pk: int) -> Case | None:
    """The case of the user's organisation with this id, read for its page (``_detail_sql``), or None."""
    parameters: dict[str, Any] = {
        "case": pk,
        "organisation": user.organisation_id,
        "offered": [vocabulary.value for vocabulary in CASE_PAGE_OFFERS],
    }
    found = []
    with rows.prepared_cursor() as cursor:
        for statement in _detail_sql():
            cursor.execute(statement, parameters)
            found.append(cursor.fetchall())
            if not found[0]:
                return None  # not a case of the user's organisation: nothing more to read
    case_rows, step_rows, identifier_rows, referral_rows, term_rows, timeline_rows = found
    case, case.assigned_to, case.last_closure_status = rows.split(case_rows[0], Case, User)
    case.listed_steps = []
    for row in step_rows:
        step, step.step_type, step.done_by = rows.split(row, ResponseStep, StepType, User)
        step.case = case
        case.listed_steps.append(step)
    case.listed_identifiers = []
    for row in identifier_rows:
        identifier, identifier.platform, identifier.others = rows.split(row, OffenderIdentifier, Term)
        identifier.case = case  # json (unlike jsonb) arrives decoded
        case.listed_identifiers.append(identifier)
    referral = referral_model()
    case.listed_referrals = []
    for row in referral_rows:
        listed, listed.agency = rows.split(row, referral, referral._meta.get_field("agency").related_model)
        listed.case = case
        case.listed_referrals.append(listed)
    _load_terms(case, [rows.split(row, Term) for row in term_rows])
    case.timeline = _timeline(timeline_rows)
    return case


def _load_terms(case: Case, terms: list[list[Any]]) -> None:
    """The case's terms, each with whether it is offered and the lists that name it: named by its foreign keys,
    its lists (``case.listed_terms``) and platforms (``case.listed_platforms``), and the terms its organisation
    offers for a new choice in the forms of the case page (``case.offered_terms``, by vocabulary)."""
    by_id = {term.pk: term for term, _offered, _lists in terms}
    for name in CASE_TERMS:
        term_id = getattr(case, f"{name}_id")
        if term_id is None or term_id in by_id:
            setattr(case, name, by_id.get(term_id))
    case.listed_terms = {name: [term for term, _offered, lists in terms if name in lists] for name in CASE_TERM_LISTS}
    case.listed_platforms = [
        CasePlatform(case=case, platform=term, role=role)
        for term, _offered, lists in terms
        for listed in lists
        if (role := listed.removeprefix("platform ")) != listed
    ]
    case.offered_terms = {vocabulary: [] for vocabulary in CASE_PAGE_OFFERS}
    for term, offered, _lists in terms:
        if offered:
            case.offered_terms[term.vocabulary].append(term)


CLOSURE_EVENTS = {
    "requested": gettext_lazy("requested"),
    "approved": gettext_lazy("approved"),
    "sent_back": gettext_lazy("sent back"),
    "withdrawn": gettext_lazy("withdrawn"),
}


def _closure_text(detail: dict[str, Any], closure: dict[str, Any] | None) -> str:
    """The event and, from the request itself, its reason and comments (free text lives only on the request)."""
    text = str(CLOSURE_EVENTS.get(detail.get("event", ""), detail.get("event", ""))).capitalize()
    if closure is None:
        return text
    if detail.get("event") == "requested":
        text = f"{text} ({closure['reason']})"
        return f"{text}: {closure['comment']}" if closure["comment"] else text
    if detail.get("event") == "sent_back" and closure["decision_comment"]:
        return f"{text}: {closure['decision_comment']}"
    return text


def referral_model() -> Any:
    """The referrals app's model, reached through the relation it adds to cases (``case.referrals``).

    Referrals build on cases, so cases do not import them: what a case page or the case list says of its
    referrals is asked of that model, where it is written once.
    """
    return Case._meta.get_field("referrals").related_model


def _relabel(choices: Sequence[tuple[str, Any]], recorded: str) -> str:
    """A choice kept in an activity's detail, in the reader's language: its code, or in older rows its English label."""
    labels = dict(choices)
    if recorded in labels:
        return str(labels[recorded])
    with translation.override("en"):
        codes = {str(label): code for code, label in choices}
    return str(labels[codes[recorded]]) if recorded in codes else recorded


def _referral_text(detail: dict[str, Any]) -> str:
    """A referral's step as "Police report · Polizia Postale: Completed (Removed)", from its field choices."""
    choices = {name: referral_model()._meta.get_field(name).choices for name in ("kind", "status", "outcome")}
    text = f"{_relabel(choices['kind'], detail.get('kind', ''))} · {detail.get('agency')}: "
    text += _relabel(choices["status"], detail.get("status", ""))
    return f"{text} ({_relabel(choices['outcome'], detail['outcome'])})" if detail.get("outcome") else text


def _activity_text(kind: str, detail: dict[str, Any], closure: dict[str, Any] | None = None) -> str:
    if kind == EventKind.CLOSURE:
        return _closure_text(detail, closure)
    if kind in (EventKind.STATUS, EventKind.OPENED):
        moves = [Status(code).label for code in (detail.get("from"), detail.get("to") or detail.get("status")) if code]
        text = " → ".join(str(label) for label in moves)
        return f"{text} ({detail['reason']})" if detail.get("reason") else text
    if kind == EventKind.ASSIGNED:
        return f"{detail.get('from') or _('nobody')} → {detail.get('to') or _('nobody')}"
    if kind == EventKind.STEP:
        return f"{detail.get('step')}: {StepStatus(detail['status']).label}"
    if kind == EventKind.REFERRAL:
        return _referral_text(detail)
    if kind == EventKind.FACTS:
        names = {f.name: f.verbose_name for f in Case._meta.get_fields() if hasattr(f, "verbose_name")}
        return ", ".join(str(names.get(field, field)).capitalize() for field in detail.get("fields", []))
    return ""


# Activity, contacts and notes of a case in one list, oldest first; a closure event with its request's reason and
# comments. Written out for the same reason as the case page's reads (``_detail_sql``), which include it.
CASE_TIMELINE_ROWS = """
SELECT 0 AS source, activity.id, activity.at AS moment, activity.kind AS what, actor.username,
    activity.detail, (
        SELECT jsonb_build_object(
            'reason', reason.label, 'comment', request.comment, 'decision_comment', request.decision_comment
        )
        FROM cases_closurerequest request JOIN cases_term reason ON reason.id = request.closure_reason_id
        WHERE request.case_id = activity.case_id AND request.id::text = activity.detail ->> 'request'
    ) AS closure,
    NULL AS channel, NULL AS contact_type, NULL AS minutes, NULL AS note
FROM cases_caseactivity activity LEFT JOIN accounts_user actor ON actor.id = activity.actor_id
WHERE activity.case_id = %(case)s
UNION ALL
SELECT 1, contact.id, contact.at, 'contact', worker.username,
    NULL, NULL, channel.label, contact.contact_type, contact.duration_minutes, NULL
FROM cases_contact contact
    JOIN accounts_user worker ON worker.id = contact.worker_id
    JOIN cases_term channel ON channel.id = contact.channel_id
WHERE contact.case_id = %(case)s
UNION ALL
SELECT 2, note.id, note.created_at, 'note', author.username, NULL, NULL, NULL, NULL, NULL, note.text
FROM cases_note note JOIN accounts_user author ON author.id = note.author_id
WHERE note.case_id = %(case)s
"""
CASE_TIMELINE_ORDER = "ORDER BY moment, source, id"


def _timeline(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """The rows of CASE_TIMELINE_ROWS as text for people; a closure event names its request, whose reason and
    comments (free text lives only on the request) come along with it."""
    kinds = dict(EventKind.choices)
    timeline = []
    for source, _id, at, what, actor, detail, closure, channel, contact_type, minutes, note in rows:
        label: Any
        if source == 0:
            label = kinds.get(what, what)
            # JSON arrives as text from this connection (Django reads it so for its JSON fields).
            text = _activity_text(what, json.loads(detail), closure and json.loads(closure))
        elif source == 1:
            label = _("Contact")
            text = _("%(channel)s, %(minutes)s min") % {"channel": channel, "minutes": minutes} if minutes else channel
            if contact_type in ContactType.values:
                text = f"{ContactType(contact_type).label}: {text}"
        else:
            label, text = _("Note"), note
        timeline.append({"at": at, "kind": what, "label": label, "actor": actor, "text": text})
    return timeline


def my_open_cases(user: User, limit: int = 20) -> list[Case]:
    """The cases a worker holds that are not closed, newest first, each marked if a step is overdue."""
    if not user.has_perm("cases.view_case"):
        return []
    cases = list(
        cases_visible_to(user)
        .open()
        .filter(assigned_to=user)
        .select_related("sextortion_type")
        .with_overdue_mark()
        .order_by("-first_contact_at", "-id")[:limit]
    )
    return cases


def closure_of(case: Case) -> ClosureRequest | None:
    """What the case page shows about closure: the waiting request, or the last one if it was sent back.

    A case read for its page knows the status of its last request (``case_for_user``): with none, or one approved
    or withdrawn, there is nothing to read.
    """
    if getattr(case, "last_closure_status", "") in (None, ClosureStatus.APPROVED, ClosureStatus.WITHDRAWN):
        return None
    latest = (
        ClosureRequest.objects.filter(case=case)
        .select_related("closure_reason", "requested_by", "decided_by")
        .order_by("-requested_at", "-id")
        .first()
    )
    if latest is None or latest.status in (ClosureStatus.APPROVED, ClosureStatus.WITHDRAWN):
        return None
    if latest.status == ClosureStatus.SENT_BACK and case.status == Status.CLOSED:
        return None  # closed since, by a supervisor: the refusal is history
    return latest


def closure_requests_pending(user: User | AnonymousUser) -> QuerySet[ClosureRequest]:
    """Requests waiting for a supervisor, of the cases the user may open, oldest first."""
    return (
        ClosureRequest.objects.filter(status=ClosureStatus.PENDING, case__in=cases_visible_to(user))
        .select_related("case", "closure_reason", "requested_by")
        .order_by("requested_at", "id")
    )


def case_access_log(case: Case) -> QuerySet[AccessLog]:
    """Every access-log row about the case or one of its referrals (summaries and prints), newest first."""
    referral_ids = [str(pk) for pk in case.referrals.values_list("pk", flat=True)]
    return (
        AccessLog.objects.filter(
            Q(object_type="cases.case", object_id=str(case.pk))
            | Q(object_type="referrals.referral", object_id__in=referral_ids)
        )
        .select_related("actor")
        .order_by("-at", "-id")
    )


def terms_visible_to(organisation_id: int) -> QuerySet[Term]:
    """The shared terms and the organisation's own: all its cases can hold and its people can name.

    Another organisation's own terms are never among them.
    """
    return Term.objects.filter(Q(organisation__isnull=True) | Q(organisation_id=organisation_id))


def terms_offered_to(organisation_id: int, vocabulary: str = "", in_use: Collection[int] = ()) -> QuerySet[Term]:
    """The terms (of a vocabulary) offered for a new choice: active and not hidden by the organisation; and those
    in ``in_use`` (already on the case), so that saving a case keeps them."""
    hidden = HiddenTerm.objects.filter(organisation_id=organisation_id, term=OuterRef("pk"))
    terms = terms_visible_to(organisation_id).filter((Q(active=True) & ~Exists(hidden)) | Q(pk__in=in_use))
    return terms.filter(vocabulary=vocabulary) if vocabulary else terms

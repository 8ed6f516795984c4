from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pycountry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import Role
from audit.models import Action
from audit.services import access_log_record
from cases import pii
from cases.bulk import references_take
from cases.identifiers import IDENTIFIER_KINDS, case_region, identifier_hash
from cases.models import (
    Case,
    CaseActivity,
    CasePlatform,
    ClosureRequest,
    ClosureStatus,
    Contact,
    ContactType,
    EventKind,
    HiddenTerm,
    IdentifierKind,
    Note,
    OffenderIdentifier,
    PlatformRole,
    ResponseStep,
    Status,
    StepStatus,
    StepType,
    Term,
    Vocabulary,
)
from cases.playbook import playbook_steps

# Fields a worker fills in, by kind; every other column is the system's.
SCALAR_FACTS = [
    "first_contact_at",
    "risk_level",
    "self_harm",
    "immediate_danger",
    "victim_age",
    "victim_age_unknown",
    "victim_gender",
    "victim_country",
    "victim_region",
    "incident_description",
    "victim_complied",
    "victim_paid",
    "amount_band",
    "content_distributed",
    "extorted_again",
    "offender_count",
    "offender_country",
    "offender_known_offline",
    "organised_network_suspected",
]
TERM_FACTS = {
    "channel": Vocabulary.CHANNEL,
    "reporter_type": Vocabulary.REPORTER_TYPE,
    "sextortion_type": Vocabulary.SEXTORTION_TYPE,
    "payment_method": Vocabulary.PAYMENT_METHOD,
}
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
TEXT_LIMITS = {"incident_description": 20_000}
NOTE_LIMIT = 20_000
COMMENT_LIMIT = 2_000
IDENTIFIER_LIMIT = 300

MANY_FACTS = {
    "approaches": Vocabulary.APPROACH,
    "content_types": Vocabulary.CONTENT_TYPE,
    "demands": Vocabulary.DEMAND,
    "threats": Vocabulary.THREAT,
}

# Allowed status moves, for every service that changes a status.
TRANSITIONS: dict[str, set[str]] = {
    Status.NEW: {Status.OPEN, Status.WAITING, Status.CLOSED},
    Status.OPEN: {Status.WAITING, Status.CLOSED},
    Status.WAITING: {Status.OPEN, Status.CLOSED},
    Status.REOPENED: {Status.WAITING, Status.CLOSED},
    Status.CLOSED: {Status.REOPENED},
}


class StaleVersion(Exception):
    """Someone else saved the case after this edit began."""

    def __init__(self, case: Case) -> None:
        super().__init__(
            _("%(reference)s was changed by someone else while you were editing it. Your changes were not saved.")
            % {"reference": case.reference}
        )
        self.case = case


class ClosureNeedsApproval(ValidationError):
    """A direct close that needs a supervisor's approval: of a high or critical case, or with a request waiting."""

    def __init__(self, message: str) -> None:
        super().__init__({"status": ValidationError(message, code="closure_approval_required")})
        self.message_text = message


class IdentifiersFound(Exception):
    """Free text holds phone numbers, e-mail addresses or similar: the author must choose."""

    def __init__(self, field: str, findings: list[pii.Finding]) -> None:
        labels = sorted({finding.label for finding in findings})
        super().__init__(
            _("The text may identify someone: %(found)s. Choose to remove them or to keep the text as written.")
            % {"found": ", ".join(labels)}
        )
        self.field = field
        self.findings = findings


Span = tuple[int, int]


def text_findings(text: str, region: str | None = None) -> list[pii.Finding]:
    """What the free-text guard flags in a text; region is the case's country, for national phone numbers."""
    return pii.find_identifiers(text, region=region)


def checked_text(
    field: str, text: str, decision: str | None, move: Collection[Span] = (), region: str | None = None
) -> tuple[str, list[str], list[pii.Finding]]:
    """The text to store, the kinds of identifier kept in it, and the findings to add as offender identifiers.

    ``decision`` is None (refuse if anything is found), "redact", "keep" or "move". ``move`` names the spans
    of the findings the author adds to the case's offender identifiers, which leave the text; "move" alone moves
    every finding that can be an offender's identifier. What is not moved is redacted ("redact", "move") or kept.
    """
    findings = text_findings(text, region)
    if not findings and not move:
        return text, [], []
    movable = {(f.start, f.end): f for f in findings if f.offender_candidate}
    if not set(move) <= set(movable):
        raise ValidationError(
            {
                field: _(
                    "Only a phone number, e-mail address, username, link or payment handle found in this very "
                    "text can be added to the offender identifiers. Nothing was saved."
                )
            }
        )
    if decision not in ("redact", "keep", "move"):
        raise IdentifiersFound(field, findings)
    moved = [movable[span] for span in sorted(set(move))] or (list(movable.values()) if decision == "move" else [])
    if decision == "keep":
        kept = sorted({finding.kind for finding in findings if finding not in moved})
        return pii.redact(text, moved) if moved else text, kept, moved
    return pii.redact(text, findings), [], moved


def region_of(case: Case) -> str | None:
    return case_region(case.victim_country, case.organisation.country)


def identifiers_from_text(
    *, actor: User, case: Case, moved: Sequence[pii.Finding], request: HttpRequest | None
) -> dict[str, int]:
    """Add what the author moved out of a text to the case's offender identifiers; counts by kind, for the log."""
    region = region_of(case)
    present = set(case.offender_identifiers.values_list("value_hash", flat=True))
    for finding in moved:
        kind = IDENTIFIER_KINDS[finding.kind]
        if identifier_hash(kind, finding.text, region) not in present:
            identifier = offender_identifier_add(actor=actor, case=case, kind=kind, value=finding.text, request=request)
            present.add(identifier.value_hash)
    return dict(Counter(finding.kind for finding in moved))


FOREIGN, RETIRED = "foreign", "retired"


def terms_refused(
    organisation_id: int,
    terms: Iterable[Term | None],
    current_terms: Collection[int] = (),
    hidden: Collection[int] | None = None,
) -> dict[int, str]:
    """The terms an organisation may not choose, by id: FOREIGN, another organisation's own, which it cannot
    name at all; RETIRED, deactivated or hidden by the organisation, kept only where a case already has them.
    ``hidden``, the ids of the terms the organisation hides, saves a query per call when checking many rows."""
    chosen = [term for term in terms if term is not None]
    if not chosen:
        return {}
    if hidden is None:
        hidden = set(
            HiddenTerm.objects.filter(organisation_id=organisation_id, term__in=chosen).values_list(
                "term_id", flat=True
            )
        )
    refused = {}
    for term in chosen:
        if term.organisation_id not in (None, organisation_id):
            refused[term.pk] = FOREIGN
        elif term.pk not in current_terms and (not term.active or term.pk in hidden):
            refused[term.pk] = RETIRED
    return refused


def case_facts_validate(
    facts: dict[str, Any],
    organisation_id: int,
    current_terms: Collection[int] = (),
    hidden_terms: Collection[int] | None = None,
) -> None:
    """Domain rules of the facts. Deactivated and hidden terms are accepted only where the case already has them.
    ``hidden_terms`` as in ``terms_refused``."""
    errors: dict[str, str] = {}
    chosen = [facts.get(field) for field in TERM_FACTS] + [t for field in MANY_FACTS for t in facts.get(field) or []]
    refused = terms_refused(organisation_id, chosen, current_terms, hidden_terms)
    for field, vocabulary in TERM_FACTS.items():
        term = facts.get(field)
        if term is not None and (term.vocabulary != vocabulary or refused.get(term.pk) == FOREIGN):
            errors[field] = _("Choose one of the listed options.")
    for field, vocabulary in MANY_FACTS.items():
        if any(term.vocabulary != vocabulary or refused.get(term.pk) == FOREIGN for term in facts.get(field) or []):
            errors[field] = _("Choose only from the listed options.")
    if facts.get("victim_age") is not None and facts.get("victim_age_unknown"):
        errors["victim_age"] = _("Give the age or say that it is unknown, not both.")
    if facts.get("victim_age") is not None and not 0 <= facts["victim_age"] <= 120:
        errors["victim_age"] = _("Age must be a whole number of years between 0 and 120.")
    for field in ("victim_country", "offender_country"):
        code = facts.get(field) or ""
        if code and pycountry.countries.get(alpha_2=code.upper()) is None:
            errors[field] = _("Not an ISO 3166 country code.")
    region = facts.get("victim_region") or ""
    if region:
        subdivision = pycountry.subdivisions.get(code=region.upper())
        if subdivision is None:
            errors["victim_region"] = _("Not an ISO 3166-2 region code.")
        elif subdivision.country_code != (facts.get("victim_country") or "").upper():
            errors["victim_region"] = _("This region is not in the victim's country.")
    first_contact = facts.get("first_contact_at")
    if first_contact is not None:
        if first_contact > timezone.now() + timedelta(minutes=5):
            errors["first_contact_at"] = _("First contact cannot be in the future.")
        elif first_contact < EARLIEST:
            errors["first_contact_at"] = _("First contact must be in 2000 or later.")
    for field, limit in TEXT_LIMITS.items():
        if len(facts.get(field) or "") > limit:
            errors[field] = _("Keep this under %(limit)s characters.") % {"limit": limit}
    for field in TERM_FACTS:
        term = facts.get(field)
        if field not in errors and term is not None and refused.get(term.pk) == RETIRED:
            errors[field] = _("This option is no longer in use; choose another.")
    for field in MANY_FACTS:
        if field not in errors and any(refused.get(term.pk) == RETIRED for term in facts.get(field) or []):
            errors[field] = _("One of these options is no longer in use; choose another.")
    if errors:
        raise ValidationError(errors)


def terms_of(case: Case) -> set[int]:
    ids = {getattr(case, f"{field}_id") for field in TERM_FACTS} - {None}
    for field in MANY_FACTS:
        ids |= set(getattr(case, field).values_list("pk", flat=True))
    ids |= set(case.platforms.values_list("platform_id", flat=True))
    return ids


def _same_minute(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and b is not None and a.replace(second=0, microsecond=0) == b.replace(second=0, microsecond=0)


def _apply_facts(case: Case, facts: dict[str, Any]) -> list[str]:
    changed = []
    for field in [*SCALAR_FACTS, *TERM_FACTS]:
        if field in facts:
            value = facts[field]
            if field in ("victim_country", "offender_country", "victim_region") and value:
                value = value.upper()
            if field == "first_contact_at" and _same_minute(value, case.first_contact_at):
                continue  # the form shows minutes; the stored seconds are not a change
            if getattr(case, field) != value:
                setattr(case, field, value)
                changed.append(field)
    return changed


def _apply_many(case: Case, facts: dict[str, Any]) -> list[str]:
    changed = []
    for field in MANY_FACTS:
        if field in facts:
            manager = getattr(case, field)
            new = {term.pk for term in facts[field]}
            if set(manager.values_list("pk", flat=True)) != new:
                manager.set(new)
                changed.append(field)
    return changed


def _apply_platforms(case: Case, platforms: Iterable[tuple[Term, str]] | None) -> list[str]:
    if platforms is None:
        return []
    wanted = {(term.pk, role) for term, role in platforms}
    current = set(case.platforms.values_list("platform_id", "role"))
    refused = terms_refused(case.organisation_id, [term for term, _ in platforms], {term for term, _ in current})
    for term, role in platforms:
        if term.vocabulary != Vocabulary.PLATFORM or role not in PlatformRole.values or refused.get(term.pk) == FOREIGN:
            raise ValidationError({"platforms": _("Choose a platform and its role from the lists.")})
        if refused.get(term.pk) == RETIRED:
            raise ValidationError(
                {"platforms": _("%(platform)s is no longer in use; choose another.") % {"platform": term}}
            )
    if wanted == current:
        return []
    case.platforms.exclude(pk__in=[p.pk for p in case.platforms.all() if (p.platform_id, p.role) in wanted]).delete()
    CasePlatform.objects.bulk_create(
        [CasePlatform(case=case, platform_id=term_id, role=role) for term_id, role in wanted - current]
    )
    return ["platforms"]


@transaction.atomic
def case_open(
    *,
    actor: User,
    facts: dict[str, Any],
    platforms: Sequence[tuple[Term, str]] = (),
    text_decision: str | None = None,
    move: Collection[Span] = (),
    request: HttpRequest | None = None,
) -> Case:
    """A new case for the actor's organisation, with its starting checklist."""
    case_facts_validate(facts, actor.organisation_id)
    facts = dict(facts)
    facts.setdefault("first_contact_at", timezone.now())
    kept: list[str] = []
    moved: list[pii.Finding] = []
    if facts.get("incident_description") or move:
        region = case_region(facts.get("victim_country") or "", actor.organisation.country)
        facts["incident_description"], kept, moved = checked_text(
            "incident_description", facts.get("incident_description") or "", text_decision, move, region
        )
    is_worker = actor.role == Role.WORKER
    case = Case(
        organisation_id=actor.organisation_id,
        created_by=actor,
        assigned_to=actor if is_worker else None,
        status=Status.OPEN if is_worker else Status.NEW,
        reference=references_take(
            organisation_id=actor.organisation_id, years=[timezone.localtime(facts["first_contact_at"]).year]
        )[0],
    )
    _apply_facts(case, facts)
    case.save()
    _apply_many(case, facts)
    _apply_platforms(case, platforms)
    CaseActivity.objects.create(case=case, actor=actor, kind=EventKind.OPENED, detail={"status": case.status})
    if case.channel_id:
        Contact.objects.create(case=case, at=case.first_contact_at, channel_id=case.channel_id, worker=actor)
    playbook_apply(case=case)
    detail: dict[str, Any] = {"identifiers_kept": kept} if kept else {}
    if moved:
        detail["identifiers_moved"] = identifiers_from_text(actor=actor, case=case, moved=moved, request=request)
    access_log_record(action=Action.CREATE, request=request, actor=actor, obj=case, detail=detail or None)
    return case


@transaction.atomic
def case_update(
    *,
    actor: User,
    case: Case,
    version: int,
    facts: dict[str, Any],
    platforms: Sequence[tuple[Term, str]] | None = None,
    text_decision: str | None = None,
    move: Collection[Span] = (),
    request: HttpRequest | None = None,
) -> Case:
    """Change the facts of a case, refusing an edit based on an older version.

    The facts of a closed case are changed only by those who approve closures: the closure was decided on them.
    """
    # Locked so that two saves of the same case are checked one after the other.
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.version != version:
        raise StaleVersion(case)
    stored = ("victim_country", "victim_region", "victim_age", "victim_age_unknown")
    case_facts_validate(
        {**{f: getattr(case, f) for f in stored}, **facts}, case.organisation_id, current_terms=terms_of(case)
    )
    facts = dict(facts)
    kept: list[str] = []
    moved: list[pii.Finding] = []
    description = facts.get("incident_description")
    if (description and description != case.incident_description) or move:
        region = case_region(facts.get("victim_country", case.victim_country) or "", case.organisation.country)
        facts["incident_description"], kept, moved = checked_text(
            "incident_description", description or "", text_decision, move, region
        )
    changed = _apply_facts(case, facts)
    case.version = F("version") + 1
    case.save()
    case.refresh_from_db()
    changed += _apply_many(case, facts) + _apply_platforms(case, platforms)
    if changed and case.status == Status.CLOSED and not can_approve_closure(actor, case):
        # Checked once the changes are known, so that a closed case sent back unchanged is no refusal; raising
        # undoes them with the transaction. Otherwise a case could be closed at low risk and then raised unseen.
        raise ValidationError(closed_case_refusal(case), code="case_closed")
    if changed:
        CaseActivity.objects.create(case=case, actor=actor, kind=EventKind.FACTS, detail={"fields": changed})
        playbook_apply(case=case)
    detail: dict[str, Any] = {"fields": changed}
    if kept:
        detail["identifiers_kept"] = kept
    if moved:
        detail["identifiers_moved"] = identifiers_from_text(actor=actor, case=case, moved=moved, request=request)
    access_log_record(action=Action.CHANGE, request=request, actor=actor, obj=case, detail=detail)
    return case


def _bump(case: Case) -> None:
    Case.objects.filter(pk=case.pk).update(version=F("version") + 1, updated_at=timezone.now())
    case.version += 1


def can_approve_closure(actor: User, case: Case) -> bool:
    """Supervisors of the case's organisation approve closures, and so may close any case themselves."""
    return bool(actor.has_perm("cases.approve_closure") and actor.organisation_id == case.organisation_id)


def closed_case_refusal(case: Case) -> str:
    """Why the facts of a closed case are not changed: by its workers, only once it is reopened."""
    return _(
        "%(reference)s is closed. Reopen the case first to change its facts; a supervisor may change them as it is."
    ) % {"reference": case.reference}


def _pending_closure(case: Case) -> ClosureRequest | None:
    # Locked so that a decision and a direct close of the same request are made one after the other.
    return (
        ClosureRequest.objects.select_for_update(of=("self",))
        .select_related("closure_reason", "requested_by")
        .filter(case_id=case.pk, status=ClosureStatus.PENDING)
        .first()
    )


def _closure_event(
    *, actor: User, case: Case, closure: ClosureRequest, event: str, request: HttpRequest | None, **extra: Any
) -> None:
    CaseActivity.objects.create(
        case=case, actor=actor, kind=EventKind.CLOSURE, detail={"event": event, "request": closure.pk}
    )
    access_log_record(
        action=Action.CHANGE,
        request=request,
        actor=actor,
        obj=case,
        detail={"closure_request": closure.pk, "event": event, **extra},
    )


@transaction.atomic
def case_set_status(
    *,
    actor: User,
    case: Case,
    status: str,
    closure_reason: Term | None = None,
    version: int | None = None,
    request: HttpRequest | None = None,
) -> Case:
    """Move a case along its lifecycle; the allowed moves are TRANSITIONS.

    Closing a high or critical case, or a case whose closure request is waiting, is for a supervisor
    of its organisation; a waiting request is then approved by that close. With ``version``, an
    edit based on an older version is refused.
    """
    case = Case.objects.select_for_update().get(pk=case.pk)
    if version is not None and case.version != version:
        raise StaleVersion(case)
    if status not in TRANSITIONS.get(case.status, set()):
        raise ValidationError(
            {
                "status": _("A case that is %(current)s cannot become %(new)s.")
                % {
                    "current": case.get_status_display(),
                    "new": Status(status).label if status in Status.values else status,
                }
            }
        )
    pending = None
    if status == Status.CLOSED:
        pending = _pending_closure(case)
        if not can_approve_closure(actor, case):
            if pending is not None:
                raise ClosureNeedsApproval(
                    _("A closure request for %(reference)s is waiting for a supervisor; it closes when approved.")
                    % {"reference": case.reference}
                )
            if case.closure_needs_approval:
                raise ClosureNeedsApproval(
                    _(
                        "%(reference)s has been at high or critical risk, so closing it needs a supervisor's "
                        "approval: request closure instead."
                    )
                    % {"reference": case.reference}
                )
        requested = {pending.closure_reason_id} if pending is not None else set()
        if (
            closure_reason is None
            or closure_reason.vocabulary != Vocabulary.CLOSURE_REASON
            or terms_refused(case.organisation_id, [closure_reason], requested)
        ):
            raise ValidationError({"closure_reason": _("Give the reason for closing the case.")})
        case.closure_reason = closure_reason
        case.closed_at = timezone.now()
    elif case.status == Status.CLOSED:
        case.closure_reason = None
        case.closed_at = None
    if pending is not None:
        pending.status = ClosureStatus.APPROVED
        pending.decided_by, pending.decided_at = actor, timezone.now()
        pending.save(update_fields=["status", "decided_by", "decided_at"])
        _closure_event(actor=actor, case=case, closure=pending, event="approved", request=request)
    previous = case.status
    case.status = status
    case.version += 1
    case.save(update_fields=["status", "closure_reason", "closed_at", "version", "updated_at"])
    detail = {"from": previous, "to": status}
    if closure_reason is not None and status == Status.CLOSED:
        detail["reason"] = closure_reason.label
    CaseActivity.objects.create(case=case, actor=actor, kind=EventKind.STATUS, detail=detail)
    access_log_record(action=Action.CHANGE, request=request, actor=actor, obj=case, detail=detail)
    return case


def _checked_comment(
    field: str, comment: str, text_decision: str | None, move: Collection[Span], case: Case, required: str = ""
) -> tuple[str, list[str], list[pii.Finding]]:
    comment = comment.strip()
    if required and not comment:
        raise ValidationError({field: required})
    if len(comment) > COMMENT_LIMIT:
        raise ValidationError({field: _("Keep this under %(limit)s characters.") % {"limit": COMMENT_LIMIT}})
    return checked_text(field, comment, text_decision, move, region_of(case)) if comment or move else ("", [], [])


@transaction.atomic
def closure_request_create(
    *,
    actor: User,
    case: Case,
    closure_reason: Term | None,
    comment: str = "",
    text_decision: str | None = None,
    move: Collection[Span] = (),
    request: HttpRequest | None = None,
) -> ClosureRequest:
    """Ask a supervisor to close a high or critical case; one request waits per case at a time."""
    # Locked so that two requests for the same case are checked one after the other.
    case = Case.objects.select_for_update().get(pk=case.pk)
    if Status.CLOSED not in TRANSITIONS.get(case.status, set()):
        raise ValidationError(
            _("A case that is %(current)s cannot be closed.") % {"current": case.get_status_display()}
        )
    if not case.closure_needs_approval:
        raise ValidationError(
            _("A %(risk)s risk case needs no approval: close it directly.")
            % {"risk": case.get_risk_level_display().lower()}
        )
    if ClosureRequest.objects.filter(case_id=case.pk, status=ClosureStatus.PENDING).exists():
        raise ValidationError(_("A closure request for this case is already waiting for approval."))
    if (
        closure_reason is None
        or closure_reason.vocabulary != Vocabulary.CLOSURE_REASON
        or terms_refused(case.organisation_id, [closure_reason])
    ):
        raise ValidationError({"closure_reason": _("Give the reason for closing the case.")})
    comment, kept, moved = _checked_comment("comment", comment, text_decision, move, case)
    try:
        with transaction.atomic():
            closure = ClosureRequest.objects.create(
                case=case,
                closure_reason=closure_reason,
                comment=comment,
                risk_level=case.risk_level,
                requested_by=actor,
            )
    except IntegrityError:
        raise ValidationError(_("A closure request for this case is already waiting for approval.")) from None
    extra: dict[str, Any] = {"reason": closure_reason.label}
    if kept:
        extra["identifiers_kept"] = kept
    if moved:
        extra["identifiers_moved"] = identifiers_from_text(actor=actor, case=case, moved=moved, request=request)
    _closure_event(actor=actor, case=case, closure=closure, event="requested", request=request, **extra)
    return closure


def _decidable(actor: User, case: Case) -> tuple[Case, ClosureRequest]:
    if not can_approve_closure(actor, case):
        raise PermissionDenied(_("Only a supervisor of the organisation can approve or send back a closure request."))
    case = Case.objects.select_for_update().get(pk=case.pk)
    pending = _pending_closure(case)
    if pending is None:
        raise ValidationError(_("No closure request is waiting for approval on this case."))
    return case, pending


@transaction.atomic
def closure_request_approve(*, actor: User, case: Case, request: HttpRequest | None = None) -> Case:
    """A supervisor approves the waiting request: the case is closed with the requested reason."""
    case, pending = _decidable(actor, case)
    return case_set_status(
        actor=actor, case=case, status=Status.CLOSED, closure_reason=pending.closure_reason, request=request
    )


@transaction.atomic
def closure_request_send_back(
    *,
    actor: User,
    case: Case,
    comment: str,
    text_decision: str | None = None,
    move: Collection[Span] = (),
    request: HttpRequest | None = None,
) -> ClosureRequest:
    """A supervisor refuses the waiting request, saying why; the case stays open."""
    case, pending = _decidable(actor, case)
    required = _("Say why the request is sent back.")
    comment, kept, moved = _checked_comment("comment", comment, text_decision, move, case, required=required)
    pending.status = ClosureStatus.SENT_BACK
    pending.decided_by, pending.decided_at = actor, timezone.now()
    pending.decision_comment = comment
    pending.save(update_fields=["status", "decided_by", "decided_at", "decision_comment"])
    extra: dict[str, Any] = {"identifiers_kept": kept} if kept else {}
    if moved:
        extra["identifiers_moved"] = identifiers_from_text(actor=actor, case=case, moved=moved, request=request)
    _closure_event(actor=actor, case=case, closure=pending, event="sent_back", request=request, **extra)
    return pending


@transaction.atomic
def closure_request_withdraw(*, actor: User, case: Case, request: HttpRequest | None = None) -> ClosureRequest:
    """Whoever works on the case takes the waiting request back, for instance after a new contact."""
    if actor.organisation_id != case.organisation_id or not actor.has_perm("cases.change_case"):
        raise PermissionDenied
    case = Case.objects.select_for_update().get(pk=case.pk)
    pending = _pending_closure(case)
    if pending is None:
        raise ValidationError(_("No closure request is waiting for approval on this case."))
    pending.status = ClosureStatus.WITHDRAWN
    pending.decided_by, pending.decided_at = actor, timezone.now()
    pending.save(update_fields=["status", "decided_by", "decided_at"])
    _closure_event(actor=actor, case=case, closure=pending, event="withdrawn", request=request)
    return pending


@transaction.atomic
def case_assign(
    *,
    actor: User,
    case: Case,
    assignee: User | None,
    version: int | None = None,
    request: HttpRequest | None = None,
) -> Case:
    """Give the case to a worker or supervisor of its organisation, or to nobody.

    With ``version``, an assignment chosen on an older version of the case is refused.
    """
    if assignee is not None and (
        assignee.organisation_id != case.organisation_id or assignee.role not in (Role.WORKER, Role.SUPERVISOR)
    ):
        raise ValidationError({"assigned_to": _("Assign the case to a worker or supervisor of its organisation.")})
    case = Case.objects.select_for_update().get(pk=case.pk)
    if version is not None and case.version != version:
        raise StaleVersion(case)
    previous = case.assigned_to
    case.assigned_to = assignee
    if assignee is not None and case.status == Status.NEW and Status.OPEN in TRANSITIONS[Status.NEW]:
        case.status = Status.OPEN  # being given to someone opens a new case
    case.version += 1
    case.save(update_fields=["assigned_to", "status", "version", "updated_at"])
    detail = {"from": previous.username if previous else None, "to": assignee.username if assignee else None}
    CaseActivity.objects.create(case=case, actor=actor, kind=EventKind.ASSIGNED, detail=detail)
    access_log_record(action=Action.CHANGE, request=request, actor=actor, obj=case, detail={"assigned": detail})
    return case


@transaction.atomic
def contact_add(
    *,
    actor: User,
    case: Case,
    at: datetime,
    channel: Term,
    contact_type: str = ContactType.COUNSELLING,
    duration_minutes: int | None = None,
    request: HttpRequest | None = None,
) -> Contact:
    if channel.vocabulary != Vocabulary.CHANNEL or terms_refused(case.organisation_id, [channel]):
        raise ValidationError({"channel": _("Choose one of the listed channels.")})
    if contact_type not in ContactType.values:
        raise ValidationError({"contact_type": _("Choose one of the listed types of contact.")})
    if at > timezone.now() + timedelta(minutes=5):
        raise ValidationError({"at": _("A contact cannot be in the future.")})
    if at < EARLIEST:
        raise ValidationError({"at": _("A contact must be in 2000 or later.")})
    if duration_minutes is not None and not 0 <= duration_minutes <= 24 * 60:
        raise ValidationError({"duration_minutes": _("Duration must be between 0 and 1440 minutes.")})
    contact = Contact.objects.create(
        case=case, at=at, channel=channel, contact_type=contact_type, duration_minutes=duration_minutes, worker=actor
    )
    _bump(case)
    access_log_record(action=Action.CHANGE, request=request, actor=actor, obj=case, detail={"contact": contact.pk})
    return contact


@transaction.atomic
def step_update(
    *, actor: User, step: ResponseStep, status: str, due_at: datetime | None = None, request: HttpRequest | None = None
) -> ResponseStep:
    if status not in StepStatus.values:
        raise ValidationError({"status": _("Choose to do, done, declined or not applicable.")})
    if due_at is not None and due_at < EARLIEST:
        raise ValidationError({"due_at": _("A due date must be in 2000 or later.")})
    step = ResponseStep.objects.select_for_update().select_related("step_type", "case").get(pk=step.pk)
    if status != step.status:
        step.status = status
        if status == StepStatus.DONE:
            step.done_by, step.done_at = actor, timezone.now()
        else:
            step.done_by, step.done_at = None, None
    if due_at is not None:
        step.due_at = due_at
    step.save(update_fields=["status", "done_by", "done_at", "due_at"])
    _bump(step.case)
    detail = {"step": step.step_type.label, "status": status}
    CaseActivity.objects.create(case=step.case, actor=actor, kind=EventKind.STEP, detail=detail)
    access_log_record(action=Action.CHANGE, request=request, actor=actor, obj=step.case, detail=detail)
    return step


@transaction.atomic
def step_mark_done(*, actor: User, case: Case, code: str, reason: str, request: HttpRequest | None = None) -> None:
    """Mark a catalogue step done on a case, adding it first if the playbook had not."""
    step_type = StepType.objects.filter(code=code).first()
    if step_type is None:
        return
    step, _ = ResponseStep.objects.get_or_create(case=case, step_type=step_type, defaults={"reason": reason})
    if step.status != StepStatus.DONE:
        step_update(actor=actor, step=step, status=StepStatus.DONE, request=request)


@transaction.atomic
def note_add(
    *,
    actor: User,
    case: Case,
    text: str,
    text_decision: str | None = None,
    move: Collection[Span] = (),
    request: HttpRequest | None = None,
) -> Note:
    text = text.strip()
    if not text:
        raise ValidationError({"text": _("Write something in the note.")})
    if len(text) > NOTE_LIMIT:
        raise ValidationError({"text": _("Keep a note under %(limit)s characters.") % {"limit": NOTE_LIMIT}})
    text, kept, moved = checked_text("text", text, text_decision, move, region_of(case))
    note = Note.objects.create(case=case, author=actor, text=text, identifiers_kept=kept)
    _bump(case)
    detail: dict[str, Any] = {"note": note.pk}
    if text_decision:
        detail["identifiers"] = text_decision
    if moved:
        detail["identifiers_moved"] = identifiers_from_text(actor=actor, case=case, moved=moved, request=request)
    access_log_record(action=Action.CHANGE, request=request, actor=actor, obj=case, detail=detail)
    return note


@transaction.atomic
def offender_identifier_add(
    *,
    actor: User,
    case: Case,
    kind: str,
    value: str,
    platform: Term | None = None,
    request: HttpRequest | None = None,
) -> OffenderIdentifier:
    value = value.strip()
    if kind not in IdentifierKind.values:
        raise ValidationError({"kind": _("Choose the kind of identifier.")})
    if not value:
        raise ValidationError({"value": _("Give the handle, link or number.")})
    if len(value) > IDENTIFIER_LIMIT:
        raise ValidationError({"value": _("Keep it under %(limit)s characters.") % {"limit": IDENTIFIER_LIMIT}})
    if platform is not None and (
        platform.vocabulary != Vocabulary.PLATFORM or terms_refused(case.organisation_id, [platform])
    ):
        raise ValidationError({"platform": _("Choose one of the listed platforms.")})
    identifier = OffenderIdentifier.objects.create(
        case=case, kind=kind, value=value, platform=platform, value_hash=identifier_hash(kind, value, region_of(case))
    )
    _bump(case)
    access_log_record(
        action=Action.CHANGE, request=request, actor=actor, obj=case, detail={"identifier": identifier.pk}
    )
    return identifier


def playbook_apply(*, case: Case) -> list[ResponseStep]:
    """Add the steps the facts call for; steps already on the case are left as they are."""
    wanted = playbook_steps(case)
    types = {t.code: t for t in StepType.objects.filter(code__in=[code for code, _, _ in wanted], active=True)}
    existing = set(case.steps.values_list("step_type__code", flat=True))
    now = timezone.now()
    new = [
        ResponseStep(case=case, step_type=types[code], reason=reason, due_at=now + due if due else None)
        for code, reason, due in wanted
        if code in types and code not in existing
    ]
    return ResponseStep.objects.bulk_create(new)


@transaction.atomic
def term_set_hidden(*, actor: User, term: Term, hidden: bool, request: HttpRequest | None = None) -> None:
    """Hide a shared term from the actor's organisation, or offer it again; its cases keep it either way."""
    if term.organisation_id is not None:
        raise ValidationError(_("Only shared terms are hidden; deactivate your organisation's own terms instead."))
    if hidden:
        _hidden, changed = HiddenTerm.objects.get_or_create(organisation_id=actor.organisation_id, term=term)
    else:
        changed = HiddenTerm.objects.filter(organisation_id=actor.organisation_id, term=term).delete()[0] > 0
    if changed:
        access_log_record(action=Action.CHANGE, request=request, actor=actor, obj=term, detail={"hidden": hidden})

from collections.abc import Collection
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User
from audit.models import Action
from audit.services import access_log_record
from cases import services as case_services
from cases.models import Case, CaseActivity, EventKind, Status, Term, Vocabulary
from cases.pii import Finding
from referrals.models import (
    UNDER_WAY,
    Agency,
    AgencyKind,
    Consent,
    HiddenAgency,
    ItemContent,
    ItemStatus,
    Outcome,
    Referral,
    ReferralKind,
    ReferralStatus,
    ReferralTransition,
    TakedownItem,
)

S = ReferralStatus
# The allowed moves of a referral; every status change goes through referral_transition.
TRANSITIONS: dict[str, set[str]] = {
    S.DRAFT: {S.SENT, S.WITHDRAWN},
    S.SENT: {S.ACKNOWLEDGED, S.IN_PROGRESS, S.COMPLETED, S.DECLINED, S.WITHDRAWN},
    S.ACKNOWLEDGED: {S.IN_PROGRESS, S.COMPLETED, S.DECLINED, S.WITHDRAWN},
    S.IN_PROGRESS: {S.COMPLETED, S.DECLINED, S.WITHDRAWN},
    S.COMPLETED: set(),
    S.DECLINED: set(),
    S.WITHDRAWN: set(),
}
ACTIVE = set(UNDER_WAY)
CLOSED = {S.COMPLETED, S.DECLINED, S.WITHDRAWN}

AGENCY_KIND: dict[str, str] = {
    ReferralKind.POLICE: AgencyKind.POLICE,
    ReferralKind.TAKEDOWN: AgencyKind.REGULATOR,
    ReferralKind.PLATFORM: AgencyKind.PLATFORM,
    ReferralKind.HASH_MATCHING: AgencyKind.HASH_MATCHING,
    ReferralKind.SUPPORT: AgencyKind.SUPPORT,
    ReferralKind.CHILD_PROTECTION: AgencyKind.CHILD_PROTECTION,
}
REMOVAL: list[str] = [Outcome.REMOVED, Outcome.PARTLY_REMOVED, Outcome.NOT_REMOVED, Outcome.NOT_FOUND]
OUTCOMES: dict[str, list[str]] = {
    ReferralKind.POLICE: [
        Outcome.INVESTIGATION_OPENED,
        Outcome.OFFENDER_IDENTIFIED,
        Outcome.CHARGES_LAID,
        Outcome.NO_FURTHER_ACTION,
    ],
    ReferralKind.TAKEDOWN: REMOVAL,
    ReferralKind.PLATFORM: REMOVAL,
    ReferralKind.HASH_MATCHING: REMOVAL,
    ReferralKind.SUPPORT: [Outcome.ACCEPTED, Outcome.DECLINED],
    ReferralKind.CHILD_PROTECTION: [Outcome.ACCEPTED, Outcome.DECLINED],
}
# The response step that sending a referral of each kind completes.
STEP_DONE_BY_SENDING = {
    ReferralKind.POLICE: "report_police",
    ReferralKind.TAKEDOWN: "removal_request",
    ReferralKind.PLATFORM: "report_platform",
    ReferralKind.HASH_MATCHING: "hash_submission",
    ReferralKind.SUPPORT: "wellbeing_support",
}
ITEM_KINDS = {ReferralKind.TAKEDOWN, ReferralKind.PLATFORM}


def _check_consent(consent: str, reason: str) -> None:
    if consent and consent not in Consent.values:
        raise ValidationError({"consent": _("Choose who gave consent, or that it is not required.")})
    if consent == Consent.NOT_REQUIRED and not reason.strip():
        raise ValidationError({"consent_reason": _("Say why consent is not required.")})


@transaction.atomic
def referral_create(
    *,
    actor: User,
    case: Case,
    kind: str,
    agency: Agency,
    owner: User | None = None,
    consent: str = "",
    consent_reason: str = "",
    external_reference: str = "",
    follow_up_on: date | None = None,
    text_decision: str | None = None,
    move: Collection[case_services.Span] = (),
    request: HttpRequest | None = None,
) -> Referral:
    """A draft referral of the case; nothing is sent yet."""
    if kind not in ReferralKind.values:
        raise ValidationError({"kind": _("Choose the kind of referral.")})
    if (
        agency.kind != AGENCY_KIND[kind]
        or not agency.active
        or agency.organisation_id not in (None, case.organisation_id)
        or HiddenAgency.objects.filter(organisation_id=case.organisation_id, agency=agency).exists()
    ):
        raise ValidationError({"agency": _("Choose an agency that handles this kind of referral.")})
    owner = owner or actor
    if owner.organisation_id != case.organisation_id:
        raise ValidationError({"owner": _("The owner must work for the case's organisation.")})
    _check_consent(consent, consent_reason)
    consent_reason, kept, moved = _checked_text("consent_reason", consent_reason, text_decision, move, case)
    referral = Referral.objects.create(
        case=case,
        kind=kind,
        agency=agency,
        owner=owner,
        created_by=actor,
        consent=consent,
        consent_reason=consent_reason,
        external_reference=external_reference.strip(),
        follow_up_on=follow_up_on,
    )
    _record(actor, referral, S.DRAFT, S.DRAFT, _("Drafted"), request)
    _log_text_check(actor, referral, kept, moved, request)
    return referral


@transaction.atomic
def referral_record_consent(
    *,
    actor: User,
    referral: Referral,
    consent: str,
    reason: str = "",
    text_decision: str | None = None,
    move: Collection[case_services.Span] = (),
    request: HttpRequest | None = None,
) -> Referral:
    if not consent:
        raise ValidationError({"consent": _("Choose who gave consent, or that it is not required.")})
    _check_consent(consent, reason)
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    reason, kept, moved = _checked_text("reason", reason, text_decision, move, referral.case)
    referral.consent, referral.consent_reason = consent, reason
    referral.save(update_fields=["consent", "consent_reason"])
    access_log_record(action=Action.CHANGE, request=request, actor=actor, obj=referral, detail={"consent": consent})
    _log_text_check(actor, referral, kept, moved, request)
    return referral


def _checked_text(
    field: str, reason: str, text_decision: str | None, move: Collection[case_services.Span], case: Case
) -> tuple[str, list[str], list[Finding]]:
    """A consent reason or a note through the free-text guard, like case notes and comments."""
    reason = reason.strip()
    if not reason and not move:
        return "", [], []
    return case_services.checked_text(field, reason, text_decision, move, case_services.region_of(case))


def _log_text_check(
    actor: User, referral: Referral, kept: list[str], moved: list[Finding], request: HttpRequest | None
) -> None:
    """Kinds and counts of what the text held, never the text."""
    detail: dict[str, Any] = {"identifiers_kept": kept} if kept else {}
    if moved:
        detail["identifiers_moved"] = case_services.identifiers_from_text(
            actor=actor, case=referral.case, moved=moved, request=request
        )
    if detail:
        access_log_record(action=Action.CHANGE, request=request, actor=actor, obj=referral, detail=detail)


@transaction.atomic
def referral_transition(
    *,
    actor: User,
    referral: Referral,
    to: str,
    outcome: str = "",
    external_reference: str | None = None,
    note: str = "",
    text_decision: str | None = None,
    move: Collection[case_services.Span] = (),
    request: HttpRequest | None = None,
) -> Referral:
    """Move a referral along TRANSITIONS, keeping the time and actor of the move."""
    # Locked so that two people recording the same move cannot both succeed.
    referral = Referral.objects.select_for_update().select_related("case", "agency").get(pk=referral.pk)
    current = referral.status
    if to not in TRANSITIONS.get(current, set()):
        raise ValidationError(
            {
                "status": _("A referral that is %(current)s cannot become %(new)s.")
                % {"current": ReferralStatus(current).label, "new": ReferralStatus(to).label if to in S.values else to}
            }
        )
    now = timezone.now()
    if to == S.SENT:
        if not referral.consent:
            raise ValidationError({"consent": _("Record consent before sending the referral.")})
        referral.sent_at = now
        if referral.follow_up_on is None:
            referral.follow_up_on = timezone.localdate() + timedelta(days=referral.agency.expected_response_days)
    if to == S.ACKNOWLEDGED or (to in (S.IN_PROGRESS, S.COMPLETED, S.DECLINED) and referral.acknowledged_at is None):
        referral.acknowledged_at = now  # an answer of any kind acknowledges the referral
    if to == S.COMPLETED:
        if outcome not in OUTCOMES[ReferralKind(referral.kind)]:
            raise ValidationError({"outcome": _("Choose the outcome of this kind of referral.")})
        referral.outcome = outcome
    elif outcome:
        raise ValidationError({"outcome": _("An outcome is recorded only when the referral is completed.")})
    if to in CLOSED:
        referral.closed_at = now
    if external_reference is not None:
        referral.external_reference = external_reference.strip()[:100]
    note, kept, moved = _checked_text("note", note, text_decision, move, referral.case)
    referral.status = to
    referral.save()
    _record(actor, referral, current, to, note, request)
    _log_text_check(actor, referral, kept, moved, request)
    if to == S.SENT and referral.kind in STEP_DONE_BY_SENDING:
        case_services.step_mark_done(
            actor=actor,
            case=referral.case,
            code=STEP_DONE_BY_SENDING[ReferralKind(referral.kind)],
            reason=gettext_noop("Referral sent"),  # stored in English, shown in the reader's language
            request=request,
        )
    _case_follows(actor, referral.case, request)
    return referral


def _record(actor: User, referral: Referral, current: str, to: str, note: str, request: HttpRequest | None) -> None:
    ReferralTransition.objects.create(referral=referral, from_status=current, to_status=to, actor=actor, note=note)
    detail = {
        "referral": referral.pk,
        "kind": referral.kind,
        "agency": referral.agency.name,
        "status": to,
    }
    if referral.outcome:
        detail["outcome"] = referral.outcome
    CaseActivity.objects.create(case=referral.case, actor=actor, kind=EventKind.REFERRAL, detail=detail)
    access_log_record(
        action=Action.CREATE if current == to else Action.CHANGE,
        request=request,
        actor=actor,
        obj=referral,
        detail={"from": current, "to": to},
    )


def _case_follows(actor: User, case: Case, request: HttpRequest | None) -> None:
    """A case with referrals under way waits on them; when none is left it is open again."""
    case.refresh_from_db()
    waiting = case.referrals.filter(status__in=ACTIVE).exists()
    if waiting and case.status in (Status.NEW, Status.OPEN, Status.REOPENED):
        case_services.case_set_status(actor=actor, case=case, status=Status.WAITING, request=request)
    elif not waiting and case.status == Status.WAITING:
        case_services.case_set_status(actor=actor, case=case, status=Status.OPEN, request=request)


@transaction.atomic
def takedown_item_add(
    *,
    actor: User,
    referral: Referral,
    platform: Term,
    link: str,
    content_type: str,
    request: HttpRequest | None = None,
) -> TakedownItem:
    if referral.kind not in ITEM_KINDS:
        raise ValidationError({"referral": _("Only takedown and platform referrals list content to remove.")})
    if referral.status in CLOSED:
        raise ValidationError({"referral": _("This referral is closed.")})
    if platform.vocabulary != Vocabulary.PLATFORM or case_services.terms_refused(
        referral.case.organisation_id, [platform]
    ):
        raise ValidationError({"platform": _("Choose one of the listed platforms.")})
    if content_type not in ItemContent.values:
        raise ValidationError({"content_type": _("Choose image, video, profile or chat.")})
    item = TakedownItem(referral=referral, platform=platform, link=link.strip(), content_type=content_type)
    item.full_clean(exclude=["referral", "platform"])
    item.save()
    access_log_record(action=Action.CHANGE, request=request, actor=actor, obj=referral, detail={"item": item.pk})
    return item


@transaction.atomic
def takedown_item_update(
    *, actor: User, item: TakedownItem, status: str, request: HttpRequest | None = None
) -> TakedownItem:
    """Record what happened to one item; when every item is settled the referral completes with their outcome."""
    if status not in ItemStatus.values:
        raise ValidationError({"status": _("Choose requested, removed, refused or not found.")})
    item = TakedownItem.objects.select_for_update().select_related("referral").get(pk=item.pk)
    item.status = status
    item.removed_at = timezone.now() if status == ItemStatus.REMOVED else None
    item.save(update_fields=["status", "removed_at"])
    referral = item.referral
    access_log_record(
        action=Action.CHANGE, request=request, actor=actor, obj=referral, detail={"item": item.pk, "status": status}
    )
    outcome = items_outcome(list(referral.items.values_list("status", flat=True)))
    if outcome and referral.status in ACTIVE:
        referral_transition(actor=actor, referral=referral, to=S.COMPLETED, outcome=outcome, request=request)
    return item


def items_outcome(statuses: list[str]) -> str:
    """The outcome that settled items add up to, or "" while any is still requested."""
    if not statuses or ItemStatus.REQUESTED in statuses:
        return ""
    removed = statuses.count(ItemStatus.REMOVED)
    if removed == len(statuses):
        return Outcome.REMOVED
    if removed:
        return Outcome.PARTLY_REMOVED
    if all(status == ItemStatus.NOT_FOUND for status in statuses):
        return Outcome.NOT_FOUND
    return Outcome.NOT_REMOVED


@transaction.atomic
def agency_set_hidden(*, actor: User, agency: Agency, hidden: bool, request: HttpRequest | None = None) -> None:
    """Hide a shared agency from the actor's organisation, or offer it again; its referrals keep it either way."""
    if agency.organisation_id is not None:
        raise ValidationError(
            _("Only shared agencies are hidden; deactivate your organisation's own agencies instead.")
        )
    if hidden:
        _hidden, changed = HiddenAgency.objects.get_or_create(organisation_id=actor.organisation_id, agency=agency)
    else:
        changed = HiddenAgency.objects.filter(organisation_id=actor.organisation_id, agency=agency).delete()[0] > 0
    if changed:
        access_log_record(action=Action.CHANGE, request=request, actor=actor, obj=agency, detail={"hidden": hidden})

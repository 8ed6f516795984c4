"""Cases with every kind of content a retention policy erases, closed a given number of months ago."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import User
from cases.models import Case, OffenderIdentifier, Status, Term
from cases.services import (
    case_open,
    case_set_status,
    closure_request_approve,
    closure_request_create,
    closure_request_send_back,
    note_add,
    offender_identifier_add,
)
from referrals.models import Agency
from referrals.services import referral_create, referral_transition, takedown_item_add
from retention.selectors import months_before


@dataclass
class Made:
    case: Case
    texts: dict[str, str]  # everything the case holds that a policy erases, by kind


def term(vocabulary: str, code: str) -> Term:
    return Term.objects.get(vocabulary=vocabulary, code=code)


def make_case(
    actor: User,
    tag: str,
    *,
    closed_months_ago: int | None,
    supervisor: User | None = None,
    now: datetime | None = None,
) -> Made:
    """A case with a description, a note, an identifier, a takedown item and a referral comment.

    With a supervisor, the case is high risk and closed after a closure request was sent back once
    (two requests with comments). ``closed_months_ago`` None leaves it open; else it is closed that
    many months (and a day) before ``now``.
    """
    now = now or timezone.now()
    texts = {
        "incident_description": f"Incident description {tag} with words only",
        "note": f"Note {tag} about the call",
        "identifier": f"offender_{tag}_handle",
        "link": f"https://example.com/{tag}/photo",
        "referral_note": f"Comment {tag} on sending",
    }
    facts: dict[str, Any] = {
        "risk_level": "high" if supervisor else "low",
        "incident_description": texts["incident_description"],
        "victim_age": 15,
        "victim_gender": "female",
        "victim_country": "IT",
        "first_contact_at": months_before(now, (closed_months_ago or 0) + 2),
    }
    instagram = term("platform", "instagram")
    case = case_open(actor=actor, facts=facts, platforms=[(instagram, "first_contact")])
    note_add(actor=actor, case=case, text=texts["note"])
    offender_identifier_add(actor=actor, case=case, kind="username", value=texts["identifier"], platform=instagram)
    texts["identifier_hash"] = OffenderIdentifier.objects.get(case=case).value_hash
    referral = referral_create(
        actor=actor, case=case, kind="takedown", agency=Agency.objects.get(code="esafety"), consent="victim"
    )
    takedown_item_add(actor=actor, referral=referral, platform=instagram, link=texts["link"], content_type="image")
    referral_transition(actor=actor, referral=referral, to="sent", note=texts["referral_note"])
    if closed_months_ago is None:
        case.refresh_from_db()
        return Made(case, texts)
    resolved = term("closure_reason", "resolved")
    if supervisor is not None:
        texts["closure_comment"] = f"Please close {tag} now"
        texts["send_back_comment"] = f"Not yet {tag} because"
        texts["closure_comment_again"] = f"Closing {tag} again"
        closure_request_create(actor=actor, case=case, closure_reason=resolved, comment=texts["closure_comment"])
        closure_request_send_back(actor=supervisor, case=case, comment=texts["send_back_comment"])
        closure_request_create(actor=actor, case=case, closure_reason=resolved, comment=texts["closure_comment_again"])
        closure_request_approve(actor=supervisor, case=case)
    else:
        case_set_status(actor=actor, case=case, status=Status.CLOSED, closure_reason=resolved)
    Case.objects.filter(pk=case.pk).update(closed_at=months_before(now, closed_months_ago) - timedelta(days=1))
    case.refresh_from_db()
    return Made(case, texts)


def tables_holding(text: str) -> list[str]:
    """Every table of the database (live rows, history, audit, anything) with a row that contains the text."""
    found = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
        tables = [name for (name,) in cursor.fetchall()]
        for table in tables:
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT 1 FROM {quoted} AS r WHERE strpos(r::text, %s) > 0 LIMIT 1", [text])  # noqa: S608
            if cursor.fetchone():
                found.append(table)
    return found


@pytest.fixture
def now() -> datetime:
    return timezone.now()

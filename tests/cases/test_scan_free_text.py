"""manage.py scan_free_text: per organisation, the cases whose stored text the guard flags today, as references
and counts, never the text; logged; it changes nothing."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User
from audit.models import AccessLog
from cases import services
from cases.models import Case, Note, Risk, Term
from referrals import services as referral_services
from referrals.models import Agency

pytestmark = pytest.mark.django_db


def test_lists_flagged_cases_per_organisation_without_text(personas: dict[str, User]) -> None:
    worker, other = personas["worker"], personas["other_worker"]
    described = services.case_open(
        actor=worker, facts={"incident_description": "Paid $darkcash77 twice", "victim_country": "IT"},
        text_decision="keep",
    )  # fmt: skip
    noted = services.case_open(actor=worker, facts={"risk_level": Risk.HIGH})
    services.note_add(actor=worker, case=noted, text="Call 347 1234567 or 347 7654321", text_decision="keep")
    reason = Term.objects.filter(vocabulary="closure_reason").first()
    services.closure_request_create(
        actor=worker, case=noted, closure_reason=reason, comment="mail x.y@example.com", text_decision="keep"
    )
    referred = services.case_open(actor=worker, facts={})
    referral_services.referral_create(
        actor=worker, case=referred, kind="police", agency=Agency.objects.get(code="polizia_postale"),
        consent="not_required", consent_reason="Mother on +39 347 123 4567", text_decision="keep",
    )  # fmt: skip
    clean = services.case_open(actor=worker, facts={"incident_description": "Threats on Instagram in May"})
    # Stored before the guard knew cashtags: written straight to the table, as old rows are.
    old = services.case_open(actor=other, facts={})
    Note.objects.create(case=old, author=other, text="old note: $oldcash1")
    texts_before = sorted(Note.objects.values_list("text", flat=True))

    out = StringIO()
    call_command("scan_free_text", stdout=out)
    report = out.getvalue()
    assert "Home Helpline: 3 of 4 cases have text the guard flags" in report
    assert f"  {described.reference}: cashtag 1 (in incident description)" in report
    assert f"  {noted.reference}: email 1, phone 2 (in notes, closure comments)" in report
    assert f"  {referred.reference}: phone 1 (in consent reasons)" in report
    assert clean.reference not in report
    assert f"Other Helpline: 1 of 1 cases have text the guard flags\n  {old.reference}: cashtag 1 (in notes)" in report
    for secret in ("darkcash", "1234567", "x.y@", "oldcash"):
        assert secret not in report
    assert sorted(Note.objects.values_list("text", flat=True)) == texts_before
    assert Case.objects.get(pk=described.pk).incident_description == "Paid $darkcash77 twice"

    logs = AccessLog.objects.filter(username="scan_free_text").order_by("id")
    assert [log.detail for log in logs] == [
        {"scan_free_text": personas["worker"].organisation_id, "cases_flagged": 3, "cases_scanned": 4,
         "kinds": {"cashtag": 1, "email": 1, "phone": 3}},
        {"scan_free_text": other.organisation_id, "cases_flagged": 1, "cases_scanned": 1, "kinds": {"cashtag": 1}},
    ]  # fmt: skip


def test_one_organisation_by_name_or_id(personas: dict[str, User]) -> None:
    out = StringIO()
    call_command("scan_free_text", organisation="Other Helpline", stdout=out)
    assert out.getvalue() == "Other Helpline: 0 of 0 cases have text the guard flags\n"
    with pytest.raises(CommandError):
        call_command("scan_free_text", organisation="Nobody", stdout=out)

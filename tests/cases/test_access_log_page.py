"""The access log of a case: who viewed, changed, exported or printed it, when and from where; supervisors only."""

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from audit.models import AccessLog, Action
from audit.services import access_log_record
from cases import services
from cases.models import Case
from referrals.models import Agency
from referrals.services import referral_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(personas: dict[str, User]) -> Case:
    return services.case_open(actor=personas["worker"], facts={"risk_level": "high"})


def rows_of(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)


def visit(client: Client, url: str, address: str, agent: str) -> None:
    assert client.get(url, REMOTE_ADDR=address, HTTP_USER_AGENT=agent).status_code == 200


def test_the_supervisor_sees_who_did_what_when_and_from_where(
    client_for: Any, personas: dict[str, User], case: Case
) -> None:
    worker = client_for("worker")
    visit(worker, reverse("case_detail", args=[case.pk]), "192.0.2.10", "Firefox/140")
    visit(worker, reverse("api-case-notes", args=[case.pk]), "192.0.2.11", "helpline-cli/1.0")
    agency = Agency.objects.get(code="esafety")
    referral = referral_create(actor=personas["worker"], case=case, kind="takedown", agency=agency, consent="victim")
    visit(worker, reverse("referral_summary", args=[referral.pk]), "192.0.2.12", "Safari/18")
    client_for("other_worker").get(reverse("case_detail", args=[case.pk]), REMOTE_ADDR="198.51.100.7")
    other = services.case_open(actor=personas["worker"], facts={})
    visit(worker, reverse("case_detail", args=[other.pk]), "192.0.2.99", "NotThisCase")

    page = client_for("supervisor").get(
        reverse("case_access_log", args=[case.pk]), REMOTE_ADDR="192.0.2.50", HTTP_USER_AGENT="Edge/130"
    )
    assert page.status_code == 200
    rows = rows_of(page.content.decode())
    # Newest first: this reading itself, the refused look from the other organisation, the print, the API view...
    assert "sofia" in rows[0] and "viewed" in rows[0] and "access_log" in rows[0] and "192.0.2.50" in rows[0]
    # Refused to someone of another helpline: recorded, shown without their name, address or browser.
    assert "Someone outside your organisation" in rows[1] and "refused access" in rows[1]
    assert "oscar" not in rows[1] and "198.51.100.7" not in rows[1]
    assert "printed" in rows[2] and "Takedown request to a regulator" in rows[2] and "Safari/18" in rows[2]
    assert "created" in rows[3] and "Takedown request" in rows[3]  # the referral being made
    assert "viewed" in rows[4] and "part: notes" in rows[4] and "helpline-cli/1.0" in rows[4]
    assert "viewed" in rows[5] and "192.0.2.10" in rows[5] and "Firefox/140" in rows[5]
    assert "alice" in rows[-1] and "created" in rows[-1]  # the case being opened
    text = page.content.decode()
    assert "NotThisCase" not in text and "192.0.2.99" not in text

    expected = AccessLog.objects.filter(object_type="cases.case", object_id=str(case.pk)).count()
    expected += AccessLog.objects.filter(object_type="referrals.referral", object_id=str(referral.pk)).count()
    assert len(rows) == expected


def test_viewing_the_access_log_is_itself_logged(client_for: Any, personas: dict[str, User], case: Case) -> None:
    client_for("supervisor").get(reverse("case_access_log", args=[case.pk]))
    entry = AccessLog.objects.get(action=Action.VIEW, actor=personas["supervisor"], detail__access_log=True)
    assert (entry.object_type, entry.object_id) == ("cases.case", str(case.pk))


def test_the_log_is_paginated_newest_first(client_for: Any, personas: dict[str, User], case: Case) -> None:
    for n in range(60):
        access_log_record(action=Action.VIEW, actor=personas["worker"], obj=case, detail={"n": n})
    client = client_for("supervisor")
    first = rows_of(client.get(reverse("case_access_log", args=[case.pk])).content.decode())
    second_page = client.get(reverse("case_access_log", args=[case.pk]), {"page": 2}).content.decode()
    second = rows_of(second_page)
    total = AccessLog.objects.filter(object_type="cases.case", object_id=str(case.pk)).count()
    assert len(first) == 50
    assert len(first) + len(second) == total  # each reading adds its own row on top, shifting the rest by one
    assert "access_log" in first[0] and "n: 59" in first[1] and "n: 11" in first[-1]
    assert "n: 11" in second[0] and "n: 10" in second[1] and "created" in second[-1]
    assert "Page 2 of 2" in second_page


@pytest.mark.parametrize("persona", ["worker", "analyst", "administrator"])
def test_other_roles_are_refused_and_the_refusal_is_logged(
    client_for: Any, personas: dict[str, User], case: Case, persona: str
) -> None:
    response = client_for(persona).get(reverse("case_access_log", args=[case.pk]))
    assert response.status_code == 404
    assert AccessLog.objects.filter(action=Action.REFUSED, actor=personas[persona]).exists()
    assert not AccessLog.objects.filter(action=Action.VIEW, detail__access_log=True).exists()


def test_a_case_of_another_organisation_is_not_found(client_for: Any, personas: dict[str, User]) -> None:
    foreign = services.case_open(actor=personas["other_worker"], facts={})
    assert client_for("supervisor").get(reverse("case_access_log", args=[foreign.pk])).status_code == 404
    assert AccessLog.objects.filter(
        action=Action.REFUSED, actor=personas["supervisor"], object_id=str(foreign.pk)
    ).exists()


def test_the_case_page_links_to_the_log_for_supervisors_only(client_for: Any, case: Case) -> None:
    url = reverse("case_access_log", args=[case.pk])
    assert url in client_for("supervisor").get(reverse("case_detail", args=[case.pk])).content.decode()
    assert url not in client_for("worker").get(reverse("case_detail", args=[case.pk])).content.decode()


def test_a_refusal_by_someone_of_another_helpline_shows_no_name_address_or_browser(
    client_for: Any, personas: dict[str, User], case: Case
) -> None:
    outsider = client_for("other_worker")
    assert outsider.get(reverse("case_detail", args=[case.pk]), HTTP_USER_AGENT="OutsiderBrowser/9").status_code == 404
    assert AccessLog.objects.filter(action=Action.REFUSED, actor=personas["other_worker"]).exists()
    page = client_for("supervisor").get(reverse("case_access_log", args=[case.pk])).content.decode()
    assert "Someone outside your organisation" in page
    assert personas["other_worker"].username not in page
    assert "OutsiderBrowser" not in page
    assert "Helpline worker" not in page.split("Someone outside your organisation")[1].split("</tr>")[0]

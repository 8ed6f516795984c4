"""Closure approval: a worker asks, a supervisor of the organisation approves or sends back; pages and API alike."""

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from accounts.models import User
from audit.models import AccessLog, Action
from cases import services
from cases.models import Case, CaseActivity, ClosureRequest, ClosureStatus, EventKind, Risk, Status, Term

pytestmark = pytest.mark.django_db


def reason(code: str = "resolved") -> Term:
    return Term.objects.get(vocabulary="closure_reason", code=code)


def open_case(user: User, risk: str = "high") -> Case:
    return services.case_open(actor=user, facts={"risk_level": risk})


def patch(client: Client, case: Case, data: dict[str, Any]) -> Any:
    case.refresh_from_db()
    return client.patch(
        reverse("api-case-detail", args=[case.pk]), {"version": case.version, **data}, content_type="application/json"
    )


def closure_log(case: Case, event: str) -> AccessLog:
    return AccessLog.objects.get(
        action=Action.CHANGE, object_type="cases.case", object_id=str(case.pk), detail__event=event
    )


# Direct close: who may, for which risk


@pytest.mark.parametrize("risk", ["high", "critical"])
def test_a_worker_cannot_close_a_high_or_critical_case_directly(personas: dict[str, User], risk: str) -> None:
    case = open_case(personas["worker"], risk)
    with pytest.raises(services.ClosureNeedsApproval) as error:
        services.case_set_status(actor=personas["worker"], case=case, status=Status.CLOSED, closure_reason=reason())
    assert "needs a supervisor's approval" in error.value.message_text
    case.refresh_from_db()
    assert (case.status, case.closed_at, case.closure_reason) == (Status.OPEN, None, None)
    assert not CaseActivity.objects.filter(case=case, kind=EventKind.STATUS).exists()


@pytest.mark.parametrize("risk", ["low", "medium"])
def test_a_worker_closes_a_low_or_medium_case_directly(personas: dict[str, User], risk: str) -> None:
    case = open_case(personas["worker"], risk)
    case = services.case_set_status(actor=personas["worker"], case=case, status=Status.CLOSED, closure_reason=reason())
    assert case.status == Status.CLOSED
    assert not ClosureRequest.objects.exists()


def test_a_supervisor_closes_a_critical_case_directly(personas: dict[str, User]) -> None:
    case = open_case(personas["worker"], "critical")
    case = services.case_set_status(
        actor=personas["supervisor"], case=case, status=Status.CLOSED, closure_reason=reason()
    )
    assert case.status == Status.CLOSED


def test_the_page_refuses_a_workers_direct_close_with_the_reason(client_for: Any, personas: dict[str, User]) -> None:
    case = open_case(personas["worker"])
    response = client_for("worker").post(
        reverse("case_status", args=[case.pk]), {"status": "closed", "closure_reason": reason().pk}
    )
    assert response.status_code == 400
    assert "needs a supervisor&#x27;s approval: request closure instead" in response.content.decode()
    case.refresh_from_db()
    assert case.status == Status.OPEN


def test_the_page_lets_a_supervisor_and_a_low_risk_worker_close(client_for: Any, personas: dict[str, User]) -> None:
    high = open_case(personas["worker"])
    low = open_case(personas["worker"], "low")
    data = {"status": "closed", "closure_reason": reason().pk}
    assert client_for("supervisor").post(reverse("case_status", args=[high.pk]), data).status_code == 302
    assert client_for("worker").post(reverse("case_status", args=[low.pk]), data).status_code == 302
    assert set(Case.objects.values_list("status", flat=True)) == {Status.CLOSED}


def test_the_api_refuses_a_workers_direct_close_with_409(client_for: Any, personas: dict[str, User]) -> None:
    case = open_case(personas["worker"], "critical")
    response = patch(
        client_for("worker"), case, {"status": "closed", "closure_reason": "resolved", "offender_count": 3}
    )
    assert response.status_code == 409
    assert "request closure instead" in response.json()["status"][0]
    case.refresh_from_db()
    assert (case.status, case.offender_count) == (Status.OPEN, None)  # the facts sent with it are not saved either


def test_the_api_closes_for_a_supervisor_and_for_a_worker_on_a_medium_case(
    client_for: Any, personas: dict[str, User]
) -> None:
    high = open_case(personas["worker"])
    medium = open_case(personas["worker"], "medium")
    body = patch(client_for("supervisor"), high, {"status": "closed", "closure_reason": "resolved"})
    assert body.status_code == 200, body.json()
    assert (body.json()["status"], body.json()["closure_reason"]) == ("closed", "resolved")
    body = patch(client_for("worker"), medium, {"status": "closed", "closure_reason": "duplicate"})
    assert body.status_code == 200, body.json()
    assert body.json()["closure_reason"] == "duplicate"


def test_the_api_status_change_checks_the_version_and_the_reason(client_for: Any, personas: dict[str, User]) -> None:
    case = open_case(personas["worker"], "low")
    client = client_for("worker")
    stale = client.patch(
        reverse("api-case-detail", args=[case.pk]),
        {"version": case.version - 1, "status": "closed", "closure_reason": "resolved"},
        content_type="application/json",
    )
    assert stale.status_code == 409
    assert patch(client, case, {"status": "closed"}).json() == {
        "closure_reason": ["Give the reason for closing the case."]
    }
    assert patch(client, case, {"status": "closed", "closure_reason": "instagram"}).status_code == 400
    case.refresh_from_db()
    assert case.status == Status.OPEN


# Request, approve, send back


def test_request_then_approve_on_the_pages(client_for: Any, personas: dict[str, User]) -> None:
    case = open_case(personas["worker"])
    worker, supervisor = client_for("worker"), client_for("supervisor")
    response = worker.post(
        reverse("case_closure_request", args=[case.pk]),
        {"closure_reason": reason("referred").pk, "comment": "Police have it; victim safe."},
    )
    assert response.status_code == 302
    closure = ClosureRequest.objects.get()
    assert (closure.status, closure.requested_by, closure.risk_level) == (
        ClosureStatus.PENDING,
        personas["worker"],
        "high",
    )

    page = worker.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "Closure requested" in page and "by alice on" in page
    assert "Police have it; victim safe." in page
    assert "Withdraw the request" in page and "Approve and close" not in page
    listed = supervisor.get(reverse("closure_request_list")).content.decode()
    assert case.reference in listed and "Referred on" in listed
    assert "Approve and close the case" in supervisor.get(reverse("case_detail", args=[case.pk])).content.decode()

    assert supervisor.post(reverse("case_closure_decide", args=[case.pk]), {"decision": "approve"}).status_code == 302
    case.refresh_from_db()
    closure.refresh_from_db()
    assert (case.status, case.closure_reason) == (Status.CLOSED, reason("referred"))
    assert (closure.status, closure.decided_by) == (ClosureStatus.APPROVED, personas["supervisor"])
    events = list(
        CaseActivity.objects.filter(case=case, kind=EventKind.CLOSURE).values_list("detail__event", flat=True)
    )
    assert events == ["requested", "approved"]
    assert closure_log(case, "approved").actor == personas["supervisor"]
    assert closure_log(case, "requested").actor == personas["worker"]
    timeline = supervisor.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "Requested (Referred on, no further helpline action): Police have it; victim safe." in timeline
    assert "Approved" in timeline
    assert "No closure request is waiting." in supervisor.get(reverse("closure_request_list")).content.decode()
    twice = supervisor.post(reverse("case_closure_decide", args=[case.pk]), {"decision": "approve"})
    assert twice.status_code == 400
    assert "No closure request is waiting for approval on this case." in twice.content.decode()


def test_send_back_needs_a_comment_and_the_worker_sees_it(client_for: Any, personas: dict[str, User]) -> None:
    case = open_case(personas["worker"])
    services.closure_request_create(actor=personas["worker"], case=case, closure_reason=reason())
    supervisor = client_for("supervisor")
    url = reverse("case_closure_decide", args=[case.pk])

    empty = supervisor.post(url, {"decision": "send_back", "comment": "  "})
    assert empty.status_code == 400
    assert "Say why the request is sent back." in empty.content.decode()
    assert ClosureRequest.objects.get().status == ClosureStatus.PENDING

    assert supervisor.post(url, {"decision": "send_back", "comment": "Call the parent first."}).status_code == 302
    closure = ClosureRequest.objects.get()
    assert (closure.status, closure.decision_comment) == (ClosureStatus.SENT_BACK, "Call the parent first.")
    case.refresh_from_db()
    assert case.status == Status.OPEN
    page = client_for("worker").get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "Closure sent back" in page and "by sofia on" in page
    assert "Call the parent first." in page
    assert "Request closure" in page  # the worker may ask again
    assert closure_log(case, "sent_back").actor == personas["supervisor"]
    assert CaseActivity.objects.filter(case=case, kind=EventKind.CLOSURE, detail__event="sent_back").exists()


def test_request_approve_and_send_back_through_the_api(client_for: Any, personas: dict[str, User]) -> None:
    case = open_case(personas["worker"], "critical")
    worker, supervisor = client_for("worker"), client_for("supervisor")
    requests_url = reverse("api-case-closure-requests", args=[case.pk])
    decision_url = reverse("api-case-closure-decision", args=[case.pk])

    made = worker.post(requests_url, {"closure_reason": "resolved", "comment": "All done."}, "application/json")
    assert made.status_code == 201, made.json()
    assert made.json()["status"] == "pending" and made.json()["requested_by"] == "alice"
    again = worker.post(requests_url, {"closure_reason": "resolved"}, "application/json")
    assert again.status_code == 400
    assert "already waiting" in str(again.json())

    refused = worker.post(decision_url, {"decision": "approve"}, "application/json")
    assert refused.status_code == 403
    assert AccessLog.objects.filter(action=Action.REFUSED, actor=personas["worker"], detail__closure="approve").exists()

    no_comment = supervisor.post(decision_url, {"decision": "send_back"}, "application/json")
    assert no_comment.status_code == 400
    assert no_comment.json() == {"comment": ["Say why the request is sent back."]}
    sent_back = supervisor.post(decision_url, {"decision": "send_back", "comment": "Not yet."}, "application/json")
    assert sent_back.status_code == 200
    assert (sent_back.json()["status"], sent_back.json()["decision_comment"]) == ("sent_back", "Not yet.")

    assert worker.post(requests_url, {"closure_reason": "declined"}, "application/json").status_code == 201
    approved = supervisor.post(decision_url, {"decision": "approve"}, "application/json")
    assert approved.status_code == 200
    assert (approved.json()["status"], approved.json()["decided_by"]) == ("approved", "sofia")
    listed = worker.get(requests_url).json()
    assert [c["status"] for c in listed] == ["approved", "sent_back"]
    body = worker.get(reverse("api-case-detail", args=[case.pk])).json()
    assert (body["status"], body["closure_reason"]) == ("closed", "declined")


def test_a_worker_cannot_decide_on_the_page(client_for: Any, personas: dict[str, User]) -> None:
    case = open_case(personas["worker"])
    services.closure_request_create(actor=personas["worker"], case=case, closure_reason=reason())
    for decision in ("approve", "send_back"):
        response = client_for("worker").post(
            reverse("case_closure_decide", args=[case.pk]), {"decision": decision, "comment": "x"}
        )
        assert response.status_code == 404
    assert AccessLog.objects.filter(action=Action.REFUSED, object_id=str(case.pk), detail__closure="approve").exists()
    assert ClosureRequest.objects.get().status == ClosureStatus.PENDING
    with pytest.raises(PermissionDenied):
        services.closure_request_approve(actor=personas["worker"], case=case)


def test_another_organisation_gets_404_on_pages_and_api(client_for: Any, personas: dict[str, User]) -> None:
    case = open_case(personas["worker"])
    services.closure_request_create(actor=personas["worker"], case=case, closure_reason=reason())
    oscar = client_for("other_worker")
    assert (
        oscar.post(reverse("case_closure_request", args=[case.pk]), {"closure_reason": reason().pk}).status_code == 404
    )
    assert oscar.post(reverse("case_closure_decide", args=[case.pk]), {"decision": "withdraw"}).status_code == 404
    api = oscar.post(reverse("api-case-closure-decision", args=[case.pk]), {"decision": "withdraw"}, "application/json")
    assert api.status_code == 404
    assert oscar.get(reverse("api-case-closure-requests", args=[case.pk])).status_code == 404
    assert case.reference not in client_for("other_worker").get(reverse("case_list")).content.decode()
    assert ClosureRequest.objects.get().status == ClosureStatus.PENDING
    # A supervisor of another organisation could not decide even if the case reached them.
    other_supervisor = User.objects.create(
        username="otto", role="supervisor", organisation=personas["other_worker"].organisation
    )
    with pytest.raises(PermissionDenied):
        services.closure_request_approve(actor=other_supervisor, case=case)


# One at a time, and the edges


def test_one_pending_request_per_case(personas: dict[str, User]) -> None:
    case = open_case(personas["worker"])
    services.closure_request_create(actor=personas["worker"], case=case, closure_reason=reason())
    with pytest.raises(ValidationError, match="already waiting"):
        services.closure_request_create(actor=personas["supervisor"], case=case, closure_reason=reason("declined"))
    with pytest.raises(IntegrityError), transaction.atomic():  # the database refuses it too
        ClosureRequest.objects.create(
            case=case, closure_reason=reason(), risk_level="high", requested_by=personas["worker"]
        )
    assert ClosureRequest.objects.count() == 1
    other = open_case(personas["worker"])
    services.closure_request_create(actor=personas["worker"], case=other, closure_reason=reason())
    assert ClosureRequest.objects.filter(status=ClosureStatus.PENDING).count() == 2


def test_requests_are_refused_where_no_approval_is_needed_or_possible(personas: dict[str, User]) -> None:
    worker = personas["worker"]
    with pytest.raises(ValidationError, match="needs no approval"):
        services.closure_request_create(actor=worker, case=open_case(worker, "medium"), closure_reason=reason())
    closed = services.case_set_status(
        actor=personas["supervisor"], case=open_case(worker), status=Status.CLOSED, closure_reason=reason()
    )
    with pytest.raises(ValidationError, match="cannot be closed"):
        services.closure_request_create(actor=worker, case=closed, closure_reason=reason())
    with pytest.raises(ValidationError) as error:
        services.closure_request_create(actor=worker, case=open_case(worker), closure_reason=None)
    assert "closure_reason" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        platform = Term.objects.get(vocabulary="platform", code="instagram")
        services.closure_request_create(actor=worker, case=open_case(worker), closure_reason=platform)
    assert "closure_reason" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.closure_request_create(
            actor=worker, case=open_case(worker), closure_reason=reason(), comment="x" * 2001
        )
    assert "comment" in error.value.message_dict
    assert not ClosureRequest.objects.exists()
    with pytest.raises(ValidationError, match="No closure request is waiting"):
        services.closure_request_approve(actor=personas["supervisor"], case=open_case(worker))


def test_identifiers_in_a_comment_are_refused_until_the_author_chooses(personas: dict[str, User]) -> None:
    case = open_case(personas["worker"])
    comment = "Mother asked to be called on +39 333 123 4567."
    with pytest.raises(services.IdentifiersFound):
        services.closure_request_create(actor=personas["worker"], case=case, closure_reason=reason(), comment=comment)
    assert not ClosureRequest.objects.exists()
    closure = services.closure_request_create(
        actor=personas["worker"], case=case, closure_reason=reason(), comment=comment, text_decision="redact"
    )
    assert "333" not in closure.comment


def test_lowering_the_risk_leaves_the_request_for_a_supervisor(personas: dict[str, User]) -> None:
    """A waiting request stays waiting, and the worker cannot close directly: approval follows the highest risk."""
    worker = personas["worker"]
    case = open_case(worker)
    services.closure_request_create(actor=worker, case=case, closure_reason=reason())
    case = services.case_update(actor=worker, case=case, version=case.version, facts={"risk_level": "low"})
    with pytest.raises(services.ClosureNeedsApproval, match="waiting for a supervisor"):
        services.case_set_status(actor=worker, case=case, status=Status.CLOSED, closure_reason=reason())
    assert ClosureRequest.objects.get().status == ClosureStatus.PENDING

    services.closure_request_withdraw(actor=worker, case=case)
    assert ClosureRequest.objects.get().status == ClosureStatus.WITHDRAWN
    # Withdrawn, the request is no way round either: the case has been at high risk.
    with pytest.raises(services.ClosureNeedsApproval, match="has been at high or critical risk"):
        services.case_set_status(actor=worker, case=case, status=Status.CLOSED, closure_reason=reason())


def test_the_list_and_page_show_a_risk_lowered_since_the_request(client_for: Any, personas: dict[str, User]) -> None:
    case = open_case(personas["worker"], "critical")
    services.closure_request_create(actor=personas["worker"], case=case, closure_reason=reason())
    services.case_update(actor=personas["worker"], case=case, version=case.version, facts={"risk_level": "medium"})
    assert "Critical when requested" in client_for("supervisor").get(reverse("closure_request_list")).content.decode()
    page = client_for("supervisor").get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "Risk when requested: Critical; now: Medium" in page


def test_a_supervisors_direct_close_approves_the_waiting_request(personas: dict[str, User]) -> None:
    case = open_case(personas["worker"])
    closure = services.closure_request_create(actor=personas["worker"], case=case, closure_reason=reason())
    services.case_set_status(
        actor=personas["supervisor"], case=case, status=Status.CLOSED, closure_reason=reason("declined")
    )
    closure.refresh_from_db()
    assert (closure.status, closure.decided_by) == (ClosureStatus.APPROVED, personas["supervisor"])
    case.refresh_from_db()
    assert case.closure_reason == reason("declined")


def test_withdraw_on_the_page(client_for: Any, personas: dict[str, User]) -> None:
    case = open_case(personas["worker"])
    services.closure_request_create(actor=personas["worker"], case=case, closure_reason=reason())
    response = client_for("worker").post(reverse("case_closure_decide", args=[case.pk]), {"decision": "withdraw"})
    assert response.status_code == 302
    closure = ClosureRequest.objects.get()
    assert (closure.status, closure.decided_by) == (ClosureStatus.WITHDRAWN, personas["worker"])
    assert closure_log(case, "withdrawn").actor == personas["worker"]
    again = client_for("worker").post(reverse("case_closure_decide", args=[case.pk]), {"decision": "withdraw"})
    assert again.status_code == 400
    assert "No closure request is waiting" in again.content.decode()


def test_the_closure_request_list_is_for_supervisors_of_the_organisation(
    client_for: Any, personas: dict[str, User]
) -> None:
    mine = open_case(personas["worker"])
    theirs = open_case(personas["other_worker"])
    services.closure_request_create(actor=personas["worker"], case=mine, closure_reason=reason())
    services.closure_request_create(actor=personas["other_worker"], case=theirs, closure_reason=reason())
    page = client_for("supervisor").get(reverse("closure_request_list")).content.decode()
    assert mine.reference in page
    assert reverse("case_detail", args=[theirs.pk]) not in page
    assert AccessLog.objects.filter(
        action=Action.VIEW, actor=personas["supervisor"], object_type="cases.closurerequest"
    ).exists()
    assert client_for("worker").get(reverse("closure_request_list")).status_code == 404
    assert AccessLog.objects.filter(
        action=Action.REFUSED, actor=personas["worker"], detail__closure_requests=True
    ).exists()


# Approval follows the highest risk the case has had: lowering it first is no way round


def test_the_api_attack_lowering_the_risk_and_closing_in_one_patch_is_refused(
    client_for: Any, personas: dict[str, User]
) -> None:
    case = services.case_open(actor=personas["worker"], facts={"risk_level": "critical", "self_harm": True})
    response = patch(
        client_for("worker"), case, {"risk_level": "low", "status": "closed", "closure_reason": "resolved"}
    )
    assert response.status_code == 409
    assert "request closure instead" in response.json()["status"][0]
    case.refresh_from_db()
    assert case.status != Status.CLOSED
    assert case.risk_level == Risk.CRITICAL  # the whole request changed nothing


def test_lowering_the_risk_on_the_page_then_closing_is_refused(client_for: Any, personas: dict[str, User]) -> None:
    case = open_case(personas["worker"], "high")
    worker = client_for("worker")
    services.case_update(actor=personas["worker"], case=case, version=case.version, facts={"risk_level": "low"})
    case.refresh_from_db()
    assert case.risk_level == Risk.LOW
    page = worker.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert '<option value="closed"' not in page
    assert "has been at high or critical risk" in page
    response = worker.post(reverse("case_status", args=[case.pk]), {"status": "closed", "closure_reason": reason().pk})
    assert response.status_code == 400
    case.refresh_from_db()
    assert case.status != Status.CLOSED
    # The way that is left is the one meant: a request for a supervisor.
    closure = services.closure_request_create(actor=personas["worker"], case=case, closure_reason=reason())
    assert closure.status == ClosureStatus.PENDING


def test_the_database_keeps_the_mark_whatever_writes_the_case(personas: dict[str, User]) -> None:
    case = open_case(personas["worker"], "medium")
    Case.objects.filter(pk=case.pk).update(risk_level=Risk.HIGH)
    Case.objects.filter(pk=case.pk).update(risk_level=Risk.LOW, closure_needs_approval=False)
    case.refresh_from_db()
    assert case.closure_needs_approval
    with pytest.raises(services.ClosureNeedsApproval):
        services.case_set_status(actor=personas["worker"], case=case, status=Status.CLOSED, closure_reason=reason())


def test_a_supervisor_still_closes_a_case_that_was_once_high_risk(personas: dict[str, User]) -> None:
    case = open_case(personas["worker"], "high")
    services.case_update(actor=personas["worker"], case=case, version=case.version, facts={"risk_level": "low"})
    case = services.case_set_status(
        actor=personas["supervisor"], case=case, status=Status.CLOSED, closure_reason=reason()
    )
    assert case.status == Status.CLOSED


def test_a_case_never_above_medium_needs_no_approval(personas: dict[str, User]) -> None:
    case = open_case(personas["worker"], "medium")
    services.case_update(actor=personas["worker"], case=case, version=case.version, facts={"risk_level": "low"})
    case.refresh_from_db()
    assert not case.closure_needs_approval


# A closed case keeps the facts it was closed on: a worker reopens it first


def closed_low_risk_case(worker: User) -> Case:
    case = open_case(worker, "low")
    return services.case_set_status(actor=worker, case=case, status=Status.CLOSED, closure_reason=reason())


def test_the_api_attack_raising_the_risk_of_a_closed_case_is_refused(
    client_for: Any, personas: dict[str, User]
) -> None:
    case = closed_low_risk_case(personas["worker"])
    version = Case.objects.get(pk=case.pk).version
    response = patch(client_for("worker"), case, {"risk_level": "critical", "self_harm": True})
    assert response.status_code == 400
    assert "Reopen the case first" in response.json()["detail"][0]
    case.refresh_from_db()
    assert (case.status, case.risk_level, case.self_harm, case.version) == (Status.CLOSED, Risk.LOW, False, version)
    assert not CaseActivity.objects.filter(case=case, kind=EventKind.FACTS).exists()
    assert not AccessLog.objects.filter(action=Action.CHANGE, object_id=str(case.pk), detail__has_key="fields").exists()


def test_a_closed_case_sent_back_unchanged_is_no_refusal(client_for: Any, personas: dict[str, User]) -> None:
    case = closed_low_risk_case(personas["worker"])
    assert patch(client_for("worker"), case, {"risk_level": "low"}).status_code == 200


def test_the_edit_page_of_a_closed_case_says_to_reopen_it(client_for: Any, personas: dict[str, User]) -> None:
    case = closed_low_risk_case(personas["worker"])
    worker = client_for("worker")
    assert "Edit facts" not in worker.get(reverse("case_detail", args=[case.pk])).content.decode()
    page = worker.get(reverse("case_edit", args=[case.pk]))
    assert page.status_code == 200
    assert "Reopen the case first" in page.content.decode()
    assert 'name="risk_level"' not in page.content.decode()
    posted = worker.post(reverse("case_edit", args=[case.pk]), {"version": case.version, "risk_level": "critical"})
    assert posted.status_code == 400
    case.refresh_from_db()
    assert case.risk_level == Risk.LOW


def test_a_worker_changes_the_facts_once_the_case_is_reopened(personas: dict[str, User]) -> None:
    worker = personas["worker"]
    case = closed_low_risk_case(worker)
    with pytest.raises(ValidationError, match="Reopen the case first"):
        services.case_update(actor=worker, case=case, version=case.version, facts={"risk_level": "critical"})
    case = services.case_set_status(actor=worker, case=case, status=Status.REOPENED, version=case.version)
    case = services.case_update(actor=worker, case=case, version=case.version, facts={"risk_level": "critical"})
    assert (case.status, case.risk_level) == (Status.REOPENED, Risk.CRITICAL)


def test_a_supervisor_changes_the_facts_of_a_closed_case(client_for: Any, personas: dict[str, User]) -> None:
    case = closed_low_risk_case(personas["worker"])
    supervisor = client_for("supervisor")
    assert "Edit facts" in supervisor.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert 'name="risk_level"' in supervisor.get(reverse("case_edit", args=[case.pk])).content.decode()
    assert patch(supervisor, case, {"risk_level": "medium"}).status_code == 200
    case.refresh_from_db()
    assert (case.status, case.risk_level) == (Status.CLOSED, Risk.MEDIUM)

"""Bulk import: every kind of bad row is reported by row and column; rejected files save nothing;
the valid-only mode imports exactly the valid rows; runs are idempotent and resume after a crash."""

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.apps import apps
from django.utils import timezone
from pghistory.models import Context

from accounts.models import User
from audit.models import AccessLog, Action
from cases.models import Case, CaseActivity, CaseCounter, Term
from cases.services import case_open
from imports import services
from imports.columns import COLUMNS, template_csv, template_xlsx
from imports.models import ImportJob, ImportStatus
from tests.helpers import case_timeline
from tests.imports.helpers import GOOD, HEADER, as_csv, as_xlsx, problems, row, run, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def sofia(personas: dict[str, User]) -> User:
    return personas["supervisor"]


def snapshot_of_database() -> dict[str, int]:
    """Everything an import may write, counted."""
    return {
        "cases": Case.objects.count(),
        "activities": CaseActivity.objects.count(),
        "case_logs": AccessLog.objects.filter(object_type="cases.case").count(),
        "counters": sum(CaseCounter.objects.values_list("last", flat=True)),
        "case_events": apps.get_model("cases", "CaseEvent").objects.count(),
    }


BAD_ROWS: list[tuple[str, dict[str, Any], str, str]] = [
    # (what, the row's changes, the column reported, part of the message)
    ("unknown code", {"channel": "fax"}, "channel", "“fax” is not one of the codes of channel"),
    ("unknown code among several", {"approaches": "flattery;bribery"}, "approaches", "“bribery”"),
    ("unknown platform", {"platforms_moved_to": "myspace"}, "platforms_moved_to", "“myspace”"),
    ("unknown status", {"status": "archived"}, "status", "“archived”"),
    ("bad date", {"first_contact_at": "14/03/2021"}, "first_contact_at", "valid date/time"),
    ("date in the future", {"first_contact_at": "2999-01-01"}, "first_contact_at", "cannot be in the future"),
    ("date before 2000", {"first_contact_at": "1999-12-31"}, "first_contact_at", "2000 or later"),
    ("age out of range", {"victim_age": "130"}, "victim_age", "between 0 and 120"),
    ("age not a number", {"victim_age": "fifteen"}, "victim_age", "whole number"),
    ("age and unknown both", {"victim_age_unknown": "minor"}, "victim_age", "not both"),
    ("closed without reason", {"status": "closed", "closed_at": "2021-04-01"}, "closure_reason", "closure reason"),
    ("closed without date", {"status": "closed", "closure_reason": "resolved"}, "closed_at", "closure reason and date"),
    ("reason on an open case", {"closure_reason": "resolved"}, "closure_reason", "Only a closed case"),
    (
        "closed before first contact",
        {"status": "closed", "closure_reason": "resolved", "closed_at": "2021-03-01"},
        "closed_at",
        "before its first contact",
    ),
    ("missing required field", {"risk_level": ""}, "risk_level", "This field is required."),
    ("missing first contact", {"first_contact_at": ""}, "first_contact_at", "This field is required."),
    ("bad region", {"victim_region": "IT-XX"}, "victim_region", "Not an ISO 3166-2 region code."),
    ("region of another country", {"victim_region": "DE-BY"}, "victim_region", "not in the victim's country"),
    ("bad country", {"offender_country": "ZZ"}, "offender_country", "Not an ISO 3166 country code."),
    ("bad yes or no", {"self_harm": "maybe"}, "self_harm", "Write yes or no."),
    ("too-long text", {"incident_description": "word " * 4_001}, "incident_description", "under 20000 characters"),
    ("too-long reference", {"reference": "R" * 21}, "reference", "at most 20 characters"),
    ("reference with spaces", {"reference": "OLD 42"}, "reference", "Use only letters"),
    (
        "identifiers in the text",
        {"incident_description": "He wrote from stranger@example.com and +39 333 123 4567."},
        "incident_description",
        "may identify someone: e-mail address, phone number",
    ),
]


@pytest.mark.parametrize(("what", "changes", "column", "message"), BAD_ROWS, ids=[bad[0] for bad in BAD_ROWS])
def test_each_bad_row_is_reported_by_row_and_column_and_nothing_is_saved(
    sofia: User, what: str, changes: dict[str, Any], column: str, message: str
) -> None:
    before = snapshot_of_database()
    job = run(sofia, [row(), row(**changes), row()])
    assert job.status == ImportStatus.REJECTED
    assert (3, column) in problems(job), job.errors
    assert any(message in problem["message"] for problem in job.errors if problem["row"] == 3), job.errors
    assert {problem["row"] for problem in job.errors} == {3}
    assert (job.total_rows, job.valid_rows, job.imported_rows) == (3, 2, 0)
    assert "Nothing was imported" in job.message
    assert job.content is None  # the file is not kept once the job is over
    assert snapshot_of_database() == before


def test_messages_never_repeat_free_text(sofia: User) -> None:
    job = run(sofia, [row(channel="call 3331234567"), row(incident_description="Mail me at someone@example.com")])
    text = str(job.errors)
    assert "3331234567" not in text
    assert "someone@example.com" not in text


def test_a_reference_used_twice_in_the_file_or_already_taken(sofia: User, personas: dict[str, User]) -> None:
    existing = case_open(actor=personas["worker"], facts={"risk_level": "low"})
    job = run(sofia, [row(reference="OLD-1"), row(reference="OLD-1"), row(reference=existing.reference)])
    assert problems(job) == {(3, "reference"), (4, "reference")}
    messages = {problem["row"]: problem["message"] for problem in job.errors}
    assert messages[3] == "Row 2 already uses this reference."
    assert messages[4] == "A case with this reference already exists in your organisation."


def test_another_organisations_reference_is_free(sofia: User, personas: dict[str, User]) -> None:
    foreign = case_open(actor=personas["other_worker"], facts={"risk_level": "low"})
    job = run(sofia, [row(reference=foreign.reference)])
    assert job.status == ImportStatus.DONE
    assert Case.objects.filter(organisation=sofia.organisation, reference=foreign.reference).exists()


@pytest.mark.parametrize(
    ("header", "column", "message"),
    [
        (["first_contact_at", "status", "risk_level", "colour"], "colour", "Unknown column: colour"),
        (["first_contact_at", "status"], "risk_level", "required column risk_level is missing"),
        (["first_contact_at", "status", "risk_level", "status"], "status", "appears twice"),
    ],
)
def test_a_bad_header_refuses_the_file(sofia: User, header: list[str], column: str, message: str) -> None:
    before = snapshot_of_database()
    job = upload(sofia, as_csv([row()], header=header))
    services.import_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.REJECTED
    assert job.errors == [{"row": 1, "column": column, "message": job.message}]
    assert message in job.message
    assert snapshot_of_database() == before


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"\xff\xfe\x00not utf-8", "cases.csv", "not UTF-8"),
        (b"not a zip file", "cases.xlsx", "not a readable XLSX"),
        (as_csv([]), "cases.csv", "no rows"),
    ],
)
def test_unreadable_or_empty_files_are_refused(sofia: User, content: bytes, name: str, message: str) -> None:
    job = upload(sofia, content, name=name)
    services.import_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.REJECTED
    assert message in job.message


def test_valid_only_imports_exactly_the_valid_rows(sofia: User) -> None:
    rows = [
        row(reference="OLD-1"),
        row(reference="OLD-2", channel="fax"),
        row(reference="OLD-3", victim_age="130"),
        row(reference="OLD-4", status="closed", closure_reason="resolved", closed_at="2021-04-01 10:00"),
        row(reference="OLD-5", first_contact_at="not a date"),
        row(reference="OLD-6", victim_age="", victim_age_unknown="adult"),
    ]
    job = run(sofia, rows, mode="valid_only")
    assert job.status == ImportStatus.DONE
    assert (job.total_rows, job.valid_rows, job.imported_rows) == (6, 3, 3)
    assert problems(job) == {(3, "channel"), (4, "victim_age"), (6, "first_contact_at")}
    imported = Case.objects.filter(organisation=sofia.organisation)
    assert set(imported.values_list("reference", flat=True)) == {"OLD-1", "OLD-4", "OLD-6"}
    closed = imported.get(reference="OLD-4")
    assert closed.status == "closed" and closed.closure_reason is not None
    assert timezone.localtime(closed.closed_at).strftime("%Y-%m-%d %H:%M") == "2021-04-01 10:00"
    assert imported.get(reference="OLD-6").victim_age_unknown == "adult"


def test_imported_cases_get_their_own_random_record_keys(sofia: User) -> None:
    """The keys of the cell-key method: drawn by the database for each case, as for a case opened on a page."""
    job = run(sofia, [row(reference=f"KEY-{n}") for n in range(40)], mode="valid_only")
    assert job.status == ImportStatus.DONE
    keys = list(Case.objects.filter(organisation=sofia.organisation).values_list("record_key", flat=True))
    assert len(keys) == 40 and all(0 <= key < 256 for key in keys)
    assert len(set(keys)) > 20  # 40 draws from 256 values: a repeat or two, not one key for all


def test_an_imported_case_has_every_fact_of_its_row(sofia: User) -> None:
    run(sofia, [row(reference="OLD-9", self_harm="yes", platforms_threats="instagram;telegram")])
    case = Case.objects.get(reference="OLD-9")
    assert timezone.localtime(case.first_contact_at).strftime("%Y-%m-%d %H:%M") == "2021-03-14 18:30"
    assert (case.status, case.risk_level, case.self_harm, case.immediate_danger) == ("open", "medium", True, False)
    codes = Case.objects.values_list(
        "channel__code", "reporter_type__code", "sextortion_type__code", "payment_method__code"
    )
    assert codes.get(pk=case.pk) == ("chat", "victim", "financial", "gift_card")
    assert (case.victim_age, case.victim_gender, case.victim_country, case.victim_region) == (15, "male", "IT", "IT-RM")
    assert set(case.approaches.values_list("code", flat=True)) == {"flattery", "fake_romance"}
    assert set(case.content_types.values_list("code", flat=True)) == {"self_image"}
    assert set(case.demands.values_list("code", flat=True)) == {"money"}
    assert set(case.threats.values_list("code", flat=True)) == {"family", "friends"}
    assert set(case.platforms.values_list("platform__code", "role")) == {
        ("instagram", "first_contact"),
        ("snapchat", "moved_to"),
        ("instagram", "threats"),
        ("telegram", "threats"),
    }
    assert (case.victim_paid, case.amount_band) == ("yes", "50_249")
    assert (case.victim_complied, case.content_distributed) == ("unknown", "unknown")
    assert (case.offender_count, case.offender_country) == (1, "NG")
    assert case.incident_description == GOOD["incident_description"]
    assert case.assigned_to is None and case.created_by == sofia and case.version == 1
    # Open work gets the playbook's checklist; self-harm adds the safety plan.
    assert "safety_plan" in set(case.steps.values_list("step_type__code", flat=True))


def test_closed_cases_get_no_checklist(sofia: User) -> None:
    run(sofia, [row(reference="OLD-C", status="closed", closure_reason="resolved", closed_at="2021-05-01")])
    assert not Case.objects.get(reference="OLD-C").steps.exists()


def test_new_references_follow_the_counters_and_pass_kept_ones(sofia: User) -> None:
    job = run(
        sofia,
        [
            row(first_contact_at="2019-05-02 10:00"),
            row(reference="SX-2019-00042", first_contact_at="2019-06-01"),
            row(first_contact_at="2020-01-01 12:00"),
        ],
    )
    assert job.status == ImportStatus.DONE
    references = set(Case.objects.filter(organisation=sofia.organisation).values_list("reference", flat=True))
    # The kept SX reference moves its year's counter, so no later case can be given it.
    assert references == {"SX-2019-00042", "SX-2019-00043", "SX-2020-00001"}
    assert CaseCounter.objects.get(organisation=sofia.organisation, year=2019).last == 43


def test_each_imported_case_says_it_was_imported_and_is_in_the_access_log(sofia: User) -> None:
    job = run(sofia, [row(reference="OLD-1"), row(reference="OLD-2")])
    case = Case.objects.get(reference="OLD-2")
    activity = CaseActivity.objects.get(case=case)
    assert activity.kind == "opened" and activity.actor == sofia
    assert activity.detail["import_job"] == job.pk and activity.detail["row"] == 3
    assert any("imported" in entry["text"] for entry in case_timeline(case))
    log = AccessLog.objects.get(object_type="cases.case", object_id=str(case.pk))
    assert (log.action, log.actor, log.organisation_id) == (Action.CREATE, sofia, sofia.organisation_id)
    assert log.detail == {"import_job": job.pk, "row": 3}
    upload_log = AccessLog.objects.get(object_type="imports.importjob", object_id=str(job.pk))
    assert upload_log.action == Action.CREATE and upload_log.detail["file"] == "cases.csv"


def test_history_triggers_record_imported_cases_with_the_import_as_context(sofia: User) -> None:
    job = run(sofia, [row(reference="OLD-1")])
    case = Case.objects.get(reference="OLD-1")
    events = apps.get_model("cases", "CaseEvent").objects.filter(pgh_obj_id=case.pk)
    assert list(events.values_list("pgh_label", flat=True)) == ["insert"]
    context = Context.objects.get(pk=events.get().pgh_context_id)
    assert context.metadata == {"import_job": job.pk, "user": sofia.pk}
    platform_events = apps.get_model("cases", "CasePlatformEvent").objects.filter(case_id=case.pk)
    assert platform_events.count() == case.platforms.count() == 2


def test_identifiers_can_be_removed_instead_of_refusing_the_row(sofia: User) -> None:
    text = "Offender wrote from stranger@example.com, then called."
    job = run(sofia, [row(reference="OLD-1", incident_description=text)], identifiers="redact")
    assert job.status == ImportStatus.DONE and job.redacted_rows == 1
    case = Case.objects.get(reference="OLD-1")
    assert case.incident_description == "Offender wrote from [e-mail address removed], then called."
    assert job.notices == [
        {"row": 2, "column": "incident_description", "message": "Removed from the text: e-mail address."}
    ]
    log = AccessLog.objects.get(object_type="cases.case", object_id=str(case.pk))
    assert log.detail["identifiers_removed"] == ["e-mail address"]


def test_inactive_terms_are_accepted_for_historical_cases(sofia: User) -> None:
    Term.objects.filter(vocabulary="platform", code="video_chat").update(active=False)
    job = run(sofia, [row(platforms_first_contact="video_chat")])
    assert job.status == ImportStatus.DONE


def test_codes_and_answers_are_read_leniently(sofia: User) -> None:
    job = run(
        sofia,
        [
            row(
                reference="OLD-1",
                channel="CHAT",
                risk_level="High",
                self_harm="TRUE",
                victim_country="it",
                victim_region="it-rm",
                approaches=" flattery ; offer ;",
                first_contact_at="2021-03-14T18:30",
            )
        ],
    )
    assert job.status == ImportStatus.DONE, job.errors
    case = Case.objects.get(reference="OLD-1")
    assert (case.channel_id, case.risk_level, case.self_harm, case.victim_region) == (
        Term.objects.get(vocabulary="channel", code="chat").pk,
        "high",
        True,
        "IT-RM",
    )
    assert set(case.approaches.values_list("code", flat=True)) == {"flattery", "offer"}


def test_a_semicolon_separated_csv_is_read(sofia: User) -> None:
    job = upload(sofia, as_csv([row(reference="OLD-1")], delimiter=";"))
    services.import_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE, job.errors
    assert set(Case.objects.get(reference="OLD-1").approaches.values_list("code", flat=True)) == {
        "flattery",
        "fake_romance",
    }


def test_an_xlsx_file_with_real_dates_and_numbers(sofia: User) -> None:
    first_contact = datetime(2022, 7, 1, 21, 15)
    values = row(reference="OLD-X", first_contact_at=first_contact, victim_age=16, offender_count=2.0, self_harm=True)
    job = upload(sofia, as_xlsx([values, {}, row(reference="OLD-Y", victim_age=15.5)]), name="cases.xlsx")
    services.import_run(job_id=job.pk)
    job.refresh_from_db()
    # Blank rows are skipped but keep their number, as the spreadsheet shows them.
    assert problems(job) == {(4, "victim_age")}
    assert job.total_rows == 2
    job = upload(sofia, as_xlsx([values]), name="cases.xlsx")
    services.import_run(job_id=job.pk)
    case = Case.objects.get(reference="OLD-X")
    assert timezone.localtime(case.first_contact_at).replace(tzinfo=None) == first_contact
    assert (case.victim_age, case.offender_count, case.self_harm) == (16, 2, True)


@pytest.mark.parametrize(
    ("template", "name"), [(lambda _organisation: template_csv(), "template.csv"), (template_xlsx, "template.xlsx")]
)
def test_the_templates_example_row_is_refused_but_its_values_are_valid(sofia: User, template: Any, name: str) -> None:
    """Left in by mistake, the example row must not become a case; its values themselves are all valid."""
    job = upload(sofia, template(sofia.organisation_id), name=name)
    services.import_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.imported_rows == 0
    assert [(error["row"], error["column"]) for error in job.errors] == [(2, "reference")], job.errors
    assert "example row" in job.errors[0]["message"]
    assert not Case.objects.filter(organisation=sofia.organisation).exists()

    example = {column.name: column.example for column in COLUMNS} | {"reference": ""}
    job = upload(sofia, as_csv([example]), name="example.csv")
    services.import_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.imported_rows) == (ImportStatus.DONE, 1), job.errors


def test_the_same_file_is_not_imported_twice(sofia: User, personas: dict[str, User]) -> None:
    content = as_csv([row(), row()])
    first = upload(sofia, content)
    with pytest.raises(services.DuplicateFile):
        upload(sofia, content)
    services.import_run(job_id=first.pk)
    with pytest.raises(services.DuplicateFile):
        upload(sofia, content, name="renamed.csv")
    assert Case.objects.filter(organisation=sofia.organisation).count() == 2
    # Another organisation may import the same file.
    other_supervisor = User.objects.create(
        username="other-sup", organisation=personas["other_worker"].organisation, role="supervisor"
    )
    upload(other_supervisor, content)


def test_a_refused_file_can_be_uploaded_again(sofia: User) -> None:
    content = as_csv([row(), row(channel="fax")])
    refused = upload(sofia, content)
    services.import_run(job_id=refused.pk)
    again = upload(sofia, content, mode="valid_only")
    services.import_run(job_id=again.pk)
    again.refresh_from_db()
    assert (again.status, again.imported_rows) == (ImportStatus.DONE, 1)


def test_running_the_task_again_does_nothing(sofia: User) -> None:
    job = run(sofia, [row(), row()])
    assert job.status == ImportStatus.DONE
    assert services.import_run(job_id=job.pk) is False
    assert services.import_run(job_id=job.pk + 1000) is False
    assert Case.objects.filter(organisation=sofia.organisation).count() == 2


def test_a_job_claimed_by_a_live_worker_is_left_alone(sofia: User) -> None:
    job = upload(sofia, as_csv([row()]))
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.VALIDATING, started_at=timezone.now())
    assert services.import_run(job_id=job.pk) is False
    assert not Case.objects.filter(organisation=sofia.organisation).exists()


class Killed(BaseException):
    """The worker process dies: nothing after this point runs, nothing catches it."""


def test_a_run_killed_mid_import_goes_on_after_the_last_batch(
    sofia: User, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    monkeypatch.setattr(services, "BATCH_SIZE", 2)
    rows = [row(reference=f"OLD-{n}") if n % 2 else row() for n in range(7)]
    rows[3]["channel"] = "fax"  # one bad row, left out
    job = upload(sofia, as_csv(rows), mode="valid_only")
    original = services._Writer.write
    calls = 0

    def dies_on_the_second_batch(self: Any, batch: Any, last: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Killed
        original(self, batch, last)

    monkeypatch.setattr(services._Writer, "write", dies_on_the_second_batch)
    with pytest.raises(Killed):
        services.import_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.imported_rows, job.position) == (ImportStatus.IMPORTING, 2, 3)
    assert services.import_run(job_id=job.pk) is False  # the claim is still fresh
    monkeypatch.setattr(services._Writer, "write", original)
    ImportJob.objects.filter(pk=job.pk).update(
        started_at=timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 1)
    )
    assert services.import_run(job_id=job.pk) is True
    job.refresh_from_db()
    assert (job.status, job.valid_rows, job.imported_rows) == (ImportStatus.DONE, 6, 6)
    cases = Case.objects.filter(organisation=sofia.organisation)
    assert cases.count() == 6
    assert len(set(cases.values_list("reference", flat=True))) == 6
    assert CaseActivity.objects.filter(case__in=cases).count() == 6
    assert problems(job) == {(5, "channel")}


def test_a_failure_is_reported_and_leaves_nothing_half_written(sofia: User, monkeypatch: pytest.MonkeyPatch) -> None:
    job = upload(sofia, as_csv([row()]))

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(services._Writer, "_copy", broken)
    assert services.import_run(job_id=job.pk) is False
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and "failed" in job.message
    assert job.content is None
    assert not Case.objects.filter(organisation=sofia.organisation).exists()
    upload(sofia, as_csv([row()]))  # nothing was imported: the file may come again


def test_header_names_match_the_columns_of_the_case_form() -> None:
    from cases.forms import CaseForm

    form_fields = set(CaseForm(organisation_id=0).fields) - {"text_decision", "move", "version"}
    assert form_fields <= set(HEADER)


def test_a_failure_after_some_batches_says_what_was_imported(sofia: User, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "BATCH_SIZE", 2)
    content = as_csv([row() for _ in range(5)])
    job = upload(sofia, content)
    original = services._Writer._copy
    calls = 0

    def breaks_on_the_second_batch(self: Any, rows: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("disk full")
        original(self, rows)

    monkeypatch.setattr(services._Writer, "_copy", breaks_on_the_second_batch)
    assert services.import_run(job_id=job.pk) is False
    job.refresh_from_db()
    assert (job.status, job.imported_rows) == (ImportStatus.FAILED, 2)
    assert "2 cases were imported first, from the rows up to row 3." in job.message
    assert Case.objects.filter(organisation=sofia.organisation).count() == 2
    with pytest.raises(services.DuplicateFile):  # what is in stays in: the file cannot come again whole
        upload(sofia, content)

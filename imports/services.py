"""Bulk import of historical cases: a file is uploaded, checked row by row, then imported in batches.

Checking is done in Python, row by row, with the rules of the case form and services. Writing is
bulk (PostgreSQL COPY, one transaction per batch) with the history triggers left on: the
history of imported cases is real data. Each batch records how far it got, in its own
transaction, so a task that is killed and delivered again goes on after the last batch written.
"""

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pghistory
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _
from psycopg.types.json import Jsonb

from accounts.models import User
from audit.models import AccessLog, Action
from audit.services import access_log_record
from cases.bulk import (
    ACTIVITY_COLUMNS,
    STEP_COLUMNS,
    CopyWriter,
    Playbook,
    counters_move_past,
    ids_take,
    own_reference,
    references_take,
)
from cases.models import Case, CaseActivity, CasePlatform, EventKind, ResponseStep, Status, StepStatus
from cases.services import MANY_FACTS, SCALAR_FACTS, TERM_FACTS
from imports.models import FILE_TAKEN, ImportFormat, ImportJob, ImportMode, ImportStatus, TextIdentifiers
from imports.rows import CaseRow, FileProblem, RowChecker, csv_of, read_sheet

logger = logging.getLogger(__name__)

BATCH_SIZE = 2_000
PROGRESS_EVERY = 2_000
ERROR_LIMIT = 10_000  # problems kept for the report; all are counted
CHECKED_SHARE = 40  # percent of the progress bar for the first reading of the file
LOCK_CLASS = 7_301  # pg_advisory_xact_lock(LOCK_CLASS, organisation): one import batch at a time per organisation
# Runs of one job: a file that stops the worker each time (killed for its memory, say) is not handed out for ever.
MAX_ATTEMPTS = 3


class DuplicateFile(Exception):
    """This organisation already imported (or is importing) this very file."""

    def __init__(self, job: ImportJob) -> None:
        super().__init__(
            _("This file was already uploaded on %(when)s by %(user)s (import %(job)s); it is not imported twice.")
            % {"when": date_format(timezone.localtime(job.created_at), "d M Y H:i"), "user": job.user, "job": job.pk}
        )
        self.job = job


class _Lost(Exception):
    """Another run took the job over: this one stops without writing."""


def file_format(name: str) -> str | None:
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return extension if extension in ImportFormat.values else None


@transaction.atomic
def import_request(
    *,
    user: User,
    file_name: str,
    content: bytes,
    mode: str = ImportMode.ALL_OR_NOTHING,
    identifiers: str = TextIdentifiers.REJECT,
    request: HttpRequest | None = None,
) -> ImportJob:
    """Keep the file and queue its import; the task starts once this transaction commits."""
    from imports.tasks import import_process

    format = file_format(file_name)
    if format is None:
        raise ValueError("Only .csv and .xlsx files can be imported.")
    if mode not in ImportMode.values or identifiers not in TextIdentifiers.values:
        raise ValueError("Unknown import option.")
    digest = hashlib.sha256(content).hexdigest()
    earlier = ImportJob.objects.filter(FILE_TAKEN, organisation_id=user.organisation_id, file_hash=digest)
    if (found := earlier.select_related("user").first()) is not None:
        raise DuplicateFile(found)
    try:
        with transaction.atomic():
            job = ImportJob.objects.create(
                organisation_id=user.organisation_id,
                user=user,
                file_name=file_name[:255],
                format=format,
                file_hash=digest,
                content=content,
                mode=mode,
                identifiers=identifiers,
            )
    except IntegrityError:  # the same file, uploaded twice at the same moment
        raise DuplicateFile(earlier.select_related("user").get()) from None
    access_log_record(
        action=Action.CREATE,
        request=request,
        actor=user,
        obj=job,
        detail={
            "file": job.file_name,
            "format": format,
            "bytes": len(content),
            "sha256": digest,
            "mode": mode,
            "identifiers": identifiers,
        },
    )
    import_process.delay_on_commit(job.pk)
    return job


@dataclass
class Validation:
    """What the first reading of a file found."""

    total: int = 0
    valid: int = 0
    error_count: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    notices: list[dict[str, Any]] = field(default_factory=list)
    redacted: int = 0
    invalid_rows: set[int] = field(default_factory=set)
    problem: str = ""
    source: bytes = b""  # the file as CSV, for the second reading
    highest: dict[int, int] = field(default_factory=dict)  # year -> highest SX-YYYY-NNNNN number kept


def _problem(row: int, column: str, message: str) -> dict[str, Any]:
    return {"row": row, "column": column, "message": message}


def import_validate(*, job: ImportJob, claim: datetime | None = None) -> Validation:
    """Check every row of the job's file; nothing is written but the job's progress."""
    result = Validation()
    try:
        result.source = csv_of(bytes(job.content or b""), job.format)
        sheet = read_sheet(result.source)
    except FileProblem as problem:
        result.problem = problem.message
        result.errors.append(_problem(problem.row, problem.column, problem.message))
        result.error_count = 1
        return result
    checker = RowChecker(organisation_id=job.organisation_id, redact=job.identifiers == TextIdentifiers.REDACT)
    kept: dict[str, int] = {}  # reference -> row, of the valid rows

    def add(row: int, column: str, message: str) -> None:
        result.error_count += 1
        result.invalid_rows.add(row)
        if len(result.errors) < ERROR_LIMIT:
            result.errors.append(_problem(row, column, message))

    for number, cells in sheet.rows:
        result.total += 1
        checked = checker.check(number, sheet.header, cells)
        for column, message in checked.errors:
            add(number, column, message)
        if checked.case is not None:
            if checked.case.reference:
                kept[checked.case.reference] = number
            if checked.notices:
                result.redacted += 1
                result.notices.extend(_problem(number, column, message) for column, message in checked.notices)
        if result.total % PROGRESS_EVERY == 0:
            _progress(job, claim, min(CHECKED_SHARE, result.total * CHECKED_SHARE // max(sheet.estimate, 1)))
    for reference, number in _taken(job.organisation_id, kept).items():
        add(number, "reference", _("A case with this reference already exists in your organisation."))
        del kept[reference]
    for reference in kept:
        if (year_number := own_reference(reference)) is not None:
            year, number = year_number
            result.highest[year] = max(result.highest.get(year, 0), number)
    result.valid = result.total - len(result.invalid_rows)
    result.errors.sort(key=lambda problem: problem["row"])
    return result


def _taken(organisation_id: int, references: dict[str, int]) -> dict[str, int]:
    """The references (of those given, with their rows) that a case of the organisation already has."""
    taken: dict[str, int] = {}
    names = list(references)
    for start in range(0, len(names), 5_000):
        chunk = names[start : start + 5_000]
        for reference in Case.objects.filter(organisation_id=organisation_id, reference__in=chunk).values_list(
            "reference", flat=True
        ):
            taken[reference] = references[reference]
    return taken


def _progress(job: ImportJob, claim: datetime | None, percent: int) -> None:
    if claim is not None:
        mine = ImportJob.objects.filter(
            pk=job.pk, started_at=claim, status__in=[ImportStatus.VALIDATING, ImportStatus.IMPORTING]
        )
        if not mine.update(progress=percent):
            raise _Lost


def import_run(*, job_id: int) -> bool:
    """Check and import the file of one job; returns whether this call finished it.

    The claim is a conditional update, so a second delivery finds the job taken and does nothing.
    A claim older than the task time limit belongs to a worker that is gone (no task runs longer):
    a new delivery takes it over, checking again from the start or importing on after the last batch.
    Each claim counts as an attempt: the one after MAX_ATTEMPTS ends the job as failed instead.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    mine = ImportJob.objects.filter(pk=job_id)
    attempt = F("attempts") + 1
    claimed = mine.filter(
        Q(status=ImportStatus.PENDING) | Q(status=ImportStatus.VALIDATING, started_at__lt=stale)
    ).update(status=ImportStatus.VALIDATING, started_at=now, progress=0, attempts=attempt)
    if not claimed and not mine.filter(status=ImportStatus.IMPORTING, started_at__lt=stale).update(
        started_at=now, attempts=attempt
    ):
        return False
    job = ImportJob.objects.select_related("user").get(pk=job_id)
    # The report is written for the person who uploaded the file, in their language.
    with translation.override(job.user.interface_language):
        if job.attempts > MAX_ATTEMPTS:
            logger.error("Import %s stopped its worker %s times: not tried again", job.pk, MAX_ATTEMPTS)
            _fail(
                job,
                now,
                _(
                    "The file could not be processed: the worker stopped while reading it, %(times)s times. It is "
                    "not tried again: split it into smaller files, or ask an administrator."
                )
                % {"times": MAX_ATTEMPTS},
            )
            return False
        return _run(job, now)


def import_claim_expiry(*, job_id: int) -> datetime | None:
    """When the claim on a running job goes stale, so that a new delivery may take it over; None if not running.

    A worker killed in the middle of a job (for its memory, say) has its task handed out again at once, while its
    claim still looks alive: the task looks again at this time, so that the job goes on, or fails after
    MAX_ATTEMPTS, rather than waiting for ever.
    """
    started = (
        ImportJob.objects.filter(pk=job_id, status__in=[ImportStatus.VALIDATING, ImportStatus.IMPORTING])
        .values_list("started_at", flat=True)
        .first()
    )
    return started + timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 5) if started else None


def _run(job: ImportJob, now: datetime) -> bool:
    try:
        with pghistory.context(import_job=job.pk, user=job.user_id):
            source = None
            if job.status == ImportStatus.VALIDATING:
                source = _validated(job, now)
                if source is None:
                    return True
            _import(job, now, source)
    except _Lost:
        return False
    except SoftTimeLimitExceeded:
        _fail(job, now, _("The import took too long and was stopped. Split the file and import the parts."))
        return False
    except MemoryError:  # the worker's memory ceiling (WORKER_MAX_MEMORY_MB)
        logger.exception("Import %s ran out of memory", job.pk)
        _fail(job, now, _("The file needs more memory than an import may use: split it into smaller files."))
        return False
    except Exception:
        logger.exception("Import %s failed", job.pk)
        _fail(job, now, _("The import failed. Try again, or ask an administrator if it fails again."))
        return False
    return True


def _validated(job: ImportJob, claim: datetime) -> bytes | None:
    """Check the rows and store what was found; the file as CSV if the import goes on, None if it is refused."""
    result = import_validate(job=job, claim=claim)
    refused = ""
    if result.problem:
        refused = result.problem
    elif result.total == 0:
        refused = _("The file has no rows to import.")
    elif result.error_count and job.mode == ImportMode.ALL_OR_NOTHING:
        refused = _(
            "Nothing was imported: %(rows)s of %(total)s rows have problems. Correct them and upload the "
            "file again, or choose to import the valid rows only."
        ) % {
            "rows": result.total - result.valid,
            "total": result.total,
        }
    elif result.valid == 0:
        refused = _("Nothing was imported: no row is valid.")
    counts = {
        "total_rows": result.total,
        "valid_rows": result.valid,
        "errors": result.errors,
        "error_count": result.error_count,
        "invalid_rows": sorted(result.invalid_rows),
        "notices": result.notices,
        "redacted_rows": result.redacted,
    }
    with transaction.atomic():
        mine = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.VALIDATING, started_at=claim)
        if refused:
            if not mine.update(
                **counts,
                status=ImportStatus.REJECTED,
                message=refused[:300],
                progress=100,
                content=None,
                finished_at=timezone.now(),
            ):
                raise _Lost
            return None
        if not mine.update(**counts, status=ImportStatus.IMPORTING, progress=CHECKED_SHARE):
            raise _Lost
        counters_move_past(organisation_id=job.organisation_id, highest=result.highest)
    job.refresh_from_db(
        fields=["status", "total_rows", "valid_rows", "error_count", "errors", "invalid_rows", "notices"]
    )
    return result.source


def _import(job: ImportJob, claim: datetime, source: bytes | None = None) -> None:
    """Read the file again and write its valid rows after the last batch written, in batches.

    The first reading found the rows to leave out and the texts with identifiers: the same bytes give the
    same answers, so only the texts known to hold identifiers are searched again (to remove them).
    """
    sheet = read_sheet(source if source is not None else csv_of(bytes(job.content or b""), job.format))
    checker = RowChecker(organisation_id=job.organisation_id, redact=job.identifiers == TextIdentifiers.REDACT)
    writer = _Writer(job, claim)
    invalid = set(job.invalid_rows)
    redacted = {notice["row"] for notice in job.notices}
    batch: list[CaseRow] = []
    last = job.position
    for number, cells in sheet.rows:
        if number <= job.position:
            continue
        last = number
        if number in invalid:
            continue
        checked = checker.check(number, sheet.header, cells, identifiers=number in redacted)
        if checked.case is not None:
            batch.append(checked.case)
        else:  # only if a rule changed since the first reading
            for column, message in checked.errors:
                writer.error(number, column, message)
        if len(batch) >= BATCH_SIZE:
            writer.write(batch, last)
            batch = []
    writer.write(batch, last)
    with transaction.atomic():
        done = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.IMPORTING, started_at=claim).update(
            status=ImportStatus.DONE, progress=100, content=None, finished_at=timezone.now()
        )
        if not done:
            raise _Lost


def _fail(job: ImportJob, claim: datetime, message: str) -> None:
    """End the job as failed, saying what was imported before: those cases stay, and the file stays taken."""
    mine = ImportJob.objects.filter(
        pk=job.pk, status__in=[ImportStatus.VALIDATING, ImportStatus.IMPORTING], started_at=claim
    )
    done = mine.values_list("imported_rows", "position").first()
    if done and done[0]:
        message += " " + _("%(cases)s cases were imported first, from the rows up to row %(row)s.") % {
            "cases": done[0],
            "row": done[1],
        }
    mine.update(status=ImportStatus.FAILED, message=message[:300], content=None, finished_at=timezone.now())


class _Writer:
    """Writes batches of valid rows as cases, with their timeline entry and access-log row, by COPY."""

    def __init__(self, job: ImportJob, claim: datetime) -> None:
        self.job, self.claim = job, claim
        self.playbook = Playbook()
        self.many_tables = {name: Case._meta.get_field(name).remote_field.through for name in MANY_FACTS}  # type: ignore[union-attr]
        tables = [Case, CaseActivity, CasePlatform, ResponseStep, AccessLog, *self.many_tables.values()]
        self.copier = CopyWriter(tables)
        self.imported = job.imported_rows
        self.errors = list(job.errors)
        self.error_count = job.error_count
        self.invalid = set(job.invalid_rows)
        self.new_problems = 0

    def write(self, batch: Sequence[CaseRow], last: int) -> None:
        job = self.job
        with transaction.atomic():
            # Through Django first, so that this transaction carries the history context (pghistory) for the COPYs.
            mine = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.IMPORTING, started_at=self.claim)
            if not mine.update(started_at=self.claim):
                raise _Lost
            with connection.cursor() as cursor:
                # Every trigger asks pgtrigger whether to skip it, and the answer raises and catches an error (a
                # subtransaction per row) when the setting is unset. Set to "skip none", all the history triggers
                # still run, about four times faster.
                cursor.execute(
                    "SELECT set_config('pgtrigger.ignore', '{}', true), pg_advisory_xact_lock(%s, %s)",
                    [LOCK_CLASS, job.organisation_id],
                )
            taken = _taken(job.organisation_id, {row.reference: row.row for row in batch if row.reference})
            for number in taken.values():
                self.error(number, "reference", _("A case with this reference already exists in your organisation."))
            rows = [row for row in batch if not row.reference or row.reference not in taken]
            if rows:
                self._copy(rows)
            self.imported += len(rows)
            share = 100 - CHECKED_SHARE
            progress = CHECKED_SHARE + min(share - 1, self.imported * share // max(job.valid_rows, 1))
            found: dict[str, Any] = {}
            if self.new_problems:
                found = {
                    "errors": self.errors,
                    "error_count": self.error_count,
                    "invalid_rows": sorted(self.invalid),
                    "valid_rows": job.valid_rows - self.new_problems,
                }
            mine.update(position=last, imported_rows=self.imported, progress=progress, **found)

    def error(self, row: int, column: str, message: str) -> None:
        """A row found wrong only now (a reference taken meanwhile): left out and reported."""
        self.error_count += 1
        if row not in self.invalid:
            self.invalid.add(row)
            self.new_problems += 1
        if len(self.errors) < ERROR_LIMIT:
            self.errors.append(_problem(row, column, message))

    def _copy(self, rows: Sequence[CaseRow]) -> None:
        job, now = self.job, timezone.now()
        # The next number of the year of first contact, for each row without a reference.
        unnumbered = [row for row in rows if not row.reference]
        years = [timezone.localtime(row.facts["first_contact_at"]).year for row in unnumbered]
        references = iter(references_take(organisation_id=job.organisation_id, years=years))
        ids = ids_take(Case, len(rows))
        cases: list[dict[str, Any]] = []
        activities: list[tuple[Any, ...]] = []
        logs: list[dict[str, Any]] = []
        platforms: list[dict[str, Any]] = []
        steps: list[tuple[Any, ...]] = []
        many: dict[str, list[tuple[int, int]]] = {name: [] for name in MANY_FACTS}
        username = job.user.get_username()
        for case_id, row in zip(ids, rows, strict=True):
            facts = row.facts
            case: dict[str, Any] = {
                "id": case_id,
                "organisation_id": job.organisation_id,
                "reference": row.reference or next(references),
                "status": row.status,
                "closure_reason_id": row.closure_reason.pk if row.closure_reason else None,
                "closed_at": row.closed_at,
                "created_by_id": job.user_id,
                "version": 1,
            }
            for name in SCALAR_FACTS:
                if name in facts:
                    case[name] = facts[name]
            for name in TERM_FACTS:
                if name in facts:
                    case[f"{name}_id"] = facts[name].pk if facts[name] is not None else None
            cases.append(case)
            for name in MANY_FACTS:
                many[name].extend((case_id, term.pk) for term in facts.get(name) or [])
            platforms.extend({"case_id": case_id, "platform_id": term.pk, "role": role} for term, role in row.platforms)
            if row.status != Status.CLOSED:
                # Open work gets the playbook's checklist, as a case opened today would.
                steps.extend(
                    (case_id, step_type, StepStatus.TODO, now + due if due else None, None, None, reason)
                    for step_type, reason, due in self.playbook.steps(facts)
                )
            detail: dict[str, Any] = {"import_job": job.pk, "row": row.row}
            reason = _("imported: import %(job)s, row %(row)s") % {"job": job.pk, "row": row.row}
            opened = {**detail, "status": row.status, "reason": reason}
            activities.append((case_id, now, job.user_id, EventKind.OPENED, Jsonb(opened)))
            if row.redacted:
                detail["identifiers_removed"] = row.redacted
            logs.append(
                {
                    "actor_id": job.user_id,
                    "username": username,
                    "organisation_id": job.organisation_id,
                    "action": Action.CREATE,
                    "object_type": Case._meta.label_lower,
                    "object_id": str(case_id),
                    "detail": detail,
                }
            )
        copier = self.copier
        with connection.cursor() as cursor:
            copier.records(cursor, Case, cases, now)
            for name, pairs in many.items():
                copier.rows(cursor, self.many_tables[name], ["case_id", "term_id"], pairs, now)
            copier.records(cursor, CasePlatform, platforms, now)
            copier.rows(cursor, ResponseStep, STEP_COLUMNS, steps, now)
            copier.rows(cursor, CaseActivity, ACTIVITY_COLUMNS, activities, now)
            copier.records(cursor, AccessLog, logs, now)

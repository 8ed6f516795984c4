"""A real Celery worker runs the import once the upload is committed."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from cases.models import Case
from imports.models import ImportJob, ImportStatus
from imports.tasks import import_process
from tests.imports.helpers import as_csv, row, upload
from tests.workers import TaskWorker, wait_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_the_worker_imports_the_uploaded_file_once(task_worker: TaskWorker, personas: dict[str, User]) -> None:
    job = upload(personas["supervisor"], as_csv([row(reference="OLD-1"), row(reference="OLD-2")]))
    assert wait_for(lambda: ImportJob.objects.get(pk=job.pk).status == ImportStatus.DONE, seconds=60)
    again = import_process.delay(job.pk)  # a second delivery of the same job
    task_worker.wait_until_finished(again.id)
    job.refresh_from_db()
    assert (job.imported_rows, job.progress) == (2, 100)
    assert Case.objects.filter(organisation=personas["supervisor"].organisation).count() == 2


def test_a_job_left_by_a_worker_that_died_is_taken_up_again_when_its_claim_expires(
    task_worker: TaskWorker, personas: dict[str, User], settings: Any
) -> None:
    """Killed in the middle of a job, a worker's task is handed out again at once, while its claim still looks
    alive: the task leaves the job, and looks again once the claim has expired."""
    settings.CELERY_TASK_TIME_LIMIT = 1
    supervisor = personas["supervisor"]
    died = timezone.now()
    job = ImportJob.objects.create(
        organisation=supervisor.organisation,
        user=supervisor,
        file_name="cases.csv",
        format="csv",
        file_hash="0" * 64,
        content=as_csv([row(reference="OLD-1")]),
        status=ImportStatus.VALIDATING,
        started_at=died,
        attempts=1,
    )
    import_process.delay(job.pk)  # the redelivery
    assert wait_for(lambda: ImportJob.objects.get(pk=job.pk).status == ImportStatus.DONE, seconds=30)
    job.refresh_from_db()
    assert job.attempts == 2 and job.started_at is not None
    assert job.started_at >= died + timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    assert Case.objects.filter(organisation=supervisor.organisation, reference="OLD-1").count() == 1

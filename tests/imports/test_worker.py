"""A real Celery worker runs the import once the upload is committed."""

import time
from collections.abc import Iterator
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker

from accounts.models import User
from cases.models import Case
from helpline.celery import app
from imports.models import ImportJob, ImportStatus
from imports.tasks import import_process
from tests.imports.helpers import as_csv, row, upload

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def worker() -> Iterator[None]:
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        yield


def wait_for(condition: Any, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_the_worker_imports_the_uploaded_file_once(worker: None, personas: dict[str, User]) -> None:
    job = upload(personas["supervisor"], as_csv([row(reference="OLD-1"), row(reference="OLD-2")]))
    assert wait_for(lambda: ImportJob.objects.get(pk=job.pk).status == ImportStatus.DONE)
    import_process.delay(job.pk)  # a second delivery of the same job
    time.sleep(2)
    job.refresh_from_db()
    assert (job.imported_rows, job.progress) == (2, 100)
    assert Case.objects.filter(organisation=personas["supervisor"].organisation).count() == 2

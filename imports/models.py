from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation


class ImportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX"


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    VALIDATING = "validating", _("Checking the rows")
    IMPORTING = "importing", _("Importing")
    DONE = "done", _("Imported")
    FAILED = "failed", _("Failed")
    REJECTED = "rejected", _("Rejected")


class ImportMode(models.TextChoices):
    ALL_OR_NOTHING = "all_or_nothing", _("Import nothing unless every row is valid")
    VALID_ONLY = "valid_only", _("Import the valid rows only, and list the others")


class TextIdentifiers(models.TextChoices):
    REJECT = "reject", _("Refuse the row")
    REDACT = "redact", _("Remove them, as the case form offers")


RUNNING = [ImportStatus.PENDING, ImportStatus.VALIDATING, ImportStatus.IMPORTING]
FINISHED = [ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.REJECTED]
# A file is taken while its job may still import it or has imported some of it: a refused or
# failed job that imported nothing leaves the file free to upload again.
FILE_TAKEN = Q(status__in=[*RUNNING, ImportStatus.DONE]) | Q(status=ImportStatus.FAILED, imported_rows__gt=0)


class ImportJob(models.Model):
    """One uploaded file of historical cases, checked row by row and imported in the background.

    The file is kept only while the job runs; the report (row, column, message) keeps no cell value.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="import_jobs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="import_jobs")
    file_name = models.CharField(max_length=255)
    format = models.CharField(max_length=8, choices=ImportFormat.choices)
    file_hash = models.CharField(max_length=64, help_text=_("SHA-256 of the file, to refuse importing it twice."))
    content = models.BinaryField(null=True, blank=True, editable=False)
    mode = models.CharField(max_length=16, choices=ImportMode.choices, default=ImportMode.ALL_OR_NOTHING)
    identifiers = models.CharField(
        _("identifiers in free text"), max_length=8, choices=TextIdentifiers.choices, default=TextIdentifiers.REJECT
    )
    status = models.CharField(max_length=12, choices=ImportStatus.choices, default=ImportStatus.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    valid_rows = models.PositiveIntegerField(default=0)
    imported_rows = models.PositiveIntegerField(default=0)
    redacted_rows = models.PositiveIntegerField(default=0)
    position = models.PositiveIntegerField(
        default=0, help_text=_("Last row number imported: a resumed run goes on after it.")
    )
    errors = models.JSONField(default=list, blank=True, help_text=_("[{row, column, message}], at most ERROR_LIMIT."))
    error_count = models.PositiveIntegerField(default=0)
    invalid_rows = models.JSONField(default=list, blank=True, help_text=_("Numbers of every row left out."))
    notices = models.JSONField(default=list, blank=True, help_text=_("[{row, column, message}]: identifiers removed."))
    message = models.CharField(max_length=300, blank=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text=_("Percent done."))
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True, help_text=_("When a worker last claimed the job."))
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text=_("How many times a worker claimed the job; after a few, it is not tried again.")
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "file_hash"], condition=FILE_TAKEN, name="importjob_file_once"
            ),
        ]
        indexes = [models.Index(fields=["organisation", "-created_at"], name="importjob_org_recent")]

    def __str__(self) -> str:
        return f"import {self.pk} ({self.file_name})"

    @property
    def running(self) -> bool:
        return self.status in RUNNING

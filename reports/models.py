import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation


class AgeScheme(models.Model):
    """A named set of age bands, given by the lowest age of each band after the first (13, 18 means
    12 and under, 13 to 17, 18 and over)."""

    code = models.SlugField(max_length=32, unique=True)
    label = models.CharField(max_length=120)
    limits = ArrayField(models.PositiveSmallIntegerField(), help_text=_("Lowest age of each band after the first."))
    position = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["position", "label"]

    def __str__(self) -> str:
        return self.label


class DisclosureMethod(models.TextChoices):
    CELL_KEY = "cell_key", _("Cell-key perturbation")
    SUPPRESSION = "suppression", _("Cell suppression")


class Snapshot(models.Model):
    """A report as generated at one moment, kept unchanged: the monthly report of an organisation."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="report_snapshots")
    title = models.CharField(max_length=200)
    parameters = models.JSONField()
    generated_at = models.DateTimeField(auto_now_add=True)
    threshold = models.PositiveSmallIntegerField()
    # How the analysts' tables were disclosure-controlled: snapshots stored before the cell key keep
    # their suppression, and say so.
    method = models.CharField(max_length=16, choices=DisclosureMethod.choices, default=DisclosureMethod.CELL_KEY)
    perturbation = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("D of the cell-key method: the largest change of a count of k or more.")
    )
    # Both forms are kept: true counts for the organisation's supervisors and administrators,
    # the disclosure-controlled tables for analysts.
    tables = models.JSONField()
    tables_suppressed = models.JSONField()

    class Meta:
        ordering = ["-generated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "title"], name="snapshot_unique_title"),
        ]
        permissions = [("view_report", "Can read statistical reports")]
        triggers = [pgtrigger.Protect(name="immutable", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self) -> str:
        return self.title


class ExportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")


class Export(models.Model):
    """A report export made in the background, downloadable by the person who asked for it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_exports")
    parameters = models.JSONField()
    format = models.CharField(max_length=8)
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    progress = models.PositiveSmallIntegerField(default=0, help_text=_("Percent done."))
    content = models.BinaryField(null=True, blank=True, editable=False)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text=_("How many times a worker claimed the job; after a few, it is not tried again.")
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.format} export {self.pk}"


class RollupRefresh(models.Model):
    """When the monthly rollups were last recounted: unfiltered reports are as fresh as this."""

    started_at = models.DateTimeField()

    class Meta:
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M}"

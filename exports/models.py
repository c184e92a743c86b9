"""Export jobs, their downloads, and the stored per-participant date offsets of de-identification."""

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class ExportFailure(models.TextChoices):
    """Why a job failed, shown in the user's language above the technical detail in ``error``."""

    ERROR = "error", _("The export stopped on an error.")
    BROKER = "broker", _("The task queue was unavailable: the export was not started.")
    WORKER_LOST = "worker_lost", _("The worker stopped on every attempt: the export was given up.")


# A job in one of these states still has a worker to wait for; the others are final.
ACTIVE_STATUSES = (ExportStatus.QUEUED, ExportStatus.RUNNING)


# The heartbeat is a sign of life, not a change: it is neither a history row nor an update event.
@pghistory.track(
    pghistory.InsertEvent("created"),
    pghistory.UpdateEvent("updated", condition=pghistory.AnyChange(exclude=["heartbeat_at"])),
    exclude=["heartbeat_at"],
)
class ExportJob(models.Model):
    """One export: who asked, with which options, how far it got, and what it produced.

    ``files`` lists every file of the zip as ``{"name", "rows", "bytes", "sha256"}``: the manifest
    inside the zip repeats it, so a copy of the zip can be checked against this record.

    A job always ends (done, failed or cancelled): ``attempt`` counts the runs a worker started (a run
    whose worker died is run again as the next attempt, see ``services.recover_stale_exports``), and
    ``heartbeat_at`` is the last sign of life (the enqueue while queued, the worker while running).
    A retry of a failed or cancelled job is a new job whose ``retry_of`` names the old one.
    """

    study = models.ForeignKey("trials.Study", models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    # Scheduled exports from the command line run as the system; the command's --user names a person.
    requested_via = models.CharField(_("requested via"), max_length=10, default="web")
    requested_at = models.DateTimeField(_("requested"), auto_now_add=True)
    options = models.JSONField(_("options"))
    status = models.CharField(
        _("status"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    failure = models.CharField(_("failure"), max_length=20, choices=ExportFailure.choices, blank=True)
    error = models.TextField(_("error"), blank=True)
    files = models.JSONField(_("files"), default=list)
    zip_path = models.CharField(_("zip file"), max_length=500, blank=True)
    zip_sha256 = models.CharField(_("SHA-256 of the zip"), max_length=64, blank=True)
    zip_bytes = models.PositiveBigIntegerField(_("size (bytes)"), null=True, blank=True)
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=1)
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    cancel_requested_at = models.DateTimeField(_("cancel requested"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cancelled by"),
    )
    retry_of = models.ForeignKey(
        "self",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="retries",
        verbose_name=_("retry of"),
    )

    class Meta:
        ordering = ["-requested_at", "-pk"]
        triggers = [pgtrigger.Protect(name="export_job_no_delete", operation=pgtrigger.Delete)]
        # Granted per user in the admin: identifiable exports beyond the roles that hold them.
        permissions = [("export_identifiable", _("Can export identifiable data"))]

    def __str__(self):
        return f"export {self.pk} ({self.get_status_display()})"

    @property
    def deidentified(self) -> bool:
        return bool(self.options.get("deidentify"))

    @property
    def total_rows(self) -> int:
        return sum(f.get("rows") or 0 for f in self.files)  # a schema file has no rows (None)


class ExportDownload(models.Model):
    """Every download of an export's zip; append-only at the database."""

    job = models.ForeignKey(ExportJob, models.PROTECT, related_name="downloads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    at = models.DateTimeField(_("time (UTC)"), auto_now_add=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        ordering = ["-at"]
        triggers = [
            pgtrigger.Protect(
                name="export_download_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            )
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.user} export {self.job_id}"


@pghistory.track(pghistory.InsertEvent("created"))
class DateShift(models.Model):
    """The random number of days a participant's dates move in de-identified exports; never changes."""

    participant = models.OneToOneField("trials.Participant", models.PROTECT, related_name="date_shift")
    days = models.SmallIntegerField(_("offset (days)"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        triggers = [
            pgtrigger.Protect(name="date_shift_immutable", operation=pgtrigger.Update | pgtrigger.Delete)
        ]

    def __str__(self):
        return f"{self.participant_id}: {self.days:+d} d"


@pghistory.track(pghistory.InsertEvent("created"))
class Pseudonym(models.Model):
    """The key of a participant never enrolled in de-identified exports (``NOT-ENROLLED-`` and random
    letters and digits): the study id is the key of the others, and the screening number or the
    database id would link the file back to the identifiable data. Created on first use; never
    changes, so every format and every later export keys the participant the same way."""

    participant = models.OneToOneField("trials.Participant", models.PROTECT, related_name="pseudonym")
    key = models.CharField(_("pseudonymous key"), max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        triggers = [
            pgtrigger.Protect(name="pseudonym_immutable", operation=pgtrigger.Update | pgtrigger.Delete)
        ]

    def __str__(self):
        return self.key


class ListingExport(models.Model):
    """A listing or table downloaded from a page as CSV (the safety listing, the efficacy proportions):
    who, when, which listing with which filters, and the SHA-256 of the exact bytes sent.

    Every such download is an export: ``services.export_listing`` checks the export permission, writes
    the file with the one CSV writer and records it here; append-only at the database.
    """

    study = models.ForeignKey("trials.Study", models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    at = models.DateTimeField(_("time (UTC)"), auto_now_add=True)
    name = models.CharField(_("listing"), max_length=60)
    parameters = models.JSONField(_("filters and options"), default=dict)
    deidentified = models.BooleanField(_("de-identified"))
    rows = models.PositiveIntegerField(_("rows"))
    bytes = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        triggers = [
            pgtrigger.Protect(
                name="listing_export_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            )
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.user} {self.name}"

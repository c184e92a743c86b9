"""Export workflows: request an export, run it, record a download.

Who may export (``accounts.permissions``):
- sponsor admins and data managers export (``Action.EXPORT``), for the sites they hold it at;
- an *identifiable* export (initials, year of birth, real dates, free text, the audit trail) needs
  ``Action.EXPORT_IDENTIFIABLE`` (sponsor admins) or the Django permission
  ``exports.export_identifiable`` granted to the user in the admin (e.g. to one data manager);
- downloading a job needs the same rights as requesting it; every download is recorded;
- a listing downloaded from a page (the safety listing and tables, the efficacy proportions) is an
  export too (``export_listing``): the same check for the sites it covers, written by the one CSV
  writer (cells neutralised against formulas), recorded with its SHA-256 (``ListingExport``).

Scheduled exports from ``manage.py export`` without ``--user`` run as the system (no person); the
job then says ``requested_via="command"`` and the audit context's user is "system".

Every job ends (done, failed or cancelled), whatever happens to the broker or the worker:
- the run task is sent after the commit; with the broker unavailable the job is failed at once with
  the reason (``ExportFailure.BROKER``), never left queued;
- a running task writes a heartbeat from a side thread; beat's stale-export check
  (``recover_stale_exports``, every minute) sends a queued job again when no worker took it, and runs
  a job whose worker went silent again as its next attempt (after ``EXPORT_MAX_ATTEMPTS`` runs it is
  failed), removing the dead attempt's files;
- each attempt writes into its own folder and the finished zip is moved into place atomically, by the
  one attempt that still owns the job (a late or duplicated message of an older attempt does nothing);
- a queued job is cancelled at once; a running one stops at its next progress step and cleans up;
- a failed or cancelled job is retried as a *new* job linked to it (``retry_of``): the failed job and
  its history stay as they were, the retry is attributed to whoever asked for it, and its zip has its
  own name.
Each transition runs in :func:`edc.audit.audited` with its own action, so the job's pghistory events
say who (or "system") did what and why; ``job_history`` reads them for the page.
"""

import hashlib
import io
import json
import logging
import os
import shutil
import threading
import zipfile
from collections.abc import Callable
from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path

import kombu.exceptions
import redis
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, connections, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import Action, can, site_ids
from edc.audit import audited
from edc.errors import DomainError
from trials.models import Site, Study

from . import audit_trail, csv_export
from .csvfile import CsvFile
from .models import ACTIVE_STATUSES, ExportDownload, ExportFailure, ExportJob, ExportStatus, ListingExport
from .options import ExportOptions

log = logging.getLogger(__name__)

IDENTIFIABLE_PERMISSION = "exports.export_identifiable"
BROKER_ERRORS = (kombu.exceptions.OperationalError, redis.exceptions.RedisError, OSError)


def can_export_identifiable(user) -> bool:
    return can(user, Action.EXPORT_IDENTIFIABLE) or bool(
        user is not None and user.is_active and user.has_perm(IDENTIFIABLE_PERMISSION)
    )


def export_checker(user, study_id: int):
    """``check(options) -> bool``: may ``user`` request (or download) an export with these options?

    Reads the user's rights once, so a page listing many jobs asks the database once.
    ``None`` is the system (the command line without ``--user``).
    """
    if user is None:
        return lambda options: True
    allowed = site_ids(user, Action.EXPORT)
    printable = site_ids(user, Action.PRINT_CASEBOOK)
    every_site = set(Site.objects.filter(study_id=study_id).values_list("pk", flat=True))
    identifiable = can_export_identifiable(user)

    def check(options: ExportOptions) -> bool:
        wanted = set(options.site_ids) if options.site_ids is not None else every_site
        if options.casebook:
            # Casebooks have their own right (investigators and data managers, at their sites).
            return bool(printable) and wanted <= printable
        if not allowed or not wanted <= allowed:
            return False
        return identifiable or not options.identifiable

    return check


def may_export(user, options: ExportOptions) -> bool:
    return export_checker(user, options.study_id)(options)


def _check(user, options: ExportOptions) -> None:
    if options.casebook:
        if not may_export(user, options):
            raise PermissionDenied(_("You may not print the casebooks of these sites."))
        if not Study.objects.filter(pk=options.study_id).exists():
            raise DomainError(_("Unknown study."))
        return
    if user is not None and not site_ids(user, Action.EXPORT):
        raise PermissionDenied(_("Your role does not allow exports."))
    if options.identifiable and user is not None and not can_export_identifiable(user):
        raise PermissionDenied(
            _("Identifiable exports need a separate permission; choose a de-identified export.")
        )
    if not may_export(user, options):
        raise PermissionDenied(_("You may not export data of these sites."))
    if "audit" in options.formats and options.deidentify:
        raise DomainError(
            _(
                "The audit trail holds the values as entered (initials, dates, free text): it is exported "
                "only in identifiable exports."
            )
        )
    if not Study.objects.filter(pk=options.study_id).exists():
        raise DomainError(_("Unknown study."))


def request_export(*, user, options: ExportOptions, via: str = "web", enqueue: bool = True) -> ExportJob:
    """Record an export job and queue it for the worker once the transaction commits.

    With the broker unavailable the job is failed with the reason before this returns (when called
    outside a transaction, as the page does): look at ``job.status``.
    """
    _check(user, options)
    with audited(user=user, action="export_requested"):
        job = ExportJob.objects.create(
            study_id=options.study_id,
            requested_by=user,
            requested_via=via,
            options=options.to_json(),
            heartbeat_at=timezone.now(),
        )
        if enqueue:
            transaction.on_commit(lambda: enqueue_run(job.pk, job.attempt, user=user))
    job.refresh_from_db()
    return job


def enqueue_run(job_id: int, attempt: int, *, user=None) -> bool:
    """Send the run task of ``attempt``; with the broker unavailable, fail the job with the reason.

    Called after the commit that made the job queued, so a worker always finds the row it is sent.
    """
    from .tasks import run_export_task

    options = {"queue": settings.EXPORT_CELERY_QUEUE} if settings.EXPORT_CELERY_QUEUE else {}
    try:
        # A refused connection fails here at once; Celery's own connection attempts take seconds.
        with redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1) as client:
            client.ping()
        run_export_task.apply_async((job_id, attempt), retry=False, **options)
    except BROKER_ERRORS as exc:
        log.warning("export %s not queued, the broker is unavailable: %s", job_id, exc)
        with audited(user=user, action="export_enqueue_failed"):
            ExportJob.objects.filter(pk=job_id, status=ExportStatus.QUEUED, attempt=attempt).update(
                status=ExportStatus.FAILED,
                failure=ExportFailure.BROKER,
                finished_at=timezone.now(),
                error=f"{exc.__class__.__name__}: {exc}",
            )
        return False
    return True


def cancel_export(*, user, job_id: int) -> ExportJob:
    """Cancel a queued job at once; ask a running one to stop (it stops at its next progress step)."""
    job = ExportJob.objects.get(pk=job_id)
    if not may_export(user, ExportOptions.from_json(job.options)):
        raise PermissionDenied(_("You may not cancel this export."))
    now = timezone.now()
    if job.status == ExportStatus.QUEUED:
        with audited(user=user, action="export_cancelled"):
            cancelled = ExportJob.objects.filter(pk=job.pk, status=ExportStatus.QUEUED).update(
                status=ExportStatus.CANCELLED, cancelled_by=user, cancel_requested_at=now, finished_at=now
            )
        job.refresh_from_db()
        if cancelled:
            return job
    if job.status == ExportStatus.RUNNING:
        with audited(user=user, action="export_cancel_requested"):
            ExportJob.objects.filter(
                pk=job.pk, status=ExportStatus.RUNNING, cancel_requested_at__isnull=True
            ).update(cancelled_by=user, cancel_requested_at=now)
        job.refresh_from_db()
        return job
    raise DomainError(_("Only a queued or running export can be cancelled."))


def retry_export(*, user, job_id: int) -> ExportJob:
    """A new job with the options of a failed or cancelled one, linked to it and queued.

    The user retrying needs the rights to start that export; a job is retried once (a second click
    finds the first retry).
    """
    old = ExportJob.objects.get(pk=job_id)
    options = ExportOptions.from_json(old.options)
    _check(user, options)
    if old.status not in (ExportStatus.FAILED, ExportStatus.CANCELLED):
        raise DomainError(_("Only a failed or cancelled export can be retried."))
    with audited(user=user, action="export_retried", reason=f"retry of export {old.pk}"):
        ExportJob.objects.select_for_update().filter(pk=old.pk).first()
        earlier = old.retries.order_by("pk").first()
        if earlier is not None:
            raise DomainError(_("This export was already retried as export %(id)s.") % {"id": earlier.pk})
        job = ExportJob.objects.create(
            study_id=old.study_id,
            requested_by=user,
            requested_via="web",
            options=old.options,
            retry_of=old,
            heartbeat_at=timezone.now(),
        )
        transaction.on_commit(lambda: enqueue_run(job.pk, job.attempt, user=user))
    job.refresh_from_db()
    return job


def record_download(*, user, job: ExportJob, ip_address: str | None = None) -> ExportDownload:
    """Check that ``user`` may download ``job`` and record the download."""
    if not may_export(user, ExportOptions.from_json(job.options)):
        raise PermissionDenied(_("You may not download this export."))
    if job.status != ExportStatus.DONE or not job.zip_path:
        raise DomainError(_("This export has no file to download."))
    with audited(user=user, action="export_downloaded"):
        return ExportDownload.objects.create(job=job, user=user, ip_address=ip_address)


def may_export_listing(user, *, study_id: int, site_ids_covered, identifiable: bool) -> bool:
    """May ``user`` download a listing of these sites (identifiable or not)? The export rule."""
    options = ExportOptions(
        study_id=study_id, site_ids=tuple(sorted(site_ids_covered)), deidentify=not identifiable
    )
    return user is not None and may_export(user, options)


def export_listing(
    *,
    user,
    study,
    name: str,
    site_ids_covered,
    identifiable: bool,
    header: list[str],
    rows,
    parameters: dict | None = None,
    ip_address: str | None = None,
) -> tuple[bytes, ListingExport]:
    """Write a page's listing as CSV (UTF-8 with BOM) and record it as an export; the file's bytes.

    ``site_ids_covered``: the sites whose data the rows hold (all must be exportable by ``user``);
    ``identifiable``: whether the rows hold identifiable data (initials, real dates, free text).
    """
    if not may_export_listing(
        user, study_id=study.pk, site_ids_covered=site_ids_covered, identifiable=identifiable
    ):
        if identifiable and not can_export_identifiable(user):
            raise PermissionDenied(_("Identifiable exports need a separate permission."))
        raise PermissionDenied(_("Your role does not allow exports of these sites."))
    buffer = io.BytesIO()
    with CsvFile(buffer, bom=True) as out:
        out.header(header)
        out.writerows(rows)
    content = buffer.getvalue()
    with audited(user=user, action="listing_exported", reason=name):
        record = ListingExport.objects.create(
            study=study,
            user=user,
            name=name,
            parameters={**(parameters or {}), "sites": sorted(site_ids_covered)},
            deidentified=not identifiable,
            rows=out.rows,
            bytes=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            ip_address=ip_address,
        )
    return content, record


# --- running ------------------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_directory(job: ExportJob) -> Path:
    """The job's folder: its finished zip, and one ``attempt-N`` working folder per run in progress."""
    return Path(settings.EXPORT_ROOT) / f"export-{job.pk}"


def _remove_attempts(root: Path, *, below: int | None = None) -> None:
    """Remove the working folders (partial files) of the job's attempts numbered below ``below`` (all)."""
    if not root.is_dir():
        return
    for folder in root.glob("attempt-*"):
        number = folder.name.removeprefix("attempt-")
        if below is None or (number.isdigit() and int(number) < below):
            shutil.rmtree(folder, ignore_errors=True)


class ExportInterrupted(Exception):
    """The job was cancelled, or handed to a newer attempt, while this run was writing it."""


def _owned(job_id: int, attempt: int):
    """The job, as long as this attempt still owns the run and nobody asked to cancel it."""
    return ExportJob.objects.filter(
        pk=job_id, status=ExportStatus.RUNNING, attempt=attempt, cancel_requested_at__isnull=True
    )


class _Heartbeat(threading.Thread):
    """Writes the job's heartbeat every ``EXPORT_HEARTBEAT_SECONDS`` while the run is alive.

    A thread, so a long step without progress calls (one big query) still shows life; it uses its own
    database connection (Django's are per thread) and closes it. When the job is no longer this
    attempt's to run (cancel requested, taken over) it raises ``interrupted`` for the next progress step.
    """

    def __init__(self, job_id: int, attempt: int):
        super().__init__(name=f"export-{job_id}-heartbeat", daemon=True)
        self.job_id, self.attempt = job_id, attempt
        self.finished = threading.Event()
        self.interrupted = threading.Event()

    def run(self):
        try:
            while not self.finished.wait(settings.EXPORT_HEARTBEAT_SECONDS):
                if not _owned(self.job_id, self.attempt).update(heartbeat_at=timezone.now()):
                    self.interrupted.set()
        except Exception:  # noqa: BLE001 - a missed heartbeat is judged by the stale check, not here
            log.exception("heartbeat of export %s failed", self.job_id)
        finally:
            connections.close_all()

    def stop(self):
        self.finished.set()
        if self.is_alive():
            self.join(timeout=10)


class _Progress:
    """Progress of a job, saved when it moves by a step (each save is one audited update).

    Each call is also where a run stops when the job was cancelled or taken over: the heartbeat
    thread's flag is checked every call, the job's row at every save and between steps.
    """

    def __init__(self, job: ExportJob, attempt: int, heartbeat: _Heartbeat, step: int = 5):
        self.job, self.attempt, self.heartbeat = job, attempt, heartbeat
        self.step, self.saved = step, job.progress

    def check(self) -> None:
        if self.heartbeat.interrupted.is_set() or not _owned(self.job.pk, self.attempt).exists():
            raise ExportInterrupted

    def __call__(self, percent: float) -> None:
        if self.heartbeat.interrupted.is_set():
            raise ExportInterrupted
        percent = max(0, min(99, int(percent)))
        if percent >= self.saved + self.step:
            if not _owned(self.job.pk, self.attempt).update(progress=percent):
                raise ExportInterrupted
            self.saved = percent


def _writers(options: ExportOptions) -> list[tuple[str, Callable]]:
    """(sub-directory, ``function(study, files, progress) -> counts``) of every format asked for."""
    steps = []
    if "csv" in options.formats:
        steps.append(
            (
                "csv",
                lambda study, d, progress: csv_export.write_csv(
                    study=study, options=options, directory=d, progress=progress
                ),
            )
        )
    if "odm" in options.formats:

        def odm(study, d, progress):
            from . import odm as odm_writer

            d.mkdir(parents=True, exist_ok=True)
            counts = odm_writer.write_odm(study=study, options=options, path=d / "odm.xml")
            odm_writer.write_schemas(d, pure=options.odm_pure)
            return counts

        steps.append(("odm", odm))
    if "sdtm" in options.formats:

        def sdtm(study, d, progress):
            from . import sdtm as sdtm_writer

            d.mkdir(parents=True, exist_ok=True)
            return sdtm_writer.write_sdtm(study=study, options=options, directory=d)

        steps.append(("sdtm", sdtm))
    if "adam" in options.formats:

        def adam(study, d, progress):
            from . import adam as adam_writer

            return adam_writer.write_adam(study=study, options=options, directory=d)

        steps.append(("adam", adam))
    if "casebook" in options.formats:

        def casebooks(study, d, progress):
            from casebooks import render

            return render.write_casebooks(study=study, options=options, directory=d, progress=progress)

        steps.append(("casebooks", casebooks))
    if "audit" in options.formats:
        steps.append(
            (
                "audit",
                lambda study, d, progress: audit_trail.write_audit_trail(
                    study=study, options=options, directory=d
                ),
            )
        )
    return steps


def _file_counts(directory: Path, counts: dict[str, int], sub: str) -> dict[str, int]:
    """Counts keyed by path inside the zip (``csv/vital_signs_wide.csv``)."""
    result = {}
    for name, rows in counts.items():
        relative = Path(name)
        if relative.is_absolute():
            relative = relative.relative_to(directory)
        result[f"{sub}/{relative.as_posix()}"] = rows
    return result


def manifest(job: ExportJob, files: list[dict]) -> dict:
    user = job.requested_by
    requester = "system"
    if user is not None:
        # A de-identified zip names no staff: the user's ODM OID; the job itself records who asked.
        requester = f"USR.{user.pk}" if job.deidentified else user.username
    return {
        "export_id": job.pk,
        "study": {"nct_id": job.study.nct_id, "code": job.study.code},
        "requested_by": requester,
        "requested_via": job.requested_via,
        "requested_at": job.requested_at.isoformat(),
        "generated_at": timezone.now().isoformat(),
        "options": job.options,
        "files": files,
        # The audit trail's chain heads as last verified: a sponsor keeps this and can later show that
        # no event written before it was rewritten (auditchain).
        "audit_chain_head": audit_chain_head(),
    }


def audit_chain_head() -> dict:
    from auditchain.chain import day_head

    return day_head()


def manifest_text(data: dict) -> str:
    lines = [
        f"Export {data['export_id']} of {data['study']['code']} ({data['study']['nct_id']})",
        f"Requested by {data['requested_by']} via {data['requested_via']} at {data['requested_at']}",
        f"Generated at {data['generated_at']}",
        "Options: " + json.dumps(data["options"], sort_keys=True),
        "Audit chain head: " + json.dumps(data["audit_chain_head"], sort_keys=True),
        "",
        f"{'file':<50} {'rows':>10} {'bytes':>12}  sha256",
    ]
    # A file without rows (a schema shipped with the ODM file) shows "-".
    lines += [
        f"{f['name']:<50} {'-' if f['rows'] is None else f['rows']:>10} {f['bytes']:>12}  {f['sha256']}"
        for f in data["files"]
    ]
    return "\n".join(lines) + "\n"


def _savepoint():
    """A savepoint when called inside a transaction (a test, a caller's ``atomic``), so a failed
    query can be rolled back and the failure recorded; none in autocommit, where each progress update
    must commit at once to be seen by the page."""
    return transaction.atomic() if connection.in_atomic_block else nullcontext()


def run_export(*, job_id: int, attempt: int | None = None) -> ExportJob:
    """Run one attempt of a queued job: write its files, pack them with their manifest in one zip.

    ``attempt`` is the one the task was sent for (the job's current one when ``None``, as from the
    command): a message of an older attempt, a duplicate, or one for a cancelled job does nothing.
    The files are written under ``attempt-N/``; the zip is moved into the job's folder only while this
    attempt still owns the job. A failure is recorded on the job (failed, with the reason), a cancel
    as cancelled; either way this attempt's files are removed.
    """
    job = ExportJob.objects.select_related("study", "requested_by").get(pk=job_id)
    attempt = job.attempt if attempt is None else attempt
    user = job.requested_by
    now = timezone.now()
    with audited(user=user, action="export_started", reason=f"attempt {attempt}"):
        claimed = ExportJob.objects.filter(pk=job.pk, status=ExportStatus.QUEUED, attempt=attempt).update(
            status=ExportStatus.RUNNING, started_at=now, heartbeat_at=now, progress=0
        )
    job.refresh_from_db()
    if not claimed:
        return job
    root = export_directory(job)
    work = root / f"attempt-{attempt}"
    files_dir = work / "files"
    heartbeat = _Heartbeat(job.pk, attempt)
    if not connection.in_atomic_block:
        # From another connection: inside a caller's transaction (a test) it could not see the job.
        heartbeat.start()
    try:
        options = ExportOptions.from_json(job.options)
        _remove_attempts(root, below=attempt)
        shutil.rmtree(work, ignore_errors=True)
        files_dir.mkdir(parents=True)
        steps = _writers(options)
        counts: dict[str, int] = {}
        progress = _Progress(job, attempt, heartbeat)
        for index, (sub, write) in enumerate(steps):
            progress.check()
            directory = files_dir / sub
            share = 90 / len(steps)

            def step_progress(fraction, index=index, share=share):
                progress(index * share + fraction * share)

            with _savepoint():
                written = write(job.study, directory, step_progress) or {}
            counts.update(_file_counts(directory, written, sub))
            progress((index + 1) * share)
        progress.check()
        files = []
        for path in sorted(p for p in files_dir.rglob("*") if p.is_file()):
            name = path.relative_to(files_dir).as_posix()
            files.append(
                {
                    "name": name,
                    "rows": counts.get(name),
                    "bytes": path.stat().st_size,
                    "sha256": sha256_of(path),
                }
            )
        data = manifest(job, files)
        zip_name = f"{job.study.code}-export-{job.pk}.zip"
        part = work / f"{zip_name}.part"
        with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            archive.writestr("manifest.json", json.dumps(data, indent=2, ensure_ascii=False))
            archive.writestr("manifest.txt", manifest_text(data))
            for entry in files:
                archive.write(files_dir / entry["name"], entry["name"])
        zip_sha256, zip_bytes = sha256_of(part), part.stat().st_size
        zip_path = root / zip_name
        with audited(user=user, action="export_finished"):
            # The row lock makes this attempt the only one that may put its zip in place.
            if not _owned(job.pk, attempt).select_for_update().exists():
                raise ExportInterrupted
            os.replace(part, zip_path)
            ExportJob.objects.filter(pk=job.pk).update(
                status=ExportStatus.DONE,
                progress=100,
                finished_at=timezone.now(),
                files=files,
                zip_path=str(zip_path),
                zip_sha256=zip_sha256,
                zip_bytes=zip_bytes,
            )
    except ExportInterrupted:
        shutil.rmtree(work, ignore_errors=True)
        _end_interrupted(job.pk, attempt)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded on the job and shown to the user
        log.exception("export %s failed", job.pk)
        shutil.rmtree(work, ignore_errors=True)
        with audited(user=user, action="export_failed"):
            ExportJob.objects.filter(pk=job.pk, status=ExportStatus.RUNNING, attempt=attempt).update(
                status=ExportStatus.FAILED,
                failure=ExportFailure.ERROR,
                finished_at=timezone.now(),
                error=f"{exc.__class__.__name__}: {exc}",
            )
    else:
        shutil.rmtree(work, ignore_errors=True)
    finally:
        heartbeat.stop()
    job.refresh_from_db()
    return job


def _end_interrupted(job_id: int, attempt: int) -> None:
    """A run stopped by a cancel ends the job as cancelled, attributed to whoever cancelled it; a run
    taken over by a newer attempt leaves the job to that attempt."""
    job = ExportJob.objects.select_related("cancelled_by").get(pk=job_id)
    if job.status != ExportStatus.RUNNING or job.attempt != attempt or job.cancel_requested_at is None:
        return
    with audited(user=job.cancelled_by, action="export_cancelled"):
        ExportJob.objects.filter(pk=job_id, status=ExportStatus.RUNNING, attempt=attempt).update(
            status=ExportStatus.CANCELLED, finished_at=timezone.now()
        )


# --- jobs whose worker died ---------------------------------------------------------------------


def recover_stale_exports(*, now=None) -> dict[str, int]:
    """End or resume every queued or running job that gave no sign of life for ``EXPORT_STALE_SECONDS``.

    Run by beat every minute. A queued job no worker took is sent again (same attempt: whichever
    message comes first runs it, the other does nothing). A running job whose worker died is cancelled
    if a cancel was asked, failed after ``EXPORT_MAX_ATTEMPTS`` runs, otherwise queued again as its
    next attempt; the dead attempt's partial files are removed. Returns the count per outcome.
    """
    now = now or timezone.now()
    limit = now - timedelta(seconds=settings.EXPORT_STALE_SECONDS)
    stale = Q(heartbeat_at__lt=limit) | Q(heartbeat_at__isnull=True, requested_at__lt=limit)
    outcomes = {"requeued": 0, "rerun": 0, "failed": 0, "cancelled": 0}
    for job_id in ExportJob.objects.filter(stale, status__in=ACTIVE_STATUSES).values_list("pk", flat=True):
        outcome = _recover(job_id, stale, now)
        if outcome:
            outcomes[outcome] += 1
    return outcomes


def _runs(job: ExportJob) -> int:
    """How many runs of the job a worker started (attempts that were only re-sent never ran)."""
    from .models import ExportJobEvent

    return (
        ExportJobEvent.objects.filter(pgh_obj_id=job.pk, status=ExportStatus.RUNNING, pgh_label="updated")
        .values("attempt")
        .distinct()
        .count()
    )


def _recover(job_id: int, stale: Q, now) -> str | None:
    with transaction.atomic():
        job = (
            ExportJob.objects.select_for_update(skip_locked=True)
            .filter(stale, pk=job_id, status__in=ACTIVE_STATUSES)
            .first()
        )
        if job is None:  # it moved on meanwhile, or another check holds it
            return None
        silent = int(settings.EXPORT_STALE_SECONDS)
        if job.status == ExportStatus.QUEUED:
            outcome, action = "requeued", "export_stale_requeued"
            reason = f"no worker took attempt {job.attempt} for {silent} s; sent again"
            # A new attempt number makes the lost (or merely late) message do nothing when it comes.
            changes = {"attempt": job.attempt + 1, "heartbeat_at": now}
        elif job.cancel_requested_at is not None:
            outcome, action = "cancelled", "export_stale_cancelled"
            reason = f"the worker of attempt {job.attempt} stopped before the cancel took effect"
            changes = {"status": ExportStatus.CANCELLED, "finished_at": now}
        elif _runs(job) >= settings.EXPORT_MAX_ATTEMPTS:
            outcome, action = "failed", "export_stale_failed"
            reason = f"no heartbeat from the worker of attempt {job.attempt} for {silent} s; given up"
            changes = {
                "status": ExportStatus.FAILED,
                "failure": ExportFailure.WORKER_LOST,
                "finished_at": now,
                "error": f"worker lost {_runs(job)} times (no heartbeat for {silent} s)",
            }
        else:
            outcome, action = "rerun", "export_stale_rerun"
            reason = f"no heartbeat from the worker of attempt {job.attempt} for {silent} s; run again"
            changes = {
                "status": ExportStatus.QUEUED,
                "attempt": job.attempt + 1,
                "progress": 0,
                "started_at": None,
                "heartbeat_at": now,
            }
        user = job.cancelled_by if outcome == "cancelled" else None
        with audited(user=user, action=action, reason=reason):
            ExportJob.objects.filter(pk=job.pk).update(**changes)
        attempt = changes.get("attempt", job.attempt)
        if outcome != "requeued":
            transaction.on_commit(lambda: _remove_attempts(export_directory(job), below=attempt + 1))
        if changes.get("status", job.status) == ExportStatus.QUEUED:
            transaction.on_commit(lambda: enqueue_run(job.pk, attempt))
    log.warning("export %s: %s", job.pk, reason)
    return outcome


# --- history ------------------------------------------------------------------------------------


def _transition(event, previous) -> str | None:
    """What changed between two consecutive audited states of a job, in the user's language.

    Read from the states rather than the audit context's action: within one web request every event
    shares one context (pghistory), so a request that queued the job and then failed to enqueue it has
    a single action for both events.
    """
    if previous is None:
        if event.retry_of_id:
            return _("Queued as a retry of export %(id)s") % {"id": event.retry_of_id}
        return _("Queued")
    if event.attempt != previous.attempt and event.status == ExportStatus.QUEUED:
        if previous.status == ExportStatus.RUNNING:
            return _("Worker stopped giving signs of life: queued again as attempt %(n)s") % {
                "n": event.attempt
            }
        return _("No worker took it: sent again as attempt %(n)s") % {"n": event.attempt}
    if event.status != previous.status:
        return {
            ExportStatus.RUNNING: _("Running (attempt %(n)s)") % {"n": event.attempt},
            ExportStatus.DONE: _("Succeeded"),
            ExportStatus.FAILED: _("Failed"),
            ExportStatus.CANCELLED: _("Cancelled"),
            ExportStatus.QUEUED: _("Queued"),
        }[event.status]
    if event.cancel_requested_at and not previous.cancel_requested_at:
        return _("Cancel requested")
    return None


def job_history(jobs) -> dict[int, list[dict]]:
    """Each job's transitions from its pghistory events (one query for any number of jobs), oldest
    first, as ``{"at", "username", "label", "detail", "job_id"}``; a retry also appears in the history
    of the job it retries (``job_id`` then names the new job).

    Progress updates carry no audit context and are left out; the heartbeat is not tracked at all.
    """
    from .models import ExportJobEvent

    ids = [job.pk for job in jobs]
    events = (
        ExportJobEvent.objects.filter(Q(pgh_obj_id__in=ids) | Q(retry_of_id__in=ids, pgh_label="created"))
        .filter(Q(pgh_context__isnull=False) | Q(pgh_label="created"))
        .select_related("pgh_context")
        .order_by("pgh_id")
    )
    history: dict[int, list[dict]] = {pk: [] for pk in ids}
    previous: dict[int, object] = {}
    for event in events:
        label = _transition(event, previous.get(event.pgh_obj_id))
        previous[event.pgh_obj_id] = event
        if label is None:
            continue
        metadata = event.pgh_context.metadata if event.pgh_context else {}
        if event.status == ExportStatus.FAILED and event.failure:
            detail = f"{event.get_failure_display()} {event.error}"
        else:
            detail = metadata.get("reason") or ""
        entry = {
            "at": event.pgh_created_at,
            "username": metadata.get("username") or "system",
            "label": label,
            "detail": detail,
            "job_id": event.pgh_obj_id,
        }
        if event.pgh_obj_id in history:
            history[event.pgh_obj_id].append(entry)
        if event.pgh_label == "created" and event.retry_of_id in history:
            history[event.retry_of_id].append(
                {**entry, "label": _("Retried as export %(id)s") % {"id": event.pgh_obj_id}}
            )
    return history

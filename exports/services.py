"""Export workflows: request an export, run it, record a download.

Who may export (``accounts.permissions``):
- sponsor admins and data managers export (``Action.EXPORT``), for the sites they hold it at;
- an *identifiable* export (initials, year of birth, real dates, free text, the audit trail) needs
  ``Action.EXPORT_IDENTIFIABLE`` (sponsor admins) or the Django permission
  ``exports.export_identifiable`` granted to the user in the admin (e.g. to one data manager);
- downloading a job needs the same rights as requesting it; every download is recorded.

Scheduled exports from ``manage.py export`` without ``--user`` run as the system (no person); the
job then says ``requested_via="command"`` and the audit context's user is "system".
"""

import hashlib
import json
import logging
import shutil
import zipfile
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import Action, can, site_ids
from edc.audit import audited
from edc.errors import DomainError
from trials.models import Site, Study

from . import audit_trail, csv_export
from .models import ExportDownload, ExportJob, ExportStatus
from .options import ExportOptions

log = logging.getLogger(__name__)

IDENTIFIABLE_PERMISSION = "exports.export_identifiable"


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
    every_site = set(Site.objects.filter(study_id=study_id).values_list("pk", flat=True))
    identifiable = can_export_identifiable(user)

    def check(options: ExportOptions) -> bool:
        wanted = set(options.site_ids) if options.site_ids is not None else every_site
        if not allowed or not wanted <= allowed:
            return False
        return identifiable or not options.identifiable

    return check


def may_export(user, options: ExportOptions) -> bool:
    return export_checker(user, options.study_id)(options)


def _check(user, options: ExportOptions) -> None:
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
    """Record an export job and queue it for the worker (once the transaction commits)."""
    _check(user, options)
    with audited(user=user, action="export_requested"):
        job = ExportJob.objects.create(
            study_id=options.study_id, requested_by=user, requested_via=via, options=options.to_json()
        )
        if enqueue:
            from .tasks import run_export_task

            transaction.on_commit(lambda: run_export_task.delay(job.pk))
    return job


def record_download(*, user, job: ExportJob, ip_address: str | None = None) -> ExportDownload:
    """Check that ``user`` may download ``job`` and record the download."""
    if not may_export(user, ExportOptions.from_json(job.options)):
        raise PermissionDenied(_("You may not download this export."))
    if job.status != ExportStatus.DONE or not job.zip_path:
        raise DomainError(_("This export has no file to download."))
    with audited(user=user, action="export_downloaded"):
        return ExportDownload.objects.create(job=job, user=user, ip_address=ip_address)


# --- running ------------------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_directory(job: ExportJob) -> Path:
    return Path(settings.EXPORT_ROOT) / f"export-{job.pk}"


class _Progress:
    """Progress of a job, saved when it moves by a step (each save is one audited update)."""

    def __init__(self, job: ExportJob, step: int = 5):
        self.job, self.step, self.saved = job, step, job.progress

    def __call__(self, percent: float) -> None:
        percent = max(0, min(99, int(percent)))
        if percent >= self.saved + self.step:
            ExportJob.objects.filter(pk=self.job.pk).update(progress=percent)
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
            return odm_writer.write_odm(study=study, options=options, path=d / "odm.xml")

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
    return {
        "export_id": job.pk,
        "study": {"nct_id": job.study.nct_id, "code": job.study.code},
        "requested_by": user.username if user else "system",
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
    lines += [f"{f['name']:<50} {f['rows']:>10} {f['bytes']:>12}  {f['sha256']}" for f in data["files"]]
    return "\n".join(lines) + "\n"


def _savepoint():
    """A savepoint when called inside a transaction (a test, a caller's ``atomic``), so a failed
    query can be rolled back and the failure recorded; none in autocommit, where each progress update
    must commit at once to be seen by the page."""
    return transaction.atomic() if connection.in_atomic_block else nullcontext()


def run_export(*, job_id: int) -> ExportJob:
    """Produce the files of a queued job, pack them with their manifest in one zip, record the result.

    A failure is recorded on the job (status failed, with the reason); the partial files are removed.
    """
    job = ExportJob.objects.select_related("study", "requested_by").get(pk=job_id)
    if job.status not in (ExportStatus.QUEUED, ExportStatus.RUNNING):
        return job
    user = job.requested_by
    with audited(user=user, action="export_started"):
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportStatus.RUNNING, started_at=timezone.now(), progress=0
        )
    job.refresh_from_db()
    root = export_directory(job)
    files_dir = root / "files"
    try:
        options = ExportOptions.from_json(job.options)
        shutil.rmtree(root, ignore_errors=True)
        files_dir.mkdir(parents=True)
        steps = _writers(options)
        counts: dict[str, int] = {}
        progress = _Progress(job)
        for index, (sub, write) in enumerate(steps):
            directory = files_dir / sub
            share = 90 / len(steps)

            def step_progress(fraction, index=index, share=share):
                progress(index * share + fraction * share)

            with _savepoint():
                written = write(job.study, directory, step_progress) or {}
            counts.update(_file_counts(directory, written, sub))
            progress((index + 1) * share)
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
        zip_path = root / f"{job.study.code}-export-{job.pk}.zip"
        with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            archive.writestr("manifest.json", json.dumps(data, indent=2, ensure_ascii=False))
            archive.writestr("manifest.txt", manifest_text(data))
            for entry in files:
                archive.write(files_dir / entry["name"], entry["name"])
        shutil.rmtree(files_dir, ignore_errors=True)
        with audited(user=user, action="export_finished"):
            ExportJob.objects.filter(pk=job.pk).update(
                status=ExportStatus.DONE,
                progress=100,
                finished_at=timezone.now(),
                files=files,
                zip_path=str(zip_path),
                zip_sha256=sha256_of(zip_path),
                zip_bytes=zip_path.stat().st_size,
            )
    except Exception as exc:  # noqa: BLE001 - any failure is recorded on the job and shown to the user
        log.exception("export %s failed", job.pk)
        shutil.rmtree(root, ignore_errors=True)
        with audited(user=user, action="export_failed"):
            ExportJob.objects.filter(pk=job.pk).update(
                status=ExportStatus.FAILED,
                finished_at=timezone.now(),
                error=f"{exc.__class__.__name__}: {exc}",
            )
    job.refresh_from_db()
    return job

"""Scheduled exports: run one export now and copy its zip (with the manifest) into a folder.

Without ``--user`` the export runs as the system: whoever may run ``manage.py`` on the server already
holds the whole database, so no role is checked; the job records ``requested_via="command"`` and no
person. With ``--user NAME`` that user's permissions apply exactly as on the page (sites, identifiable
data), and the job is attributed to them.
"""

import shutil
from datetime import date
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from edc.errors import DomainError
from exports import services
from exports.models import ExportStatus
from exports.options import FORMATS, ExportOptions
from trials.models import Site, Study


def _list(value: str | None) -> tuple[str, ...] | None:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else None


class Command(BaseCommand):
    help = "Export the study's data (CSV, ODM, SDTM, audit trail) into one zip with a manifest in --out."

    def add_arguments(self, parser):
        parser.add_argument(
            "--format", default="csv", help=f"comma-separated: {', '.join(FORMATS)} (default csv)"
        )
        parser.add_argument("--out", required=True, help="folder the zip is copied into (created if missing)")
        parser.add_argument(
            "--deidentify", action="store_true", help="no initials, ages, shifted dates, no free text"
        )
        parser.add_argument(
            "--study-days", action="store_true", help="with --deidentify: study days instead of dates"
        )
        parser.add_argument(
            "--no-bom", action="store_true", help="CSV files without the UTF-8 byte-order mark"
        )
        parser.add_argument(
            "--odm-pure", action="store_true", help="ODM without the vendor extension (pure ODM 1.3.2)"
        )
        parser.add_argument("--sites", help="comma-separated site codes (default: all)")
        parser.add_argument("--forms", help="comma-separated form codes (default: all)")
        parser.add_argument("--cutoff", help="data cut-off date, YYYY-MM-DD")
        parser.add_argument("--locked-only", action="store_true", help="locked data only")
        parser.add_argument("--user", help="run as this user, with their permissions (default: the system)")
        parser.add_argument(
            "--study", help="registry id (NCT…) of the study (default: the loaded protocol's)"
        )

    def handle(self, *args, **o):
        studies = Study.objects.filter(nct_id=o["study"]) if o["study"] else Study.objects.all()
        if len(found_studies := list(studies[:2])) != 1:
            raise CommandError("name the study with --study NCT… (none or several are loaded)")
        study = found_studies[0]
        site_ids = None
        if o["sites"]:
            codes = _list(o["sites"])
            found = dict(Site.objects.filter(study=study, code__in=codes).values_list("code", "pk"))
            missing = sorted(set(codes) - set(found))
            if missing:
                raise CommandError(f"unknown site code(s): {', '.join(missing)}")
            site_ids = tuple(sorted(found.values()))
        try:
            cutoff = date.fromisoformat(o["cutoff"]) if o["cutoff"] else None
            options = ExportOptions(
                study_id=study.pk,
                formats=_list(o["format"]) or (),
                site_ids=site_ids,
                form_codes=_list(o["forms"]),
                cutoff=cutoff,
                locked_only=o["locked_only"],
                deidentify=o["deidentify"],
                date_mode="study_day" if o["study_days"] else "shift",
                bom=not o["no_bom"],
                odm_pure=o["odm_pure"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        user = None
        if o["user"]:
            user = get_user_model().objects.filter(username=o["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"no active user {o['user']!r}")
        try:
            job = services.request_export(user=user, options=options, via="command", enqueue=False)
        except (PermissionDenied, DomainError) as exc:
            raise CommandError(str(getattr(exc, "message", exc))) from None
        job = services.run_export(job_id=job.pk)
        if job.status != ExportStatus.DONE:
            raise CommandError(f"export {job.pk} failed: {job.error}")
        out = Path(o["out"])
        out.mkdir(parents=True, exist_ok=True)
        target = out / Path(job.zip_path).name
        shutil.copyfile(job.zip_path, target)
        if services.sha256_of(target) != job.zip_sha256:
            raise CommandError(f"the copy {target} does not match the export's SHA-256")
        self.stdout.write(
            f"Export {job.pk}: {len(job.files)} files, {job.total_rows} rows → {target} "
            f"(sha256 {job.zip_sha256})"
        )

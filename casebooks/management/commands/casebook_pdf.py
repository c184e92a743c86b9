"""Print a participant's casebook (``--participant YC-001 --out casebook.pdf``) or every casebook of a
site (``--site YC --out casebooks.zip``: one PDF per participant with ``casebooks.json`` and the
export's manifest).

Runs the export job in this process (``exports.services.run_export``), so the casebook is recorded as
an export like one printed from the page. Without ``--user`` it runs as the system (whoever runs
``manage.py`` on the server already holds the database); with ``--user NAME`` that user's rights apply
as on the page.
"""

import shutil
import zipfile
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from casebooks import services
from edc.errors import DomainError
from exports import services as export_services
from exports.models import ExportStatus
from trials.models import Participant, Site


class Command(BaseCommand):
    help = (
        "Print the PDF casebook of a participant (--participant) or of every participant of a site (--site)."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--participant", help="study id or screening number (YC-001)")
        which.add_argument("--site", help="site code: every participant of the site, as a zip of PDFs")
        parser.add_argument("--out", required=True, help="the PDF (a participant) or zip (a site) to write")
        parser.add_argument(
            "--language", default="en", choices=["en", "zh-hans"], help="language (default en)"
        )
        parser.add_argument("--user", help="run as this user, with their permissions (default: the system)")

    def handle(self, *args, **o):
        user = None
        if o["user"]:
            user = get_user_model().objects.filter(username=o["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"no active user {o['user']!r}")
        participant = site = None
        if o["participant"]:
            key = o["participant"]
            participant = (
                Participant.objects.filter(Q(study_id=key) | Q(screening_number=key), entered_in_error=False)
                .select_related("site__study")
                .first()
            )
            if participant is None:
                raise CommandError(f"no participant {key!r}")
        else:
            site = Site.objects.filter(code=o["site"]).select_related("study").first()
            if site is None:
                raise CommandError(f"unknown site code {o['site']!r}")
        try:
            job = services.request_casebook(
                user=user,
                participant=participant,
                site=site,
                language=o["language"],
                via="command",
                enqueue=False,
            )
        except (PermissionDenied, DomainError) as exc:
            raise CommandError(str(getattr(exc, "message", exc))) from None
        job = export_services.run_export(job_id=job.pk)
        if job.status != ExportStatus.DONE:
            raise CommandError(f"casebook export {job.pk} failed: {job.error}")
        out = Path(o["out"])
        out.parent.mkdir(parents=True, exist_ok=True)
        if participant is not None:
            with zipfile.ZipFile(job.zip_path) as archive:
                name = next(n for n in archive.namelist() if n.endswith(".pdf"))
                out.write_bytes(archive.read(name))
        else:
            shutil.copyfile(job.zip_path, out)
        self.stdout.write(
            f"Casebook export {job.pk}: {len(job.files)} files → {out} (zip sha256 {job.zip_sha256})"
        )

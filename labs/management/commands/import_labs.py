"""Import a laboratory file from the command line: ``manage.py import_labs FILE --site YC --user NAME``.

Without ``--commit`` (or with ``--dry-run``) it prints the preview, every row with its outcome, and
writes nothing. With ``--commit`` it keeps the file (``LabImport``) and writes its new and differing
values through the lab services, exactly as the page's "Import" button. Changes to clinical data are
attributed to a person, so ``--user`` is required and that user's role and sites apply. Rows outside
every visit window are reported; their visit is picked on the import's page.
"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from edc.errors import DomainError
from labs import importing
from labs.models import ImportFormat, RowOutcome
from trials.models import Site


class Command(BaseCommand):
    help = "Preview (default) or import (--commit) a FHIR R4 bundle or CSV of laboratory results."

    def add_arguments(self, parser):
        parser.add_argument("file", help="a FHIR R4 Bundle (.json) or a CSV in the site's mapping")
        parser.add_argument("--site", required=True, help="site code, e.g. YC")
        parser.add_argument("--user", required=True, help="the user the import is attributed to")
        parser.add_argument(
            "--format", choices=ImportFormat.values, help="fhir or csv (default: from the file's extension)"
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--dry-run", action="store_true", help="print the preview, write nothing (default)")
        mode.add_argument("--commit", action="store_true", help="import the new and differing values")

    def handle(self, *args, **o):
        path = Path(o["file"])
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        site = Site.objects.filter(code=o["site"]).first()
        if site is None:
            raise CommandError(f"unknown site code: {o['site']}")
        user = get_user_model().objects.filter(username=o["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"unknown or inactive user: {o['user']}")
        file_format = o["format"] or (
            ImportFormat.CSV if path.suffix.lower() == ".csv" else ImportFormat.FHIR
        )
        try:
            if o["commit"]:
                lab_import = importing.upload_file(
                    user=user, site=site, file_name=path.name, content=content, file_format=file_format
                )
                self._print(importing.rows_for_display(lab_import))
                lab_import = importing.commit_import(user=user, lab_import=lab_import)
                self.stdout.write(
                    f"Imported {lab_import.written} value(s) from {lab_import.file_name} "
                    f"(sha256 {lab_import.sha256}, import #{lab_import.pk})."
                )
            else:
                self._print(
                    importing.preview_file(user=user, site=site, content=content, file_format=file_format)
                )
                self.stdout.write("Dry run: nothing was written. Add --commit to import.")
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc

    def _print(self, rows):
        for row in rows:
            target = row.visit.code if row.visit_id else ""
            value = f"{row.value_text} {row.unit_text}".strip()
            line = (
                f"{row.number:>6}  {RowOutcome(row.outcome).label:<24} {row.source_id:<20} {row.subject:<12} "
            )
            line += f"{row.analyte or row.code:<12} {value:<16} {target:<8} {row.entered} {row.message}"
            self.stdout.write(line.rstrip())
        counts = {}
        for row in rows:
            counts[row.outcome] = counts.get(row.outcome, 0) + 1
        summary = ", ".join(f"{RowOutcome(k).label}: {v}" for k, v in counts.items())
        self.stdout.write(f"{len(rows)} row(s). {summary}")

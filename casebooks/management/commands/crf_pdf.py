"""The blank CRF (``--out crf.pdf``) or the annotated CRF (``--annotated``) of the loaded study: every
form the protocol schedules, printed from the same form and SDTM mapping definitions as the exports."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from casebooks import render
from trials.models import Study


class Command(BaseCommand):
    help = "Print the blank CRF, or with --annotated the SDTM-annotated CRF, as PDF."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="the PDF to write")
        parser.add_argument(
            "--annotated", action="store_true", help="label each field with its SDTM variable"
        )
        parser.add_argument(
            "--language", default="en", choices=["en", "zh-hans"], help="language (default en)"
        )
        parser.add_argument("--study", help="registry id (NCT…) of the study (default: the only one loaded)")

    def handle(self, *args, **o):
        studies = Study.objects.filter(nct_id=o["study"]) if o["study"] else Study.objects.all()
        if len(found := list(studies[:2])) != 1:
            raise CommandError("name the study with --study NCT… (none or several are loaded)")
        with translation.override(o["language"]):
            content = render.crf_pdf(found[0], annotated=o["annotated"])
        out = Path(o["out"])
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(content)
        self.stdout.write(f"{'Annotated' if o['annotated'] else 'Blank'} CRF → {out} ({len(content)} bytes)")

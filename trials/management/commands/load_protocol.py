from django.core.management.base import BaseCommand

from trials.protocol import ProtocolError, load_file


class Command(BaseCommand):
    help = "Validate and load a protocol file (YAML). Idempotent; a changed file becomes a new version."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        try:
            result = load_file(file)
        except ProtocolError as exc:
            self.stderr.write(f"Protocol not loaded: {exc}")
            raise SystemExit(2) from None
        verb = "Loaded" if result.created else "Unchanged"
        self.stdout.write(
            f"{verb}: {result.study.code} ({result.study.nct_id}) protocol version {result.version.number} "
            f"'{result.version.label}', {result.version.visit_definitions.count()} visits, "
            f"{result.study.sites.count()} sites"
        )

from django.core.management.base import BaseCommand

from labs.reference_data import DEFAULT_FILE, ReferenceDataError, load_file


class Command(BaseCommand):
    help = "Validate and load laboratory reference ranges and site units (YAML). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default=str(DEFAULT_FILE))

    def handle(self, *args, file, **options):
        try:
            result = load_file(file)
        except ReferenceDataError as exc:
            self.stderr.write(f"Reference ranges not loaded: {exc}")
            raise SystemExit(2) from None
        self.stdout.write(
            f"Reference ranges: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged; {result.units} site units added"
        )

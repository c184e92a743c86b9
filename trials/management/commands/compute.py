import json

from django.core.management.base import BaseCommand

from edc.clinical import CalculatorInputError, compute


class Command(BaseCommand):
    help = "Run a clinical calculator: compute NAME 'JSON'. Prints JSON; exit 2 on bad input."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("inputs", help="JSON object of inputs")

    def handle(self, *args, name, inputs, **options):
        try:
            data = json.loads(inputs)
        except json.JSONDecodeError as exc:
            self.stderr.write(f"inputs: not valid JSON ({exc.msg})")
            raise SystemExit(2) from None
        try:
            result = compute(name, data)
        except CalculatorInputError as exc:
            self.stderr.write(f"error: {exc}")
            raise SystemExit(2) from None
        self.stdout.write(json.dumps(result, default=str, sort_keys=True))

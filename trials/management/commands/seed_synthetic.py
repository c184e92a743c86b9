"""Fill the database with synthetic participants and visits, fast: the data of ``make bench``."""

from django.core.management.base import BaseCommand, CommandError

from edc.errors import DomainError
from trials.synthetic import seed_synthetic


class Command(BaseCommand):
    help = (
        "Add synthetic participants (made-up initials) at realistic stages, with their visit schedules. "
        "Demo mode only; refused when the study already has participants unless --append."
    )

    def add_arguments(self, parser):
        parser.add_argument("--participants", type=int, default=1000, help="how many (default 1000)")
        parser.add_argument(
            "--sites", type=int, default=2, help="spread over this many sites; extra ones are S03, S04, …"
        )
        parser.add_argument("--append", action="store_true", help="add to a study that has participants")
        parser.add_argument("--seed", type=int, default=None, help="random seed, for repeatable data")

    def handle(self, *args, participants, sites, append, seed, **options):
        try:
            result = seed_synthetic(participants=participants, sites=sites, append=append, seed=seed)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"Seeded {result.participants} synthetic participants ({result.enrolled} enrolled) and "
            f"{result.visits} visits at {', '.join(result.sites)} in {result.seconds:.1f} s."
        )

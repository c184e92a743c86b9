"""``manage.py restore DIR``: a backup of ``manage.py backup`` into the empty database of
``DATABASE_OWNER_URL`` (else ``DATABASE_URL``). Checks every file's SHA-256 first and refuses a
database that has tables; afterwards compares the restored rows and audit chain head with the
manifest (``edc.backup``). One JSON line; exit 1 when they differ."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from edc import backup


class Command(BaseCommand):
    help = "Restore a backup folder into an empty database, checking its manifest before and after."

    def add_arguments(self, parser):
        parser.add_argument("folder", help="a folder written by manage.py backup")

    def handle(self, *args, folder, **options):
        try:
            summary = backup.restore(folder)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(summary, sort_keys=True))
        if not summary["ok"]:
            sys.exit(1)

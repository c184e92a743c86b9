"""``manage.py backup --out DIR``: the database (pg_dump, custom format), the finished export files and
a manifest with the SHA-256 of each file, the rows of every table and the audit chain head
(``edc.backup``). Prints the manifest's summary as one JSON line."""

import json

from django.core.management.base import BaseCommand, CommandError

from edc import backup


class Command(BaseCommand):
    help = "Back up the database and the export files into a new folder, with a SHA-256 manifest."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="a new or empty folder (one per backup)")

    def handle(self, *args, out, **options):
        try:
            manifest = backup.backup(out)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        summary = {
            "out": out,
            "created_at": manifest["created_at"],
            "files": len(manifest["files"]),
            "bytes": sum(f["bytes"] for f in manifest["files"]),
            "rows": sum(manifest["tables"].values()),
            "audit_chain_head": manifest["audit_chain_head"]["digest"],
        }
        self.stdout.write(json.dumps(summary, sort_keys=True))

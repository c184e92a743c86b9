"""``manage.py verify_audit``: recompute the audit hash chains and compare live records with their history.

Prints one JSON line per break (kind, table, record, what differs) and exits 1, or one JSON summary
line and exits 0. ``--record`` also stores the result (as the daily beat task does).
"""

import sys

from django.core.management.base import BaseCommand

from auditchain import chain


class Command(BaseCommand):
    help = "Verify the audit trail's hash chains and the live records against their newest events."

    def add_arguments(self, parser):
        parser.add_argument("--record", action="store_true", help="store the result (shown on /health/)")

    def handle(self, *args, record=False, **options):
        if record:
            stored = chain.run_and_record()
            breaks, counts, head, ok = stored.breaks, stored.counts, stored.chain_head, stored.ok
        else:
            report = chain.verify()
            breaks, counts, head, ok = report.breaks, report.counts, report.chain_head, report.ok
        for item in breaks:
            self.stdout.write(chain.dumps(item))
        if not ok:
            sys.exit(1)
        self.stdout.write(chain.dumps({"ok": True, "chain_head": head, **counts}))

import json
from datetime import UTC, date, datetime, time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from notifications import services


class Command(BaseCommand):
    help = (
        "Run the reminder scan now, or with --dry-run print what would be sent now as JSON lines and "
        "write nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Print, one JSON object a line; write nothing."
        )
        parser.add_argument(
            "--today",
            type=date.fromisoformat,
            metavar="YYYY-MM-DD",
            help="With --dry-run: as if it were 12:00 UTC on this date (site dates follow from it).",
        )

    def handle(self, *args, dry_run, today, **options):
        if today and not dry_run:
            raise CommandError("--today only goes with --dry-run: a real scan decides at the real time.")
        if not dry_run:
            scan = services.scan_reminders()
            outage = " (broker unavailable: they wait for the next scan)" if scan.enqueue_failed else ""
            self.stdout.write(
                f"Decided {scan.created} reminder(s); enqueued sending for {scan.recipients_enqueued} "
                f"recipient(s){outage}."
            )
            return
        now = datetime.combine(today, time(12), tzinfo=UTC) if today else timezone.now()
        planned = services.plan_reminders(now=now)
        users = get_user_model().objects.in_bulk({p.reminder.recipient_id for p in planned})
        for plan in planned:
            reminder, user = plan.reminder, users[plan.reminder.recipient_id]
            line = {
                "kind": reminder.kind,
                "object_key": reminder.object_key,
                "recipient": user.username,
                "email": user.email,
                "site": reminder.context.get("site_code"),
                "due_on": reminder.due_on.isoformat(),
                "subject": reminder.subject,
                "decision": plan.decision,
                "delivery": plan.delivery,
                "sends_now": plan.sends_now,
            }
            self.stdout.write(json.dumps(line, ensure_ascii=False))

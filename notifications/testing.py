"""An email backend for tests that span processes (a real Celery worker).

It records each message in a table of the same database, inside the sender's transaction: a message
counts only if the transaction that marked its reminders sent committed, which is what exactly-once
means on our side of the SMTP hand-over. ``EDC_TEST_EMAIL_DELAY`` (seconds) slows each message so a
test can kill a worker mid-batch.
"""

import os
import time

from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection

OUTBOX_TABLE = "notifications_test_outbox"


def create_outbox_table():
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {OUTBOX_TABLE} (id bigserial PRIMARY KEY, recipient text NOT NULL, "
            "subject text NOT NULL, reminder_ids text NOT NULL, pid integer NOT NULL, "
            "recorded_at timestamptz NOT NULL DEFAULT now())"
        )


def drop_outbox_table():
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {OUTBOX_TABLE}")


def outbox() -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT recipient, subject, reminder_ids, pid FROM {OUTBOX_TABLE} ORDER BY id")
        return [
            dict(zip(("recipient", "subject", "reminder_ids", "pid"), row, strict=True)) for row in cursor
        ]


class DatabaseOutboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        delay = float(os.environ.get("EDC_TEST_EMAIL_DELAY", "0"))
        with connection.cursor() as cursor:
            for message in email_messages:
                if delay:
                    time.sleep(delay)
                cursor.execute(
                    f"INSERT INTO {OUTBOX_TABLE} (recipient, subject, reminder_ids, pid) "
                    "VALUES (%s, %s, %s, %s)",
                    [
                        ",".join(message.to),
                        message.subject,
                        message.extra_headers.get("X-EDC-Reminders", ""),
                        os.getpid(),
                    ],
                )
        return len(email_messages)

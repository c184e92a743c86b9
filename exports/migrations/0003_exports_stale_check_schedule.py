"""The stale-export check as a django-celery-beat schedule (like the reminder scan): every minute, stored
in the database, editable in the admin. With the default thresholds (heartbeat every 30 s, stale after
5 minutes) a job whose worker died is re-run or failed within 6 minutes."""

from django.db import migrations
from django.utils import timezone

TASK_NAME = "Stale export check (every minute)"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "exports.tasks.recover_stale_exports",
            "interval": every_minute,
            # A check queued behind an outage is superseded by the next one.
            "expire_seconds": 60,
            "description": "Re-runs, fails or cancels export jobs whose worker stopped giving signs of life.",
        },
    )
    # A running beat reloads its schedule when this marker changes.
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("exports", "0002_exports_job_recovery"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]

"""The hourly reminder scan as a django-celery-beat schedule: stored in the database, editable in admin."""

from django.db import migrations
from django.utils import timezone

TASK_NAME = "Reminder scan (hourly)"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    every_hour, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "notifications.tasks.scan_reminders",
            "interval": every_hour,
            # A scan queued behind an outage is superseded by the next one.
            "expire_seconds": 3600,
            "description": "Decides the due visit reminders and enqueues their sending.",
        },
    )
    # A running beat reloads its schedule when this marker changes.
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]

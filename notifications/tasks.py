"""Celery entry points; the work is in services. Beat runs ``scan_reminders`` hourly (schedule in the
database, see migration 0002)."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def scan_reminders() -> int:
    return services.scan_reminders().created


@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=(services.DeliveryFailed,),
    retry_backoff=60,
    retry_backoff_max=3600,
    max_retries=5,
)
def send_reminders(recipient_id: int) -> int:
    return services.send_due_reminders(recipient_id=recipient_id)

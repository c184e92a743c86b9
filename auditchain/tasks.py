from celery import shared_task


@shared_task
def verify_audit_trail() -> bool:
    """Daily: verify the chains, store the result; a break alerts the data managers at once."""
    from notifications.services import scan_reminders

    from .chain import run_and_record

    result = run_and_record()
    if not result.ok:
        scan_reminders()
    return result.ok

"""Celery entry points of exports; the work is in services. Beat runs ``recover_stale_exports`` every
minute (schedule in the database, see migration 0003)."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def run_export_task(job_id: int, attempt: int | None = None) -> str:
    return services.run_export(job_id=job_id, attempt=attempt).status


@shared_task(ignore_result=True)
def recover_stale_exports() -> dict[str, int]:
    return services.recover_stale_exports()

"""Celery entry point of exports; the work is in services."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def run_export_task(job_id: int) -> str:
    return services.run_export(job_id=job_id).status

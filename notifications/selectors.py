"""Reads of notifications: each user sees their own; operations see the scan and the queue."""

from django.shortcuts import get_object_or_404

from .models import Reminder, ReminderScan


def notifications_for(user):
    return Reminder.objects.filter(recipient=user).select_related("site")


def notification_for(user, pk) -> Reminder:
    """The user's own notification, or 404 (someone else's included)."""
    return get_object_or_404(notifications_for(user), pk=pk)


def unread_count(user) -> int:
    return Reminder.objects.filter(recipient=user, read_at__isnull=True).count()


def last_scan() -> ReminderScan | None:
    return ReminderScan.objects.order_by("-started_at").first()


def celery_queue_length(redis_client) -> int:
    """Messages waiting in the default Celery queue (a Redis list of the same name)."""
    from edc.celery import app

    return redis_client.llen(app.conf.task_default_queue)

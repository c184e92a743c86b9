"""When a decided reminder goes out: at once, or in the recipient's daily digest (pure functions)."""

import zoneinfo
from datetime import datetime, time, timedelta

from accounts.models import ReminderDelivery

DEFAULT_DIGEST_HOUR = 8


def last_digest_moment(now: datetime, tz_name: str, hour: int) -> datetime:
    """The latest ``hour``:00 in ``tz_name`` that is not after ``now`` (an aware instant)."""
    zone = zoneinfo.ZoneInfo(tz_name)
    local_date = now.astimezone(zone).date()
    moment = datetime.combine(local_date, time(hour), tzinfo=zone)
    if moment > now:
        moment = datetime.combine(local_date - timedelta(days=1), time(hour), tzinfo=zone)
    return moment


def due_for_sending(
    *, delivery: str, digest_hour: int, tz_name: str, decided_at: datetime, now: datetime
) -> bool:
    """Immediate reminders are due at once; digest reminders at the first digest hour after the decision."""
    if delivery == ReminderDelivery.IMMEDIATE:
        return True
    return decided_at <= last_digest_moment(now, tz_name, digest_hour)

"""Dates as the site sees them: stored instants are UTC, calendars are local to each site."""

import zoneinfo
from datetime import date, datetime

from django.utils import timezone


def site_today(tz_name: str, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(zoneinfo.ZoneInfo(tz_name)).date()


def site_time(instant: datetime, tz_name: str) -> datetime:
    return instant.astimezone(zoneinfo.ZoneInfo(tz_name))

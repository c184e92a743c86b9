"""Small builders for the notification tests: site-local instants, due visits, delivery preferences."""

import zoneinfo
from datetime import date, datetime, time

from accounts.models import ReminderDelivery
from notifications.kinds import ReminderKind
from trials.models import Site


def at_site(site: Site, day: date, hour: int = 9, minute: int = 0) -> datetime:
    """An instant given as the site's wall-clock time."""
    return datetime.combine(day, time(hour, minute), tzinfo=zoneinfo.ZoneInfo(site.timezone))


def due_visit_ids(kind: ReminderKind, study, now: datetime) -> set[int]:
    return set(kind.find_due(study, now).values_list("pk", flat=True))


def prefer(user, delivery: ReminderDelivery, digest_hour: int = 8):
    user.profile.reminder_delivery, user.profile.digest_hour = delivery, digest_hour
    user.profile.save()
    return user


def database_url(connection) -> str:
    """A URL for another process to reach the database this test uses (pytest-django's ``test_…``).

    The embedded server listens on a unix socket, which django-environ keeps in OPTIONS["host"].
    """
    from urllib.parse import quote

    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    socket_dir = (s.get("OPTIONS") or {}).get("host")
    if socket_dir and not s.get("HOST"):
        return f"postgres://{s['USER']}{password}@/{s['NAME']}?host={quote(socket_dir)}"
    host = f"{s.get('HOST') or ''}{':' + str(s['PORT']) if s.get('PORT') else ''}"
    return f"postgres://{s['USER']}{password}@{host}/{s['NAME']}"

"""Audit context for writes: who, why and what action, attached to every pghistory event.

Services wrap each workflow in :func:`audited`, so the web, Celery tasks and commands produce the same
attributable trail. The HTTP middleware of pghistory adds the URL; this adds the rest.
"""

from contextlib import contextmanager

import pghistory
from django.db import DatabaseError, transaction

from .errors import LockedError


@contextmanager
def audited(*, user, action: str, reason: str = ""):
    """One transaction with the audit context of ``user`` doing ``action`` because of ``reason``.

    A write the lock trigger refuses rolls the transaction back and becomes a ``LockedError`` (a domain
    error with the lock's message), so a service that forgot to check a lock still answers clearly.
    """
    try:
        with (
            transaction.atomic(),
            pghistory.context(
                user=getattr(user, "pk", None),
                username=getattr(user, "username", None) or "system",
                action=action,
                reason=reason or "",
            ),
        ):
            yield
    except DatabaseError as exc:
        locked = LockedError.from_database(exc)
        if locked is None:
            raise
        raise locked from exc

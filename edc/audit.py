"""Audit context for writes: who, why and what action, attached to every pghistory event.

Services wrap each workflow in :func:`audited`, so the web, Celery tasks and commands produce the same
attributable trail. The HTTP middleware of pghistory adds the URL; this adds the rest.
"""

from contextlib import contextmanager

import pghistory
from django.db import transaction


@contextmanager
def audited(*, user, action: str, reason: str = ""):
    """One transaction with the audit context of ``user`` doing ``action`` because of ``reason``."""
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

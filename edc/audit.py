"""Audit context for writes: who, why and what action, attached to every pghistory event.

Services wrap each workflow in :func:`audited`, so the web, Celery tasks and commands produce the same
attributable trail. The HTTP middleware of pghistory adds the URL; this adds the rest.
"""

import threading
import uuid
from contextlib import contextmanager

import pghistory
from django.db import DatabaseError, transaction
from pghistory import runtime

from .errors import LockedError

_audited = threading.local()  # whether this thread is inside an audited block


@contextmanager
def audited(*, user, action: str, reason: str = "", separate: bool = False):
    """One transaction with the audit context of ``user`` doing ``action`` because of ``reason``.

    A write the lock trigger refuses rolls the transaction back and becomes a ``LockedError`` (a domain
    error with the lock's message), so a service that forgot to check a lock still answers clearly.

    Inside another audited block the events join the enclosing context, whose action and reason the
    inner ones replace (a form and its rows saved by nested workflows share one context: ``edc.merge``
    reads a form's rows at a version through it). ``separate=True`` gives a nested block a context of
    its own instead, for a step whose reason differs from its neighbours': a lab import saves each
    differing value with its own "imported from <file>, row <n>", which, merged, would become the
    reason of every change of the import.
    """
    metadata = {
        "user": getattr(user, "pk", None),
        "username": getattr(user, "username", None) or "system",
        "action": action,
        "reason": reason or "",
    }
    try:
        with transaction.atomic(), _own_context(metadata, separate=separate):
            yield
    except DatabaseError as exc:
        locked = LockedError.from_database(exc)
        if locked is None:
            raise
        raise locked from exc


@contextmanager
def _own_context(metadata: dict, *, separate: bool = False):
    """A context of its own for one audited transaction.

    pghistory shares one context (one ``pghistory_context`` row) per request and merges a nested
    context's metadata into it, so a second workflow in the same request would rewrite the who/why of
    the first one's events; the database refuses that (``pghistory_context`` is append-only once its
    transaction has committed, ``edc.dbroles``). Each audited block therefore records under a fresh
    context id that carries the request's metadata (the URL) plus its own.
    """
    if getattr(_audited, "depth", 0):
        outer = runtime._tracker.value
        if separate:  # its own context, in the same transaction; the enclosing one is left as it was
            runtime._tracker.value = runtime.Context(id=uuid.uuid4(), metadata={**outer.metadata, **metadata})
            try:
                yield
            finally:
                runtime._tracker.value = outer
            return
        # A workflow called inside another one: the same transaction, so the same context, as
        # pghistory nests it (the inner action and reason are added to it).
        outer.metadata.update(metadata)
        yield
        return
    outer = getattr(runtime._tracker, "value", None)
    _audited.depth = 1
    try:
        if outer is None:
            with pghistory.context(**metadata):
                yield
        else:
            runtime._tracker.value = runtime.Context(id=uuid.uuid4(), metadata={**outer.metadata, **metadata})
            try:
                yield
            finally:
                runtime._tracker.value = outer
    finally:
        _audited.depth = 0

"""The safety tests never reach a Celery worker unless marked ``worker``: the tasks are recorded."""

import pytest

# The real-worker fixtures (a Redis broker flushed around the test, the database outbox, the workers).
from tests.notifications.test_worker_exactly_once import broker, outbox_table, workers  # noqa: F401


@pytest.fixture(autouse=True)
def enqueued(request, monkeypatch):
    calls = []
    if request.node.get_closest_marker("worker") is None:
        from notifications.tasks import scan_reminders, send_reminders

        monkeypatch.setattr(send_reminders, "apply_async", lambda args=(), **kw: calls.append(("send", args)))
        monkeypatch.setattr(scan_reminders, "apply_async", lambda args=(), **kw: calls.append(("scan", args)))
    return calls

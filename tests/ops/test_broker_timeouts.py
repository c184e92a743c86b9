"""A request that needs the broker answers within 5 s with a clear message when the broker is stopped or
frozen, never a 500 and never a hang (issue 14)."""

import time

import pytest
from django.urls import reverse

from edc.celery import app
from exports.models import ExportJob


@pytest.fixture
def broker_at():
    """Point the Celery app's producer pool at another broker for the test, then back."""
    original = app.conf.broker_url

    def use(url):
        app.conf.broker_url = url
        app._pool = None
        app.amqp._producer_pool = None

    yield use
    use(original)


@pytest.fixture(params=["stopped", "frozen"])
def broken_broker(request, broker_at):
    broker_at(request.getfixturevalue(f"{request.param}_redis_url"))


def test_enqueueing_fails_within_five_seconds_with_a_broker_error(broken_broker):
    from exports.tasks import run_export_task

    started = time.monotonic()
    with pytest.raises(Exception) as raised:  # noqa: PT011 - the kind is checked below
        run_export_task.delay(0)
    assert time.monotonic() - started < 5
    from edc.middleware import BROKER_ERRORS

    assert isinstance(raised.value, BROKER_ERRORS), repr(raised.value)


def test_requesting_an_export_with_the_broker_down_answers_within_five_seconds_without_a_500(
    client, transactional_db, sponsor_admin, study, broken_broker
):
    client.force_login(sponsor_admin)
    started = time.monotonic()
    response = client.post(
        reverse("export_new"), {"formats": ["csv"], "date_mode": "shift", "deidentify": "on"}
    )
    elapsed = time.monotonic() - started
    assert elapsed < 5, elapsed
    # The form was valid, so the job was recorded and its enqueueing reached the broker.
    assert ExportJob.objects.count() == 1
    # What becomes of the job is the export's own business (a message on the list, or this page).
    assert response.status_code in (302, 503), response.status_code
    if response.status_code == 503:
        assert "Background tasks unavailable" in response.content.decode()

"""Visits placed on exact window dates, and a second study in a DST time zone."""

from datetime import date

import pytest

from accounts.models import Role
from accounts.services import create_user, grant_membership
from tests.conftest import PASSWORD, ROOT, make_participant
from trials.models import Site
from trials.protocol import load_file
from visits.models import Visit

EXAMPLE_PROTOCOL = ROOT / "protocols" / "examples" / "example-ra-small.yaml"


@pytest.fixture
def place_visit(coordinator):
    """A pending visit of a new enrolled participant, its window moved to ``start``..``end``.

    The participant's other visits are set aside (not applicable) so each test sees one window.
    """

    def place(site, start: date, end: date, *, code="D28", user=None) -> Visit:
        participant = make_participant(user or coordinator, site)
        visit = participant.visits.get(code=code)
        Visit.objects.filter(pk=visit.pk).update(window_start=start, window_end=end, target_date=start)
        participant.visits.exclude(pk=visit.pk).filter(visit_date__isnull=True).update(not_applicable=True)
        return Visit.objects.select_related("participant__site").get(pk=visit.pk)

    return place


@pytest.fixture
def site_staff(coordinator, investigator):
    return [coordinator, investigator]


@pytest.fixture
def berlin(db):
    """The example protocol's single site, in Europe/Berlin, with a coordinator and an investigator."""
    study = load_file(EXAMPLE_PROTOCOL).study
    site = Site.objects.get(study=study, code="EX")
    staff = []
    for role in (Role.COORDINATOR, Role.INVESTIGATOR):
        user = create_user(username=f"ex-{role}", password=PASSWORD, email=f"ex-{role}@example.invalid")
        grant_membership(by=None, user=user, study=study, role=role, site=site)
        staff.append(user)
    return site, staff


@pytest.fixture(autouse=True)
def enqueued(request, monkeypatch):
    """Recipient ids the scan asked the workers to send to (the worker tests use the real broker)."""
    calls = []
    if request.node.get_closest_marker("worker") is None:
        from notifications.tasks import send_reminders

        monkeypatch.setattr(send_reminders, "apply_async", lambda args, **options: calls.append(args[0]))
    return calls

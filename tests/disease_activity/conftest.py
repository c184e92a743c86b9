from datetime import timedelta

import pytest

from crfs.registry import FORMS
from crfs.services import save_form
from tests.conftest import make_participant, today_at


@pytest.fixture
def baseline(coordinator, site_yc):
    """The baseline visit of an enrolled participant, its window closing today."""
    today = today_at(site_yc)
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=10), planned=today + timedelta(days=5)
    )
    return p.visits.get(code="BL")


@pytest.fixture
def day28(coordinator, site_yc):
    """The Day 28 visit of a participant infused 28 days ago, after lymphodepletion on day −5."""
    today = today_at(site_yc)
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=45), infused=today - timedelta(days=28)
    )
    p.lymphodepletion_start_date = p.infusion_date - timedelta(days=5)
    p.save(update_fields=["lymphodepletion_start_date"])
    return p.visits.get(code="D28")


@pytest.fixture
def save(coordinator):
    """save(code, visit, instance=None, **data): the form service as site staff use it."""

    def run(code, visit, instance=None, *, user=None, complete=False, reason="", **data):
        return save_form(
            user=user or coordinator,
            spec=FORMS[code],
            visit=visit,
            data=data,
            instance=instance,
            complete=complete,
            reason=reason,
        )

    return run

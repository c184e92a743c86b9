"""Participants at the stages the forms need."""

from datetime import timedelta
from decimal import Decimal

import pytest

from crfs.registry import FORMS
from crfs.services import save_form
from tests.conftest import make_participant, today_at
from trials import services
from visits.services import add_unscheduled_visit


@pytest.fixture
def today(site_yc):
    return today_at(site_yc)


@pytest.fixture
def consented(coordinator, site_yc, today):
    """A consented participant in screening, with the screening visit to enter forms at."""
    return make_participant(coordinator, site_yc, stage="consented", screened=today - timedelta(days=5))


@pytest.fixture
def screening_visit(consented):
    return consented.visits.get(code="SCR")


@pytest.fixture
def baseline(coordinator, site_yc, today):
    """The baseline visit of an enrolled participant, its window closing today."""
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=10), planned=today + timedelta(days=5)
    )
    return p.visits.get(code="BL")


@pytest.fixture
def enrolled(coordinator, site_yc, today):
    """Enrolled 20 days ago, infusion planned in 5 days, height and weight recorded at baseline."""
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=20), planned=today + timedelta(days=5)
    )
    baseline = p.visits.get(code="BL")
    save_form(
        user=coordinator,
        spec=FORMS["vital_signs"],
        visit=baseline,
        data={
            "assessed_on": today - timedelta(days=15),
            "weight_kg": Decimal("70.0"),
            "height_cm": Decimal("170.0"),
        },
    )
    return p


@pytest.fixture
def infused(coordinator, site_yc, today):
    """Infused 10 days ago."""
    return make_participant(
        coordinator, site_yc, screened=today - timedelta(days=40), infused=today - timedelta(days=10)
    )


@pytest.fixture
def unscheduled(coordinator, infused, today):
    return add_unscheduled_visit(user=coordinator, participant=infused, visit_date=today, reason="phone call")


def infuse(user, participant, day):
    return services.record_infusion(user=user, participant=participant, infusion_date=day)

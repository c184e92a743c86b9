"""A participant at Baseline with the default reference ranges loaded, and a panel-saving helper."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from labs.reference_data import DEFAULT_FILE, load_file
from labs.services import ResultEntry, save_panel
from tests.conftest import make_participant, today_at


@pytest.fixture
def ranges(study):
    return load_file(DEFAULT_FILE)


@pytest.fixture
def baseline(coordinator, site_yc, ranges):
    """Baseline visit (window: the last two days) of a woman born in 1985 at site YC."""
    today = today_at(site_yc)
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=10), planned=today + timedelta(days=5)
    )
    return p.visits.get(code="BL")


def an_hour_ago():
    return timezone.now() - timedelta(hours=1)


def entry(code, value=None, unit="", **kwargs):
    return ResultEntry(code, None if value is None else Decimal(str(value)), unit, **kwargs)


def save(user, visit, results, *, panel="haematology", collected_at=None, **kwargs):
    data = {"collected_at": collected_at or an_hour_ago(), "laboratory": "Site laboratory", "source": "local"}
    return save_panel(user=user, visit=visit, panel=panel, data=data, results=results, **kwargs)


def result(panel, code):
    return panel.results.get(analyte=code)

from decimal import Decimal

import pytest

from crfs.registry import FORMS
from crfs.services import save_form


@pytest.fixture
def vitals(coordinator, participant):
    visit = participant.visits.get(code="BL")
    return save_form(
        user=coordinator,
        spec=FORMS["vital_signs"],
        visit=visit,
        data={"heart_rate": 72, "temperature_c": Decimal("36.8")},
    )


@pytest.fixture
def other_vitals(coordinator_cd, other_site_participant):
    visit = other_site_participant.visits.get(code="BL")
    return save_form(user=coordinator_cd, spec=FORMS["vital_signs"], visit=visit, data={"heart_rate": 70})

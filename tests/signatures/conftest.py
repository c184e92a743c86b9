"""A participant with a visit ready to sign: an unscheduled visit (the protocol expects no particular
form there) holding one complete vital signs form."""

from datetime import timedelta
from decimal import Decimal

import pytest

from crfs.registry import FORMS
from crfs.services import save_form
from signatures import services
from tests.conftest import PASSWORD, today_at
from visits.services import add_unscheduled_visit

VITALS = {
    "temperature_c": Decimal("36.8"),
    "heart_rate": 72,
    "systolic_bp": 118,
    "diastolic_bp": 76,
    "weight_kg": Decimal("70.0"),
}


def complete_vitals(user, visit, **overrides):
    data = {"assessed_on": visit.visit_date, **VITALS, **overrides}
    return save_form(user=user, spec=FORMS["vital_signs"], visit=visit, data=data, complete=True)


def ready_visit(user, participant, *, days_ago=1):
    visit = add_unscheduled_visit(
        user=user,
        participant=participant,
        visit_date=today_at(participant.site) - timedelta(days=days_ago),
        reason="Flare review",
    )
    complete_vitals(user, visit)
    return visit


@pytest.fixture
def visit(coordinator, participant):
    return ready_visit(coordinator, participant)


@pytest.fixture
def vitals(visit):
    return FORMS["vital_signs"].model.objects.get(visit=visit)


@pytest.fixture
def signing_request(rf):
    return rf.post("/", REMOTE_ADDR="127.0.0.1")


@pytest.fixture
def signed_visit(investigator, visit, signing_request):
    return services.sign_visit(user=investigator, visit=visit, password=PASSWORD, request=signing_request)


def only_unscheduled_visits(participant):
    """Test set-up, not a workflow: the scheduled visits are taken out of the way (not applicable),
    so that the casebook holds the unscheduled visits only."""
    participant.visits.filter(unscheduled=False).update(visit_date=None, not_applicable=True)


@pytest.fixture
def casebook_participant(coordinator, participant, visit):
    only_unscheduled_visits(participant)
    return participant

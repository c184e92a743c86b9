import pytest
from rest_framework.test import APIClient

from api import services
from api.models import TokenScope


@pytest.fixture
def token_client():
    """``token_client(user, scope=…)``: an API client sending a new personal token of ``user``."""

    def make(user, *, scope=TokenScope.READ_WRITE, days=30):
        created = services.create_token(user=user, name="test client", scope=scope, days=days)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {created.raw}")
        client.token = created
        return client

    return make


@pytest.fixture
def vitals(coordinator, participant):
    """Vital signs at the YC participant's baseline, saved through the form service."""
    from crfs.registry import FORMS
    from crfs.services import save_form

    baseline = participant.visits.get(code="BL")
    return save_form(user=coordinator, spec=FORMS["vital_signs"], visit=baseline, data={"heart_rate": 72})

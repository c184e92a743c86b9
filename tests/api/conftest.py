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

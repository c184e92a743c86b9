from datetime import timedelta

import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccessEvent
from tests.conftest import PASSWORD


def login(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_every_page_requires_login(client, db):
    response = client.get(reverse("participant_list"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_login_works_and_is_logged(client, coordinator):
    response = login(client, "coordinator", PASSWORD)
    assert response.status_code == 302
    assert AccessEvent.objects.filter(kind="login", username="coordinator").exists()


def test_five_failed_logins_lock_the_account(client, coordinator):
    for _ in range(5):
        login(client, "coordinator", "wrong-password")
    assert AccessEvent.objects.filter(kind="login_failed", username="coordinator").count() == 5
    response = login(client, "coordinator", PASSWORD)
    assert response.status_code == 429
    assert "locked" in response.content.decode().lower()
    assert "_auth_user_id" not in client.session


def test_four_failed_logins_do_not_lock_the_account(client, coordinator):
    for _ in range(4):
        login(client, "coordinator", "wrong-password")
    assert login(client, "coordinator", PASSWORD).status_code == 302


def test_an_idle_session_expires_after_30_minutes(client, coordinator):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        login(client, "coordinator", PASSWORD)
        assert client.get(reverse("home")).status_code == 200
    with time_machine.travel(start + timedelta(minutes=29), tick=False):
        assert client.get(reverse("home")).status_code == 200  # activity renews the session
    with time_machine.travel(start + timedelta(minutes=29 + 31), tick=False):
        response = client.get(reverse("home"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_passwords_are_hashed_with_argon2_in_production():
    from edc.settings import base

    assert base.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_forms_are_refused_without_a_csrf_token(coordinator, site_yc):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(coordinator)
    response = client.post(reverse("participant_screen"), {"site": site_yc.pk})
    assert response.status_code == 403
    assert "expired" in response.content.decode().lower()


def test_access_events_are_append_only(coordinator, client):
    import pytest
    from django.db import transaction
    from django.db.utils import ProgrammingError as InternalError

    login(client, "coordinator", PASSWORD)
    with pytest.raises(InternalError, match="Cannot update or delete rows"), transaction.atomic():
        AccessEvent.objects.all().delete()

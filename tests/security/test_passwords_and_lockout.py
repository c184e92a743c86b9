"""Weak passwords are refused wherever a password is set, and a lockout ends the account's open sessions
(issue 15: "pwtest3pwtest3" was accepted for user "pwtest3"; a locked-out user's sessions kept working)."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.services import end_sessions
from tests.conftest import PASSWORD


@pytest.mark.parametrize(
    "password",
    [
        "pwtest3pwtest3",  # the user name twice
        "Xk9#mQ2$vL",  # strong but 10 characters
        "password1234",  # common
        "738204619385",  # numeric
    ],
)
def test_weak_passwords_are_refused(db, password):
    with pytest.raises(ValidationError) as refused:
        validate_password(password, user=get_user_model()(username="pwtest3"))
    assert refused.value.messages


def test_a_long_unrelated_password_is_accepted(db):
    validate_password("amber-kettle-orbit-57", user=get_user_model()(username="pwtest3"))


def test_the_admin_refuses_a_weak_password_for_a_new_user(client, sponsor_admin):
    client.force_login(sponsor_admin)
    response = client.post(
        reverse("admin:auth_user_add"),
        {
            "username": "pwtest3",
            "password1": "pwtest3pwtest3",
            "password2": "pwtest3pwtest3",
            "usable_password": "true",
        },
    )
    assert response.status_code == 200
    assert not get_user_model().objects.filter(username="pwtest3").exists()


def test_a_lockout_ends_the_users_other_sessions(coordinator):
    signed_in = Client()
    assert (
        signed_in.post(reverse("login"), {"username": "coordinator", "password": PASSWORD}).status_code == 302
    )
    assert signed_in.get(reverse("home")).status_code == 200
    attacker = Client()
    for _ in range(5):
        attacker.post(reverse("login"), {"username": "coordinator", "password": "wrong-password"})
    response = signed_in.get(reverse("home"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_failed_logins_below_the_limit_leave_sessions_alone(coordinator):
    signed_in = Client()
    signed_in.force_login(coordinator)
    attacker = Client()
    for _ in range(4):
        attacker.post(reverse("login"), {"username": "coordinator", "password": "wrong-password"})
    assert signed_in.get(reverse("home")).status_code == 200


def test_ending_sessions_leaves_other_users_signed_in(coordinator, monitor):
    mine, theirs = Client(), Client()
    mine.force_login(coordinator)
    theirs.force_login(monitor)
    assert end_sessions(username="coordinator") == 1
    assert mine.get(reverse("home")).status_code == 302
    assert theirs.get(reverse("home")).status_code == 200

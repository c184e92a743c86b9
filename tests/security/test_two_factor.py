"""Two-factor sign-in: sponsor admins, data managers and investigators give a TOTP code after the password
(enrolling first), others may; a wrong code counts towards the lockout (issue 15)."""

import re
import time

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AccessEvent, Role
from tests.conftest import PASSWORD

REQUIRED = [Role.SPONSOR_ADMIN, Role.DATA_MANAGER, Role.INVESTIGATOR]
OPTIONAL = [Role.COORDINATOR, Role.MONITOR, Role.AUDITOR]


@pytest.fixture
def required(settings):
    settings.EDC_REQUIRE_2FA = True


def code(device, steps_ahead=0) -> str:
    """The code an authenticator app shows now (or ``steps_ahead`` periods later)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def sign_in(client, username):
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client.get(reverse("home"))


def user_with_role(make_user, site_yc, role):
    site = None if role in (Role.SPONSOR_ADMIN, Role.DATA_MANAGER, Role.AUDITOR) else site_yc
    return make_user(role, site)


def enrol(client, user) -> tuple[TOTPDevice, list[str]]:
    response = client.get(reverse("two_factor_enrol"))
    assert response.status_code == 200
    device = TOTPDevice.objects.get(user=user)
    response = client.post(reverse("two_factor_enrol"), {"token": code(device), "next": "/home/"})
    assert response.status_code == 200
    return device, response.context["codes"]


@pytest.mark.parametrize("role", REQUIRED)
def test_the_three_roles_must_enrol_before_anything_else(client, required, make_user, site_yc, role):
    user = user_with_role(make_user, site_yc, role)
    response = sign_in(client, user.username)
    assert response.status_code == 302 and response["Location"].startswith(reverse("two_factor_enrol"))
    assert client.get(reverse("participant_list")).status_code == 302


@pytest.mark.parametrize("role", OPTIONAL)
def test_other_roles_sign_in_with_the_password_alone(client, required, make_user, site_yc, role):
    user = user_with_role(make_user, site_yc, role)
    assert sign_in(client, user.username).status_code == 200


@pytest.mark.parametrize("role", REQUIRED)
def test_with_the_setting_off_the_three_roles_sign_in_with_the_password_alone(
    client, make_user, site_yc, role
):
    user = user_with_role(make_user, site_yc, role)
    assert sign_in(client, user.username).status_code == 200


def test_a_forced_login_is_not_a_verified_one_when_the_setting_is_on(client, required, investigator):
    client.force_login(investigator)
    response = client.get(reverse("participant_list"))
    assert response.status_code == 302 and reverse("two_factor_enrol") in response["Location"]


def test_the_enrolment_page_draws_the_qr_code_itself_and_shows_the_secret(client, required, investigator):
    sign_in(client, "investigator")
    body = client.get(reverse("two_factor_enrol")).content.decode()
    device = TOTPDevice.objects.get(user=investigator)
    assert "<svg" in body and "<img" not in body
    secret = re.search(r'id="totp-secret"[^>]*>([A-Z2-7]+)<', body).group(1)
    import base64

    assert base64.b32decode(secret) == device.bin_key


def test_enrol_then_sign_in_again_with_a_code(required, investigator):
    first = Client()
    sign_in(first, "investigator")
    device, codes = enrol(first, investigator)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert first.get(reverse("home")).status_code == 200  # verified by the confirmation
    second = Client()
    response = sign_in(second, "investigator")
    assert response.status_code == 302 and response["Location"].startswith(reverse("two_factor_verify"))
    response = second.post(
        reverse("two_factor_verify"), {"token": code(device, steps_ahead=1), "next": "/home/"}
    )
    assert response.status_code == 302 and response["Location"] == "/home/"
    assert second.get(reverse("participant_list")).status_code == 200


def test_a_code_is_accepted_once(required, investigator):
    first = Client()
    sign_in(first, "investigator")
    device, _codes = enrol(first, investigator)
    token = code(device, steps_ahead=1)
    second, third = Client(), Client()
    sign_in(second, "investigator")
    assert second.post(reverse("two_factor_verify"), {"token": token}).status_code == 302
    sign_in(third, "investigator")
    assert third.post(reverse("two_factor_verify"), {"token": token}).status_code == 400


def test_a_recovery_code_signs_in_once(required, investigator):
    first = Client()
    sign_in(first, "investigator")
    _device, codes = enrol(first, investigator)
    second, third = Client(), Client()
    sign_in(second, "investigator")
    assert second.post(reverse("two_factor_verify"), {"token": codes[0].upper()}).status_code == 302
    assert second.get(reverse("home")).status_code == 200
    sign_in(third, "investigator")
    assert third.post(reverse("two_factor_verify"), {"token": codes[0]}).status_code == 400


def test_a_coordinator_who_enrolled_is_asked_for_the_code_too(required, coordinator):
    first = Client()
    assert sign_in(first, "coordinator").status_code == 200
    enrol(first, coordinator)
    response = sign_in(Client(), "coordinator")
    assert response.status_code == 302 and reverse("two_factor_verify") in response["Location"]


def test_wrong_codes_count_towards_the_lockout_and_end_the_session(required, investigator):
    first = Client()
    sign_in(first, "investigator")
    device, _codes = enrol(first, investigator)
    client = Client()
    sign_in(client, "investigator")
    for _ in range(4):
        assert client.post(reverse("two_factor_verify"), {"token": "000000"}).status_code == 400
    response = client.post(reverse("two_factor_verify"), {"token": "000001"})
    assert response.status_code == 429
    assert AccessEvent.objects.filter(kind="login_failed", username="investigator").count() == 5
    assert "_auth_user_id" not in client.session
    assert first.get(reverse("home")).status_code == 302  # the enrolled session ended too
    # Locked: even the right password and code do not get in.
    response = client.post(reverse("login"), {"username": "investigator", "password": PASSWORD})
    assert response.status_code == 429


def test_a_wrong_code_at_enrolment_is_refused(client, required, investigator):
    sign_in(client, "investigator")
    client.get(reverse("two_factor_enrol"))
    assert client.post(reverse("two_factor_enrol"), {"token": "12345x"}).status_code == 400
    assert not TOTPDevice.objects.get(user=investigator).confirmed
    assert AccessEvent.objects.filter(kind="login_failed", username="investigator").count() == 1


def test_the_verify_page_does_not_redirect_elsewhere(required, investigator):
    first = Client()
    sign_in(first, "investigator")
    device, _codes = enrol(first, investigator)
    client = Client()
    sign_in(client, "investigator")
    response = client.post(
        reverse("two_factor_verify"), {"token": code(device, steps_ahead=1), "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("home")


def test_production_settings_require_two_factor_and_the_demo_does_not():
    from edc.settings import base, dev

    assert base.EDC_REQUIRE_2FA is True
    assert dev.EDC_REQUIRE_2FA is False


def test_the_two_factor_pages_are_translated(client, required, investigator):
    from django.utils import translation

    from accounts.services import set_language

    set_language(user=investigator, language="zh-hans")
    try:
        sign_in(client, "investigator")
        body = client.get(reverse("two_factor_enrol")).content.decode()
    finally:
        translation.activate("en")  # the request left Chinese active in this thread
    assert "设置双因素登录" in body and "请用身份验证器应用" in body


def test_the_demo_says_its_logins_are_password_only_and_its_sponsor_admin_reaches_the_admin(seeded_demo):
    import io

    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "Two-factor sign-in is off in the demo (EDC_REQUIRE_2FA): password-only logins." in out.getvalue()
    admin = get_user_model().objects.get(username="sponsoradmin")
    assert admin.is_staff and admin.has_perm("accounts.add_membership")
    assert not admin.has_perm("django_celery_beat.change_periodictask")

"""Debian's chromium, driven by Playwright: an investigator enrols an authenticator and signs in with a
TOTP code after the password; the code is computed here from the secret the page shows."""

import base64
import time

import pytest
from django_otp.oath import TOTP

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def totp(secret: str, steps_ahead: int = 0) -> str:
    generator = TOTP(base64.b32decode(secret), step=30, digits=6)
    generator.time = time.time() + 30 * steps_ahead
    return f"{generator.token():06d}"


def test_an_investigator_enrols_and_signs_in_with_a_code(page, live_server, settings, investigator):
    settings.EDC_REQUIRE_2FA = True

    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", "investigator")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/two-factor/enrol/**")
    assert page.locator(".edc-qr svg").count() == 1
    secret = page.inner_text("#totp-secret").strip()
    page.fill("input[name=token]", totp(secret))
    page.click("button:has-text('Confirm')")
    page.wait_for_selector("h1:has-text('Two-factor sign-in is set up')")
    assert page.locator("#recovery-codes li").count() == 10
    page.click("a:has-text('Continue')")
    page.wait_for_url("**/home/")

    page.click("button:has-text('Log out')")
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", "investigator")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/two-factor/?**")
    page.fill("input[name=token]", "000000")
    page.click("button:has-text('Verify')")
    page.wait_for_selector("text=The code is not correct.")
    time.sleep(1.1)  # django-otp throttles a device for a second after a wrong code
    page.fill("input[name=token]", totp(secret, steps_ahead=1))
    page.click("button:has-text('Verify')")
    page.wait_for_url("**/home/")
    assert "Participants" in page.inner_text("nav")

"""Two-factor sign-in: a TOTP code from an authenticator app after the password, or a recovery code.

Required (``EDC_REQUIRE_2FA``) for the roles that can change the study's course or its data at scale:
sponsor admins (users and roles), data managers (locks, exports) and investigators (signatures, DLT
decisions); any other user may enrol, and is then asked for a code too. With the setting off (the
demo of ``make run``) nobody is asked.

A wrong code is a failed login for django-axes (the ``user_login_failed`` signal): it is recorded as an
access event and counts towards the account lockout, and django-otp throttles each device on top.
E-signatures are not affected: they re-enter the password (``services.confirm_password``).
"""

import base64
import io
from dataclasses import dataclass

import django_otp
import segno
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import Role
from .permissions import roles

REQUIRED_ROLES = frozenset({Role.SPONSOR_ADMIN, Role.DATA_MANAGER, Role.INVESTIGATOR})
RECOVERY_CODES = 10
DEVICE_NAME = "authenticator"
RECOVERY_NAME = "recovery codes"


def enforced() -> bool:
    return settings.EDC_REQUIRE_2FA


def is_required(user) -> bool:
    """Must ``user`` sign in with a second factor (the setting on, and one of the three roles or access
    to the Django admin)?"""
    if not enforced() or not user.is_authenticated:
        return False
    return user.is_staff or user.is_superuser or bool(roles(user) & REQUIRED_ROLES)


def has_device(user) -> bool:
    return django_otp.user_has_device(user, confirmed=True)


def pending_step(user) -> str | None:
    """What a signed-in user must do before using the EDC: ``"verify"``, ``"enrol"`` or nothing."""
    if not enforced() or not user.is_authenticated or user.is_verified():
        return None
    if has_device(user):
        return "verify"
    if is_required(user):
        return "enrol"
    return None


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    secret: str  # base32, for typing into an authenticator app
    qr_svg: str  # inline SVG of the otpauth:// URL, made here (no image service sees the secret)


def start_enrolment(user) -> Enrolment:
    """The user's unconfirmed authenticator (created once, kept until confirmed), with its QR code."""
    device = TOTPDevice.objects.devices_for_user(user, confirmed=False).filter(name=DEVICE_NAME).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    secret = base64.b32encode(device.bin_key).decode()
    out = io.BytesIO()
    qr = segno.make(device.config_url, error="m")
    qr.save(out, kind="svg", scale=5, xmldecl=False, svgns=True, border=2)
    return Enrolment(device=device, secret=secret, qr_svg=out.getvalue().decode())


def confirm_enrolment(*, user, device: TOTPDevice, token: str, request) -> list[str] | None:
    """Confirm the authenticator with a first code; return the new recovery codes (shown once).

    ``None`` when the code is wrong (a failed login, as at sign-in). The session counts as verified
    from then on.
    """
    if device.user_id != user.pk or device.confirmed:
        return None
    if not _verify(device, token):
        failed(user=user, request=request)
        return None
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = replace_recovery_codes(user)
    django_otp.login(request, device)
    return codes


def replace_recovery_codes(user) -> list[str]:
    """A fresh set of single-use recovery codes; earlier ones stop working."""
    with transaction.atomic():
        device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_NAME)
        device.token_set.all().delete()
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def verify(*, user, token: str, request) -> bool:
    """Check a code after the password: six digits from the authenticator, or a recovery code.

    A wrong code is a failed login (``failed``).
    """
    token = "".join((token or "").split()).lower()[:16]
    model = TOTPDevice if len(token) == 6 and token.isdigit() else StaticDevice
    device = None
    if token:
        with transaction.atomic():
            candidates = model.objects.devices_for_user(user, confirmed=True).select_for_update()
            device = next((d for d in candidates if d.verify_token(token)), None)
    if device is None:
        failed(user=user, request=request)
        return False
    django_otp.login(request, device)
    return True


def is_locked(*, user, request) -> bool:
    """Is the account locked out by django-axes (too many wrong passwords or codes)?"""
    return not AxesProxyHandler.is_allowed(request, {"username": user.get_username()})


def failed(*, user, request) -> None:
    """A wrong code: recorded and counted by django-axes like a wrong password."""
    user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=request)


def _verify(device, token: str) -> bool:
    token = "".join((token or "").split())
    if not token.isdigit():
        device.throttle_increment()
        return False
    with transaction.atomic():
        return device.verify_token(token)

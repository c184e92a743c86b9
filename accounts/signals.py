"""Login, logout and failed logins are part of the regulated record (21 CFR 11.10(e))."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .models import Profile


@receiver(user_logged_in)
def ensure_profile(sender, request, user, **kwargs):
    Profile.objects.get_or_create(user=user)


def _record(kind, request, username, user=None):
    from .services import record_access_event

    record_access_event(kind=kind, username=username, user=user, request=request)


@receiver(user_logged_in)
def logged_in(sender, request, user, **kwargs):
    _record("login", request, user.get_username(), user)


@receiver(user_logged_out)
def logged_out(sender, request, user, **kwargs):
    if user is not None:
        _record("logout", request, user.get_username(), user)


@receiver(user_login_failed)
def login_failed(sender, credentials, request=None, **kwargs):
    _record("login_failed", request, (credentials or {}).get("username", ""))


@receiver(user_locked_out)
def locked_out(sender, request, username, **kwargs):
    """A lockout also ends the account's open sessions: whoever guessed wrong may be using one."""
    from .services import end_sessions

    end_sessions(username=username, request=request)

from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode

SESSION_LANGUAGE = "edc_language"


class UserLanguageMiddleware:
    """Activate the language the signed-in user chose (LocaleMiddleware covers anonymous visitors).

    The choice lives in the user's profile; the session keeps a copy (set at login and when the user
    changes it) so ordinary requests need no query for it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            language = request.session.get(SESSION_LANGUAGE)
            if language is None:
                from .models import Profile

                language = Profile.objects.filter(user=user).values_list("language", flat=True).first() or ""
                request.session[SESSION_LANGUAGE] = language
            if language:
                translation.activate(language)
                request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", translation.get_language())
        return response


class IdleSessionMiddleware:
    """Renew the session's expiry on activity, at most once a minute.

    With SESSION_COOKIE_AGE as the idle timeout, the session ends that long after the last activity
    (to within a minute), without writing the session row on every request.
    """

    TOUCHED = "edc_touched"
    RESOLUTION_SECONDS = 60

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if (
            session is not None
            and getattr(request, "user", None) is not None
            and request.user.is_authenticated
        ):
            import time

            now = int(time.time())
            if now - session.get(self.TOUCHED, 0) >= self.RESOLUTION_SECONDS:
                session[self.TOUCHED] = now
        return self.get_response(request)


def two_factor_exempt(view):
    """Mark a view a signed-in user may reach before the second factor (the 2FA pages, log out)."""
    view.edc_two_factor_exempt = True
    return view


class TwoFactorMiddleware:
    """After the password, send a user who must give a code (or enrol first) to that step.

    Installed after django-otp's OTPMiddleware (``request.user.is_verified()``) and Django's
    LoginRequiredMiddleware. Until the step is done, every other page redirects there.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        exempt = getattr(view_func, "edc_two_factor_exempt", False)
        if exempt or not getattr(view_func, "login_required", True):
            return None
        from .two_factor import pending_step

        step = pending_step(request.user)
        if step is None:
            return None
        url = reverse("two_factor_verify" if step == "verify" else "two_factor_enrol")
        return redirect(f"{url}?{urlencode({'next': request.get_full_path()})}")

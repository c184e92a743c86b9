from django.utils import translation

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

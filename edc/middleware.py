"""Request guards that apply to every view, so no view has to repeat them.

``BadInputMiddleware`` refuses, with a 400 page, a query string or form body carrying a NUL byte or
another control character, or bytes that are not UTF-8. PostgreSQL cannot store NUL in a text
column (psycopg raises before the query is sent), so such a value in any list filter or form used to
end as a 500; refusing it once here covers every filter and form, including future ones.

``PermissionsPolicyMiddleware`` sends the Permissions-Policy header (settings.PERMISSIONS_POLICY).

``BrokerUnavailableMiddleware`` turns an error of the task broker (Redis) that a view did not handle
into a 503 page that says what happened, instead of a 500: the Celery settings make such errors
arrive within seconds (``CELERY_BROKER_*`` timeouts, no publish retry).
"""

import logging
import re
from urllib.parse import unquote_to_bytes

import kombu.exceptions
import redis.exceptions
from django.conf import settings
from django.shortcuts import render

logger = logging.getLogger(__name__)

# C0 controls and DEL, except tab, line feed and carriage return, which text areas legitimately send.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def bad_input(raw: bytes) -> str | None:
    """Why an ``application/x-www-form-urlencoded`` string is refused, or None when it is acceptable."""
    for field in raw.split(b"&"):
        for piece in field.split(b"=", 1):
            data = unquote_to_bytes(piece.replace(b"+", b" "))
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                return "invalid UTF-8"
            if CONTROL_CHARACTERS.search(text):
                return "control character"
    return None


class BadInputMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        reason = self.reason(request)
        if reason is not None:
            logger.info("Refused %s %s: %s", request.method, request.path_info[:200], reason)
            return render(request, "400_bad_input.html", status=400)
        return self.get_response(request)

    @staticmethod
    def reason(request) -> str | None:
        if CONTROL_CHARACTERS.search(request.path_info):
            return "control character in the path"
        query = request.META.get("QUERY_STRING", "")
        # WSGI hands the query string over as latin-1 text: these are the bytes the browser sent.
        reason = bad_input(query.encode("latin-1", errors="replace")) if query else None
        if reason is None and request.method == "POST" and request.content_type == FORM_CONTENT_TYPE:
            reason = bad_input(request.body)
        return reason


BROKER_ERRORS = (kombu.exceptions.OperationalError, redis.exceptions.RedisError)


class BrokerUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, BROKER_ERRORS):
            logger.error("Task broker unavailable during %s %s: %s", request.method, request.path, exception)
            return render(request, "503_broker.html", status=503)
        return None


class PermissionsPolicyMiddleware:
    """Sends ``Permissions-Policy`` (settings.PERMISSIONS_POLICY: feature → allow-list) on every
    response, so that no page, nor anything injected into one, can ask for the camera, the microphone,
    the location and the like. One header: a dependency for it would be larger than this class."""

    def __init__(self, get_response):
        self.get_response = get_response
        features = settings.PERMISSIONS_POLICY.items()
        self.header = ", ".join(f"{feature}={allow}" for feature, allow in features)

    def __call__(self, request):
        response = self.get_response(request)
        if self.header:
            response.headers.setdefault("Permissions-Policy", self.header)
        return response

"""One request rate per token (``API_RATE``, e.g. ``1200/hour``), counted in the Redis cache."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from .models import ApiToken


class TokenRateThrottle(SimpleRateThrottle):
    scope = "token"

    def get_rate(self):
        return settings.API_RATE

    def get_cache_key(self, request, view):
        token = request.auth
        if not isinstance(token, ApiToken):
            return None  # refused by authentication anyway
        return self.cache_format % {"scope": self.scope, "ident": token.pk}

"""``Authorization: Bearer edc_…``: the personal token of a user (``api.models.ApiToken``).

An unknown, revoked or expired token, or one whose owner was deactivated, is refused with 401. The
request then runs as the token's owner: the project's permission layer (``accounts.permissions``) and
the selectors decide what they see, as in the pages.
"""

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from . import tokens
from .models import ApiToken

KEYWORD = "Bearer"
LAST_USED_RESOLUTION = timedelta(minutes=1)  # write the time of last use at most once a minute


class TokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Send the token as: Authorization: Bearer <token>."))
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(_("This token is not valid.")) from exc
        return self.authenticate_token(raw)

    def authenticate_token(self, raw: str):
        prefix = tokens.parse(raw)
        token = None
        if prefix is not None:
            token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
        if token is None or not tokens.matches(raw, token.digest):
            raise exceptions.AuthenticationFailed(_("This token is not valid."))
        now = timezone.now()
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("This token was revoked."))
        if token.expires_at <= now:
            raise exceptions.AuthenticationFailed(_("This token has expired."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("This account is deactivated."))
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return f'{KEYWORD} realm="api"'


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = TokenAuthentication
    name = "personalToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token, created on the account's API tokens page.",
        }

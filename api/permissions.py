"""The token's scope on top of the project's permission layer.

What a user may see and do at which site is decided by ``accounts.permissions`` through the selectors
and services, exactly as for the pages; a token only narrows it: a read-only token cannot write.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import ApiToken


class TokenScopePermission(BasePermission):
    message = _("This token is read-only: create a read-write token to write.")

    def has_permission(self, request, view):
        token = request.auth
        if not isinstance(token, ApiToken) or not request.user.is_authenticated:
            return False
        return request.method in SAFE_METHODS or token.can_write

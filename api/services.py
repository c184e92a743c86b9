"""API workflows: personal tokens (created and revoked by their owner, audited) and the API's writes,
which go through the same services as the pages after checking the client's ``If-Match``."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from edc.audit import audited
from edc.errors import DomainError
from monitoring import services as query_services
from monitoring.models import Query

from . import conditional, tokens
from .models import ApiToken, TokenScope


@dataclass
class NewToken:
    token: ApiToken
    raw: str  # shown once, never stored


def create_token(*, user, name: str, scope: str, days: int) -> NewToken:
    """A new token of ``user``, valid for ``days`` days (at most ``API_TOKEN_MAX_DAYS``)."""
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the token a name (what will use it)."), field="name")
    if scope not in TokenScope.values:
        raise DomainError(_("Choose read only or read and write."), field="scope")
    maximum = settings.API_TOKEN_MAX_DAYS
    if not 1 <= int(days) <= maximum:
        raise DomainError(_("A token is valid for 1 to %(max)d days.") % {"max": maximum}, field="days")
    raw, prefix = tokens.new_token()
    with audited(user=user, action="api_token.create", reason=name):
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=prefix,
            digest=tokens.digest(raw),
            scope=scope,
            expires_at=timezone.now() + timedelta(days=int(days)),
        )
    return NewToken(token=token, raw=raw)


def revoke_token(*, user, token: ApiToken) -> ApiToken:
    """The owner revokes one of their tokens; it is refused from the next request on."""
    with audited(user=user, action="api_token.revoke", reason=token.name):
        token = ApiToken.objects.select_for_update().get(pk=token.pk, user=user)
        if token.revoked_at is not None:
            raise DomainError(_("This token was already revoked."))
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def answer_query(*, user, query: Query, text: str, if_match: str) -> Query:
    """``monitoring.services.answer_query`` for a client that saw the query at ETag ``if_match``.

    The query row is locked before the comparison, so no other transition can slip in between: a client
    that answers what it has not seen gets ``PreconditionFailed`` (412), never a lost update.
    """
    with transaction.atomic():
        current = Query.objects.select_for_update().get(pk=query.pk)
        conditional.check_if_match(if_match, conditional.query_etag(current))
        return query_services.answer_query(user=user, query=current, text=text)

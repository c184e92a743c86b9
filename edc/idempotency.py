"""One-time submission keys: a repeated or concurrent POST of the same form page creates nothing new.

Every form page carries a hidden ``submission_key`` generated when the page is rendered
(:func:`add_key_field`, called by ``edc.views.submit`` for every form it handles). The POST claims the
key in the same transaction as the write (:func:`claim`): the key's unique index makes a second POST
with the same key wait until the first one's transaction ends. When the first one committed, the second
finds its result and lands there (:class:`Repeated`); when it rolled back (a refusal, a conflict), the
key is free again and the corrected page can be sent with it.
"""

import uuid

from django import forms
from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .errors import DomainError
from .models import SubmissionKey

FIELD = "submission_key"


class SubmissionKeyField(forms.UUIDField):
    """Hidden, a new key each time the page is rendered; a bound page keeps the key it was sent with."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("initial", uuid.uuid4)
        kwargs.setdefault("label", gettext_lazy("submission key"))
        super().__init__(**kwargs)


def add_key_field(form) -> None:
    """Give ``form`` its one-time key field (idempotent; the field is never passed to a service)."""
    if FIELD not in form.fields:
        form.fields[FIELD] = SubmissionKeyField()


def submitted_key(form):
    """The key the POST carried (None for a page without one), taken out of ``cleaned_data``."""
    return form.cleaned_data.pop(FIELD, None) if hasattr(form, "cleaned_data") else None


class Repeated(Exception):
    """This key was already used by a committed submission: ``url`` is where that one landed."""

    def __init__(self, url: str):
        self.url = url
        super().__init__(url)


def claim(*, key, user, path: str) -> None:
    """Claim ``key`` inside the caller's transaction, or raise :class:`Repeated` when it was used.

    ``INSERT … ON CONFLICT DO NOTHING`` waits on the unique index for a concurrent holder of the same key;
    after it commits, the insert does nothing and the earlier submission is read instead.
    """
    table = SubmissionKey._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, user_id, path, result_url, created_at) "  # noqa: S608 - our table name
            "VALUES (%s, %s, %s, '', now()) ON CONFLICT (key) DO NOTHING RETURNING id",
            [key, getattr(user, "pk", None), path[:300]],
        )
        if cursor.fetchone() is not None:
            return
    earlier = SubmissionKey.objects.get(key=key)
    if earlier.user_id != getattr(user, "pk", None) or earlier.path != path[:300] or not earlier.result_url:
        raise DomainError(_("The page is out of date or was altered: reload it and enter the data again."))
    raise Repeated(earlier.result_url)


def finish(*, key, url: str) -> None:
    """Record where the submission of ``key`` landed (same transaction as the write)."""
    SubmissionKey.objects.filter(key=key).update(result_url=url[:500])

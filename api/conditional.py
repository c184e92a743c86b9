"""ETags of the records the API serves, and the ``If-Match`` check of its writes.

A clinical record's ETag is its ``version`` (``edc.models.ClinicalRecord``, the optimistic lock of the
pages). A query has no version column: its ETag is a digest of its state (status, release, closure,
and the length of its thread, to which every transition adds a message).
"""

import hashlib

from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import APIException


class PreconditionRequired(APIException):
    status_code = 428
    default_code = "precondition_required"
    default_detail = _("Send If-Match with the ETag of the record as you last read it.")


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "precondition_failed"
    default_detail = _("The record changed since you read it: read it again, then retry.")

    def __init__(self, current: str):
        super().__init__()
        self.current = current


def record_etag(record) -> str | None:
    version = getattr(record, "version", None)
    if version is None:
        return None
    return f'"{record._meta.label_lower}.{record.pk}.v{version}"'


def query_etag(query) -> str:
    from monitoring.models import QueryMessage

    messages = QueryMessage.objects.filter(query_id=query.pk).count()
    state = "|".join(str(v) for v in (query.pk, query.status, query.released_at, query.closed_at, messages))
    return f'"monitoring.query.{query.pk}.{hashlib.sha256(state.encode()).hexdigest()[:16]}"'


def etag_of(record) -> str | None:
    from monitoring.models import Query

    return query_etag(record) if isinstance(record, Query) else record_etag(record)


def _tags(header: str) -> list[str]:
    return [t.strip().removeprefix("W/") for t in header.split(",") if t.strip()]


def check_if_match(header: str | None, current: str) -> None:
    if not header:
        raise PreconditionRequired()
    # "*" (any version) is not accepted: a write names the version it was based on.
    if current not in _tags(header):
        raise PreconditionFailed(current)


def not_modified(header: str | None, current: str | None) -> bool:
    """``If-None-Match`` of a read names the record's current ETag (answer 304)."""
    return bool(header and current and ("*" in _tags(header) or current in _tags(header)))

"""Query workflows. Automatic queries follow their edit check: opened when it fires, closed when the
data no longer fire it. Everything is audited (pghistory) inside the caller's transaction."""

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Query, QueryStatus, QueryType


def sync_automatic_queries(*, record, participant, firing, quiet, user=None) -> tuple[int, int]:
    """Open one query per firing soft check (if none is live), close live ones whose check is quiet."""
    content_type = ContentType.objects.get_for_model(record)
    live = {
        (q.field_name, q.check_id): q
        for q in Query.objects.select_for_update()
        .filter(content_type=content_type, object_id=record.pk, query_type=QueryType.AUTOMATIC)
        .exclude(status=QueryStatus.CLOSED)
    }
    opened = 0
    for check in firing:
        if (check.field, check.id) not in live:
            Query.objects.create(
                participant=participant,
                content_type=content_type,
                object_id=record.pk,
                field_name=check.field,
                query_type=QueryType.AUTOMATIC,
                check_id=check.id,
                text=str(check.message),
                opened_by=user,
            )
            opened += 1
    closed = 0
    for check in quiet:
        query = live.get((check.field, check.id))
        if query is not None:
            query.status, query.closed_at = QueryStatus.CLOSED, timezone.now()
            query.resolution = _("Closed automatically: the data no longer fire the check.")
            query.save(update_fields=["status", "closed_at", "resolution"])
            closed += 1
    return opened, closed


def open_queries_for(records) -> dict[tuple[int, int], list[Query]]:
    """Live queries of many records, keyed by (content type id, object id): one query."""
    result: dict[tuple[int, int], list[Query]] = {}
    by_type: dict[int, list[int]] = {}
    for record in records:
        by_type.setdefault(ContentType.objects.get_for_model(record).pk, []).append(record.pk)
    if not by_type:
        return result
    from django.db.models import Q

    condition = Q()
    for ct, ids in by_type.items():
        condition |= Q(content_type_id=ct, object_id__in=ids)
    for query in Query.objects.filter(condition).exclude(status=QueryStatus.CLOSED).order_by("opened_at"):
        result.setdefault((query.content_type_id, query.object_id), []).append(query)
    return result

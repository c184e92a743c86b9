"""Reads of queries that depend on who is asking: scoped by site, drafts only for the roles that raise
queries (the site never sees a draft before a data manager releases it), counts in one query each."""

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404

from accounts.permissions import Action, site_ids

from .models import Query, QueryStatus

LIVE = [QueryStatus.DRAFT, QueryStatus.OPEN, QueryStatus.ANSWERED]


def queries_for(user):
    """Every query the user may see: their sites' released queries, and drafts where they raise queries."""
    visible = Q(participant__site_id__in=site_ids(user)) & ~Q(status=QueryStatus.DRAFT)
    drafts = site_ids(user, Action.QUERY)
    if drafts:
        visible |= Q(participant__site_id__in=drafts, status=QueryStatus.DRAFT)
    return Query.objects.filter(visible).select_related("participant__site", "content_type", "opened_by")


def query_for(user, pk) -> Query:
    """The query, or 404 when it does not exist for this user (other sites, or a draft for the site)."""
    return get_object_or_404(queries_for(user).select_related("participant__site__study"), pk=pk)


def live_queries_for(user):
    return queries_for(user).filter(status__in=LIVE)


def live_count_for_participant(user, participant) -> int:
    return live_queries_for(user).filter(participant=participant).count()


def live_counts_by_participant(user, participant_ids) -> dict[int, int]:
    rows = (
        live_queries_for(user)
        .filter(participant_id__in=list(participant_ids))
        .values("participant_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["participant_id"]: row["n"] for row in rows}


def live_counts_by_record(user, participant) -> dict[tuple[int, int], int]:
    """Live queries of one participant per record, keyed by (content type id, object id): one query."""
    rows = (
        live_queries_for(user)
        .filter(participant=participant)
        .values("content_type_id", "object_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {(row["content_type_id"], row["object_id"]): row["n"] for row in rows}


def live_by_field(user, record) -> dict[str, list[Query]]:
    """Live queries of one record per field name (drafts only for those who may see them)."""
    result: dict[str, list[Query]] = {}
    if record is None:
        return result
    rows = live_queries_for(user).filter(
        content_type=ContentType.objects.get_for_model(record), object_id=record.pk
    )
    for query in rows.order_by("opened_at", "pk"):
        result.setdefault(query.field_name, []).append(query)
    return result

"""``updated_since``: the records created or changed at or after a time, for incremental sync.

A record with an ``updated_at`` column is filtered on it. Others (queries, verifications, signatures,
sites) changed when the audit trail says so: pghistory writes an event for every insert and update,
so the event table of the model answers for every kind alike.
"""

from django.apps import apps
from pghistory.models import Event


def event_model(model):
    """The pghistory event model tracking ``model`` (its first one), or None."""
    for candidate in apps.get_models():
        if issubclass(candidate, Event) and getattr(candidate, "pgh_tracked_model", None) is model:
            return candidate
    return None


def changed_since(queryset, since):
    model = queryset.model
    if any(f.name == "updated_at" for f in model._meta.concrete_fields):
        return queryset.filter(updated_at__gte=since)
    events = event_model(model)
    if events is None:
        return queryset
    changed = events.objects.filter(pgh_created_at__gte=since).values("pgh_obj_id")
    return queryset.filter(pk__in=changed)

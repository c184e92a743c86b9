"""Readable audit trail: field, old → new, who, when, why, from the pghistory event tables."""

from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from pghistory.models import Events

from .localtime import site_time

# Bookkeeping columns that change on every save and say nothing to a reader.
HIDDEN = {"version", "updated_at", "created_at"}


@dataclass
class HistoryRow:
    at: datetime
    local_at: datetime
    user: str
    action: str
    reason: str
    record: str
    label: str
    changes: list[tuple[str, object, object]]
    # The tracked object, as (model label, id): lets a caller that asked for many records at once
    # sort the rows back to each of them.
    key: tuple[str, str] = ("", "")


def _field_labels(model_label):
    model = apps.get_model(model_label)
    return {f.attname: str(f.verbose_name) for f in model._meta.concrete_fields}


def history_rows(objects, *, tz: str) -> list[HistoryRow]:
    """Events of ``objects`` (any tracked models), oldest first."""
    if not objects:
        return []
    by_key = {(o._meta.label, str(o.pk)): str(o) for o in objects}
    labels = {}
    rows = []
    by_model = {}
    for obj in objects:
        by_model.setdefault(type(obj), []).append(obj)
    events = sorted(
        (event for group in by_model.values() for event in Events.objects.tracks(group)),
        key=lambda e: (e.pgh_created_at, e.pgh_id),
    )
    for event in events:
        labels.setdefault(event.pgh_obj_model, _field_labels(event.pgh_obj_model))
        names = labels[event.pgh_obj_model]
        if event.pgh_diff:
            changes = [
                (names.get(k, k), old, new)
                for k, (old, new) in sorted(event.pgh_diff.items())
                if k not in HIDDEN
            ]
        else:
            changes = [
                (names.get(k, k), None, v)
                for k, v in sorted(event.pgh_data.items())
                if k not in HIDDEN and k != "id" and v not in (None, "", False)
            ]
        if not changes and event.pgh_diff is not None:
            continue
        context = event.pgh_context or {}
        rows.append(
            HistoryRow(
                at=event.pgh_created_at,
                local_at=site_time(event.pgh_created_at, tz),
                user=context.get("username") or "system",
                action=context.get("action", event.pgh_label),
                reason=context.get("reason", ""),
                record=by_key.get((event.pgh_obj_model, str(event.pgh_obj_id)), event.pgh_obj_id),
                label=event.pgh_label,
                changes=changes,
                key=(event.pgh_obj_model, str(event.pgh_obj_id)),
            )
        )
    return rows

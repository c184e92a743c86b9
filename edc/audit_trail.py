"""The study's whole audit trail as one chronological list: every pghistory event of every tracked model
(clinical records, queries, verifications, signatures, locks, memberships, exports…) and the access log
(logins, logouts, failed logins), newest first, filtered and paginated in the database.

A page is read in two steps so that a large trail costs what the page shows, not what the trail holds:
one ``UNION ALL`` over the event tables' own indexed columns picks the page's events (model, id, time);
then the page's rows, the previous version of each (for old → new), their participants and users are
read in a few queries per model on the page. pghistory's aggregate ``Events`` model computes every
event's difference before filtering, which is what this avoids.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import pghistory.models
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import OuterRef, Subquery
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from accounts.models import AccessEvent

ACCESS = "access"
PAGE_SIZE = 50
MAX_PAGE = 2000
# Bookkeeping columns that change on every save and say nothing to a reader.
HIDDEN = {"version", "updated_at", "created_at"}


@dataclass(frozen=True)
class AuditFilters:
    user: str = ""  # user name
    participant: str = ""  # study id or screening number
    kind: str = ""  # a tracked model's label ("monitoring.Query"), or "access"
    action: str = ""  # start of the audit context's action ("query."), the event label, or the access kind
    date_from: date | None = None  # UTC dates, inclusive
    date_to: date | None = None
    text: str = ""  # anywhere in the recorded values


@dataclass
class AuditRow:
    at: datetime
    kind: str
    record: str
    event: str
    user: str
    action: str = ""
    reason: str = ""
    url: str = ""
    participant: str = ""
    changes: list[tuple[str, object, object]] = field(default_factory=list)


@dataclass
class AuditPage:
    rows: list[AuditRow]
    number: int
    has_next: bool


def event_models() -> list[type]:
    """Every pghistory event model with its tracked model, in a stable order."""
    models = [
        m
        for m in apps.get_models()
        if issubclass(m, pghistory.models.Event) and getattr(m, "pgh_tracked_model", None) is not None
    ]
    return sorted(models, key=lambda m: m._meta.label)


def kinds() -> list[tuple[str, str]]:
    """Choices of the kind filter: each tracked model once, and the access log."""
    seen = {}
    for model in event_models():
        tracked = model.pgh_tracked_model
        seen.setdefault(tracked._meta.label, capfirst(tracked._meta.verbose_name))
    return [*sorted(seen.items(), key=lambda item: item[1]), (ACCESS, _("Logins, logouts and failed logins"))]


def _participant_pk(filters: AuditFilters):
    from trials.models import Participant

    value = filters.participant.strip()
    if not value:
        return None
    found = (
        Participant.objects.filter(study_id=value).values_list("pk", flat=True).first()
        or Participant.objects.filter(screening_number=value).values_list("pk", flat=True).first()
    )
    return found or 0  # 0: no such participant, so nothing matches


def _user_keys(filters: AuditFilters) -> tuple[str, str] | None:
    name = filters.user.strip()
    if not name:
        return None
    pk = get_user_model().objects.filter(username=name).values_list("pk", flat=True).first()
    return name, str(pk or "")


def _parent_of(model):
    """For a child row without its own participant (a lab result of a panel): the foreign key to the
    parent that has one, as (column on the event table, parent model); None when there is none."""
    names = {f.column for f in model._meta.concrete_fields}
    if "participant_id" in names:
        return None
    for f in model.pgh_tracked_model._meta.concrete_fields:
        if f.is_relation and f.column in names:
            parent = f.related_model
            if any(p.column == "participant_id" for p in parent._meta.concrete_fields):
                return f.column, parent
    return None


def _event_branch(model, filters, participant_pk, user_keys) -> tuple[str, list] | None:
    """One SELECT of the page query for one event table, or None when the filters exclude it."""
    tracked = model.pgh_tracked_model
    if filters.kind and filters.kind != tracked._meta.label:
        return None
    quote = connection.ops.quote_name
    where, params = [], []
    if participant_pk is not None:
        if tracked._meta.label == "trials.Participant":
            where.append("e.pgh_obj_id = %s")
        elif "participant_id" in {f.column for f in model._meta.concrete_fields}:
            where.append("e.participant_id = %s")
        elif (parent := _parent_of(model)) is not None:
            column, parent_model = parent
            where.append(
                f"e.{quote(column)} IN (SELECT id FROM {quote(parent_model._meta.db_table)} "
                "WHERE participant_id = %s)"
            )
        else:
            return None
        params.append(participant_pk)
    if user_keys is not None:
        where.append(
            "e.pgh_context_id IN (SELECT id FROM pghistory_context "
            "WHERE metadata->>'username' = %s OR metadata->>'user' = %s)"
        )
        params += list(user_keys)
    if filters.action:
        where.append(
            "(e.pgh_label ILIKE %s OR e.pgh_context_id IN (SELECT id FROM pghistory_context "
            "WHERE metadata->>'action' ILIKE %s))"
        )
        params += [_prefix(filters.action), _prefix(filters.action)]
    _dates(where, params, "e.pgh_created_at", filters)
    if filters.text:
        # The recorded values, or the reason (and action) the change was made with.
        where.append(
            "(row_to_json(e)::text ILIKE %s OR e.pgh_context_id IN (SELECT id FROM pghistory_context "
            "WHERE metadata->>'reason' ILIKE %s))"
        )
        params += [_contains(filters.text)] * 2
    sql = f"SELECT %s AS model, e.pgh_id AS id, e.pgh_created_at AS at FROM {quote(model._meta.db_table)} e"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql, [model._meta.label, *params]


def _access_branch(filters, participant_pk, user_keys) -> tuple[str, list] | None:
    if (filters.kind and filters.kind != ACCESS) or participant_pk is not None:
        return None
    where, params = [], []
    if user_keys is not None:
        where.append("a.username = %s")
        params.append(user_keys[0])
    if filters.action:
        where.append("a.kind ILIKE %s")
        params.append(_prefix(filters.action))
    _dates(where, params, "a.at", filters)
    if filters.text:
        where.append("(a.username ILIKE %s OR host(a.ip_address) ILIKE %s)")
        params += [_contains(filters.text)] * 2
    sql = f"SELECT %s AS model, a.id AS id, a.at AS at FROM {AccessEvent._meta.db_table} a"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql, [ACCESS, *params]


def _prefix(text: str) -> str:
    return _escape(text.strip()) + "%"


def _contains(text: str) -> str:
    return "%" + _escape(text.strip()) + "%"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _dates(where, params, column, filters):
    if filters.date_from:
        where.append(f"{column} >= %s")
        params.append(datetime.combine(filters.date_from, time(), tzinfo=UTC))
    if filters.date_to:
        where.append(f"{column} < %s")
        params.append(datetime.combine(filters.date_to + timedelta(days=1), time(), tzinfo=UTC))


def audit_page(filters: AuditFilters, *, page: int = 1, size: int = PAGE_SIZE) -> AuditPage:
    """One page of the trail, newest first: ``size`` rows after ``(page - 1) * size``."""
    page = max(1, min(int(page), MAX_PAGE))
    participant_pk = _participant_pk(filters)
    user_keys = _user_keys(filters)
    branches = [_event_branch(m, filters, participant_pk, user_keys) for m in event_models()]
    branches.append(_access_branch(filters, participant_pk, user_keys))
    branches = [b for b in branches if b is not None]
    if not branches:
        return AuditPage([], page, False)
    sql = (
        "SELECT model, id, at FROM ("
        + " UNION ALL ".join(f"({b[0]})" for b in branches)
        + ") trail ORDER BY at DESC, model DESC, id DESC LIMIT %s OFFSET %s"
    )
    params = [p for b in branches for p in b[1]] + [size + 1, (page - 1) * size]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        keys = cursor.fetchall()
    has_next = len(keys) > size
    keys = keys[:size]
    rows = _rows(keys)
    return AuditPage([rows[(model, pk)] for model, pk, _at in keys], page, has_next)


# Reading the page's rows -------------------------------------------------------------------------------


def _rows(keys) -> dict[tuple[str, int], AuditRow]:
    by_model: dict[str, list[int]] = {}
    for model, pk, _at in keys:
        by_model.setdefault(model, []).append(pk)
    rows: dict[tuple[str, int], AuditRow] = {}
    access_ids = by_model.pop(ACCESS, [])
    for event in AccessEvent.objects.filter(pk__in=access_ids):
        rows[(ACCESS, event.pk)] = AuditRow(
            at=event.at,
            kind=capfirst(AccessEvent._meta.verbose_name),
            record=event.ip_address or "",
            event=str(event.get_kind_display()),
            user=event.username,
            action=event.kind,
        )
    events, participants, user_ids = {}, set(), set()
    parents: dict[type, set[int]] = {}
    for label, ids in by_model.items():
        model = apps.get_model(label)
        previous = model.objects.filter(pgh_obj_id=OuterRef("pgh_obj_id"), pgh_id__lt=OuterRef("pgh_id"))
        current = list(
            model.objects.filter(pgh_id__in=ids)
            .select_related("pgh_context")
            .annotate(previous_id=Subquery(previous.order_by("-pgh_id").values("pgh_id")[:1]))
        )
        earlier = model.objects.in_bulk([e.previous_id for e in current if e.previous_id])
        for event in current:
            events[(label, event.pgh_id)] = (model, event, earlier.get(event.previous_id))
            participant_id = getattr(event, "participant_id", None)
            if model.pgh_tracked_model._meta.label == "trials.Participant":
                participant_id = event.pgh_obj_id
            if participant_id:
                participants.add(participant_id)
            elif (parent := _parent_of(model)) is not None and getattr(event, parent[0], None):
                parents.setdefault(parent[1], set()).add(getattr(event, parent[0]))
            context = _context(event)
            if not context.get("username") and context.get("user"):
                user_ids.add(context["user"])
    participant_of_parent = {
        (parent_model, pk): participant_id
        for parent_model, ids in parents.items()
        for pk, participant_id in parent_model.objects.filter(pk__in=ids).values_list("pk", "participant_id")
    }
    participants |= set(participant_of_parent.values())
    names = _participant_names(participants)
    usernames = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "username"))
    related: dict = {}  # linked records named once per page
    for key, (model, event, before) in events.items():
        context = _context(event)
        tracked = model.pgh_tracked_model
        participant_id = event.pgh_obj_id if tracked._meta.label == "trials.Participant" else None
        participant_id = participant_id or getattr(event, "participant_id", None)
        if participant_id is None and (parent := _parent_of(model)) is not None:
            participant_id = participant_of_parent.get((parent[1], getattr(event, parent[0], None)))
        rows[key] = AuditRow(
            at=event.pgh_created_at,
            kind=capfirst(tracked._meta.verbose_name),
            record=f"#{event.pgh_obj_id}",
            event=event.pgh_label,
            user=context.get("username") or usernames.get(context.get("user"), "") or "system",
            action=context.get("action", ""),
            reason=context.get("reason", ""),
            url=context.get("url", ""),
            participant=names.get(participant_id, ""),
            changes=_changes(model, event, before, related),
        )
    return rows


def _context(event) -> dict:
    context = getattr(event, "pgh_context", None)
    return (context.metadata if context is not None else None) or {}


def _participant_names(ids) -> dict[int, str]:
    from trials.models import Participant

    return {
        pk: study_id or screening
        for pk, study_id, screening in Participant.objects.filter(pk__in=ids).values_list(
            "pk", "study_id", "screening_number"
        )
    }


def _changes(model, event, before, related=None) -> list[tuple[str, object, object]]:
    """(field, old, new) of an update; (field, None, value) of every value set when created.

    A link to another record reads as that record's name ("dose level: DL1", never "dose level: 1").
    """
    related = {} if related is None else related
    tracked = model.pgh_tracked_model
    fields = {f.attname: f for f in tracked._meta.concrete_fields}
    labels = {attname: str(f.verbose_name) for attname, f in fields.items()}
    changes = []
    for f in model._meta.concrete_fields:
        if f.name.startswith("pgh_") or f.name in HIDDEN or f.attname not in labels:
            continue
        new = getattr(event, f.attname)
        shown = fields[f.attname]
        if before is None:
            if f.primary_key or new in (None, "", False, [], {}):
                continue
            changes.append((labels[f.attname], None, _shown(shown, new, related)))
        else:
            old = getattr(before, f.attname)
            if old != new:
                changes.append((labels[f.attname], _shown(shown, old, related), _shown(shown, new, related)))
    return changes


def _shown(field, value, related: dict):
    """A stored value as a reader knows it: a linked record by its name, not its database id."""
    if value is None or value == "":
        return value
    if field.many_to_one:
        key = (field.related_model, value)
        if key not in related:
            linked = field.related_model._base_manager.filter(pk=value).first()
            related[key] = str(linked) if linked is not None else value
        return related[key]
    return value

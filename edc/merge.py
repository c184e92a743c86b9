"""Three-way merge of a stale save: never revert a colleague's change.

A save based on version B of a record that is now at version T compares, field by field, the version
the user opened (*base*, read from the audit trail, never from the client), the record as it is now
(*theirs*) and the user's input (*mine*):

- changed by me only: my value applies;
- changed by them only: their value stays, whatever the stale page still held;
- changed by both to different values: the user chooses, seeing both;
- the same value on both sides: nothing to decide.

The services call :func:`three_way` with the keys they save (form fields, child-table rows), so the
web page, a retried request and a test all get the same answer.
"""

from dataclasses import dataclass, field

UNKNOWN = object()  # the base could not be read: every difference is then a conflict


def blank(value) -> bool:
    return value is None or value == ""


def same(a, b) -> bool:
    if a is UNKNOWN or b is UNKNOWN:
        return False
    return (blank(a) and blank(b)) or a == b


@dataclass(frozen=True)
class Change:
    key: str  # a field name, or "<table>:<row>:<field>" for a child row
    label: str
    base: object
    theirs: object
    mine: object


@dataclass
class Merge:
    version: int  # the record's version the merge was made against
    theirs: list[Change] = field(default_factory=list)  # only they changed: their value is kept
    both: list[Change] = field(default_factory=list)  # both changed, differently: the user chooses
    mine: list[Change] = field(default_factory=list)  # only I changed: mine applies

    @property
    def keys_theirs(self) -> set[str]:
        return {c.key for c in self.theirs}


def three_way(version: int, items) -> Merge:
    """``items``: (key, label, base, theirs, mine) for every key the save would write."""
    merge = Merge(version=version)
    for key, label, base, theirs, mine in items:
        change = Change(key, label, base, theirs, mine)
        if same(mine, theirs):
            continue
        if same(mine, base):
            merge.theirs.append(change)
        elif same(theirs, base):
            merge.mine.append(change)
        else:
            merge.both.append(change)
    return merge


def event_model(model):
    """The pghistory event model of a tracked model (its reverse relation ``events``)."""
    return model._meta.get_field("events").related_model


def snapshot(record, version: int):
    """``record`` as it was at ``version`` (its audit-trail event).

    None before it existed (version 0), UNKNOWN when the trail has no such version."""
    if not version:
        return None
    event = (
        event_model(type(record)).objects.filter(pgh_obj_id=record.pk, version=version).order_by("-pgh_id")
    )
    return event.first() or UNKNOWN


def rows_at(model, fk: str, parent, base_version: int) -> dict:
    """The rows of ``model`` under ``parent`` as they were at the parent's ``base_version``, by row id.

    Child rows change only in a save of their parent (one audit context for both), so the rows at a
    version are the latest row events written under the contexts of the parent's events up to it.
    """
    if not base_version:
        return {}
    contexts = (
        event_model(type(parent))
        .objects.filter(pgh_obj_id=parent.pk, version__lte=base_version)
        .exclude(pgh_context_id=None)
        .values("pgh_context_id")
    )
    latest = (
        event_model(model)
        .objects.filter(**{f"{fk}_id": parent.pk}, pgh_context_id__in=contexts)
        .order_by("pgh_obj_id", "-pgh_id")
        .distinct("pgh_obj_id")
    )
    return {e.pgh_obj_id: e for e in latest if not getattr(e, "entered_in_error", False)}


def value_of(snap, name):
    if snap is None:
        return None
    if snap is UNKNOWN:
        return UNKNOWN
    return getattr(snap, name)

"""What a signature covers, and its SHA-256.

The signed content of a visit is every live form at that visit (the forms of ``crfs.registry.FORMS``
with the rows of their child tables, and the results of lab panels) and the visit's code and date;
the casebook's is every visit's content plus the adverse events and their grades. Each
record is serialised canonically as its model label, id and field values, bookkeeping aside, under
the participant's and the visit's ids: the hash is bound to those records and to nothing else.

``Snapshot`` reads a participant's content once (one query per model, whatever the number of visits
or signatures), so pages can verify every signature of a participant at a constant cost.
"""

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal

from django.apps import apps
from django.db.models import F

from crfs.registry import FORMS
from edc.models import RECORD_BOOKKEEPING

# Columns that change with the workflow, not with the data: they are not signed.
BOOKKEEPING = RECORD_BOOKKEEPING | {"status", "completed_at", "completed_by_id"}

# Rows shown and signed with a form that are not among its ``child_sets``: (form model, relation).
DEPENDENT_ROWS = {"labs.LabPanel": ("results",)}

# Participant-level records a casebook signature covers besides the visits' forms: (model, path to
# the participant, path to the record whose retirement retires this one).
CASEBOOK_RECORDS = (
    ("adverse_events.AdverseEvent", "participant_id", None),
    ("adverse_events.AdverseEventGrade", "adverse_event__participant_id", "adverse_event"),
)

# A visit's own signed fields. Only visits that took place (a visit date) enter a casebook's content:
# building or re-anchoring the schedule, or marking a visit missed, changes no signed data.
VISIT_FIELDS = ("id", "code", "visit_date")


def _columns(model) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields if f.attname not in BOOKKEEPING]


def _canonical(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _entry(model, row: dict) -> dict:
    return {
        "model": model._meta.label,
        "pk": row["id"],
        "fields": {k: _canonical(v) for k, v in row.items() if k != "id"},
    }


def digest(payload: dict) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class FormInstance:
    code: str
    pk: int
    status: str


@dataclass
class Snapshot:
    """A participant's signed content as stored now."""

    participant_id: int
    visits: dict[int, dict] = field(default_factory=dict)  # visit id → its signed fields
    records: dict[int, list[dict]] = field(default_factory=lambda: defaultdict(list))  # by visit id
    forms: dict[int, list[FormInstance]] = field(default_factory=lambda: defaultdict(list))
    participant_records: list[dict] = field(default_factory=list)

    @classmethod
    def of(cls, participant_id: int) -> "Snapshot":
        from visits.models import Visit

        snap = cls(participant_id)
        visits = Visit.objects.filter(participant_id=participant_id, entered_in_error=False)
        for row in visits.values(*VISIT_FIELDS):
            snap.visits[row["id"]] = {k: _canonical(v) for k, v in row.items()}
        for code, spec in FORMS.items():
            model = spec.model
            live = model.objects.filter(participant_id=participant_id, entered_in_error=False)
            for row in live.values(*_columns(model), "status"):
                status = row.pop("status")
                snap.records[row["visit_id"]].append(_entry(model, row))
                snap.forms[row["visit_id"]].append(FormInstance(code, row["id"], status))
            for name in (*model.child_sets, *DEPENDENT_ROWS.get(model._meta.label, ())):
                relation = model._meta.get_field(name)
                child, fk = relation.related_model, relation.field.name
                rows = child.objects.filter(
                    **{f"{fk}__participant_id": participant_id, f"{fk}__entered_in_error": False}
                )
                if any(f.name == "entered_in_error" for f in child._meta.concrete_fields):
                    rows = rows.filter(entered_in_error=False)
                for row in rows.values(*_columns(child), signed_visit=F(f"{fk}__visit_id")):
                    visit_id = row.pop("signed_visit")
                    snap.records[visit_id].append(_entry(child, row))
        for label, path, parent in CASEBOOK_RECORDS:
            model = apps.get_model(label)
            rows = model.objects.filter(**{path: participant_id}, entered_in_error=False)
            if parent:
                rows = rows.filter(**{f"{parent}__entered_in_error": False})
            snap.participant_records += [_entry(model, row) for row in rows.values(*_columns(model))]
        return snap

    def visit_payload(self, visit_id: int) -> dict:
        return {
            "scope": "visit",
            "participant": self.participant_id,
            "visit": self.visits.get(visit_id, {"id": visit_id}),
            "records": _sorted(self.records.get(visit_id, [])),
        }

    def casebook_payload(self) -> dict:
        return {
            "scope": "casebook",
            "participant": self.participant_id,
            "visits": [self.visits[pk] for pk in sorted(self.visits) if self.visits[pk]["visit_date"]],
            "records": _sorted(
                [entry for pk in self.visits for entry in self.records.get(pk, [])] + self.participant_records
            ),
        }

    def content_hash(self, scope: str, visit_id: int | None = None) -> str:
        return digest(self.casebook_payload() if scope == "casebook" else self.visit_payload(visit_id))

    def record_keys(self, scope: str, visit_id: int | None = None) -> list[list]:
        payload = self.casebook_payload() if scope == "casebook" else self.visit_payload(visit_id)
        return [[entry["model"], entry["pk"]] for entry in payload["records"]]


def _sorted(entries: list[dict]) -> list[dict]:
    return sorted(entries, key=lambda e: (e["model"], e["pk"]))

"""What a participant's PDF casebook holds, read once as plain values for the template.

Every visit of the schedule with its forms (every live form of the registry: values, units, status),
the rows of their tables (prior treatments, conditions, the results of a laboratory panel), the queries
of each form with their threads, the source-data verifications, the signatures with their
manifestation (and, for a broken one, why), and each form's audit trail. Read in a number of queries
that grows with the number of form models, not with the number of visits, except the audit trail
(a few queries per form).

The *content manifest* lists every record printed (model, id, version) with the SHA-256 of its values as
printed, every query and signature; its own SHA-256 is printed in each page's footer, so two copies of a
casebook can be compared page by page, and a copy checked against the database.
"""

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crfs.registry import FORMS
from edc.history import HistoryRow, history_rows
from edc.localtime import site_time
from edc.models import FORM_BOOKKEEPING
from edc.partial_dates import Precision
from monitoring.models import Query, QueryMessage, QueryStatus, SourceVerification
from signatures.content import DEPENDENT_ROWS
from signatures.selectors import signatures_for
from trials.selectors import schedule_for

# A unit at the end of a field's label: "temperature (°C)", "体温（°C）".
UNIT = re.compile(r"\s*[(（]([^()（）,，]{1,20})[)）]\s*$")
# Columns of child rows that link them to their form or say nothing to a reader.
ROW_HIDDEN = {"panel", "reference_range", "rule_version", "created_at", "updated_at", "version"}


VISIT_STATUS = {
    "upcoming": gettext_lazy("Upcoming"),
    "open": gettext_lazy("Open"),
    "overdue": gettext_lazy("Overdue"),
    "done": gettext_lazy("Done"),
    "missed": gettext_lazy("Missed"),
    "not_applicable": gettext_lazy("Not applicable"),
}


@dataclass
class Value:
    name: str
    label: str
    value: str
    unit: str = ""
    verified: bool = False  # a live source-data verification of this field
    queries: int = 0


@dataclass
class Thread:
    field: str
    status: str
    kind: str
    text: str
    opened: str
    opened_by: str
    messages: list[tuple[str, str, str, str]] = field(default_factory=list)  # (at, who, action, text)


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]

    @property
    def text(self) -> str:
        """A line per row: "column: value; …" (empty cells left out)."""
        return "\n".join(
            "; ".join(f"{column}: {cell}" for column, cell in zip(self.columns, row, strict=True) if cell)
            for row in self.rows
        )


@dataclass
class Form:
    code: str
    title: str
    anchor: str
    status: str
    record: object
    values: list[Value]
    tables: list[Table]
    queries: list[Thread]
    verification: str  # "verified as a whole by … on …", or the fields verified
    audit: list[HistoryRow]
    sha256: str

    # The parts below are printed as plain text, a line each (``white-space: pre-line``): one text box
    # per block instead of an element per value keeps a 24-month casebook to seconds (WeasyPrint's
    # time grows with the number of elements).

    @property
    def values_text(self) -> str:
        parts = []
        for v in self.values:
            if not v.value:
                continue
            text = f"{v.label}: {v.value}" + (f" {v.unit}" if v.unit else "")
            if v.verified:
                text += " ✓"
            if v.queries:
                text += f" [Q{v.queries}]"
            parts.append(text)
        return "  ·  ".join(parts)

    @property
    def empty_text(self) -> str:
        """Fields without a value (nor a reason), by name, in one line."""
        return ", ".join(v.label + (f" ({v.unit})" if v.unit else "") for v in self.values if not v.value)

    @property
    def queries_text(self) -> str:
        lines = []
        for q in self.queries:
            lines.append(f"{q.field} · {q.status} · {q.kind} · {q.opened} {q.opened_by}: {q.text}")
            lines += [
                f"    {at} · {who} · {action}" + (f": {text}" if text else "")
                for at, who, action, text in q.messages
            ]
        return "\n".join(lines)

    @property
    def audit_text(self) -> str:
        lines = []
        for row in self.audit:
            changes = "; ".join(
                f"{label}: " + ("" if old is None else f"{old} → ") + ("∅" if new is None else f"{new}")
                for label, old, new in row.changes
            )
            reason = f" · {_('reason')}: {row.reason}" if row.reason else ""
            lines.append(f"{row.local_at:%Y-%m-%d %H:%M} · {row.user} · {row.action}{reason} — {changes}")
        return "\n".join(lines) or "—"


@dataclass
class VisitSection:
    visit: object
    title: str
    anchor: str
    date: str
    status: str
    forms: list[Form]
    signatures: list[tuple[str, str]]  # (manifestation, breakage)


@dataclass
class Casebook:
    participant: object
    study: object
    site: object
    exported_at: datetime
    exported_local: str
    visits: list[VisitSection]
    signatures: list[tuple[str, str]]  # the casebook's own
    manifest: list[dict]
    manifest_sha256: str = ""
    events: VisitSection | None = None  # the adverse events, after the visits (none: no section)

    @property
    def sections(self) -> list[VisitSection]:
        """The visits, then the adverse events: the PDF's outline, in order."""
        return [*self.visits, *([self.events] if self.events is not None else [])]

    @property
    def forms(self) -> list[Form]:
        return [form for section in self.sections for form in section.forms]


def _stamp(instant: datetime | None, tz: str) -> str:
    return site_time(instant, tz).strftime("%Y-%m-%d %H:%M") if instant else ""


def shown(value, model_field: models.Field | None = None, *, instance=None, precision=None) -> str:
    """A stored value as printed: choices by their label, booleans as yes/no, decimals without trailing
    zeros, partial dates to their precision, time stamps in UTC."""
    if value is None or value == "":
        return ""
    if model_field is not None and model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date):
        if precision == Precision.YEAR:
            return f"{value:%Y}"
        if precision == Precision.MONTH:
            return f"{value:%Y-%m}"
        return value.isoformat()
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def split_unit(label: str) -> tuple[str, str]:
    match = UNIT.search(label)
    if match is None:
        return label, ""
    return label[: match.start()], match.group(1)


def _data_fields(model, hidden=FORM_BOOKKEEPING) -> list[models.Field]:
    names = {f.name for f in model._meta.concrete_fields}
    return [
        f
        for f in model._meta.concrete_fields
        if f.name not in hidden
        and not (f.name.endswith("_precision") and f.name.removesuffix("_precision") in names)
        and not (f.is_relation and f.related_model._meta.label == "auth.User")
    ]


def _field_value(record, f: models.Field, missing: dict) -> str:
    value = getattr(record, f.name)
    if f.is_relation:
        return str(value) if value is not None else ""
    precision = getattr(record, f"{f.name}_precision", None)
    text = shown(value, f, precision=precision)
    if not text and missing.get(f.name):
        return str(missing[f.name])
    return text


def _rows_of(record) -> list[Table]:
    tables = []
    relations = (*type(record).child_sets, *DEPENDENT_ROWS.get(record._meta.label, ()))
    for name in relations:
        relation = record._meta.get_field(name)
        child = relation.related_model
        link = relation.field.name
        rows = getattr(record, name).all()
        if any(f.name == "entered_in_error" for f in child._meta.concrete_fields):
            rows = rows.filter(entered_in_error=False)
        table = _table(child, rows.order_by("pk"), hidden={link})
        if table is not None:
            tables.append(table)
    return tables


def _table(model, rows, *, hidden=frozenset()) -> Table | None:
    """``rows`` of ``model`` as a table titled with the model's plural name; None without rows."""
    columns = _data_fields(model, FORM_BOOKKEEPING | ROW_HIDDEN | set(hidden))
    printed = [[_field_value(row, f, {}) for f in columns] for row in rows]
    if not printed:
        return None
    # Only the columns that hold a value in some row: a panel's result has many optional ones.
    keep = [i for i in range(len(columns)) if any(r[i] for r in printed)]
    return Table(
        str(model._meta.verbose_name_plural),
        [str(columns[i].verbose_name) for i in keep],
        [[r[i] for i in keep] for r in printed],
    )


def _digest(data) -> str:
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _threads(participant, tz: str) -> dict[tuple[int, int], list[Thread]]:
    """Released queries of the participant (drafts are the monitors' own) with their messages, by the
    record they are on; a lab result's queries are filed under its panel."""
    queries = list(
        Query.objects.filter(participant=participant)
        .exclude(status=QueryStatus.DRAFT)
        .select_related("opened_by", "content_type")
        .order_by("opened_at", "pk")
    )
    messages = defaultdict(list)
    for message in (
        QueryMessage.objects.filter(query__in=[q.pk for q in queries])
        .select_related("author")
        .order_by("created_at", "pk")
    ):
        messages[message.query_id].append(
            (
                _stamp(message.created_at, tz),
                message.author.username,
                str(message.get_action_display()),
                message.text,
            )
        )
    result = defaultdict(list)
    lab_result = ContentType.objects.get_by_natural_key("labs", "labresult")
    result_panels = {}
    lab_ids = [q.object_id for q in queries if q.content_type_id == lab_result.pk]
    if lab_ids:
        from labs.models import LabPanel, LabResult

        panel_type = ContentType.objects.get_for_model(LabPanel).pk
        result_panels = {
            pk: (panel_type, panel_id, analyte)
            for pk, panel_id, analyte in LabResult.objects.filter(pk__in=lab_ids).values_list(
                "pk", "panel_id", "analyte"
            )
        }
    for query in queries:
        key, field_name = (query.content_type_id, query.object_id), query.field_name
        if query.content_type_id == lab_result.pk and query.object_id in result_panels:
            panel_type, panel_id, analyte = result_panels[query.object_id]
            key, field_name = (panel_type, panel_id), f"{analyte}: {field_name}"
        else:
            model = query.content_type.model_class()
            names = {f.name: f for f in model._meta.concrete_fields}
            if query.field_name in names:  # a pseudo-field keeps its name
                field_name = str(names[query.field_name].verbose_name)
        result[key].append(
            Thread(
                field=field_name,
                status=str(query.get_status_display()),
                kind=str(query.get_query_type_display()),
                text=query.shown_text,
                opened=_stamp(query.opened_at, tz),
                opened_by=query.opened_by.username if query.opened_by else _("system"),
                messages=messages.get(query.pk, []),
            )
        )
    return result


def _verifications(participant, tz: str) -> dict[tuple[int, int], list[SourceVerification]]:
    found = defaultdict(list)
    for verification in (
        SourceVerification.objects.filter(participant=participant, cleared_at=None)
        .select_related("verified_by")
        .order_by("verified_at", "pk")
    ):
        found[(verification.content_type_id, verification.object_id)].append(verification)
    return found


def _signature_lines(signatures) -> list[tuple[str, str]]:
    return [(s.manifestation, s.breakage) for s in signatures]


def build(participant, *, now: datetime | None = None, progress=None) -> Casebook:
    """The participant's casebook as printed now (``progress(fraction)`` as the forms are read)."""
    from crfs.selectors import expected_forms

    now = now or timezone.now()
    site = participant.site
    tz = site.timezone
    visits = list(schedule_for(participant, now))
    threads = _threads(participant, tz)
    verifications = _verifications(participant, tz)
    missing_all = _missing_for(participant)
    records: dict[int, list[tuple[str, object]]] = defaultdict(list)
    order = {code: i for i, code in enumerate(FORMS)}
    for code, spec in FORMS.items():
        for record in spec.model.objects.filter(participant=participant, entered_in_error=False).order_by(
            "pk"
        ):
            records[record.visit_id].append((code, record))
    audit = _audit_by_record(participant, records, tz)
    signatures = signatures_for(participant)
    by_visit = defaultdict(list)
    casebook_signatures = []
    for signature in signatures:
        (by_visit[signature.visit_id] if signature.visit_id else casebook_signatures).append(signature)
    manifest: list[dict] = []
    sections = []
    total = max(1, sum(len(v) for v in records.values()))
    done = 0
    for visit in visits:
        expected = expected_forms(visit)
        entered = sorted(
            records.get(visit.pk, []),
            key=lambda item: (
                expected.index(item[0]) if item[0] in expected else len(expected) + order[item[0]],
                item[1].pk,
            ),
        )
        forms = []
        for code, record in entered:
            forms.append(_form(code, record, tz, threads, verifications, missing_all, audit))
            manifest.append(
                {
                    "visit": visit.code,
                    "form": code,
                    "record": f"{record._meta.label}:{record.pk}",
                    "version": record.version,
                    "sha256": forms[-1].sha256,
                }
            )
            done += 1
            if progress is not None:
                progress(done / total)
        sections.append(
            VisitSection(
                visit=visit,
                title=visit.display_name,
                anchor=f"visit-{visit.pk}",
                date=visit.visit_date.isoformat() if visit.visit_date else "",
                status=str(VISIT_STATUS.get(visit.status, visit.status)),
                forms=forms,
                signatures=_signature_lines(by_visit.get(visit.pk, [])),
            )
        )
    event_forms = _event_forms(participant, tz, threads, verifications)
    for form in event_forms:
        manifest.append(
            {
                "visit": None,
                "form": "adverse_event",
                "record": f"{form.record._meta.label}:{form.record.pk}",
                "version": form.record.version,
                "sha256": form.sha256,
            }
        )
    events = None
    if event_forms:
        events = VisitSection(
            visit=None,
            title=_("Adverse events"),
            anchor="adverse-events",
            date="",
            status="",
            forms=event_forms,
            signatures=[],
        )
    for signature in signatures:
        manifest.append(
            {
                "signature": signature.pk,
                "scope": signature.scope,
                "status": signature.status,
                "content_hash": signature.content_hash,
            }
        )
    book = Casebook(
        participant=participant,
        study=site.study,
        site=site,
        exported_at=now,
        exported_local=_stamp(now, tz),
        visits=sections,
        signatures=_signature_lines(casebook_signatures),
        manifest=manifest,
        events=events,
    )
    book.manifest_sha256 = manifest_sha256(participant, manifest)
    return book


def manifest_sha256(participant, manifest: list[dict]) -> str:
    """SHA-256 of the content manifest: the participant and every entry, canonical JSON."""
    return _digest({"participant": str(participant), "site": participant.site.code, "entries": manifest})


def _missing_for(participant) -> dict[tuple[int, int], dict[str, str]]:
    """Why a field has no value ("not done", "unknown", "not applicable"), by record (one query)."""
    from django.db.models import Q

    from crfs.models import MissingValue

    wanted = Q(pk__in=[])
    for spec in FORMS.values():
        ct = ContentType.objects.get_for_model(spec.model).pk
        ids = spec.model.objects.filter(participant=participant).values("pk")
        wanted |= Q(content_type_id=ct, object_id__in=ids)
    found = defaultdict(dict)
    for value in MissingValue.objects.filter(wanted).exclude(reason=""):
        found[(value.content_type_id, value.object_id)][value.field_name] = str(value.get_reason_display())
    return found


def _audit_by_record(participant, records, tz) -> dict[tuple[str, str], list[HistoryRow]]:
    """Each form's audit trail (as its history page shows it: the form, its rows, its verifications and
    locks), keyed by the form's (model label, id); one query per tracked model for the whole casebook."""
    from monitoring.models import Lock

    owner: dict[tuple[str, str], tuple[str, str]] = {}
    objects = []

    def add(obj, form):
        owner[(obj._meta.label, str(obj.pk))] = (form._meta.label, str(form.pk))
        objects.append(obj)

    forms_by_key = {}
    by_model = defaultdict(list)
    for entered in records.values():
        for _code, record in entered:
            add(record, record)
            by_model[type(record)].append(record)
            forms_by_key[(ContentType.objects.get_for_model(record).pk, record.pk)] = record
    for model, forms in by_model.items():
        for name in model.child_sets:
            relation = model._meta.get_field(name)
            link = relation.field.attname
            parents = {form.pk: form for form in forms}
            for row in relation.related_model.objects.filter(**{f"{link}__in": list(parents)}):
                add(row, parents[getattr(row, link)])
    reviews = [
        *SourceVerification.objects.filter(participant=participant),
        *Lock.objects.filter(participant=participant, content_type__isnull=False),
    ]
    for review in reviews:
        form = forms_by_key.get((review.content_type_id, review.object_id))
        if form is not None:
            add(review, form)
    found = defaultdict(list)
    for row in history_rows(objects, tz=tz):
        found[owner.get(row.key, row.key)].append(row)
    return found


def _form(code, record, tz, threads, verifications, missing_all, audit) -> Form:
    spec = FORMS[code]
    model = spec.model
    key = (ContentType.objects.get_for_model(model).pk, record.pk)
    values, form_threads, verification = _review(
        key, _data_fields(model), record, missing_all.get(key, {}), tz, threads, verifications
    )
    tables = _rows_of(record)
    title = str(spec.title)
    if code == "labs":  # several panels at a visit: each says which
        title = f"{title} · {record.get_panel_display()}"
    return _printed(
        code,
        title,
        f"form-{code}-{record.pk}",
        str(record.get_status_display()),
        record,
        (values, form_threads, verification),
        tables,
        audit,
    )


def _printed(code, title, anchor, status, record, reviewed, tables, audit) -> Form:
    values, form_threads, verification = reviewed
    return Form(
        code=code,
        title=title,
        anchor=anchor,
        status=status,
        record=record,
        values=values,
        tables=tables,
        queries=form_threads,
        verification=verification,
        audit=audit.get((record._meta.label, str(record.pk)), []),
        sha256=_content_digest(values, tables),
    )


def _review(
    key, fields, record, missing, tz, threads, verifications
) -> tuple[list[Value], list[Thread], str]:
    """The printed values of ``record`` (``fields``) with their SDV and query marks, the record's query
    threads, and the line saying what was verified."""
    checks = verifications.get(key, [])
    whole = next((v for v in checks if not v.field_name), None)
    verified_fields = {v.field_name for v in checks if v.field_name}
    form_threads = threads.get(key, [])
    counted = defaultdict(int)
    for thread in form_threads:
        counted[thread.field] += 1
    values = []
    for f in fields:
        label, unit = split_unit(str(f.verbose_name))
        values.append(
            Value(
                name=f.name,
                label=label,
                value=_field_value(record, f, missing),
                unit=unit,
                verified=whole is not None or f.name in verified_fields,
                queries=counted.get(str(f.verbose_name), 0),
            )
        )
    if whole is not None:
        verification = _("Verified as a whole by %(user)s on %(at)s") % {
            "user": whole.verified_by.username,
            "at": _stamp(whole.verified_at, tz),
        }
    elif verified_fields:
        verification = _("Fields verified: %(fields)s") % {
            "fields": ", ".join(v.label for v in values if v.name in verified_fields)
        }
    else:
        verification = ""
    return values, form_threads, verification


def _content_digest(values: list[Value], tables: list[Table]) -> str:
    return _digest(
        {"values": [[v.name, v.value] for v in values], "tables": [[t.title, t.rows] for t in tables]}
    )


def _event_forms(participant, tz, threads, verifications) -> list[Form]:
    """The participant's adverse events (not entered in error), one printed form each: the event's values,
    its dated grade entries and SAE report as tables, its queries, SDV and audit trail (the event's, its
    grades' and its report's). A fixed number of queries whatever the number of events."""
    from adverse_events.models import AdverseEvent, AdverseEventGrade, SaeReport
    from monitoring.models import Lock

    events = list(
        AdverseEvent.objects.filter(participant=participant, entered_in_error=False).order_by("number")
    )
    if not events:
        return []
    grades = defaultdict(list)
    for grade in AdverseEventGrade.objects.filter(adverse_event__in=events, entered_in_error=False).order_by(
        "grade_on", "pk"
    ):
        grades[grade.adverse_event_id].append(grade)
    reports = {
        r.adverse_event_id: r
        for r in SaeReport.objects.filter(adverse_event__in=events, entered_in_error=False)
    }
    ct = ContentType.objects.get_for_model(AdverseEvent).pk
    owner, objects = {}, []

    def add(obj, event):
        owner[(obj._meta.label, str(obj.pk))] = (event._meta.label, str(event.pk))
        objects.append(obj)

    by_pk = {event.pk: event for event in events}
    for event in events:
        add(event, event)
        for grade in grades[event.pk]:
            add(grade, event)
        if event.pk in reports:
            add(reports[event.pk], event)
    for review in [
        *SourceVerification.objects.filter(participant=participant, content_type_id=ct),
        *Lock.objects.filter(participant=participant, content_type_id=ct),
    ]:
        if review.object_id in by_pk:
            add(review, by_pk[review.object_id])
    audit = defaultdict(list)
    for row in history_rows(objects, tz=tz):
        audit[owner.get(row.key, row.key)].append(row)

    forms = []
    fields = _data_fields(AdverseEvent, FORM_BOOKKEEPING | {"participant", "number"})
    for event in events:
        values, form_threads, verification = _review(
            (ct, event.pk), fields, event, {}, tz, threads, verifications
        )
        tables = [
            table
            for table in (
                _table(AdverseEventGrade, grades[event.pk], hidden={"adverse_event"}),
                _table(
                    SaeReport,
                    [reports[event.pk]] if event.pk in reports else [],
                    hidden={"adverse_event", "participant"},
                ),
            )
            if table is not None
        ]
        peak = max((g.grade for g in grades[event.pk]), default=None)
        status = [_("serious") if event.serious else _("not serious")]
        if peak is not None:
            status.insert(0, _("maximum grade %(grade)s") % {"grade": peak})
        forms.append(
            _printed(
                "adverse_event",
                f"{_('AE')} {event.number} · {event.term_label}",
                f"adverse-event-{event.pk}",
                " · ".join(str(part) for part in status),
                event,
                (values, form_threads, verification),
                tables,
                audit,
            )
        )
    return forms

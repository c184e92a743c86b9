"""CSV export: per table a wide file (one row per record) and a long file (one row per value), plus
a data dictionary describing every variable.

Tables: the participants, their visits, every form of the registry in scope (with its child rows,
e.g. the prior-treatment log or the analytes of a lab panel) and the adverse events.

Each file is one ``COPY (SELECT …) TO STDOUT`` streamed from PostgreSQL straight to disk: the
database formats, labels, shifts and unpivots the values, so memory stays flat however large the
study grows and the export runs close to the speed of a plain COPY. The SELECT is built from the
scope's Django querysets (``exports.scope``), so the options mean the same as everywhere else.

Wide columns: ``study_id, site, visit, visit_date, study_day, record_id`` then every field; a coded
field is followed by ``<field>_label``. A field the site may leave empty with a reason (the protocol's
``missing_data``: "not done", "unknown", "not applicable") is followed by ``<field>_missing_reason``
(the code, empty when the field has a value or no reason) and its ``_label``; the long file has a row
per reason given and the data dictionary lists these columns with the role ``missing_reason``. A
partial date is written to its precision ("2019", "2019-03"), and has no study day unless known to
the day. Long columns: ``study_id, site, visit, study_day,
record_id, variable, value, label``; empty values have no long row (re-pivoting fills them with "").
``study_id`` is the participant's key, the same as ODM's ``SubjectKey`` and SDTM's ``SUBJID``
(``odm.subject_key``). Cells follow the one CSV writer's rules (``exports.csvfile``): text that
begins like a formula is prefixed with a quote, numbers stay numbers, time stamps are ISO 8601 in UTC,
decimals carry no trailing zeros; the PostgreSQL expressions of each column apply them by type.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import models
from django.db.models import Case, Count, F, Func, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import translation

from adverse_events.models import AdverseEvent
from crfs import missing
from crfs.models import MissingReason, MissingValue
from edc.models import RECORD_BOOKKEEPING
from edc.partial_dates import Precision
from trials.models import Participant
from visits.models import DaysBetween, Visit

from . import deid, scope
from .csvfile import CsvFile, IsoInstant, Neutral, PlainNumber, neutralise
from .options import ExportOptions

# Columns every clinical record carries that say nothing about the data (they are in the audit trail).
BOOKKEEPING = RECORD_BOOKKEEPING | {"id", "participant", "visit", "completed_by"}

WIDE_KEYS = ["study_id", "site", "visit", "visit_date", "study_day", "record_id"]
LONG_COLUMNS = ["study_id", "site", "visit", "study_day", "record_id", "variable", "value", "label"]
DICTIONARY_COLUMNS = [
    "file",
    "form",
    "variable",
    # key (identifies the row), data, missing_reason (why the field before it is empty), or label (the
    # text of the coded column before it)
    "role",
    "label",
    "type",
    "unit",
    "code_list",
    "derived",
    "rule_version",
]
# The key columns of every wide file, as the data dictionary describes them.
KEY_LABELS = {
    "study_id": ("participant key: the study id (a participant never enrolled: its screening number, "
                 "or its stored pseudonym NOT-ENROLLED-<random> when de-identified)", "text"),
    "site": ("site code", "text"),
    "visit": ("visit code (empty for records without a visit)", "text"),
    "visit_date": ("visit date", "date"),
    "study_day": ("study day of the visit (days from Day 0, the CAR-T infusion)", "integer"),
    "record_id": ("record identifier (unique within the file; child rows name it in form_record_id)",
                  "integer"),
}  # fmt: skip

DEIDENTIFIED_RECORD_KEY = (
    "record key: <study_id>.<n>, the participant's n-th record of the table in entry order (an adverse "
    "event: its AE number); a child row adds .<m>, its number within the form (form_record_id)",
    "text",
)
_UNIT = re.compile(r"\(([^(),]{1,15})\)\s*$")


class AddDays(Func):
    """``date + n`` (PostgreSQL date arithmetic): a date moved by a whole number of days."""

    arg_joiner = " + "
    template = "(%(expressions)s)"
    output_field = models.DateField()


class AddDaysToInstant(Func):
    """``instant + n * interval '1 day'``."""

    arg_joiner = " + interval '1 day' * "
    template = "(%(expressions)s)"
    output_field = models.DateTimeField()


class AgeInYear(Func):
    """``EXTRACT(YEAR FROM date)::int - year_of_birth``: age from the year of birth alone."""

    arg_joiner = ")::int - ("
    template = "(EXTRACT(YEAR FROM %(expressions)s))"
    output_field = models.IntegerField()


class ToChar(Func):
    """``to_char(date, format)``."""

    function = "to_char"
    output_field = models.CharField()


def partial_iso(expression, precision):
    """A partial date as ISO 8601 text to its precision: ``2019``, ``2019-03`` or ``2019-03-15``."""
    return Case(
        When(**{precision: Precision.YEAR}, then=ToChar(expression, Value("YYYY"))),
        When(**{precision: Precision.MONTH}, then=ToChar(expression, Value("YYYY-MM"))),
        default=ToChar(expression, Value("YYYY-MM-DD")),
        output_field=models.CharField(),
    )


@dataclass
class Variable:
    """One exported column of a table: its dictionary entry and the SQL that produces it."""

    name: str
    path: str  # the field's path from the table's model
    label: str
    type: str
    model_field: models.Field | None = None
    choices: dict = field(default_factory=dict)
    derived: bool = False
    rule_version: str = ""
    unit: str = ""
    age_at: str = ""  # a year of birth exported as age: the path of the date it is measured at
    as_study_day: bool = False
    drop: bool = False
    precision: str = ""  # a partial date: the path of its precision (``edc.partial_dates``)
    missing_of: str = ""  # why field ``missing_of`` is empty ("not done"…: ``crfs.missing``)
    role: str = "data"  # the data dictionary's role: data, or missing_reason


@dataclass
class Table:
    """One exported table: the records of a form (or of its child rows) in scope."""

    name: str  # file stem
    form: str  # form code ("participants", "visits", "adverse_events" for the others)
    queryset: models.QuerySet
    participant: str  # path from the table's model to its participant ("" for participants)
    visit: str | None  # path to its visit ("" for visits, None without one)
    variables: list[Variable] = field(default_factory=list)


def _field_type(f: models.Field) -> str:
    if f.choices:
        return "coded"
    if isinstance(f, models.BooleanField):
        return "boolean"
    if isinstance(f, models.DateTimeField):
        return "datetime"
    if isinstance(f, models.DateField):
        return "date"
    if isinstance(f, models.TimeField):
        return "time"
    if isinstance(f, models.IntegerField | models.AutoField):
        return "integer"
    if isinstance(f, models.DecimalField | models.FloatField):
        return "decimal"
    if isinstance(f, models.JSONField):
        return "json"
    return "text"


def _rule_version_field(model, f: models.Field) -> str:
    """The field holding the rule version of derived field ``f`` (clinical rules are versioned)."""
    names = [x.name for x in model._meta.concrete_fields]
    if "rule_versions" in names:
        return f"rule_versions[{f.name}]"
    candidates = [n for n in names if n.endswith("rule_version")]
    if len(candidates) <= 1:
        return candidates[0] if candidates else ""
    for candidate in candidates:
        stem = candidate.removesuffix("_rule_version")
        if f.name.startswith(stem) or stem in f.name.split("_"):
            return candidate
    return "grade_rule_version" if "grade_rule_version" in candidates else candidates[0]


def _is_user(model) -> bool:
    return model._meta.label == settings.AUTH_USER_MODEL


def _variables(model, options: ExportOptions, *, exclude=(), date_base: str = "") -> list[Variable]:
    """The data variables of ``model``, de-identified as the options say."""
    dropped = deid.dropped_fields(model) if options.deidentify else set()
    study_days = options.deidentify and options.date_mode == "study_day"
    result = []
    for f in model._meta.concrete_fields:
        if f.name in BOOKKEEPING or f.name in exclude:
            continue
        if f.name == "year_of_birth" and options.deidentify:
            result.append(Variable("age", f.name, "age (years)", "integer", f, age_at=date_base))
            continue
        if f.name in dropped:
            continue
        related = getattr(f.remote_field, "model", None)
        if related is not None:
            if _is_user(related):
                continue  # people appear in the audit trail, not in the data
            if related._meta.label in RELATED_TEXT:
                result.append(Variable(f.name, f.name, str(f.verbose_name), "text", f))
            elif any(x.name == "code" for x in related._meta.concrete_fields):
                result.append(Variable(f.name, f"{f.name}__code", str(f.verbose_name), "text", f))
            else:
                result.append(Variable(f.name, f.attname, str(f.verbose_name), "integer", f))
            continue
        kind = _field_type(f)
        label = str(f.verbose_name)
        unit = _UNIT.search(label)
        var = Variable(
            f.name,
            f.name,
            label,
            kind,
            f,
            choices={str(k): str(v) for k, v in f.flatchoices} if f.choices else {},
            derived=not f.editable and not f.name.endswith(("rule_version", "rule_versions")),
            unit=unit.group(1) if unit else "",
        )
        if var.derived:
            var.rule_version = _rule_version_field(model, f)
        if kind == "date" and any(x.name == f"{f.name}_precision" for x in model._meta.concrete_fields):
            var.precision, var.type = f"{f.name}_precision", "partial_date"
        if study_days and kind == "datetime":
            continue
        if study_days and kind == "date":
            var.name, var.type, var.label = f"{f.name}_study_day", "integer", f"{label} (study day)"
            var.as_study_day = True
        result.append(var)
    return result


def _with_missing_reasons(model, variables: list[Variable], allowed: dict) -> list[Variable]:
    """``variables`` with ``<field>_missing_reason`` after each field whose absence the site may explain
    (the protocol's ``missing_data``) or has explained (a reason given before a protocol amendment)."""
    given = MissingValue.objects.filter(
        content_type__app_label=model._meta.app_label, content_type__model=model._meta.model_name
    ).exclude(reason="")
    fields = set(allowed) | set(given.values_list("field_name", flat=True).distinct().iterator())
    result = []
    for var in variables:
        result.append(var)
        name = var.model_field.name if var.model_field is not None else ""
        if name in fields and not var.age_at:
            result.append(
                Variable(
                    f"{name}_missing_reason",
                    name,
                    f"why {var.label} is missing",
                    "coded",
                    var.model_field,
                    choices={str(k): str(v) for k, v in MissingReason.choices},
                    missing_of=name,
                    role="missing_reason",
                )
            )
    return result


def _missing_reason(var: Variable, *, label: bool = False):
    """SQL of the reason stored for ``var.missing_of`` of the row's record (its code, or its label)."""
    model = var.model_field.model
    rows = MissingValue.objects.filter(
        content_type__app_label=model._meta.app_label,
        content_type__model=model._meta.model_name,
        object_id=OuterRef("pk"),
        field_name=var.missing_of,
    ).exclude(reason="")
    if label:
        text = Case(
            *(When(reason=code, then=Value(neutralise(text))) for code, text in var.choices.items()),
            default=Value(""),
            output_field=models.CharField(),
        )
        return Coalesce(Subquery(rows.annotate(text=text).values("text")[:1]), Value(""))
    return Neutral(Subquery(rows.values("reason")[:1], output_field=models.CharField()))


def _children(model):
    """Child tables entered with a form: one-to-many relations whose rows have no participant."""
    for rel in model._meta.related_objects:
        child = rel.related_model
        if not rel.one_to_many or hasattr(child, "pgh_obj"):
            continue
        if any(f.name == "participant" for f in child._meta.concrete_fields):
            continue
        yield rel


def _live(qs):
    if any(f.name == "entered_in_error" for f in qs.model._meta.concrete_fields):
        return qs.filter(entered_in_error=False)
    return qs


def tables(study, options: ExportOptions) -> list[Table]:
    """Every table of a CSV export, in file order."""
    people = scope.participants(study, options)
    in_scope = scope.participant_scope(study, options).values("pk")
    result = [
        Table(
            "participants",
            "participants",
            people,
            "",
            None,
            # ``study_id`` is the key column already.
            _variables(Participant, options, exclude={"site", "study_id"}, date_base="screening_date"),
        )
    ]
    visits = Visit.objects.filter(participant__in=in_scope, entered_in_error=False)
    if options.cutoff is not None:
        visits = visits.filter(
            Q(visit_date__lte=options.cutoff) | Q(visit_date=None, target_date__lte=options.cutoff)
        )
    if options.locked_only:
        visits = scope.is_locked_filter(visits, visit="pk")
    visits = visits.order_by("participant__site__code", "participant__screening_number", "sequence")
    exclude = {"code", "definition", "name", "visit_date"}  # the code and date are key columns
    result.append(
        Table("visits", "visits", visits, "participant__", "", _variables(Visit, options, exclude=exclude))
    )
    for spec in scope.form_specs(options):
        model = spec.model
        records = scope.records(spec, options, study)
        variables = _variables(model, options, date_base="visit__visit_date")
        variables = _with_missing_reasons(model, variables, missing.allowed(study, spec.code))
        result.append(Table(spec.code, spec.code, records, "participant__", "visit__", variables))
        for rel in _children(model):
            child, link = rel.related_model, rel.field.name
            rows = _live(child.objects.filter(**{f"{link}__in": records.values("pk")})).order_by(
                f"{link}__participant__site__code",
                f"{link}__participant__screening_number",
                f"{link}__visit__sequence",
                link,
                "pk",
            )
            kind = "text" if options.deidentify else "integer"  # de-identified: the form's record key
            variables = [Variable("form_record_id", link, str(rel.field.verbose_name), kind)]
            variables += _variables(child, options, exclude={link}, date_base=f"{link}__visit__visit_date")
            name = f"{spec.code}.{rel.name}"
            result.append(
                Table(name, spec.code, rows, f"{link}__participant__", f"{link}__visit__", variables)
            )
    if options.form_codes is None or "adverse_events" in options.form_codes:
        events = AdverseEvent.objects.filter(participant__in=in_scope, entered_in_error=False)
        if options.cutoff is not None:
            events = events.filter(onset_date__lte=options.cutoff)
        if options.locked_only:
            events = scope.is_locked_filter(events, visit=None)
        events = events.order_by("participant__site__code", "participant__screening_number", "number", "pk")
        variables = _variables(AdverseEvent, options, date_base="onset_date")
        result.append(Table("adverse_events", "adverse_events", events, "participant__", None, variables))
    return result


# --- SQL ----------------------------------------------------------------------------------------


def _reference_range_text(path: str):
    """A laboratory reference range as its text, ``lln–uln unit`` (the stored range, not its id)."""
    return Case(
        When(**{f"{path}__isnull": True}, then=Value(None)),
        default=Concat(
            Coalesce(PlainNumber(F(f"{path}__lln")), Value(""), output_field=models.TextField()),
            Value("–"),
            Coalesce(PlainNumber(F(f"{path}__uln")), Value(""), output_field=models.TextField()),
            Value(" "),
            F(f"{path}__unit"),
            output_field=models.TextField(),
        ),
        output_field=models.TextField(),
    )


# Foreign keys written as the text of the row they name (by the related model's label).
RELATED_TEXT = {"labs.ReferenceRange": _reference_range_text}


def _related_label(var: "Variable") -> str:
    f = var.model_field
    return f.related_model._meta.label if f is not None and f.is_relation else ""


def _typed(expression, var: "Variable"):
    """The column's SQL by type: booleans true/false, time stamps ISO 8601 (UTC), decimals without
    trailing zeros, text neutralised against formulas; integers and dates as PostgreSQL writes them."""
    f = var.model_field
    if isinstance(f, models.BooleanField):
        return Case(
            When(Q(**{var.path: True}), then=Value("true")),
            When(Q(**{var.path: False}), then=Value("false")),
            default=Value(None),
            output_field=models.CharField(),
        )
    if var.type == "datetime":
        return IsoInstant(expression)
    if var.type == "decimal":
        return PlainNumber(expression)
    if var.type in ("text", "coded", "json") and not isinstance(f, models.IntegerField):
        return Neutral(Cast(expression, models.TextField()) if var.type == "json" else expression)
    return expression


def subject_key_expression(p: str, options: ExportOptions):
    """SQL of ``odm.subject_key``: the study id; else the screening number, or in a de-identified export
    (which holds no screening number) the stored pseudonym (``deid.ensure_pseudonyms``)."""
    fallback = F(f"{p}pseudonym__key") if options.deidentify else F(f"{p}screening_number")
    return Neutral(Coalesce(F(f"{p}study_id"), fallback, output_field=models.TextField()))


def _ordinal(model, group: str, outer_group: str, outer_pk: str = "pk"):
    """SQL of ``deid.record_numbers``: the record's number among the rows of ``model`` with the same
    ``group`` (its participant, or the form of a child row), in the order they were entered."""
    rows = (
        model.objects.filter(**{group: OuterRef(outer_group), "pk__lte": OuterRef(outer_pk)})
        .order_by()
        .values(group)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Cast(Subquery(rows, output_field=models.IntegerField()), models.TextField())


def record_key_expression(table: Table, options: ExportOptions, *, parent: bool = False):
    """SQL of ``record_id`` (``parent``: of a child row's ``form_record_id``): the record's id, or in a
    de-identified export ``<subject key>.<n>``, the participant's n-th record of the table (an adverse
    event: its AE number); a child row adds ``.<m>``, its number within its form. A database id would
    link the file back to the identifiable data."""
    if not options.deidentify:
        return F("pk")
    model, p = table.queryset.model, table.participant
    key = subject_key_expression(p, options)
    if table.name == "participants":
        return key
    if model is AdverseEvent:
        return Concat(key, Value("."), Cast(F("number"), models.TextField()), output_field=models.TextField())
    if p == "participant__":
        return Concat(
            key, Value("."), _ordinal(model, "participant", "participant_id"), output_field=models.TextField()
        )
    link = p.removesuffix("__participant__")
    form = model._meta.get_field(link).related_model
    form_key = Concat(
        key, Value("."), _ordinal(form, "participant", f"{link}__participant_id", f"{link}_id"),
        output_field=models.TextField(),
    )  # fmt: skip
    if parent:
        return form_key
    return Concat(form_key, Value("."), _ordinal(model, link, f"{link}_id"), output_field=models.TextField())


def _columns(table: Table, options: ExportOptions) -> list[tuple[str, object]]:
    """(header, expression) of every wide column, in order."""
    p, v = table.participant, table.visit
    shift = options.deidentify and options.date_mode == "shift"
    study_days = options.deidentify and options.date_mode == "study_day"
    offset = deid.EffectiveOffset(F(f"{p}date_shift__days"))
    day0 = F(f"{p}infusion_date")
    columns: list[tuple[str, object]] = [
        ("study_id", subject_key_expression(p, options)),
        ("site", Neutral(F(f"{p}site__code"))),
        ("visit", Neutral(F(f"{v}code")) if v is not None else Value("", output_field=models.CharField())),
    ]
    visit_date = F(f"{v}visit_date") if v is not None else None
    if not study_days:
        if visit_date is None:
            columns.append(("visit_date", Value(None, output_field=models.DateField())))
        else:
            columns.append(("visit_date", AddDays(visit_date, offset) if shift else visit_date))
    study_day = (
        DaysBetween(visit_date, day0) if visit_date is not None else Value(None, models.IntegerField())
    )
    columns += [("study_day", study_day), ("record_id", record_key_expression(table, options))]
    for var in table.variables:
        value = F(var.path)
        if var.missing_of:
            value = _missing_reason(var)
        elif var.name == "form_record_id" and options.deidentify:
            value = record_key_expression(table, options, parent=True)
        elif var.age_at:
            value = AgeInYear(F(var.age_at), F(var.path))
        elif var.as_study_day and var.precision:
            # A date known to the year or month has no study day (SDTMIG 4.4.4).
            value = Case(
                When(**{var.precision: Precision.DAY}, then=DaysBetween(F(var.path), day0)),
                default=Value(None),
                output_field=models.IntegerField(),
            )
        elif var.as_study_day:
            value = DaysBetween(F(var.path), day0)
        elif _related_label(var) in RELATED_TEXT:
            value = Neutral(RELATED_TEXT[_related_label(var)](var.path))
        elif var.precision:
            value = partial_iso(AddDays(F(var.path), offset) if shift else F(var.path), var.precision)
        elif shift and var.type == "date":
            value = AddDays(F(var.path), offset)
        elif shift and var.type == "datetime":
            value = IsoInstant(AddDaysToInstant(F(var.path), offset))
        else:
            value = _typed(value, var)
        columns.append((var.name, value))
        if var.missing_of:
            columns.append((f"{var.name}_label", _missing_reason(var, label=True)))
        elif var.choices:
            label = Case(
                *(
                    When(Q(**{var.path: code}), then=Value(neutralise(text)))
                    for code, text in var.choices.items()
                ),
                default=Value(""),
                output_field=models.CharField(),
            )
            columns.append((f"{var.name}_label", label))
    return columns


def _wide_sql(table: Table, columns) -> tuple[str, tuple]:
    """``SELECT`` of the wide columns (aliases c0, c1, …) in the table's order."""
    aliases = {f"export_c{i}": expression for i, (_, expression) in enumerate(columns)}
    qs = table.queryset.annotate(**aliases).values_list(*aliases)
    sql, params = qs.query.sql_with_params()
    select = ", ".join(f'w."export_c{i}"' for i in range(len(columns)))
    return f"SELECT {select} FROM ({sql}) w", params


def _long_sql(table: Table, columns, wide_sql: str) -> str:
    """The wide rows unpivoted: one row per non-empty value, with its variable name and label."""
    index = {name: i for i, (name, _) in enumerate(columns)}
    keys = ", ".join(
        f'w."export_c{index[k]}"' for k in ("study_id", "site", "visit", "study_day", "record_id")
    )
    values = []
    for var in table.variables:
        i = index[var.name]
        label = f'w."export_c{index[var.name + "_label"]}"::text' if var.choices else "NULL::text"
        values.append(f'({_quote(var.name)}, w."export_c{i}"::text, {label})')
    if not values:
        return ""
    return (
        f"SELECT {keys}, v.variable, v.value, COALESCE(v.label, '') FROM ({wide_sql}) w "
        f"CROSS JOIN LATERAL (VALUES {', '.join(values)}) AS v(variable, value, label) "
        f"WHERE v.value IS NOT NULL AND v.value <> ''"
    )


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def copy_to(path: Path, header: list[str], sql: str, params=(), *, bom: bool = False) -> int:
    """``COPY (sql) TO STDOUT`` as CSV into ``path`` after ``header``; the number of rows."""
    with CsvFile(path, bom=bom) as out:
        out.header(header)
        return out.copy(sql, params)


def write_table(table: Table, options: ExportOptions, directory: Path) -> dict[str, int]:
    """Write ``<name>_wide.csv`` and ``<name>_long.csv``; row counts per file."""
    columns = _columns(table, options)
    wide_sql, params = _wide_sql(table, columns)
    wide_path, long_path = directory / f"{table.name}_wide.csv", directory / f"{table.name}_long.csv"
    bom = options.bom
    return {
        wide_path.name: copy_to(wide_path, [name for name, _ in columns], wide_sql, params, bom=bom),
        long_path.name: copy_to(
            long_path, LONG_COLUMNS, _long_sql(table, columns, wide_sql), params, bom=bom
        ),
    }


def write_dictionary(all_tables: list[Table], directory: Path, options: ExportOptions) -> dict[str, int]:
    """``data_dictionary.csv``: every column of every wide file, keys and labels included."""
    study_days = options.deidentify and options.date_mode == "study_day"
    path = directory / "data_dictionary.csv"
    with CsvFile(path, bom=options.bom) as out:
        out.header(DICTIONARY_COLUMNS)
        for table in all_tables:
            for key, (label, kind) in KEY_LABELS.items():
                if key == "visit_date" and study_days:
                    continue
                if key == "visit_date" and options.deidentify:
                    label += " (shifted by the participant's offset)"
                if key == "record_id" and options.deidentify:
                    label, kind = DEIDENTIFIED_RECORD_KEY
                out.writerow([table.name, table.form, key, "key", label, kind, "", "", "", ""])
            for v in table.variables:
                codes = "; ".join(f"{k}={label}" for k, label in v.choices.items())
                derived = "yes" if v.derived else ""
                out.writerow(
                    [table.name, table.form, v.name, v.role, v.label, v.type, v.unit, codes, derived,
                     v.rule_version]
                )  # fmt: skip
                if v.choices:
                    out.writerow(
                        [table.name, table.form, f"{v.name}_label", "label", f"{v.label} (label)", "text",
                         "", "", "", ""]
                    )  # fmt: skip
    return {path.name: out.rows}


def write_csv(
    *, study, options: ExportOptions, directory: Path, progress: Callable[[float], None] | None = None
) -> dict[str, int]:
    """Write every CSV table and the data dictionary into ``directory``; row counts per file name."""
    directory.mkdir(parents=True, exist_ok=True)
    if options.deidentify and options.date_mode == "shift":
        deid.ensure_date_shifts(scope.participant_scope(study, options).values("pk"))
    elif options.deidentify:
        deid.ensure_pseudonyms(scope.participant_scope(study, options).values("pk"))
    counts: dict[str, int] = {}
    with translation.override("en"):
        all_tables = tables(study, options)
        for index, table in enumerate(all_tables):
            counts.update(write_table(table, options, directory))
            if progress:
                progress((index + 1) / len(all_tables))
        counts.update(write_dictionary(all_tables, directory, options))
    return counts

"""Laboratory results imported from the hospital instead of re-typed: a FHIR R4 bundle or a CSV.

Three steps, each a named workflow:

1. :func:`upload_file` reads the file (:func:`read_fhir` or :func:`read_csv` with the site's
   :class:`~labs.models.LabImportMapping`), keeps it whole with its SHA-256 and previews every row;
2. the preview (:func:`assess_rows`) gives each row its outcome: new, same as entered, differs from
   entered, unmatched participant, unknown code, outside any window, locked (or unreadable). A row
   outside every visit window waits for the user to pick its visit (:func:`choose_visit`);
3. :func:`commit_import` writes the new and differing values through the lab services (reference
   range, H/L flag, CTCAE grade, automatic queries, audit): new panels together
   (``labs.services.create_panels``), values added to or changed in an existing panel through
   ``labs.services.save_panel``. One transaction: a failure anywhere leaves nothing half-saved; the
   panels written are row-locked and must be as the assessment saw them, else nothing is written.

Idempotence: a row is identified by its source identifier (``Observation.id``, the CSV row key). A
value already stored is "same as entered" and is not written again; a row imported earlier goes to the
visit it went to then (also when the user had picked it). A differing value becomes a change whose
reason says where it came from: "imported from <file>, row <n>".

The preview reads in bulk (participants, visits, locks and earlier rows: one query each for the whole
file; panels and results of the visits the rows land on only), so a 10,000-observation bundle previews
in seconds (``make bench``).
"""

import csv
import hashlib
import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from django.db import IntegrityError
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from accounts.permissions import Action, require
from crfs.checks import run_checks
from edc.audit import audited
from edc.clinical.errors import CalculatorInputError
from edc.clinical.units import CONVERSIONS, convert, unit_from_ucum
from edc.errors import DomainError
from monitoring.models import Lock, LockScope

from .analytes import BY_CODE, reported_decimals, unit_label
from .checks import RESULT
from .models import (
    WRITTEN_OUTCOMES,
    ImportFormat,
    ImportStatus,
    LabImport,
    LabImportMapping,
    LabImportRow,
    LabPanel,
    LabResult,
    RowOutcome,
)
from .services import NewPanel, ResultEntry, create_panels, save_panel

LOINC_TABLE = Path(__file__).with_name("data") / "loinc_analytes.csv"
LOINC_SYSTEM = "http://loinc.org"
UCUM_SYSTEM = "http://unitsofmeasure.org"
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 50_000
MAX_CELL = 200  # characters kept of any text read from a file
Outcome = RowOutcome


@cache
def loinc_analytes() -> dict[str, str]:
    """LOINC code → analyte code, from the table shipped in ``labs/data/loinc_analytes.csv``."""
    lines = [
        line for line in LOINC_TABLE.read_text(encoding="utf-8").splitlines() if not line.startswith("#")
    ]
    table = {row["loinc"].strip(): row["analyte"].strip() for row in csv.DictReader(lines)}
    unknown = {a for a in table.values() if a not in BY_CODE or not BY_CODE[a].quantitative}
    if unknown:  # pragma: no cover - a typo in the data file
        raise RuntimeError(f"loinc_analytes.csv names unknown analytes: {sorted(unknown)}")
    return table


# --- reading files ------------------------------------------------------------------------------


@dataclass
class SourceRow:
    """One observation as the file gives it (texts, not yet interpreted)."""

    number: int
    source_id: str = ""
    subject: str = ""
    code: str = ""
    value: str = ""
    unit: str = ""
    effective: str = ""
    performer: str = ""
    specimen: str = ""
    problem: str = ""  # the file itself is unreadable at this row


def _text(value) -> str:
    """A cell as text: never more than ``MAX_CELL`` characters, control characters removed."""
    if value is None:
        return ""
    if not isinstance(value, str):
        value = json.dumps(value) if isinstance(value, dict | list) else str(value)
    return "".join(ch for ch in value if ch.isprintable())[:MAX_CELL].strip()


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DomainError(_("The file is not UTF-8 text.")) from exc


def _reference_text(ref) -> str:
    if not isinstance(ref, dict):
        return ""
    return _text(ref.get("display") or (ref.get("identifier") or {}).get("value") or ref.get("reference"))


def read_fhir(content: bytes) -> list[SourceRow]:
    """The Observations of a FHIR R4 Bundle (JSON); other resources in it are ignored."""
    try:
        bundle = json.loads(_decode(content))
    except ValueError as exc:
        raise DomainError(_("The file is not valid JSON.")) from exc
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise DomainError(_("The file is not a FHIR Bundle (resourceType must be “Bundle”)."))
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise DomainError(_("The bundle's entries are not a list."))
    rows = []
    for index, entry in enumerate(entries, start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "Observation":
            continue
        row = SourceRow(number=index, source_id=_text(resource.get("id")))
        codings = (
            (resource.get("code") or {}).get("coding") if isinstance(resource.get("code"), dict) else None
        )
        codings = [c for c in codings or [] if isinstance(c, dict)]
        loinc = next((c for c in codings if c.get("system") == LOINC_SYSTEM), None)
        row.code = _text((loinc or (codings[0] if codings else {})).get("code"))
        quantity = resource.get("valueQuantity")
        if isinstance(quantity, dict):
            row.value = _text(quantity.get("value"))
            ucum = quantity.get("code") if quantity.get("system") == UCUM_SYSTEM else None
            row.unit = _text(ucum or quantity.get("unit"))
        else:
            row.problem = _("The observation has no numeric value (valueQuantity).")
        row.effective = _text(resource.get("effectiveDateTime"))
        subject = resource.get("subject")
        if isinstance(subject, dict):
            row.subject = _text((subject.get("identifier") or {}).get("value") or subject.get("display"))
        performers = resource.get("performer")
        if isinstance(performers, list) and performers:
            row.performer = _reference_text(performers[0])
        row.specimen = _reference_text(resource.get("specimen"))
        if not row.source_id:
            row.problem = _("The observation has no id.")
        rows.append(row)
        if len(rows) > MAX_ROWS:
            raise DomainError(_("The file has more than %(max)d rows; split it.") % {"max": MAX_ROWS})
    return rows


CSV_ATTRIBUTES = {"row_key": "source_id", "collected_at": "effective"}


def read_csv(content: bytes, mapping: LabImportMapping) -> list[SourceRow]:
    """The rows of a CSV file read with the site's column mapping (header names)."""
    text = _decode(content)
    if "\x00" in text:
        raise DomainError(_("The file contains NUL characters: it is not a CSV text file."))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=mapping.delimiter or ",")
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration as exc:
        raise DomainError(_("The file is empty.")) from exc
    except csv.Error as exc:
        raise DomainError(_("The file cannot be read as CSV.")) from exc
    columns = {}
    missing = []
    for name in LabImportMapping.COLUMNS:
        column = getattr(mapping, name)
        if not column:
            continue
        if column not in header:
            missing.append(column)
        else:
            columns[name] = header.index(column)
    if missing:
        raise DomainError(
            _("The file has no column %(columns)s: check the site's column mapping.")
            % {"columns": ", ".join(f"“{_text(c)}”" for c in missing)}
        )
    rows = []
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            row = SourceRow(number=reader.line_num)
            for name, index in columns.items():
                setattr(
                    row, CSV_ATTRIBUTES.get(name, name), _text(cells[index] if index < len(cells) else "")
                )
            if not row.source_id:
                row.problem = _("The row has no identifier (column %(column)s).") % {
                    "column": mapping.row_key
                }
            rows.append(row)
            if len(rows) > MAX_ROWS:
                raise DomainError(_("The file has more than %(max)d rows; split it.") % {"max": MAX_ROWS})
    except csv.Error as exc:
        raise DomainError(
            _("The file cannot be read as CSV (line %(line)d).") % {"line": reader.line_num}
        ) from exc
    return rows


# --- interpreting a row -------------------------------------------------------------------------


@dataclass
class Reading:
    """A row read as values: the analyte, the value in a unit the analyte accepts, the time."""

    analyte: str = ""
    value: Decimal | None = None
    unit: str = ""
    collected_at: datetime | None = None
    outcome: str = ""
    message: str = ""


def read_row(row: SourceRow, tz: str) -> Reading:
    """Interpret one row: unknown code, unreadable value, unit or time give their outcome and message."""
    if row.problem:
        return Reading(outcome=Outcome.INVALID, message=row.problem)
    code = loinc_analytes().get(row.code)
    if code is None:
        return Reading(
            outcome=Outcome.UNKNOWN_CODE,
            message=_("LOINC %(code)s is not mapped to a test of the study.") % {"code": row.code or "—"},
        )
    spec = BY_CODE[code]
    reading = Reading(analyte=code)
    try:
        value = Decimal(row.value.replace(",", "")) if row.value else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        return Reading(analyte=code, outcome=Outcome.INVALID, message=_("The value is not a number."))
    unit = unit_from_ucum(row.unit)
    if unit == "/[HPF]" and spec.standard_unit.endswith("/HPF"):
        unit = spec.standard_unit
    if unit not in spec.units:
        family = CONVERSIONS.get(spec.conversion or "", {})
        if unit in family:  # a unit the analyte is not entered in, but convertible to its standard one
            try:
                value = convert(spec.conversion, value, unit, spec.standard_unit)
            except CalculatorInputError:
                return Reading(analyte=code, outcome=Outcome.INVALID, message=_("The value is not a number."))
            unit = spec.standard_unit
        else:
            return Reading(
                analyte=code,
                outcome=Outcome.INVALID,
                message=_("The unit “%(unit)s” is not one of %(units)s.")
                % {"unit": row.unit, "units": ", ".join(unit_label(u) for u in spec.units)},
            )
    if value.as_tuple().exponent < -6:  # the precision stored (six decimals)
        value = value.quantize(Decimal("0.000001"))
    if value.adjusted() >= 14:
        return Reading(analyte=code, outcome=Outcome.INVALID, message=_("The value is not a number."))
    reading.value, reading.unit = value, unit
    # The value's own hard checks (negative, not physiologically possible), as the entry page runs them.
    probe = LabResult(analyte=code, value=value, unit=unit, standard_value=standard(code, value, unit))
    hard, _soft, _quiet = run_checks(RESULT, probe)
    if hard:
        return Reading(analyte=code, outcome=Outcome.INVALID, message=str(hard[0].message))
    reading.collected_at = _when(row.effective, tz)
    if reading.collected_at is None:
        return Reading(
            analyte=code,
            outcome=Outcome.INVALID,
            message=_("Give the collection date and time (ISO 8601, e.g. 2026-03-01T08:30:00+08:00)."),
        )
    if reading.collected_at > timezone.now():
        return Reading(
            analyte=code, outcome=Outcome.INVALID, message=_("The collection time cannot be in the future.")
        )
    return reading


def _when(text: str, tz: str) -> datetime | None:
    text = text.strip().replace("/", "-")
    if len(text) < 16:  # a date alone: the collection time is needed for the panel
        return None
    try:
        value = parse_datetime(text)
    except ValueError:
        return None
    if value is None:
        return None
    if timezone.is_naive(value):
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.replace(second=0, microsecond=0)


def standard(code: str, value: Decimal, unit: str) -> Decimal:
    """``value`` in the analyte's standard unit (to compare an imported value with an entered one)."""
    spec = BY_CODE[code]
    if unit == spec.standard_unit or spec.conversion is None:
        return value
    return convert(spec.conversion, value, unit, spec.standard_unit)


def _same(code: str, value: Decimal, unit: str, result: LabResult) -> bool:
    if result.not_done or result.value is None:
        return False
    if unit == result.unit:
        return value == result.value
    entered = standard(code, result.value, result.unit)
    imported = standard(code, value, unit)
    decimals = reported_decimals(code, BY_CODE[code].standard_unit)
    step = Decimal(1).scaleb(-(decimals + 1 if decimals is not None else 3))
    return abs(entered - imported) < step


# --- the preview --------------------------------------------------------------------------------


class Context:
    """What the preview of a file reads, once for all its rows."""

    def __init__(self, site, rows: list[SourceRow], readings: list[Reading], earlier_ids: dict | None = None):
        self.site = site
        subjects = {r.subject for r in rows if r.subject}
        from trials.models import Participant
        from visits.models import Visit

        found = Participant.objects.filter(
            Q(screening_number__in=subjects) | Q(study_id__in=subjects), site=site, entered_in_error=False
        )
        self.participants = {}
        for p in found:
            p.site = site  # each participant's site and study: read once, not once per panel written
            self.participants[p.screening_number] = p
            if p.study_id:
                self.participants[p.study_id] = p
        by_pk = {p.pk: p for p in self.participants.values()}
        ids = set(by_pk)
        self.visits = defaultdict(list)
        for visit in (
            Visit.objects.filter(participant_id__in=ids, entered_in_error=False)
            .select_related("definition")
            .order_by("participant_id", "sequence")
        ):
            visit.participant = by_pk[visit.participant_id]
            self.visits[visit.participant_id].append(visit)
        self.visit_by_id = {v.pk: v for vs in self.visits.values() for v in vs}
        self.panels, self.results = {}, {}  # of the visits the rows land on: load_entered()
        locks = Lock.objects.filter(study_id=site.study_id, unlocked_at=None)
        self.study_locked = any(lock.scope == LockScope.STUDY for lock in locks)
        self.locked_participants = {lk.participant_id for lk in locks if lk.scope == LockScope.PARTICIPANT}
        self.locked_visits = {lk.visit_id for lk in locks if lk.scope == LockScope.VISIT}
        self.locked_panels = {
            lk.object_id
            for lk in locks
            if lk.scope == LockScope.FORM and lk.form_table == LabPanel._meta.db_table
        }
        # Where each source identifier went when an earlier import of this site wrote it.
        sources = {r.source_id for r in rows if r.source_id}
        self.earlier = earlier_ids if earlier_ids is not None else {}
        if earlier_ids is None:
            for source_id, visit_id in (
                LabImportRow.objects.filter(
                    lab_import__site=site,
                    lab_import__status=ImportStatus.IMPORTED,
                    source_id__in=sources,
                    visit__isnull=False,
                    result__isnull=False,
                )
                .order_by("pk")
                .values_list("source_id", "visit_id")
            ):
                self.earlier[source_id] = visit_id

    def load_entered(self, visit_ids) -> None:
        """The panels and results already entered at ``visit_ids`` (only those: a participant's other
        visits may hold thousands of results the file does not touch)."""
        for panel in LabPanel.objects.filter(visit_id__in=list(visit_ids), entered_in_error=False):
            self.panels[(panel.visit_id, panel.panel)] = panel
        self.results = {
            (r.panel_id, r.analyte): r
            for r in LabResult.objects.filter(panel_id__in=[p.pk for p in self.panels.values()])
        }

    @staticmethod
    def takes_labs(visit) -> bool:
        if visit.missed or visit.not_applicable:
            return False
        return visit.unscheduled or (visit.definition is not None and "labs" in visit.definition.forms)

    def visit_on(self, participant, when: datetime):
        """The visit whose window holds the collection date (the nearest target date wins), or None."""
        day = timezone.localtime(when, ZoneInfo(self.site.timezone)).date()
        candidates = [
            v
            for v in self.visits[participant.pk]
            if self.takes_labs(v) and not v.unscheduled and v.window_start <= day <= v.window_end
        ]
        if not candidates:
            return None
        return min(candidates, key=lambda v: (abs((v.target_date - day).days), v.sequence))

    def lab_visits(self, participant) -> list:
        return [v for v in self.visits[participant.pk] if self.takes_labs(v)]

    def locked(self, participant, visit, panel) -> bool:
        return (
            self.study_locked
            or participant.pk in self.locked_participants
            or visit.pk in self.locked_visits
            or (panel is not None and panel.pk in self.locked_panels)
        )


def _entered_text(result: LabResult) -> str:
    if result.not_done:
        return str(_("not done"))
    if result.value is None:
        return result.result
    return f"{format(result.value.normalize(), 'f')} {unit_label(result.unit)}"


def assess_rows(site, rows: list[SourceRow], chosen: dict[int, int] | None = None) -> list[LabImportRow]:
    """Every row of a file with its outcome (unsaved ``LabImportRow`` objects, in file order).

    ``chosen`` maps a row number to the visit the user picked for it (a row outside every window).
    """
    chosen = chosen or {}
    readings = [read_row(row, site.timezone) for row in rows]
    context = Context(site, rows, readings)
    seen_sources: dict[str, int] = {}
    seen_targets: dict[tuple, int] = {}
    assessed = []
    matched = []  # (row, participant, reading) with a visit: their outcome needs what the visit holds
    for row, reading in zip(rows, readings, strict=True):
        out = LabImportRow(
            number=row.number,
            source_id=row.source_id,
            subject=row.subject,
            code=row.code,
            value_text=row.value[:100],
            unit_text=row.unit[:100],
            effective_text=row.effective[:100],
            performer=row.performer,
            specimen=row.specimen,
            analyte=reading.analyte,
            value=reading.value,
            unit=reading.unit,
            collected_at=reading.collected_at,
            outcome=reading.outcome,
            message=reading.message,
        )
        assessed.append(out)
        if row.source_id and row.source_id in seen_sources:
            out.outcome = Outcome.INVALID
            out.message = _("Row %(row)d has the same identifier.") % {"row": seen_sources[row.source_id]}
            continue
        if row.source_id:
            seen_sources[row.source_id] = row.number
        if out.outcome:
            continue
        participant = context.participants.get(row.subject)
        if participant is None:
            out.outcome = Outcome.UNMATCHED
            out.message = _("No participant of site %(site)s has this screening number or study id.") % {
                "site": site.code
            }
            continue
        out.participant = participant
        consent = participant.consent_date
        if (
            consent is not None
            and timezone.localtime(reading.collected_at, ZoneInfo(site.timezone)).date() < consent
        ):
            out.outcome = Outcome.INVALID
            out.message = _("The sample cannot have been collected before informed consent.")
            continue
        visit = None
        picked = chosen.get(row.number)
        if picked is not None and picked in context.visit_by_id:
            visit = context.visit_by_id[picked]
            if visit.participant_id != participant.pk or not context.takes_labs(visit):
                visit = None
            else:
                out.chosen_visit = visit
        if visit is None and row.source_id in context.earlier:
            visit = context.visit_by_id.get(context.earlier[row.source_id])
        if visit is None:
            visit = context.visit_on(participant, reading.collected_at)
        if visit is None:
            out.outcome = Outcome.OUTSIDE_WINDOW
            out.message = _("The collection date is outside every visit window: choose the visit.")
            continue
        out.visit = visit
        matched.append((out, participant, reading))
    context.load_entered({out.visit.pk for out, _p, _r in matched})
    for out, participant, reading in matched:
        visit = out.visit
        spec = BY_CODE[reading.analyte]
        panel = context.panels.get((visit.pk, spec.panel))
        out.seen_panel = panel  # what the import checks is unchanged before it writes (not stored)
        if context.locked(participant, visit, panel):
            out.outcome = Outcome.LOCKED
            out.message = _("The form is locked: ask the data manager to unlock it.")
            continue
        target = (visit.pk, reading.analyte)
        if target in seen_targets:
            out.outcome = Outcome.INVALID
            out.message = _("Row %(row)d gives this test at the same visit.") % {"row": seen_targets[target]}
            continue
        seen_targets[target] = out.number
        result = context.results.get((panel.pk, reading.analyte)) if panel is not None else None
        if result is None or not result.entered and not result.not_done:
            out.outcome = Outcome.NEW
        else:
            out.entered = _entered_text(result)[:60]
            out.outcome = (
                Outcome.SAME
                if _same(reading.analyte, reading.value, reading.unit, result)
                else Outcome.DIFFERS
            )
    return assessed


def _counts(rows: list[LabImportRow]) -> dict[str, int]:
    found = Counter(row.outcome for row in rows)
    return {outcome: found.get(outcome, 0) for outcome in Outcome.values}


# --- the workflows ------------------------------------------------------------------------------


def read_file(*, content: bytes, file_format: str, site) -> list[SourceRow]:
    if file_format == ImportFormat.FHIR:
        return read_fhir(content)
    if file_format == ImportFormat.CSV:
        mapping = LabImportMapping.objects.filter(site=site).first()
        if mapping is None:
            raise DomainError(
                _("Site %(site)s has no CSV column mapping yet: a data manager saves it once.")
                % {"site": site.code}
            )
        return read_csv(content, mapping)
    raise DomainError(_("Choose FHIR bundle or CSV."), field="format")


def preview_file(*, user, site, content: bytes, file_format: str) -> list[LabImportRow]:
    """The preview of a file without keeping it (``import_labs --dry-run``): unsaved rows."""
    require(user, Action.IMPORT_LABS, site)
    if not content:
        raise DomainError(_("The file is empty."), field="file")
    return assess_rows(site, read_file(content=content, file_format=file_format, site=site))


def upload_file(*, user, site, file_name: str, content: bytes, file_format: str) -> LabImport:
    """Keep an uploaded file with its SHA-256 and its preview (nothing is written to the panels)."""
    require(user, Action.IMPORT_LABS, site)
    if not content:
        raise DomainError(_("The file is empty."), field="file")
    if len(content) > MAX_BYTES:
        raise DomainError(_("The file is larger than 20 MB; split it."), field="file")
    rows = read_file(content=content, file_format=file_format, site=site)
    if not rows:
        raise DomainError(_("The file has no laboratory observations."), field="file")
    assessed = assess_rows(site, rows)
    with audited(user=user, action="lab_import.upload", reason=_text(file_name)):
        lab_import = LabImport.objects.create(
            site=site,
            format=file_format,
            file_name=_text(Path(file_name or "upload").name) or "upload",
            content=content,
            sha256=hashlib.sha256(content).hexdigest(),
            uploaded_by=user,
            counts=_counts(assessed),
        )
        for row in assessed:
            row.lab_import = lab_import
        LabImportRow.objects.bulk_create(assessed, batch_size=2000)
    return lab_import


def _chosen(lab_import) -> dict[int, int]:
    return dict(lab_import.rows.filter(chosen_visit__isnull=False).values_list("number", "chosen_visit_id"))


def _reassess(lab_import) -> tuple[list[LabImportRow], list[LabImportRow]]:
    """(stored rows, the same rows assessed again now)."""
    rows = read_file(content=bytes(lab_import.content), file_format=lab_import.format, site=lab_import.site)
    fresh = assess_rows(lab_import.site, rows, _chosen(lab_import))
    stored = list(lab_import.rows.order_by("number"))
    return stored, fresh


FIELDS = (
    "participant",
    "visit",
    "chosen_visit",
    "analyte",
    "value",
    "unit",
    "collected_at",
    "outcome",
    "message",
    "entered",
)


def _stored_value(row: LabImportRow, name: str):
    field = LabImportRow._meta.get_field(name)
    return getattr(row, field.attname)


def _store(stored: list[LabImportRow], fresh: list[LabImportRow]) -> None:
    """Write the fresh assessment onto the stored rows; only the rows whose outcome changed are updated
    (re-assessing a large file mostly finds what the preview stored: rewriting every row cost a third of
    an import's time)."""
    changed = []
    for old, new in zip(stored, fresh, strict=True):
        if any(_stored_value(old, name) != _stored_value(new, name) for name in FIELDS):
            for name in FIELDS:
                setattr(old, name, getattr(new, name))
            changed.append(old)
    LabImportRow.objects.bulk_update(changed, FIELDS, batch_size=500)


def _store_results(rows: list[LabImportRow]) -> None:
    """The result each written row produced, in one statement (``bulk_update`` builds a CASE branch per
    row in Python: seconds for a large file)."""
    from django.db import connection

    written = [row for row in rows if row.result is not None]
    if written:
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {LabImportRow._meta.db_table} AS row SET result_id = written.result "  # noqa: S608
                "FROM unnest(%s::bigint[], %s::bigint[]) AS written(id, result) WHERE row.id = written.id",
                [[row.pk for row in written], [row.result.pk for row in written]],
            )


def refresh_preview(*, user, lab_import: LabImport) -> LabImport:
    """Assess the rows of a previewed import again (the data may have changed since the upload)."""
    require(user, Action.IMPORT_LABS, lab_import.site)
    if lab_import.status != ImportStatus.PREVIEWED:
        raise DomainError(_("This file was already imported."))
    stored, fresh = _reassess(lab_import)
    with audited(user=user, action="lab_import.preview", reason=lab_import.file_name):
        _store(stored, fresh)
        lab_import.counts = _counts(fresh)
        lab_import.save(update_fields=["counts"])
    return lab_import


def choose_visit(*, user, lab_import: LabImport, number: int, visit_id: int | None) -> LabImport:
    """The user picks the visit of a row (one outside every window, or to correct the window's pick)."""
    require(user, Action.IMPORT_LABS, lab_import.site)
    if lab_import.status != ImportStatus.PREVIEWED:
        raise DomainError(_("This file was already imported."))
    row = lab_import.rows.filter(number=number).first()
    if row is None or row.participant_id is None:
        raise DomainError(_("Only a row of a known participant can be given a visit."))
    from visits.models import Visit

    visit = None
    if visit_id is not None:
        visit = Visit.objects.filter(
            pk=visit_id, participant_id=row.participant_id, entered_in_error=False
        ).first()
        if visit is None or not Context.takes_labs(visit):
            raise DomainError(
                _("Choose one of the participant's visits with laboratory results."), field="visit"
            )
    with audited(user=user, action="lab_import.choose_visit", reason=f"{lab_import.file_name}, {number}"):
        row.chosen_visit = visit
        row.save(update_fields=["chosen_visit"])
    return refresh_preview(user=user, lab_import=lab_import)


class PreviewChanged(DomainError):
    """The data changed between the preview and the import: the preview was refreshed, look again."""


def commit_import(*, user, lab_import: LabImport) -> LabImport:
    """Write the new and differing values of a previewed file through ``save_panel``: all or nothing.

    The rows are assessed again inside the transaction; when an outcome changed since the preview the
    user saw (a value entered meanwhile, a lock), nothing is written and the preview is refreshed.
    """
    require(user, Action.IMPORT_LABS, lab_import.site)
    try:
        return _commit(user, lab_import)
    except PreviewChanged:
        pass
    refresh_preview(user=user, lab_import=lab_import)
    raise PreviewChanged(
        _(
            "The data changed since this preview (a value entered or a form locked meanwhile): "
            "check the refreshed preview, then import."
        )
    )


def _commit(user, lab_import: LabImport) -> LabImport:
    """The import in one transaction; ``PreviewChanged`` (all rolled back) when an outcome changed since
    the preview or a panel of the file was created meanwhile by someone else."""
    with audited(user=user, action="lab_import.commit", reason=lab_import.file_name):
        lab_import = LabImport.objects.select_for_update().get(pk=lab_import.pk)
        if lab_import.status != ImportStatus.PREVIEWED:
            raise DomainError(_("This file was already imported."))
        stored, fresh = _reassess(lab_import)
        if [(r.outcome, r.visit_id, r.entered) for r in stored] != [
            (r.outcome, getattr(r.visit, "pk", None), r.entered) for r in fresh
        ]:
            raise PreviewChanged("")
        try:
            _write(user, lab_import, fresh)
        except IntegrityError as exc:  # a panel of the file created by someone else since the check
            if "one_per" not in str(exc):
                raise
            raise PreviewChanged("") from exc
        _store(stored, fresh)
        for old, new in zip(stored, fresh, strict=True):
            old.result = new.result
        _store_results(stored)
        lab_import.status = ImportStatus.IMPORTED
        lab_import.imported_by = user
        lab_import.imported_at = timezone.now()
        lab_import.counts = _counts(fresh)
        lab_import.written = sum(1 for r in fresh if r.outcome in WRITTEN_OUTCOMES)
        lab_import.save()
    return lab_import


def _reason(lab_import, numbers: list[int]) -> str:
    kind = _("row") if len(numbers) == 1 else _("rows")
    return _("imported from %(file)s, %(kind)s %(rows)s") % {
        "file": lab_import.file_name,
        "kind": kind,
        "rows": ", ".join(str(n) for n in numbers),
    }


def _write(user, lab_import, rows: list[LabImportRow]) -> None:
    """Save each panel touched once with its new values; each differing value alone, with its reason."""
    groups: dict[tuple, list[LabImportRow]] = defaultdict(list)
    for row in rows:
        if row.outcome == Outcome.NEW:
            groups[(row.visit.pk, BY_CODE[row.analyte].panel, None)].append(row)
        elif row.outcome == Outcome.DIFFERS:
            groups[(row.visit.pk, BY_CODE[row.analyte].panel, row.number)].append(row)
    # The panels the file writes to, locked until the import commits; each as the assessment saw it
    # (none, or the same version), else someone saved it meanwhile: nothing is written over it.
    current = {
        (panel.visit_id, panel.panel): panel
        for panel in LabPanel.objects.select_for_update()
        .filter(visit_id__in={key[0] for key in groups}, entered_in_error=False)
        .order_by("pk")
    }
    for key, members in groups.items():
        seen, now = members[0].seen_panel, current.get(key[:2])
        if (seen is None) != (now is None) or (seen is not None and seen.version != now.version):
            raise PreviewChanged("")
    entered = set(current)
    # New panels (most of a file of new results) are created together; the rest one by one.
    new = [(key, members) for key, members in groups.items() if key[2] is None and key[:2] not in entered]
    created = create_panels(
        user=user,
        site=lab_import.site,
        panels=[
            NewPanel(
                visit=members[0].visit,
                panel=panel_code,
                data=_panel_data(members, None),
                results=_entries(members),
                reason=_reason(lab_import, [r.number for r in members]),
            )
            for (_visit_id, panel_code, _single), members in new
        ],
    )
    _link(dict(zip([key for key, _m in new], created, strict=True)), groups)
    for (visit_id, panel_code, single), members in groups.items():
        if single is None and (visit_id, panel_code) not in entered:
            continue
        visit = members[0].visit
        instance = current[(visit_id, panel_code)]
        data = _panel_data(members, instance)
        reason = _reason(lab_import, [r.number for r in members])
        # Each save records under its own reason (its rows of the file), not the import's last one.
        with audited(user=user, action="lab_import.commit", reason=reason, separate=True):
            saved = save_panel(
                user=user,
                visit=visit,
                panel=panel_code,
                data=data,
                results=_entries(members),
                instance=instance,
                reason=reason,
                action=Action.IMPORT_LABS,
            )
        _link({(visit_id, panel_code, single): saved}, groups)


def _panel_data(members: list[LabImportRow], instance: LabPanel | None) -> dict:
    data = {
        "collected_at": min(r.collected_at for r in members),
        "laboratory": next((r.performer[:100] for r in members if r.performer), ""),
        "source": "local",
    }
    if instance is not None:  # the panel keeps its collection time, laboratory and source
        data = {
            "collected_at": instance.collected_at or data["collected_at"],
            "laboratory": instance.laboratory or data["laboratory"],
            "source": instance.source,
        }
    return data


def _entries(members: list[LabImportRow]) -> list[ResultEntry]:
    return [ResultEntry(r.analyte, r.value, r.unit) for r in members]


def _link(saved: dict[tuple, LabPanel], groups: dict[tuple, list[LabImportRow]]) -> None:
    """Each written row of the file gets the result it produced (one query for many panels)."""
    by_panel = {panel.pk: key for key, panel in saved.items()}
    results = defaultdict(dict)
    for result in LabResult.objects.filter(panel_id__in=list(by_panel)):
        results[by_panel[result.panel_id]][result.analyte] = result
    for key in saved:
        for row in groups[key]:
            row.result = results[key].get(row.analyte)


def rows_for_display(lab_import) -> list[LabImportRow]:
    return list(lab_import.rows.select_related("participant", "visit", "chosen_visit").order_by("number"))


def visit_choices(lab_import) -> dict[int, list]:
    """For each participant of a row outside every window: the visits the user may pick."""
    from visits.models import Visit

    ids = set(
        lab_import.rows.filter(participant__isnull=False, outcome=Outcome.OUTSIDE_WINDOW).values_list(
            "participant_id", flat=True
        )
    ) | set(lab_import.rows.filter(chosen_visit__isnull=False).values_list("participant_id", flat=True))
    found = defaultdict(list)
    for visit in (
        Visit.objects.filter(participant_id__in=ids, entered_in_error=False)
        .select_related("definition")
        .order_by("sequence")
    ):
        if Context.takes_labs(visit):
            found[visit.participant_id].append(visit)
    return found


def save_mapping(*, user, site, **columns) -> LabImportMapping:
    """A data manager saves which CSV columns of the site's laboratory export hold what (once per site)."""
    require(user, Action.MANAGE_RANGES, site)
    values = {name: _text(columns.get(name, ""))[:100] for name in LabImportMapping.COLUMNS}
    required = ("row_key", "subject", "code", "value", "unit", "collected_at")
    for name in required:
        if not values[name]:
            raise DomainError(_("Name the column of this field."), field=name)
    delimiter = columns.get("delimiter") or ","
    if delimiter not in (",", ";", "\t", "|"):
        raise DomainError(_("Choose a comma, semicolon, tab or vertical bar."), field="delimiter")
    with audited(user=user, action="lab_import.mapping", reason=site.code):
        mapping = LabImportMapping.objects.select_for_update().filter(site=site).first()
        mapping = mapping or LabImportMapping(site=site)
        for name, value in values.items():
            setattr(mapping, name, value)
        mapping.delimiter = delimiter
        mapping.updated_by = user
        mapping.save()
    return mapping

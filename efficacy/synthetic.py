"""Case report form data for the synthetic participants of ``trials.synthetic``, in bulk.

``seed_synthetic`` writes participants and their visits only. :func:`seed_synthetic_crfs` adds, for
every participant of the study that has no screening forms yet, what a site would have entered at
each visit that took place: demographics with prior treatments, the eligibility checklist (failing
for the screen failures), vital signs, physical examinations, haematology and chemistry panels
(cytopenias after lymphodepletion, graded by CTCAE), SLEDAI-2K, PGA and BILAG along the response
profiles of ``efficacy.demo``, a medication log with a prednisone taper, baseline ICE, lymphodepletion
and the CAR-T infusion, CRS and ICANS assessments on the inpatient days, adverse events with their
grade entries (CRS, ICANS, neutropenia, infections; some serious, with an SAE report), the end of
study at Month 24, and some values missing with their reason and some partial dates.

The rows are those the form services would store: each form is built as a model instance with the
entered values, derives its values with the model's own ``derive()`` (scores, grades, doses, the
eligibility outcome) and laboratory results with ``labs.services.assess_result`` (standard units,
reference range, flag, CTCAE grade); then every table is written with PostgreSQL ``COPY`` in one
transaction, so the pghistory triggers write one audit event per row, under the ``seed_synthetic``
audit context. The dosing forms and the checklist read the participant's other forms from the
database, so they are derived after the other forms are written. Nothing disables a trigger or a
constraint. Not produced: automatic queries and laboratory adverse-event prompts (workflow, not data).

Deterministic: the same ``seed`` on the same participants gives the same data. ``plant`` (for the
de-identification tests), ``plant(participant_id, model label, field name) -> str | None``, fills
every free-text field (:func:`free_text_fields`) of every written row with the text it returns.
"""

import random
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.contenttypes.models import ContentType
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.utils import timezone

from adverse_events.models import (
    AdverseEvent,
    AdverseEventGrade,
    BaselineIce,
    CrsAssessment,
    IcansAssessment,
    SaeReport,
)
from crfs.demo import checklist_data, demographics_data
from crfs.models import (
    Demographics,
    EligibilityChecklist,
    EndOfStudy,
    Infusion,
    Lymphodepletion,
    MissingValue,
    PhysicalExam,
    PriorTreatment,
    VitalSigns,
)
from disease_activity.models import BilagAssessment, PhysicianGlobalAssessment, SledaiAssessment
from edc.audit import audited
from edc.clinical.response import BILAG_SYSTEMS
from labs.analytes import BY_CODE
from labs.models import LabPanel, LabResult, ReferenceRange
from labs.selectors import age_on, pick_range
from labs.services import ResultEntry, _apply
from medications.models import Medication
from trials.models import Participant
from trials.synthetic import _prepare_audit_triggers
from visits.models import Visit

from .demo import BASELINE_ACTIVE, BASELINE_BILAG, COMMON_MEDICATIONS, PROFILES, TAPERS

EXAM_SYSTEMS = (
    "general",
    "skin",
    "head_neck",
    "lymph_nodes",
    "cardiovascular",
    "respiratory",
    "abdomen",
    "musculoskeletal",
    "neurological",
)
SLEDAI_VISITS = ("SCR", "BL", "D28", "M3", "M6", "M9", "M12", "M18", "M24")
EXAM_VISITS = ("SCR", "BL", "D14", "D28", "M3", "M6", "M9", "M12", "M18", "M24")
INPATIENT = ("D1", "D2", "D3", "D4", "D5", "D6", "D7")
HAEMATOLOGY = ("wbc", "anc", "alc", "hb", "platelets")
CHEMISTRY = ("creatinine", "alt", "ast", "bilirubin", "albumin", "ldh", "uric_acid", "sodium", "potassium")
CHEMISTRY_VISITS = (
    "SCR",
    "BL",
    "LD-5",
    "D0",
    "D3",
    "D7",
    "D14",
    "D28",
    "M3",
    "M6",
    "M9",
    "M12",
    "M18",
    "M24",
)
UNITS = {"wbc": "10^9/L", "anc": "10^9/L", "alc": "10^9/L", "platelets": "10^9/L", "hb": "g/L"}
SCREEN_FAILURES = [  # checklist values that fail a criterion, as the sites see them
    {"selena_sledai": 4},
    {"hbsag": "positive"},
    {"anc": Decimal("0.80")},
]
# Text a site would type; ``plant`` replaces every free-text field of a written row.
NOT_FREE_TEXT = {"entered_in_error_reason", "term", "analyte", "unit", "standard_unit", "result", "panel"}


def free_text_fields(model) -> list[models.Field]:
    """The fields of ``model`` where a user types free text (no choices, not a code the app derives)."""
    return [
        f
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField | models.TextField)
        and not f.choices
        and f.name not in NOT_FREE_TEXT
        and not f.name.endswith(("rule_version", "_precision"))
    ]


CHUNK = 250  # participants built and written at a time: memory stays flat for 10,000


class Batch:
    """Model instances to write, per model, with primary keys drawn from each table's sequence."""

    def __init__(self, plant: Callable | None = None):
        self.rows: dict[type, list] = defaultdict(list)
        self.ids: dict[type, list[int]] = defaultdict(list)
        self.plant = plant
        self.participant_id = None  # whose rows are being added, for ``plant``

    def add(self, obj):
        model = type(obj)
        if not self.ids[model]:
            self.ids[model] = _reserve(model, 2000)
        obj.pk = self.ids[model].pop()
        if self.plant is not None:
            for field in free_text_fields(model):
                text = self.plant(self.participant_id, model._meta.label, field.name)
                if text is not None:
                    setattr(obj, field.attname, text)
        self.rows[model].append(obj)
        return obj

    def write(self) -> dict[str, int]:
        counts = {}
        for model, rows in self.rows.items():
            _copy_instances(model, rows)
            counts[model._meta.label] = len(rows)
        self.rows.clear()
        return counts


def _reserve(model, count: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, model._meta.pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()][::-1]


def _copy_instances(model, rows: list) -> None:
    """``COPY`` the instances' column values; only JSON needs the field's adaptation, psycopg takes the
    other Python values (dates, decimals, aware datetimes) as they are."""
    fields = model._meta.concrete_fields
    db = connections[DEFAULT_DB_ALIAS]
    prepare = [
        (lambda v, f=f: f.get_db_prep_save(v, db)) if isinstance(f, models.JSONField) else None
        for f in fields
    ]
    names = [f.attname for f in fields]
    quote = db.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
    with db.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for obj in rows:
            values = obj.__dict__
            copy.write_row(
                [values[n] if p is None else p(values[n]) for n, p in zip(names, prepare, strict=True)]
            )


def seed_synthetic_crfs(
    *, study, seed: int = 0, users: dict | None = None, plant=None, now: datetime | None = None
) -> dict:
    """Add CRF data to every participant of ``study`` without a demographics form yet; return counts.

    ``users`` maps a site id to the user recorded as having entered the data there (default: none, as
    for data loaded by the system). One transaction, audited as ``seed_synthetic``.
    """
    started = time.perf_counter()
    now = now or timezone.now()
    # Participants with forms already (seeded earlier, or by the efficacy bench's own seeding) are left.
    done = Demographics.objects.filter(participant__site__study=study).values("participant_id")
    assessed = SledaiAssessment.objects.filter(participant__site__study=study).values("participant_id")
    participants = list(
        Participant.objects.filter(site__study=study, entered_in_error=False, consent_date__isnull=False)
        .exclude(pk__in=done)
        .exclude(pk__in=assessed)
        .select_related("site__study", "dose_level")
        .order_by("pk")
    )
    ensure_reference_ranges(study)
    ranges = defaultdict(list)
    for r in ReferenceRange.objects.filter(site__study=study):
        ranges[(r.site_id, r.analyte)].append(r)
    users = users or {}
    counts: dict = defaultdict(int)
    with audited(user=None, action="seed_synthetic", reason="synthetic benchmark data (case report forms)"):
        _prepare_audit_triggers()
        for start in range(0, len(participants), CHUNK):
            chunk = participants[start : start + CHUNK]
            visits = defaultdict(dict)
            for visit in Visit.objects.filter(
                participant__in=[p.pk for p in chunk], visit_date__isnull=False, entered_in_error=False
            ).order_by("sequence"):
                visits[visit.participant_id][visit.code] = visit
            batch, later = Batch(plant), Batch(plant)
            missing: list[tuple] = []
            for index, participant in enumerate(chunk, start=start):
                rng = random.Random(seed * 1_000_003 + participant.pk)
                writer = _Participant(
                    participant, visits[participant.pk], rng, batch, later, ranges, now, missing
                )
                writer.user = users.get(participant.site_id)
                writer.profile = tuple(PROFILES)[index % len(PROFILES)]
                batch.participant_id = later.participant_id = participant.pk
                writer.build()
            written = batch.write()
            # Dosing and eligibility derive from the participant's vital signs and demographics (stored now).
            for obj in later.rows.get(Lymphodepletion, []) + later.rows.get(Infusion, []):
                obj.derive()
            for obj in later.rows.get(EligibilityChecklist, []):
                obj.derive()
            written |= later.write()
            _write_missing(missing)
            written["crfs.MissingValue"] = len(missing)
            for label, n in written.items():
                counts[label] += n
    counts = dict(counts)
    counts["participants"] = len(participants)
    counts["seconds"] = round(time.perf_counter() - started, 2)
    return counts


def ensure_reference_ranges(study) -> int:
    """The shipped ranges (``labs.reference_data``, as ``make run`` loads them) when the study's sites
    have none yet: results are flagged and graded against them as at the sites. Ranges created."""
    from labs.reference_data import DEFAULT_FILE, ReferenceDataError, load_file

    if ReferenceRange.objects.filter(site__study=study).exists():
        return 0
    try:
        return load_file(DEFAULT_FILE).created
    except ReferenceDataError:  # the file is another study's: results stay without a range
        return 0


def _write_missing(missing: list[tuple]) -> None:
    """The reasons given for the values left empty, as ``crfs.missing.save_reasons`` stores them."""
    types = {}
    rows = []
    for obj, field, reason in missing:
        model = type(obj)
        if model not in types:
            types[model] = ContentType.objects.get_for_model(model)
        rows.append(
            MissingValue(content_type=types[model], object_id=obj.pk, field_name=field, reason=reason)
        )
    batch = Batch()
    for row in rows:
        batch.add(row)
    batch.write()


def _d(value: float, places: int = 1) -> Decimal:
    return Decimal(str(round(value, places)))


class _Participant:
    """One participant's forms, visit by visit."""

    user = None
    profile = "complete_response"

    def __init__(self, participant, visits, rng, batch, later, ranges, now, missing):
        self.p, self.visits, self.rng, self.batch, self.later = participant, visits, rng, batch, later
        self.ranges, self.now, self.missing = ranges, now, missing
        self.tz = ZoneInfo(participant.site.timezone)
        self.day0 = participant.infusion_date
        self.height = _d(rng.uniform(150, 172))
        self.weight = rng.uniform(45, 78)
        self.aes = 0
        # CRS is planned first: the inpatient vital signs show its fever.
        self.crs_grade = rng.choices((0, 1, 2, 3), weights=(25, 50, 20, 5))[0] if self.day0 else 0
        self.crs_onset = rng.randint(1, 3)
        self.crs_days = (
            set(range(self.crs_onset, self.crs_onset + rng.randint(2, 4))) if self.crs_grade else set()
        )

    # --- bookkeeping ------------------------------------------------------------------------------

    def at(self, day: date, hour: int = 10, minute: int = 0) -> datetime:
        return min(datetime.combine(day, clock(hour, minute), self.tz), self.now)

    def form(self, model, visit, *, on=None, complete=True, later=False, **values):
        on = on or visit.visit_date
        entered = self.at(on, 11, self.rng.randrange(60))
        obj = model(participant=self.p, visit=visit, version=1, created_at=entered, updated_at=entered)
        for key, value in values.items():
            setattr(obj, key, value)
        if complete:
            obj.status, obj.completed_at, obj.completed_by = "complete", entered, self.user
        if not later:
            obj.derive()
        return (self.later if later else self.batch).add(obj)

    def record(self, obj, on: date):
        entered = self.at(on, 15, self.rng.randrange(60))
        obj.version, obj.created_at, obj.updated_at = 1, entered, entered
        return self.batch.add(obj)

    def day(self, visit) -> int:
        return (visit.visit_date - self.day0).days if self.day0 else -10

    # --- the participant --------------------------------------------------------------------------

    def build(self):
        p, v = self.p, self.visits
        screening = v.get("SCR")
        if screening is None:
            return
        self.demographics(screening)
        self.vital_signs(screening)
        if p.eligibility_date:
            overrides = {} if p.eligibility_met else self.rng.choice(SCREEN_FAILURES)
            data = checklist_data(p, p.eligibility_date, **overrides)
            data["weight_kg"] = _d(self.weight)
            self.form(EligibilityChecklist, screening, on=p.eligibility_date, later=True, **data)
        if not p.eligibility_met:
            return
        for code, visit in v.items():
            if code != "SCR" and code not in ("LD-4", "LD-3", "D10", "D21"):
                self.vital_signs(visit)
            if code in EXAM_VISITS:
                self.exam(visit)
            if code in SLEDAI_VISITS:
                self.disease_activity(visit)
            if code not in ("LD-4", "LD-3"):
                self.labs(visit)
            if code.startswith("LD-"):
                self.lymphodepletion(visit)
            if code == "BL":
                self.form(
                    BaselineIce,
                    visit,
                    orientation_correct=4,
                    naming_correct=3,
                    follows_commands=True,
                    writes_sentence=True,
                    counts_back_by_10=True,
                    language="Mandarin",
                )
        self.medications()
        if self.day0 and "D0" in v:
            self.infusion(v["D0"])
            self.safety()
        if "M24" in v and p.end_date:
            self.form(
                EndOfStudy,
                v["M24"],
                on=v["M24"].visit_date,
                end_date=v["M24"].visit_date,
                reason="completed",
                last_contact_on=v["M24"].visit_date,
            )

    def demographics(self, visit):
        p = self.p
        on = p.consent_date or visit.visit_date
        data = demographics_data(p, on)
        treatments = data.pop("prior_treatments")
        if self.rng.random() < 0.1:
            data["ethnicity"] = "other"
            data["ethnicity_other"] = "Hui"
        if self.rng.random() < 0.08:  # diagnosed elsewhere long ago: the date is not known
            data["diagnosis_date"] = None
        form = self.form(Demographics, visit, on=on, **data)
        if data["diagnosis_date"] is None:
            self.missing.append((form, "diagnosis_date", "unknown"))
        for row in treatments:
            row["stop_date"] = row.get("stop_date")
            self.record(PriorTreatment(form=form, **row), on)

    def vital_signs(self, visit):
        rng, day = self.rng, self.day(visit)
        fever = rng.uniform(38.3, 39.4) if self.day0 and day in self.crs_days else None
        values = {
            "assessed_on": visit.visit_date,
            "temperature_c": _d(fever or rng.uniform(36.2, 37.2)),
            "heart_rate": rng.randint(62, 96) + (20 if fever else 0),
            "systolic_bp": rng.randint(104, 134),
            "diastolic_bp": rng.randint(64, 84),
            "respiratory_rate": rng.randint(14, 20),
            "spo2_pct": rng.randint(96, 99),
            "weight_kg": _d(self.weight + rng.uniform(-1.0, 1.0) - (1.5 if 0 < day < 60 else 0)),
            "height_cm": self.height if visit.code in ("SCR", "BL") else None,
        }
        gone = None
        if rng.random() < 0.05:
            gone = rng.choice(("respiratory_rate", "spo2_pct", "weight_kg"))
            values[gone] = None
        form = self.form(VitalSigns, visit, **values)
        if gone:
            self.missing.append((form, gone, "not_done"))

    def exam(self, visit):
        values = {"assessed_on": visit.visit_date} | dict.fromkeys(EXAM_SYSTEMS, "normal")
        if visit.code in ("SCR", "BL"):
            values |= {"skin": "abnormal", "skin_findings": "Malar rash", "musculoskeletal": "abnormal"}
            values["musculoskeletal_findings"] = "Tender, swollen wrists"
        self.form(PhysicalExam, visit, **values)

    def disease_activity(self, visit):
        code, on = visit.code, visit.visit_date
        if code in ("SCR", "BL"):
            present, pga, bilag = BASELINE_ACTIVE, ("2.1" if code == "SCR" else "1.9"), BASELINE_BILAG
        else:
            rows = PROFILES[self.profile]
            present, pga, bilag = rows.get(code) or rows[list(rows)[-1]]
        sledai = {"assessed_on": on, "look_back_days": 10}
        for key in present:
            sledai |= {f"{key}_present": True, f"{key}_attributable": True, f"{key}_course": "persistent"}
        self.form(SledaiAssessment, visit, **sledai)
        if pga is None:
            self.form(PhysicianGlobalAssessment, visit, complete=False, assessed_on=on)
        else:
            self.form(PhysicianGlobalAssessment, visit, assessed_on=on, pga=Decimal(pga))
        self.form(BilagAssessment, visit, assessed_on=on, **(dict.fromkeys(BILAG_SYSTEMS, "D") | bilag))

    # --- laboratory -------------------------------------------------------------------------------

    def lab_values(self, day: int) -> dict[str, Decimal]:
        rng = self.rng
        aplastic = 0 <= day <= 10 and self.day0 is not None  # after fludarabine and cyclophosphamide
        recovering = 10 < day <= 28
        anc = (
            rng.uniform(0.2, 0.9)
            if aplastic
            else rng.uniform(0.9, 1.8)
            if recovering
            else rng.uniform(2.2, 4.8)
        )
        alc = (
            rng.uniform(0.05, 0.3)
            if aplastic
            else rng.uniform(0.4, 0.9)
            if recovering
            else rng.uniform(1, 2.2)
        )
        return {
            "wbc": _d(anc + alc + rng.uniform(0.2, 0.6), 2),
            "anc": _d(anc, 2),
            "alc": _d(alc, 2),
            "hb": _d(rng.uniform(84, 100) if aplastic else rng.uniform(98, 128), 0),
            "platelets": _d(rng.uniform(45, 110) if aplastic else rng.uniform(140, 300), 0),
            "creatinine": _d(rng.uniform(48, 92), 0),
            "alt": _d(rng.uniform(110, 160) if aplastic and rng.random() < 0.1 else rng.uniform(12, 42), 0),
            "ast": _d(rng.uniform(14, 38), 0),
            "bilirubin": _d(rng.uniform(5, 18), 1),
            "albumin": _d(rng.uniform(33, 45), 0),
            "ldh": _d(rng.uniform(140, 260), 0),
            "uric_acid": _d(rng.uniform(200, 400), 0),
            "sodium": _d(rng.uniform(135, 145), 0),
            "potassium": _d(rng.uniform(3.5, 4.9), 1),
        }

    def labs(self, visit):
        values = self.lab_values(self.day(visit))
        collected = self.at(visit.visit_date, 8, 30)
        age = age_on(self.p, visit.visit_date)
        for panel, codes in (("haematology", HAEMATOLOGY), ("chemistry", CHEMISTRY)):
            if panel == "chemistry" and visit.code not in CHEMISTRY_VISITS:
                continue  # the inpatient days and optional safety visits: blood counts only
            form = self.form(
                LabPanel,
                visit,
                panel=panel,
                collected_at=collected,
                laboratory="Site laboratory",
                source="local",
            )
            for code in codes:
                if self.rng.random() < 0.02:
                    entry = ResultEntry(code, not_done=True)
                else:
                    entry = ResultEntry(code, values[code], UNITS.get(code, BY_CODE[code].units[0]))
                reference = pick_range(
                    self.ranges[(self.p.site_id, code)], sex=self.p.sex, age=age, on=visit.visit_date
                )
                # Derived as save_panel derives it; its edit checks only open queries, which are not seeded.
                row = LabResult(panel=form, analyte=code)
                _apply(row, entry, reference, collected)
                row.created_at = row.updated_at = form.created_at
                self.batch.add(row)

    # --- treatment --------------------------------------------------------------------------------

    def lymphodepletion(self, visit):
        bsa = (float(self.height) * self.weight / 3600) ** 0.5  # Mosteller's, for plausible given doses
        values = {
            "assessed_on": visit.visit_date,
            "fludarabine_planned_mg_m2": Decimal(25),
            "fludarabine_given_mg": _d(25 * bsa, 1),
            "cyclophosphamide_planned_mg_m2": Decimal(250),
            "cyclophosphamide_given_mg": _d(250 * bsa, 1),
            "creatinine": _d(self.rng.uniform(50, 90), 0) if visit.code == "LD-5" else None,
            "creatinine_unit": "umol/L" if visit.code == "LD-5" else "",
        }
        form = self.form(Lymphodepletion, visit, later=True, **values)
        if values["creatinine"] is None:
            self.missing.append((form, "creatinine", "not_done"))

    def infusion(self, visit):
        rng = self.rng
        level = self.p.dose_level.cells_per_kg if self.p.dose_level else 1_000_000
        viability, car = rng.uniform(85, 96), rng.uniform(20, 45)
        weight = _d(self.weight)
        total = Decimal(level) * weight * Decimal(rng.uniform(0.9, 1.1)) / Decimal(viability * car / 10_000)
        values = {
            "infusion_date": self.day0,
            "product_lot": f"LOT-{rng.randrange(10**6):06d}",
            "bag_id": f"BAG-{rng.randrange(10**5):05d}",
            "total_nucleated_cells": total.quantize(Decimal(1000)),
            "viability_pct": _d(viability),
            "car_positive_pct": _d(car),
            "dosing_weight_kg": weight,
            "dosing_weight_on": self.visits["BL"].visit_date if "BL" in self.visits else self.day0,
            "infusion_start": clock(10, 5),
            "infusion_stop": clock(10, 5 + rng.randint(8, 20)),
            "volume_ml": _d(rng.uniform(20, 60), 0),
            "premedication_paracetamol": True,
            "premedication_antihistamine": True,
            "premedication_systemic_steroid": False,
            "pre_temperature_c": _d(rng.uniform(36.3, 37.0)),
            "pre_heart_rate": rng.randint(64, 90),
            "pre_systolic_bp": rng.randint(105, 130),
            "pre_diastolic_bp": rng.randint(65, 82),
            "pre_spo2_pct": rng.randint(96, 99),
            "post_temperature_c": _d(rng.uniform(36.4, 37.3)),
            "post_heart_rate": rng.randint(64, 96),
            "post_systolic_bp": rng.randint(102, 130),
            "post_diastolic_bp": rng.randint(62, 82),
            "post_spo2_pct": None if rng.random() < 0.1 else rng.randint(95, 99),
            "reaction": "no",
        }
        form = self.form(Infusion, visit, later=True, **values)
        if values["post_spo2_pct"] is None:
            self.missing.append((form, "post_spo2_pct", "not_done"))

    def medications(self):
        anchor = self.visits.get("BL") or self.visits.get("SCR")
        if anchor is None:
            return
        reference = self.day0 or anchor.visit_date + timedelta(days=5)
        last = max(v.visit_date for v in self.visits.values())
        entries = [(a, c, d, f, s, e, "") for a, c, d, f, s, e in COMMON_MEDICATIONS]
        entries.append(("hydroxychloroquine", "antimalarial", "200", "bid", -1500, None, ""))
        taper = TAPERS[self.profile] if self.day0 else TAPERS[self.profile][:1]
        entries += [(a, "glucocorticoid", d, "qd", s, e, a) for a, d, s, e in taper]
        for agent, drug_class, dose, frequency, start, stop, glucocorticoid in entries:
            start_date = reference + timedelta(days=start)
            stop_date = None if stop is None else reference + timedelta(days=stop)
            if start_date > last:
                continue
            if stop_date is not None and stop_date > last:
                stop_date = None
            precision = "day"
            if start < -365 and self.rng.random() < 0.5:  # started years ago: known to the month
                start_date, precision = start_date.replace(day=1), "month"
            self.form(
                Medication,
                anchor,
                agent=agent,
                drug_class=drug_class,
                glucocorticoid=glucocorticoid,
                dose=Decimal(dose),
                dose_unit="mg",
                frequency=frequency,
                route="oral",
                start_date=start_date,
                start_date_precision=precision,
                stop_date=stop_date,
                ongoing=stop_date is None,
                indication="SLE",
                period="prior" if stop_date is not None and stop_date < reference else "concomitant",
            )

    # --- safety -----------------------------------------------------------------------------------

    def safety(self):
        """CRS (most), ICANS (a few), neutropenia, infections; the graded CRFs of the inpatient days."""
        rng = self.rng
        crs_grade, crs_onset, crs_days = self.crs_grade, self.crs_onset, self.crs_days
        icans_grade = rng.choices((0, 1, 2), weights=(88, 8, 4))[0] if crs_grade else 0
        icans_day = rng.randint(4, 6)
        for code in INPATIENT + ("D14", "D28"):
            visit = self.visits.get(code)
            if visit is None:
                continue
            d = self.day(visit)
            on_crs = d in crs_days
            severe = on_crs and crs_grade >= 2 and d > crs_onset
            self.form(
                CrsAssessment,
                visit,
                assessed_on=visit.visit_date,
                temperature_c=_d(rng.uniform(38.4, 39.6) if on_crs else rng.uniform(36.3, 37.3)),
                fever_masked=False,
                hypotension=("vasopressor" if crs_grade == 3 else "fluids_only") if severe else "none",
                vasopressors=["norepinephrine"] if severe and crs_grade == 3 else [],
                oxygen_device="none",
                tocilizumab_given=severe,
                steroids_given=severe and crs_grade == 3,
            )
            if code in INPATIENT + ("D14", "D28"):
                low = icans_grade and d == icans_day
                self.form(
                    IcansAssessment,
                    visit,
                    assessed_on=visit.visit_date,
                    orientation_correct=2 if low else 4,
                    naming_correct=3,
                    follows_commands=True,
                    writes_sentence=not low,
                    counts_back_by_10=not (low and icans_grade == 2),
                    consciousness="alert" if not low or icans_grade == 1 else "awakens_to_voice",
                    seizure="none",
                    motor="none",
                    icp_cerebral_edema="none",
                )
        last = max(v.visit_date for v in self.visits.values())
        if crs_grade:
            grades = [(crs_onset, 1)] + ([(crs_onset + 1, crs_grade)] if crs_grade > 1 else [])
            self.event(
                "cytokine_release_syndrome",
                "Fever after CAR-T, cytokine release syndrome",
                grades,
                crs_onset,
                len(crs_days) + 1,
                "definite",
                last,
                serious=crs_grade >= 3,
                treatment="Tocilizumab 8 mg/kg" if crs_grade >= 2 else "",
            )
        if icans_grade:
            self.event(
                "icans", "Confusion, ICANS", [(icans_day, icans_grade)], icans_day, 2, "probable", last
            )
        if rng.random() < 0.6:
            self.event(
                "neutrophil_count_decreased",
                "Neutropenia",
                [(2, 3)] + ([(4, 4)] if rng.random() < 0.5 else []),
                2,
                rng.randint(8, 20),
                "possible",
                last,
            )
        if rng.random() < 0.08:
            self.event(
                "febrile_neutropenia",
                "Febrile neutropenia, admitted",
                [(rng.randint(5, 9), 3)],
                None,
                5,
                "possible",
                last,
                serious=True,
                treatment="Meropenem IV",
            )
        if rng.random() < 0.25:
            onset = rng.randint(30, 300)
            self.event(
                "upper_respiratory_infection",
                "Common cold",
                [(onset, 2)],
                onset,
                rng.choice((7, 10, None)),
                "unlikely",
                last,
                infection_pathogen="Rhinovirus",
                infection_site="Upper airway",
            )

    def event(self, term, verbatim, grades, onset, duration, relationship, last, serious=False, **extra):
        """An adverse event with its grade entries (``grades``: (study day, grade)), as recorded."""
        onset = grades[0][0] if onset is None else onset
        onset_date = self.day0 + timedelta(days=onset)
        if onset_date > last:
            return
        resolved = None if duration is None else onset_date + timedelta(days=duration)
        if resolved is not None and resolved > last:
            resolved = None
        self.aes += 1
        event = AdverseEvent(
            participant=self.p,
            number=self.aes,
            term=term,
            verbatim=verbatim,
            onset_date=onset_date,
            resolution_date=resolved,
            serious_hospitalisation=serious,
            relationship_car_t=relationship,
            relationship_lymphodepletion="possible" if self.p.lymphodepletion_start_date else "not_related",
            action_taken="none",
            outcome="recovered" if resolved else "recovering",
            aesi_category={"cytokine_release_syndrome": "crs", "icans": "icans"}.get(
                term, "infection" if "infection" in term else ""
            ),
            recorded_by=self.user,
            **extra,
        )
        self.record(event, onset_date)
        for day, grade in grades:
            on = self.day0 + timedelta(days=day)
            if on <= last:
                self.record(
                    AdverseEventGrade(
                        adverse_event=event, grade_on=max(on, onset_date), grade=grade, recorded_by=self.user
                    ),
                    on,
                )
        if serious:
            aware = self.at(onset_date + timedelta(days=1), 9)
            signed = min(aware + timedelta(hours=20), self.now)
            self.record(
                SaeReport(
                    adverse_event=event,
                    participant=self.p,
                    awareness_at=aware,
                    narrative=f"{verbatim}; treated and monitored on the ward.",
                    signed_by=self.user,
                    signed_at=signed if self.user else None,
                ),
                onset_date + timedelta(days=1),
            )

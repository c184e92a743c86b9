"""Efficacy endpoints per participant and visit, derived from the stored forms on every read.

Nothing here is stored: SLEDAI-2K, clinical SLEDAI, SELENA-SLEDAI, PGA, BILAG, SRI-4, DORIS 2021, both
drug-free DORIS flags, LLDAS and their maintenance are computed by ``edc.clinical.compute`` from the
forms as they are now (``clinical-rules.md`` sections 1-6, decisions 1-8 of section 14). Every value
carries the inputs it was computed from and the rule version, and a visit whose inputs are incomplete
is "not evaluable" with the reason, never a guess.

The inputs of any number of participants are read in bulk: ``load(participants)`` runs a fixed number
of queries (visit definitions, visits, SLEDAI, PGA, BILAG, medication log) whatever the number of
participants or visits; ``derive(inputs)`` is then pure Python.

Assembly choices this module makes (clinical-rules.md marks them [PROPOSAL]):

- Only forms marked complete count; a draft leaves the visit not evaluable.
- Baseline (decision 8): for each instrument, the last complete assessment dated on or before the
  first lymphodepletion day, or on or before the infusion when no lymphodepletion was given.
- Evaluated visits: the scheduled visits after Day 0 whose protocol forms include SLEDAI. A visit not
  due yet (window open or upcoming) is left out; a missed or overdue one is not evaluable and breaks
  a maintenance run (decision 4).
- Medications on the assessment date (the SLEDAI date, else the visit date), as
  ``medications.selectors.active_on``: glucocorticoids given for CRS/ICANS or as premedication and
  non-systemic routes are left out; a systemic one whose prednisone equivalent could not be derived
  makes the visit not evaluable. An agent's weeks on its current dose = days since its entry started
  / 7 (a dose change is a new entry); the calculator decides "stable" (decision 2).
- LLDAS inputs the forms do not hold as such: GI activity = BILAG-2004 gastrointestinal grade A, B or
  C; haemolytic anaemia = BILAG-2004 haematological grade A or B (conservative); standard maintenance
  immunosuppression = every immunosuppressant and biologic stable as for DORIS; no investigational
  drug other than the study CAR-T (the medication log has no such class; the protocol excludes them).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from django.db.models import F
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from crfs.models import FormStatus
from disease_activity.models import BilagAssessment, PhysicianGlobalAssessment, SledaiAssessment
from edc.clinical import CalculatorInputError, compute
from edc.clinical.response import BILAG_SYSTEMS, DORIS_STABLE_WEEKS
from medications.models import NON_SYSTEMIC_ROUTES, Frequency, Medication, MedicationClass
from trials.models import VisitDefinition
from visits.models import Visit, VisitStatus

RULES_VERSION = "efficacy_endpoints/1"  # the assembly rules of this module's docstring
STATES = ("lldas", "doris", "drug_free_doris_antimalarial_allowed", "drug_free_doris_strict")
FLAGS = ("sri_4", *STATES)
DUE = (VisitStatus.DONE, VisitStatus.MISSED, VisitStatus.OVERDUE)


@dataclass
class Derived:
    """One derived value with what it was computed from."""

    value: object = None
    evaluable: bool = True
    why: str = ""
    inputs: dict = field(default_factory=dict)
    rule_version: str = ""
    details: dict = field(default_factory=dict)

    @classmethod
    def missing(cls, why, **inputs):
        return cls(None, False, why, inputs)

    @property
    def shown(self) -> str:
        if not self.evaluable:
            return _("not evaluable")
        if self.value is True:
            return _("yes")
        if self.value is False:
            return _("no")
        return "" if self.value is None else str(self.value)


def shown_visit_name(visit) -> str:
    """The protocol's name of a visit row (``name``, ``name_zh_hans``) in the reader's language."""
    if get_language() == "zh-hans" and getattr(visit, "name_zh_hans", None):
        return visit.name_zh_hans
    return visit.name


@dataclass
class VisitRow:
    visit_id: int
    code: str
    name: str
    status: str  # a VisitStatus value
    target_day: int | None
    on: date | None  # assessment date
    study_day: int | None
    baseline: bool = False
    values: dict[str, Derived] = field(default_factory=dict)
    maintenance: dict[str, dict] = field(default_factory=dict)  # state -> state_maintenance to here
    name_zh_hans: str = ""  # the protocol's Chinese name of the visit

    @property
    def shown_name(self) -> str:
        """The visit's name in the reader's language (``Visit.display_name`` for a plain row)."""
        return shown_visit_name(self)

    @property
    def due(self) -> bool:
        return self.status in DUE

    def flag(self, name) -> bool | None:
        """True/False, or None when not evaluable."""
        derived = self.values.get(name)
        return derived.value if derived is not None and derived.evaluable else None


@dataclass
class ParticipantEndpoints:
    participant: object
    reference_date: date | None  # lymphodepletion start, else infusion
    baseline: dict[str, Derived]  # sledai_2k, pga, bilag: the baseline assessment of each
    rows: list[VisitRow]  # the baseline row first, then the evaluated follow-up visits
    maintenance: dict[str, Derived]  # over every due follow-up visit so far

    @property
    def follow_up(self) -> list[VisitRow]:
        return [row for row in self.rows if not row.baseline]


@dataclass
class Inputs:
    """What ``load`` read: everything ``derive`` needs, grouped by participant id."""

    participants: list
    visits: dict[int, list] = field(default_factory=lambda: defaultdict(list))
    sledai: dict[int, list] = field(default_factory=lambda: defaultdict(list))
    pga: dict[int, list] = field(default_factory=lambda: defaultdict(list))
    bilag: dict[int, list] = field(default_factory=lambda: defaultdict(list))
    medications: dict[int, list] = field(default_factory=lambda: defaultdict(list))


def load(participants, *, now=None) -> Inputs:
    """Read the inputs of ``participants`` (a list or queryset with ``site__study`` selected) in six
    queries; visit statuses as of ``now`` (default: now)."""
    participants = list(participants)
    ids = [p.pk for p in participants]
    inputs = Inputs(participants)
    # Plain rows, not model instances: a study dashboard reads tens of thousands of them.
    forms_of = {pk: forms or [] for pk, forms in VisitDefinition.objects.values_list("pk", "forms")}
    visits = (
        Visit.objects.with_status(now)
        .filter(participant_id__in=ids, entered_in_error=False)
        .order_by("participant_id", "sequence")
        .annotate(name_zh_hans=F("definition__name_zh_hans"))
        .values(
            "pk", "participant_id", "code", "name", "target_day", "visit_date", "unscheduled", "status",
            "definition_id", "name_zh_hans",
        )
    )  # fmt: skip
    for row in visits:
        row["forms"] = forms_of.get(row["definition_id"], [])
        inputs.visits[row["participant_id"]].append(SimpleNamespace(**row))
    for form in SledaiAssessment.objects.filter(participant_id__in=ids, entered_in_error=False).order_by(
        "pk"
    ):
        inputs.sledai[form.participant_id].append(form)
    common = ("pk", "participant_id", "visit_id", "status", "assessed_on")
    for model, bucket, fields in (
        (PhysicianGlobalAssessment, inputs.pga, ("pga",)),
        (BilagAssessment, inputs.bilag, BILAG_SYSTEMS),
    ):
        rows = model.objects.filter(participant_id__in=ids, entered_in_error=False).order_by("pk")
        for row in rows.values(*common, *fields):
            bucket[row["participant_id"]].append(SimpleNamespace(**row))
    meds = (
        Medication.objects.filter(participant_id__in=ids, entered_in_error=False)
        .order_by("pk")
        .values(
            "pk", "participant_id", "agent", "drug_class", "glucocorticoid", "frequency", "route",
            "start_date", "stop_date", "for_crs_or_icans", "premedication", "prednisone_equivalent_mg_day",
        )
    )  # fmt: skip
    for row in meds:
        inputs.medications[row["participant_id"]].append(SimpleNamespace(**row))
    return inputs


def derive_all(inputs: Inputs, *, maintenance: bool = True) -> list["ParticipantEndpoints"]:
    return [derive(p, inputs, maintenance=maintenance) for p in inputs.participants]


def for_participants(participants, *, now=None, maintenance=True) -> list["ParticipantEndpoints"]:
    return derive_all(load(participants, now=now), maintenance=maintenance)


# --- one participant ------------------------------------------------------------------------------


def _settings(participant) -> dict:
    study = participant.site.study
    return study.settings or {}


def _assessed_on(form, visit) -> date | None:
    return form.assessed_on or (visit.visit_date if visit is not None else None)


def _complete(forms):
    return [f for f in forms if f.status == FormStatus.COMPLETE]


def _latest_on_or_before(forms, visits_by_id, on: date):
    dated = [(_assessed_on(f, visits_by_id.get(f.visit_id)), f.pk, f) for f in _complete(forms)]
    dated = [item for item in dated if item[0] is not None and item[0] <= on]
    return max(dated, key=lambda item: (item[0], item[1]))[2] if dated else None


def derive(participant, inputs: Inputs, *, maintenance=True) -> ParticipantEndpoints:
    pid = participant.pk
    visits = inputs.visits.get(pid, [])
    by_id = {v.pk: v for v in visits}
    settings = _settings(participant)
    reference = participant.lymphodepletion_start_date or participant.infusion_date
    sledai_by_visit = _by_visit(inputs.sledai.get(pid, []))
    pga_by_visit = _by_visit(inputs.pga.get(pid, []))
    bilag_by_visit = _by_visit(inputs.bilag.get(pid, []))
    meds = inputs.medications.get(pid, [])

    baseline = {}
    rows = []
    if reference is not None:
        for key, forms, read in (
            ("sledai_2k", inputs.sledai.get(pid, []), _sledai),
            ("pga", inputs.pga.get(pid, []), _pga),
            ("bilag", inputs.bilag.get(pid, []), _bilag),
        ):
            form = _latest_on_or_before(forms, by_id, reference)
            if form is None:
                baseline[key] = Derived.missing(
                    _("no complete assessment on or before %(date)s") % {"date": reference}
                )
            else:
                baseline[key] = read(form, by_id.get(form.visit_id))
                baseline[key].details["visit"] = by_id[form.visit_id].code if form.visit_id in by_id else ""
    else:
        baseline = {
            key: Derived.missing(_("no lymphodepletion or infusion yet"))
            for key in ("sledai_2k", "pga", "bilag")
        }

    base_visit = None
    if reference is not None and baseline["sledai_2k"].evaluable:
        code = baseline["sledai_2k"].details.get("visit")
        base_visit = next((v for v in visits if v.code == code), None)
    if base_visit is not None:
        row = VisitRow(
            base_visit.pk,
            base_visit.code,
            base_visit.name,
            base_visit.status,
            base_visit.target_day,
            baseline["sledai_2k"].inputs.get("assessed_on"),
            None,
            baseline=True,
            name_zh_hans=getattr(base_visit, "name_zh_hans", None) or "",
        )
        row.values.update(_instrument_values(base_visit, sledai_by_visit, pga_by_visit, bilag_by_visit))
        rows.append(row)

    if participant.infusion_date is not None:
        for visit in visits:
            if visit.unscheduled or "sledai" not in visit.forms:
                continue
            if (visit.target_day or 0) <= 0 or visit.status not in (*DUE, VisitStatus.OPEN):
                continue
            if visit.status == VisitStatus.OPEN and visit.visit_date is None:
                continue  # within its window, not done yet: not due
            rows.append(
                _follow_up_row(
                    participant,
                    visit,
                    settings,
                    baseline,
                    sledai_by_visit,
                    pga_by_visit,
                    bilag_by_visit,
                    inputs.sledai.get(pid, []),
                    by_id,
                    meds,
                )
            )
    result = ParticipantEndpoints(participant, reference, baseline, rows, {})
    if maintenance:
        _maintenance(result, settings)
    return result


def _by_visit(forms):
    out = {}
    for form in forms:
        out.setdefault(form.visit_id, form)
    return out


def _sledai(form, visit) -> Derived:
    if form is None:
        return Derived.missing(_("no SLEDAI form"))
    on = _assessed_on(form, visit)
    if form.status != FormStatus.COMPLETE:
        return Derived.missing(_("SLEDAI form not complete"), assessed_on=on)
    scored = form.scored_descriptors()
    inputs = {"present": scored, "look_back_days": form.look_back_days}
    try:
        total = compute("sledai_2k_total", inputs)
    except CalculatorInputError as error:
        return Derived.missing(str(error), **inputs)
    derived = Derived(total["sledai_2k"], True, "", {**inputs, "assessed_on": on}, total["rule_version"])
    derived.details = {"clinical_sledai": total["clinical_sledai"], "form_id": form.pk}
    return derived


def _clinical_sledai(sledai: Derived) -> Derived:
    if not sledai.evaluable:
        return Derived.missing(sledai.why)
    return Derived(
        sledai.details["clinical_sledai"],
        True,
        "",
        {"present": sledai.inputs["present"]},
        sledai.rule_version,
    )


def _selena(form) -> Derived:
    if form is None:
        return Derived.missing(_("no SLEDAI form"))
    if form.status != FormStatus.COMPLETE:
        return Derived.missing(_("SLEDAI form not complete"))
    inputs = form.selena_inputs(form.scored_descriptors())
    try:
        result = compute("selena_sledai_total", inputs)
    except CalculatorInputError as error:
        return Derived.missing(str(error), **inputs)
    return Derived(result["selena_sledai"], True, "", inputs, result["rule_version"])


def _pga(form, visit) -> Derived:
    if form is None:
        return Derived.missing(_("no PGA form"))
    on = _assessed_on(form, visit)
    if form.status != FormStatus.COMPLETE or form.pga is None:
        return Derived.missing(_("PGA form not complete"), assessed_on=on)
    return Derived(Decimal(form.pga), True, "", {"pga": float(form.pga), "assessed_on": on}, "")


def _bilag(form, visit) -> Derived:
    if form is None:
        return Derived.missing(_("no BILAG form"))
    grades = {system: getattr(form, system) for system in BILAG_SYSTEMS}
    if form.status != FormStatus.COMPLETE or not all(grades.values()):
        return Derived.missing(_("BILAG form not complete"))
    shown = "".join(grades[s] for s in BILAG_SYSTEMS)
    derived = Derived(shown, True, "", {"grades": grades, "assessed_on": _assessed_on(form, visit)}, "")
    counts = list(grades.values())
    derived.details = {"n_a": counts.count("A"), "n_b": counts.count("B")}
    return derived


def _instrument_values(visit, sledai_by_visit, pga_by_visit, bilag_by_visit) -> dict[str, Derived]:
    sledai_form = sledai_by_visit.get(visit.pk)
    sledai = _sledai(sledai_form, visit)
    return {
        "sledai_2k": sledai,
        "clinical_sledai": _clinical_sledai(sledai),
        "selena_sledai": _selena(sledai_form),
        "pga": _pga(pga_by_visit.get(visit.pk), visit),
        "bilag": _bilag(bilag_by_visit.get(visit.pk), visit),
    }


# --- medications on a date --------------------------------------------------------------------------


def active_on(meds, on: date) -> list:
    """The entries taken on ``on``, as ``medications.selectors.active_on`` selects them."""
    return [
        m
        for m in meds
        if m.start_date is not None
        and m.start_date <= on
        and (m.stop_date is None or m.stop_date >= on)
        and not (m.frequency == Frequency.ONCE and m.stop_date is None and m.start_date < on)
    ]


@dataclass
class MedicationState:
    prednisone_mg_day: Decimal | None  # None: a glucocorticoid dose could not be converted
    why: str
    glucocorticoids: list
    antimalarial: bool
    immunosuppressant_weeks: float | None  # weeks on the current dose of the most recent entry; None: none
    biologic_weeks: float | None

    def agent(self, weeks):
        if weeks is None:
            return {"on": False}
        return {"on": True, "weeks_on_current_dose": weeks}


def medication_state(meds, on: date) -> MedicationState:
    active = active_on(meds, on)
    total, unknown, listed = Decimal(0), [], []
    for m in active:
        if m.drug_class != MedicationClass.GLUCOCORTICOID or m.for_crs_or_icans or m.premedication:
            continue
        if m.route in NON_SYSTEMIC_ROUTES:
            continue
        if m.prednisone_equivalent_mg_day is None:
            unknown.append(m.agent or m.glucocorticoid or "?")
            continue
        total += m.prednisone_equivalent_mg_day
        listed.append({"agent": m.agent, "mg_day": float(m.prednisone_equivalent_mg_day)})

    def weeks(drug_class):
        starts = [m.start_date for m in active if m.drug_class == drug_class]
        return round((on - max(starts)).days / 7, 1) if starts else None

    why = ""
    if unknown:
        why = _("prednisone equivalent unknown for %(agents)s") % {"agents": ", ".join(unknown)}
    return MedicationState(
        None if unknown else total,
        why,
        listed,
        any(m.drug_class == MedicationClass.ANTIMALARIAL for m in active),
        weeks(MedicationClass.IMMUNOSUPPRESSANT),
        weeks(MedicationClass.BIOLOGIC),
    )


# --- a follow-up visit ----------------------------------------------------------------------------


def _not_evaluable_row(row, why):
    for key in ("sledai_2k", "clinical_sledai", "selena_sledai", "pga", "bilag", "prednisone", *FLAGS):
        row.values[key] = Derived.missing(why)
    return row


def _follow_up_row(
    participant,
    visit,
    settings,
    baseline,
    sledai_by_visit,
    pga_by_visit,
    bilag_by_visit,
    all_sledai,
    by_id,
    meds,
):
    sledai_form = sledai_by_visit.get(visit.pk)
    on = _assessed_on(sledai_form, visit) if sledai_form else visit.visit_date
    row = VisitRow(
        visit.pk,
        visit.code,
        visit.name,
        visit.status,
        visit.target_day,
        on,
        participant.study_day(on) if on else visit.target_day,
        name_zh_hans=getattr(visit, "name_zh_hans", None) or "",
    )
    if visit.status == VisitStatus.MISSED:
        return _not_evaluable_row(row, _("visit missed"))
    if visit.status == VisitStatus.OVERDUE:
        return _not_evaluable_row(row, _("visit overdue, no data"))
    row.values.update(_instrument_values(visit, sledai_by_visit, pga_by_visit, bilag_by_visit))
    sledai, pga, bilag = row.values["sledai_2k"], row.values["pga"], row.values["bilag"]

    meds_state = medication_state(meds, on) if on else None
    if meds_state is None:
        row.values["prednisone"] = Derived.missing(_("no assessment date"))
    elif meds_state.prednisone_mg_day is None:
        row.values["prednisone"] = Derived.missing(meds_state.why)
    else:
        row.values["prednisone"] = Derived(
            meds_state.prednisone_mg_day,
            True,
            "",
            {"on": on, "glucocorticoids": meds_state.glucocorticoids},
            "prednisone_equivalent/1",
        )

    row.values["sri_4"] = _sri_4(baseline, sledai, pga, bilag)
    doris = _doris(sledai, pga, meds_state, settings)
    row.values["doris"] = doris
    for key in ("drug_free_doris_antimalarial_allowed", "drug_free_doris_strict"):
        if doris.evaluable:
            row.values[key] = Derived(
                doris.details[key], True, "", doris.inputs, doris.rule_version, doris.details
            )
        else:
            row.values[key] = Derived.missing(doris.why, **doris.inputs)
    previous = _previous_sledai(all_sledai, by_id, on, sledai_form)
    row.values["lldas"] = _lldas(sledai, previous, pga, bilag, meds_state, settings)
    return row


def _why(*parts) -> str:
    return "; ".join(dict.fromkeys(p.why for p in parts if not p.evaluable))


def _sri_4(baseline, sledai, pga, bilag) -> Derived:
    needed = {
        _("baseline SLEDAI-2K"): baseline["sledai_2k"],
        _("baseline PGA"): baseline["pga"],
        _("baseline BILAG"): baseline["bilag"],
        "SLEDAI-2K": sledai,
        "PGA": pga,
        "BILAG": bilag,
    }
    missing = [f"{name}: {d.why}" for name, d in needed.items() if not d.evaluable]
    if missing:
        return Derived.missing("; ".join(missing))
    inputs = {
        "sledai_baseline": baseline["sledai_2k"].value,
        "sledai_followup": sledai.value,
        "bilag_baseline": baseline["bilag"].inputs["grades"],
        "bilag_followup": bilag.inputs["grades"],
        "pga_baseline": float(baseline["pga"].value),
        "pga_followup": float(pga.value),
        "sledai_version": "sledai_2k",
    }
    return _computed("sri_4", inputs, "responder")


def _computed(name, inputs, key) -> Derived:
    try:
        result = compute(name, inputs)
    except CalculatorInputError as error:
        return Derived.missing(str(error), **inputs)
    return Derived(result[key], True, "", inputs, result["rule_version"], result)


def _stable_weeks(settings) -> int:
    return int(settings.get("doris_stable_weeks") or DORIS_STABLE_WEEKS)


def _doris(sledai, pga, meds_state, settings) -> Derived:
    if meds_state is None or meds_state.prednisone_mg_day is None:
        return Derived.missing(meds_state.why if meds_state else _("no assessment date"))
    why = _why(sledai, pga)
    if why:
        return Derived.missing(why)
    dose = meds_state.prednisone_mg_day
    inputs = {
        "present": sledai.inputs["present"],
        "pga": float(pga.value),
        "glucocorticoid": {"drug": "prednisone", "dose_mg_day": float(dose)} if dose else {"drug": "none"},
        "antimalarial": meds_state.antimalarial,
        "immunosuppressant": meds_state.agent(meds_state.immunosuppressant_weeks),
        "biologic": meds_state.agent(meds_state.biologic_weeks),
        "stable_weeks": _stable_weeks(settings),
    }
    if settings.get("doris_glucocorticoid_max_mg_day") is not None:
        inputs["glucocorticoid_max_mg_day"] = settings["doris_glucocorticoid_max_mg_day"]
    return _computed("doris", inputs, "doris_2021_remission")


def _previous_sledai(all_sledai, by_id, on, current):
    if on is None:
        return None
    earlier = [
        (_assessed_on(f, by_id.get(f.visit_id)), f.pk, f) for f in _complete(all_sledai) if f is not current
    ]
    earlier = [item for item in earlier if item[0] is not None and item[0] < on]
    return max(earlier, key=lambda item: (item[0], item[1]))[2] if earlier else None


def _lldas(sledai, previous, pga, bilag, meds_state, settings) -> Derived:
    if meds_state is None or meds_state.prednisone_mg_day is None:
        return Derived.missing(meds_state.why if meds_state else _("no assessment date"))
    why = _why(sledai, pga, bilag)
    if why:
        return Derived.missing(why)
    if previous is None:
        return Derived.missing(_("no previous SLEDAI assessment"))
    grades = bilag.inputs["grades"]
    stable = _stable_weeks(settings)
    on_standard = all(
        weeks is None or weeks >= stable
        for weeks in (meds_state.immunosuppressant_weeks, meds_state.biologic_weeks)
    )
    inputs = {
        "present": sledai.inputs["present"],
        "present_previous_assessment": previous.scored_descriptors(),
        "pga": float(pga.value),
        "prednisone_equivalent_mg_day": float(meds_state.prednisone_mg_day),
        "haemolytic_anaemia": grades["haematological"] in ("A", "B"),
        "gi_activity": grades["gastrointestinal"] in ("A", "B", "C"),
        "immunosuppression_at_standard_maintenance_dose": on_standard,
        "investigational_drug_other_than_study_car_t": False,
    }
    return _computed("lldas", inputs, "lldas")


# --- maintenance -----------------------------------------------------------------------------------


def _maintenance(result: ParticipantEndpoints, settings):
    rule = settings.get("maintenance_missing_visit") or "break"
    due = [row for row in result.follow_up if row.due]
    days, last = [], None
    for row in due:
        day = row.study_day if row.study_day is not None else row.target_day
        # Out-of-order dates would break the calculator's strict order: keep the visits' order.
        day = day if last is None or day > last else last + 1
        days.append(day)
        last = day
    for state in STATES:
        series = [
            {"visit": row.code, "study_day": day, "state_met": row.flag(state)}
            for row, day in zip(due, days, strict=True)
        ]
        for k, row in enumerate(due):
            run = compute("state_maintenance", {"visits": series[: k + 1], "missing_visit_rule": rule})
            start = run["final_run_start_day"]
            run["current_run_days"] = None if start is None else days[k] - start
            row.maintenance[state] = run
        inputs = {"visits": series, "missing_visit_rule": rule}
        if series:
            overall = compute("state_maintenance", inputs)
            result.maintenance[state] = Derived(
                overall["longest_run_days"], True, "", inputs, overall["rule_version"], overall
            )
        else:
            result.maintenance[state] = Derived.missing(_("no follow-up visit due yet"), **inputs)

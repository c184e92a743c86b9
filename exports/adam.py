"""ADaM datasets of the export (ADaMIG 1.3): ADSL, ADEFF and ADAE as CSV and SAS transport v5, and
their Define-XML 2.1 (``define.xml``) and ``define.csv``.

- **ADSL**, one record per participant in scope. Identifiers, age, sex, race, ethnicity and arms
  are copied from SDTM DM as ``exports.sdtm`` writes it (the same ``USUBJID``, the same values);
  populations ENRLFL (enrolled), SAFFL (received the CAR-T infusion), EFFFL (safety population with
  an evaluable baseline SLEDAI-2K and at least one evaluable post-baseline SLEDAI-2K); TRT01P/TRT01A
  the dose level assigned / infused (DM ARM / ACTARM) with their rank as TRT01PN/TRT01AN; TRTSDT the
  infusion (the protocol's Day 0, SDTM RFXSTDTC), lymphodepletion start, enrollment and end of
  study dates; the baseline disease activity (``efficacy.endpoints``, clinical-rules.md decision 8).
- **ADEFF**, a Basic Data Structure: one record per parameter (``PARAMS``) per analysis visit per
  participant. The baseline record of each parameter that has one (ABLFL "Y") is the assessment the
  endpoints use as baseline (the last complete one on or before the first lymphodepletion day, or
  the infusion); the follow-up records are the scheduled visits after Day 0 with a SLEDAI form that
  are due. BASE is the baseline value on every record of the parameter, CHG = AVAL - BASE on the
  post-baseline records. Responses and remissions (SRI-4, DORIS, both drug-free DORIS, LLDAS) have
  AVALC "Y"/"N" and AVAL 1/0; the ``*RUN`` parameters are the current run of a state at the visit
  (clinical-rules.md 6.3). A visit not evaluable keeps its record with AVAL and AVALC empty.
- **ADAE**, one record per adverse event (SDTM AE as written, with its AESEQ), with the participant's
  treatment, TRTEMFL (onset on or after TRTSDT) and the CAR-T window flags of ``windows``.

Dates are numeric SAS dates (days since 1960-01-01) with the DATE9. format in the transport files;
the CSV files, which have no formats, hold them as ISO 8601 dates. Study days (ADY, ASTDY, AENDY)
have no day 0: ADT - TRTSDT + 1 on or after TRTSDT, ADT - TRTSDT before, the same numbers as the SDTM
--DY variables. Character values are ASCII by the rule of ``exports.sdtm.ascii_text``.

De-identified exports key participants and shift dates exactly as the SDTM files do (the shared
``exports.sdtm.Context``), or in "study day" mode leave every date empty and keep the study days;
the reasons a value is not evaluable (they may quote a date or a medication's name) are left out.

Memory: the three datasets are written in one pass over the participants, per batch; each keeps its
columns compactly until its transport file is written (as the SDTM domains do).
"""

from array import array
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
from django.utils import translation

from edc.clinical.icaht import EARLY_LAST_DAY as EARLY_ICAHT_LAST_DAY
from visits.models import Visit

from . import deid, scope, sdtm
from .csvfile import CsvFile
from .define import write_define
from .define_xml import Model, write_define_xml
from .sdtm import Context, Domain, Var, num, sdtm_day

SAS_EPOCH = date(1960, 1, 1)
DATE9 = "DATE9."
ENDPOINTS_BATCH = 100  # participants whose efficacy inputs are read together
# The primary safety endpoint: CAR-T-related AEs within 3 months of the infusion (the registry's wording;
# adverse_events.selectors uses the same day 90).
PRIMARY_SAFETY_LAST_DAY = 90
EFFICACY_FORMS = {"sledai", "pga", "bilag"}


@dataclass(frozen=True)
class AVar(Var):
    """An ADaM variable: what ``Var`` holds, plus what its define says about it."""

    origin: str = "Derived"
    method: str = ""  # the derivation (the define's MethodDef)
    source: str = ""  # the predecessor variable it is copied from ("DM.AGE")
    display_format: str = ""  # "DATE9." for a numeric date
    codelist: str = ""  # a CDISC CT codelist of exports/ct/sdtm-ct.yaml
    terms: tuple = ()  # a sponsor code list: (code, decode) pairs
    mandatory: bool = False
    values: tuple = ()  # value-level metadata: ``ValueLevel``s, one per value of a parameter variable


@dataclass(frozen=True)
class ValueLevel:
    """What a variable holds where ``where`` (a variable of the dataset) equals ``equals``: the define's
    value-level metadata (a ``def:ValueListDef`` item with its ``def:WhereClauseDef``)."""

    where: str
    equals: str
    data_type: str  # integer, float, text
    label: str
    method: str
    codelist: str = ""  # a CDISC CT codelist of exports/ct/sdtm-ct.yaml


def copied(name, label, source, **extra):
    """A variable copied unchanged from an SDTM variable."""
    return AVar(name, label, extra.pop("type", "Char"), "Predecessor", source=source, **extra)


def derived(name, label, method, **extra):
    return AVar(name, label, extra.pop("type", "Char"), "Derived", method=method, **extra)


def date_var(name, label, method):
    return AVar(name, label, "Num", "Derived", method=method, display_format=DATE9)


def flag(name, label, method, *, population=False):
    """A flag: "Y"/"N" for a population flag, "Y" or empty otherwise (ADaMIG)."""
    return AVar(name, label, "Char", "Derived", method=method, codelist="NY" if population else "")


STUDY_DAY_METHOD = "{date} - TRTSDT + 1 when {date} is on or after TRTSDT, else {date} - TRTSDT (no day 0)"
SHIFT_NOTE = "; in a de-identified export shifted by the participant's stored offset, as every SDTM date"


# --- Parameters of ADEFF ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    code: str  # PARAMCD
    name: str  # PARAM
    category: str  # PARCAT1
    key: str  # the efficacy.endpoints value (or maintenance state)
    kind: str  # "num", "grades" (BILAG letters), "flag" (Y/N), "run" (current run of a state, days)
    baseline: bool = False  # the parameter has a baseline record


PARAMS = (
    Param("SLEDAI2K", "SLEDAI-2K Total Score", "DISEASE ACTIVITY", "sledai_2k", "num", True),
    Param("CSLEDAI", "Clinical SLEDAI-2K Score (no serology)", "DISEASE ACTIVITY", "clinical_sledai", "num",
          True),
    Param("SELENA", "SELENA-SLEDAI Total Score", "DISEASE ACTIVITY", "selena_sledai", "num", True),
    Param("PGA", "Physician Global Assessment (0-3)", "DISEASE ACTIVITY", "pga", "num", True),
    Param("BILAG", "BILAG-2004 Grades of the 9 Systems", "DISEASE ACTIVITY", "bilag", "grades", True),
    Param("PREDEQ", "Prednisone Equivalent Dose (mg/day)", "GLUCOCORTICOID", "prednisone", "num", True),
    Param("SRI4", "SRI-4 Response", "RESPONSE", "sri_4", "flag"),
    Param("DORIS", "DORIS 2021 Remission", "REMISSION", "doris", "flag"),
    Param("DFDORISA", "Drug-Free DORIS Remission, Antimalarial Allowed", "REMISSION",
          "drug_free_doris_antimalarial_allowed", "flag"),
    Param("DFDORIS", "Drug-Free DORIS Remission, Strict", "REMISSION", "drug_free_doris_strict", "flag"),
    Param("LLDAS", "Lupus Low Disease Activity State", "LOW DISEASE ACTIVITY", "lldas", "flag"),
    Param("LLDASRUN", "LLDAS Current Run at Visit (days)", "MAINTENANCE", "lldas", "run"),
    Param("DORISRUN", "DORIS Remission Current Run at Visit (days)", "MAINTENANCE", "doris", "run"),
    Param("DFDARUN", "Drug-Free DORIS (Antimalarial Allowed) Run (days)", "MAINTENANCE",
          "drug_free_doris_antimalarial_allowed", "run"),
    Param("DFDRUN", "Drug-Free DORIS (Strict) Current Run (days)", "MAINTENANCE",
          "drug_free_doris_strict", "run"),
)  # fmt: skip


# --- CAR-T windows of ADAE --------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    flag: str
    label: str
    first: int  # protocol days, Day 0 = the infusion
    last: int | None  # None: no end
    source: str

    def holds(self, protocol_day: int | None) -> bool:
        if protocol_day is None or protocol_day < self.first:
            return False
        return self.last is None or protocol_day <= self.last

    @property
    def method(self) -> str:
        """The rule as the define states it, in protocol days and in ASTDY."""
        if self.last is None:
            days, study_days = f"Day {self.first} or later", f"ASTDY {sdtm.planned_day(self.first)} or later"
        else:
            days = f"Day {self.first} to Day {self.last}"
            study_days = f"ASTDY {sdtm.planned_day(self.first)} to {sdtm.planned_day(self.last)}"
        return (
            f"Y when the onset is on {days} after the CAR-T infusion (protocol Day 0; {study_days}), "
            f"else empty. Source: {self.source}"
        )


def windows(study) -> tuple[Window, ...]:
    """The CAR-T windows ADAE flags, in protocol days after the infusion (clinical-rules.md)."""
    first, last = (study.settings.get("dlt") or {}).get("window_days", [0, 28])
    return (
        Window("DLTWFL", "DLT Window Flag", first, last,
               "the protocol's DLT window (protocol file dlt.window_days; clinical-rules.md 12.3)"),
        Window("CRSIWFL", "CRS/ICANS Assessment Window Flag", 0, crs_icans_last_day(study),
               "the protocol's CRS and ICANS assessments, Day 0 to the last scheduled visit with a CRS "
               "or ICANS form (clinical-rules.md 13)"),
        Window("EICAHTFL", "Early ICAHT Window (Day 0-30) Flag", 0, EARLY_ICAHT_LAST_DAY,
               "early ICAHT, day 0 to +30 (Rejeski 2023; clinical-rules.md 8.1)"),
        Window("LICAHTFL", "Late ICAHT Window (after Day 30) Flag", EARLY_ICAHT_LAST_DAY + 1, None,
               "late ICAHT, after day +30 (Rejeski 2023; clinical-rules.md 8.1)"),
        Window("M3WFL", "Primary Safety Window (Day 0-90) Flag", 0, PRIMARY_SAFETY_LAST_DAY,
               "the primary endpoint, CAR-T-related AEs within 3 months of the infusion (registry "
               "NCT07274059)"),
    )  # fmt: skip


def crs_icans_last_day(study) -> int:
    """The last target day of the current protocol's visits that expect a CRS or ICANS form (28)."""
    from .trial_design import current_protocol

    protocol = current_protocol(study)
    days = [
        definition.target_day
        for definition in (protocol.visit_definitions.all() if protocol else [])
        if {"crs", "icans"} & set(definition.forms or [])
    ]
    return max(days, default=28)


# --- Datasets --------------------------------------------------------------------------------------


def _ids(source: str) -> tuple[AVar, ...]:
    return (
        copied("STUDYID", "Study Identifier", f"{source}.STUDYID", mandatory=True),
        copied("USUBJID", "Unique Subject Identifier", f"{source}.USUBJID", mandatory=True),
    )


TREATMENT = "the dose level of ADSL.{0}"
TRT_RANK = "rank of the dose level in the protocol's order (1 = lowest)"

ADSL = Domain(
    "ADSL",
    "Subject-Level Analysis Dataset",
    (
        *_ids("DM"),
        copied("SUBJID", "Subject Identifier for the Study", "DM.SUBJID"),
        copied("SITEID", "Study Site Identifier", "DM.SITEID"),
        copied("AGE", "Age", "DM.AGE", type="Num"),
        copied("AGEU", "Age Units", "DM.AGEU", codelist="AGEU"),
        copied("SEX", "Sex", "DM.SEX", codelist="SEX"),
        copied("RACE", "Race", "DM.RACE", codelist="RACE"),
        copied("ETHNIC", "Ethnicity", "DM.ETHNIC", codelist="ETHNIC"),
        copied("ARM", "Description of Planned Arm", "DM.ARM"),
        copied("ACTARM", "Description of Actual Arm", "DM.ACTARM"),
        derived("TRT01P", "Planned Treatment for Period 01",
                "DM.ARM: the dose level assigned at enrollment; empty when none was assigned"),
        derived("TRT01PN", "Planned Treatment for Period 01 (N)", f"TRT01P as a number: {TRT_RANK}",
                type="Num"),
        derived("TRT01A", "Actual Treatment for Period 01",
                "DM.ACTARM: the dose level of the CAR-T infusion received; empty when not infused"),
        derived("TRT01AN", "Actual Treatment for Period 01 (N)", f"TRT01A as a number: {TRT_RANK}",
                type="Num"),
        flag("ENRLFL", "Enrolled Population Flag",
             "Y when the participant was enrolled (an enrollment date and a dose level), else N",
             population=True),
        flag("SAFFL", "Safety Population Flag",
             "Y when the participant received the CAR-T infusion (TRTSDT present), else N", population=True),
        flag("EFFFL", "Efficacy Population Flag",
             "Y when SAFFL is Y, the baseline SLEDAI-2K is evaluable and at least one post-baseline "
             "SLEDAI-2K (ADEFF PARAMCD SLEDAI2K) is evaluable, else N", population=True),
        date_var("ENRLDT", "Date of Enrollment", "The enrollment date" + SHIFT_NOTE),
        date_var("LDSTDT", "Date of First Lymphodepletion Dose",
                 "The first day of fludarabine/cyclophosphamide lymphodepletion (optional)" + SHIFT_NOTE),
        date_var("TRTSDT", "Date of First Exposure to Treatment",
                 "The CAR-T infusion date, the protocol's Day 0 (SDTM DM.RFXSTDTC)" + SHIFT_NOTE),
        date_var("TRTEDT", "Date of Last Exposure to Treatment",
                 "The CAR-T infusion date: a single infusion (SDTM DM.RFXENDTC)" + SHIFT_NOTE),
        date_var("EOSDT", "End of Study Date", "The end-of-study date when recorded" + SHIFT_NOTE),
        derived("BSLEDAI", "Baseline SLEDAI-2K", "ADEFF.BASE where PARAMCD is SLEDAI2K", type="Num"),
        derived("BCSLEDAI", "Baseline Clinical SLEDAI-2K", "ADEFF.BASE where PARAMCD is CSLEDAI", type="Num"),
        derived("BSELENA", "Baseline SELENA-SLEDAI", "ADEFF.BASE where PARAMCD is SELENA", type="Num"),
        derived("BPGA", "Baseline Physician Global Assessment", "ADEFF.BASE where PARAMCD is PGA",
                type="Num"),
        derived("BBILAG", "Baseline BILAG-2004 Grades (9 Systems)", "ADEFF.BASEC where PARAMCD is BILAG"),
        derived("BPREDEQ", "Baseline Prednisone Equivalent (mg/day)", "ADEFF.BASE where PARAMCD is PREDEQ",
                type="Num"),
    ),
)  # fmt: skip

AVAL_METHOD = (
    "SLEDAI2K, CSLEDAI, SELENA: totals computed from the SLEDAI form (clinical-rules.md 1); PGA: as "
    "collected; PREDEQ: the prednisone-equivalent maintenance glucocorticoid dose on ADT (rules of "
    "section 5; CRS/ICANS treatment and premedication excluded); SRI4, DORIS, DFDORISA, DFDORIS, "
    "LLDAS: 1 when met, 0 when not (sections 4-6); *RUN: days from the first visit of the current run "
    "of the state to this visit (section 6.3), empty when the state is not met. Empty when the visit is "
    "not evaluable"
)


def _aval_values() -> tuple[ValueLevel, ...]:
    """AVAL per PARAMCD: its type, meaning and derivation (BILAG has no AVAL: its grades are AVALC)."""
    values = []
    for param in PARAMS:
        if param.kind == "grades":
            continue
        if param.kind == "flag":
            label, data_type = f"{param.name}: 1 met, 0 not met", "integer"
            method = (
                f"1 when the visit meets {param.name} ({param.key} in efficacy.endpoints), 0 when not; "
                "empty when the visit is not evaluable (NEREAS)"
            )
        elif param.kind == "run":
            label, data_type = f"{param.name}", "integer"
            method = (
                f"Days from the first visit of the current run of {param.key} to this visit "
                "(clinical-rules.md 6.3); empty when the state is not met at the visit"
            )
        else:
            label, data_type = param.name, "float" if param.code in FLOAT_PARAMS else "integer"
            method = FLOAT_PARAMS.get(param.code) or (
                f"The {param.name} computed from the SLEDAI form's items (clinical-rules.md 1); empty when "
                "the form is not complete (NEREAS)"
            )
        values.append(ValueLevel("PARAMCD", param.code, data_type, label, method))
    return tuple(values)


def _avalc_values() -> tuple[ValueLevel, ...]:
    """AVALC per PARAMCD: Y/N for the responses and remissions, the 9 grades for BILAG."""
    values = []
    for param in PARAMS:
        if param.kind == "flag":
            values.append(
                ValueLevel(
                    "PARAMCD",
                    param.code,
                    "text",
                    f"{param.name} (Y/N)",
                    "Y when AVAL is 1, N when AVAL is 0, empty when AVAL is empty",
                    codelist="NY",
                )
            )
        elif param.kind == "grades":
            values.append(
                ValueLevel(
                    "PARAMCD",
                    param.code,
                    "text",
                    param.name,
                    "The 9 BILAG-2004 system grades (A-E), one letter each, in the order constitutional, "
                    "mucocutaneous, neuropsychiatric, musculoskeletal, cardiorespiratory, gastrointestinal, "
                    "ophthalmic, renal, haematological",
                )
            )
    return tuple(values)


# Parameters whose AVAL has decimals, and how each is derived.
FLOAT_PARAMS = {
    "PGA": "The Physician Global Assessment as collected on the PGA form (0-3, one decimal)",
    "PREDEQ": (
        "The prednisone-equivalent maintenance glucocorticoid dose on ADT in mg/day (clinical-rules.md "
        "5; CRS/ICANS treatment and premedication excluded)"
    ),
}

ADEFF_VARIABLES = (
    *_ids("ADSL"),
    copied("SITEID", "Study Site Identifier", "ADSL.SITEID"),
    derived("TRTP", "Planned Treatment", "ADSL.TRT01P"),
    derived("TRTA", "Actual Treatment", "ADSL.TRT01A"),
    copied("SAFFL", "Safety Population Flag", "ADSL.SAFFL", codelist="NY"),
    copied("EFFFL", "Efficacy Population Flag", "ADSL.EFFFL", codelist="NY"),
    derived("PARAMCD", "Parameter Code", "Assigned per parameter", mandatory=True,
            terms=tuple((p.code, p.name) for p in PARAMS)),
    derived("PARAM", "Parameter", "The decode of PARAMCD", mandatory=True),
    derived("PARCAT1", "Parameter Category 1", "Assigned per parameter"),
    derived("AVAL", "Analysis Value", AVAL_METHOD, type="Num", values=_aval_values()),
    derived("AVALC", "Analysis Value (C)",
            "Y/N for the responses and remissions; the 9 BILAG-2004 grades in the order constitutional, "
            "mucocutaneous, neuropsychiatric, musculoskeletal, cardiorespiratory, gastrointestinal, "
            "ophthalmic, renal, haematological; empty otherwise", values=_avalc_values()),
    derived("BASE", "Baseline Value", "AVAL of the record of the parameter with ABLFL = Y", type="Num"),
    derived("BASEC", "Baseline Value (C)", "AVALC of the record of the parameter with ABLFL = Y (BILAG)"),
    derived("CHG", "Change from Baseline",
            "AVAL - BASE on the post-baseline records of SLEDAI2K, CSLEDAI, SELENA, PGA and PREDEQ",
            type="Num"),
    flag("ABLFL", "Baseline Record Flag",
         "Y on the baseline assessment: the last complete one on or before the first lymphodepletion "
         "day, or on or before the infusion when no lymphodepletion was given (clinical-rules.md "
         "decision 8); PREDEQ on the date of the baseline SLEDAI-2K"),
    date_var("ADT", "Analysis Date",
             "The assessment date (the SLEDAI form's date, else the visit date)" + SHIFT_NOTE),
    derived("ADY", "Analysis Relative Day", STUDY_DAY_METHOD.format(date="ADT"), type="Num"),
    derived("AVISIT", "Analysis Visit", "The name of the protocol visit of the assessment"),
    derived("AVISITN", "Analysis Visit (N)",
            "The protocol's target day of the visit (Day 0 = the infusion, as in the visit names)",
            type="Num"),
    copied("VISITNUM", "Visit Number", "SV.VISITNUM", type="Num"),
    derived("NEREAS", "Reason Not Evaluable",
            "Why AVAL is empty, as the endpoints state it (left out of de-identified exports)"),
    derived("RULEVER", "Derivation Rule Version", "The version of the rule AVAL was computed with"),
)  # fmt: skip
ADEFF = Domain("ADEFF", "Efficacy Analysis Dataset", ADEFF_VARIABLES)


def _adae_variables(study_windows) -> tuple[AVar, ...]:
    return (
        *_ids("AE"),
        copied("SITEID", "Study Site Identifier", "ADSL.SITEID"),
        derived("TRTA", "Actual Treatment", "ADSL.TRT01A"),
        derived("TRTAN", "Actual Treatment (N)", "ADSL.TRT01AN", type="Num"),
        copied("SAFFL", "Safety Population Flag", "ADSL.SAFFL", codelist="NY"),
        copied("TRTSDT", "Date of First Exposure to Treatment", "ADSL.TRTSDT", type="Num",
               display_format=DATE9),
        copied("AESEQ", "Sequence Number", "AE.AESEQ", type="Num", mandatory=True),
        copied("AESPID", "Sponsor-Defined Identifier", "AE.AESPID", type="Num"),
        copied("AETERM", "Reported Term for the Adverse Event", "AE.AETERM"),
        copied("AEDECOD", "Dictionary-Derived Term", "AE.AEDECOD"),
        copied("AEBODSYS", "Body System or Organ Class", "AE.AEBODSYS"),
        copied("AESER", "Serious Event", "AE.AESER", codelist="NY"),
        copied("AEREL", "Causality (CAR-T)", "AE.AEREL"),
        copied("AERELLD", "Causality (lymphodepletion)", "AE.AERELLD"),
        copied("AEACN", "Action Taken with Study Treatment", "AE.AEACN", codelist="ACN"),
        copied("AEOUT", "Outcome of Adverse Event", "AE.AEOUT", codelist="OUT"),
        copied("AESICAT", "Adverse Event of Special Interest", "AE.AESICAT"),
        copied("AETOXGR", "Standard Toxicity Grade (maximum)", "AE.AETOXGR"),
        derived("ATOXGRN", "Analysis Toxicity Grade (N)", "AETOXGR as a number", type="Num"),
        date_var("ASTDT", "Analysis Start Date", "The date part of AE.AESTDTC" + SHIFT_NOTE),
        derived("ASTDY", "Analysis Start Relative Day", STUDY_DAY_METHOD.format(date="ASTDT"), type="Num"),
        date_var("AENDT", "Analysis End Date", "The date part of AE.AEENDTC" + SHIFT_NOTE),
        derived("AENDY", "Analysis End Relative Day", STUDY_DAY_METHOD.format(date="AENDT"), type="Num"),
        flag("TRTEMFL", "Treatment Emergent Analysis Flag",
             "Y when the onset (ASTDT) is on or after TRTSDT, the CAR-T infusion; empty before it or "
             "when the participant was not infused"),
        flag("CTRELFL", "Related to CAR-T Flag",
             "Y when the investigator's causality to the CAR-T is possible, probable or definite"),
        *(flag(w.flag, w.label, w.method) for w in study_windows),
    )  # fmt: skip


def adae(study) -> Domain:
    return Domain("ADAE", "Adverse Events Analysis Dataset", _adae_variables(windows(study)))


ADAM = Model(
    ig_name="ADaMIG",
    ig_version="1.3",
    purpose="Analysis",
    description="ADaM datasets of the study's EDC export",
    classes={
        "ADSL": "SUBJECT LEVEL ANALYSIS DATASET",
        "ADEFF": "BASIC DATA STRUCTURE",
        "ADAE": "OCCURRENCE DATA STRUCTURE",
    },
    sub_classes={"ADAE": "ADVERSE EVENT"},
    structures={
        "ADSL": "One record per subject",
        "ADEFF": "One record per subject per parameter per analysis visit",
        "ADAE": "One record per adverse event per subject",
    },
    keys={
        "ADSL": ("STUDYID", "USUBJID"),
        "ADEFF": ("STUDYID", "USUBJID", "PARAMCD", "AVISITN"),
        "ADAE": ("STUDYID", "USUBJID", "AESEQ"),
    },
    single_record=frozenset({"ADSL"}),
    domain_attribute=False,
    study_day_comment=False,
)


def variables_of(domain: Domain, options) -> list[AVar]:
    """The dataset's variables as exported: a de-identified ADEFF has no reasons (they may quote a
    date or a medication's free-text name)."""
    if options.deidentify:
        return [v for v in domain.variables if v.name != "NEREAS"]
    return list(domain.variables)


# --- Values ----------------------------------------------------------------------------------------


def sas_date(value: date | None) -> float | None:
    """A date as SAS stores it: days since 1960-01-01."""
    return None if value is None else float((value - SAS_EPOCH).days)


def shown_date(ctx: Context, participant, value: date | datetime | None) -> date | None:
    """A participant's date as the export shows it: shifted by the stored offset in a de-identified
    export (as ``Context.dtc`` shifts the SDTM dates), none in "study day" mode."""
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.date()
    if ctx.options.deidentify:
        if ctx.options.date_mode == "study_day":
            return None
        return deid.shift(participant.pk, value, ctx.shifts.get(participant.pk))
    return value


def _iso_date(text: str) -> date | None:
    """The date of an SDTM ISO 8601 value (``2026-03-01`` or ``2026-03-01T08:30``); none if partial."""
    if not text or len(text) < 10:
        return None
    return date.fromisoformat(text[:10])


def _number(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    return float(value)


def _yn(value: bool) -> str:
    return "Y" if value else "N"


# --- Writing ---------------------------------------------------------------------------------------


_CHAR, _NUM, _DATE = "char", "num", "date"
_NAN = float("nan")


class DatasetWriter:
    """One dataset being written: its CSV row by row, its columns kept compactly for the XPT (numbers
    in a float64 array, character values as codes into their distinct values, as the SDTM domains)."""

    def __init__(self, domain: Domain, variables, directory: Path, *, bom: bool):
        self.domain, self.variables, self.directory = domain, list(variables), directory
        self.csv = CsvFile(directory / f"{domain.code}.csv", bom=bom)
        self.csv.header([v.name for v in self.variables])
        self.numbers = {v.name: array("d") for v in self.variables if v.type == "Num"}
        self.chars = {v.name: sdtm._CharColumn() for v in self.variables if v.type == "Char"}
        self.dates = {v.name for v in self.variables if v.display_format == DATE9}
        self.plan = [
            (
                v.name,
                _CHAR if v.type == "Char" else _DATE if v.name in self.dates else _NUM,
                self.chars.get(v.name) if v.type == "Char" else self.numbers[v.name],
            )
            for v in self.variables
        ]
        self.rows = 0

    def add(self, row: dict) -> None:
        line = []
        for name, kind, column in self.plan:
            value = row.get(name)
            if kind is _CHAR:
                line.append(column.add(value))
                continue
            if kind is _DATE:
                line.append(value)  # the CSV shows the ISO date, the XPT the SAS number
                value = sas_date(value)
            else:
                value = num(value)
                line.append(value)  # a number: written as one, never formula-guarded
            column.append(_NAN if value is None else value)
        self.csv.writerow(line)
        self.rows += 1

    def close(self) -> tuple[int, dict[str, int]]:
        """Finish the CSV, write the XPT (none, and no CSV, for a dataset without rows: no empty
        dataset is shipped); the row count and the longest value (bytes) of each character variable."""
        self.csv.close()
        if not self.rows:
            (self.directory / f"{self.domain.code}.csv").unlink()
            return 0, {}
        lengths = {name: column.max_bytes() for name, column in self.chars.items()}
        frame = {}
        for var in self.variables:
            if var.type == "Num":
                frame[var.name] = pd.Series(
                    np.frombuffer(self.numbers.pop(var.name), dtype="float64"), copy=True
                )
            else:
                frame[var.name] = self.chars.pop(var.name).series()
        pyreadstat.write_xport(
            pd.DataFrame(frame, copy=False),
            str(self.directory / f"{self.domain.code}.xpt"),
            file_label=self.domain.label[:40],
            column_labels=[v.label for v in self.variables],
            table_name=self.domain.code,
            file_format_version=5,
            variable_format=dict.fromkeys(self.dates, "DATE9"),
        )
        return self.rows, lengths


# --- ADSL and ADEFF, one pass over the participants --------------------------------------------------


def _dose_ranks(study) -> dict[int, int]:
    return {pk: rank for rank, pk in enumerate(study.dose_levels.values_list("pk", flat=True), start=1)}


def _endpoints(people):
    """(participant's endpoints, the inputs they were derived from) per participant, the inputs read
    per ``ENDPOINTS_BATCH`` participants."""
    from efficacy import endpoints

    for start in range(0, len(people), ENDPOINTS_BATCH):
        inputs = endpoints.load(people[start : start + ENDPOINTS_BATCH])
        for p in inputs.participants:
            yield endpoints.derive(p, inputs, maintenance=True), inputs


class _Record:
    """One ADEFF value: the derived value and where and when it was assessed."""

    __slots__ = ("derived", "on", "visit", "run")

    def __init__(self, derived=None, on=None, visit=None, run=None):
        self.derived, self.on, self.visit, self.run = derived, on, visit, run


def _baseline_records(result, inputs, visits_by_code) -> dict[str, _Record]:
    """The baseline record of each parameter that has one: the assessment ``efficacy.endpoints`` uses
    as baseline (per instrument), by PARAMCD."""
    from efficacy.endpoints import Derived, medication_state

    records = {}
    sledai = result.baseline.get("sledai_2k")
    if sledai is not None and sledai.evaluable:
        on = sledai.inputs.get("assessed_on")
        visit = visits_by_code.get(sledai.details.get("visit"))
        records["SLEDAI2K"] = _Record(sledai, on, visit)
        records["CSLEDAI"] = _Record(
            Derived(sledai.details["clinical_sledai"], rule_version=sledai.rule_version), on, visit
        )
        row = next((r for r in result.rows if r.baseline), None)
        if row is not None and "selena_sledai" in row.values:
            records["SELENA"] = _Record(row.values["selena_sledai"], on, visit)
        if on is not None:
            state = medication_state(inputs.medications.get(result.participant.pk, []), on)
            if state.prednisone_mg_day is not None:
                value = Derived(state.prednisone_mg_day, rule_version="prednisone_equivalent/1")
            else:
                value = Derived.missing(state.why)
            records["PREDEQ"] = _Record(value, on, visit)
    for code, key in (("PGA", "pga"), ("BILAG", "bilag")):
        base = result.baseline.get(key)
        if base is not None and base.evaluable:
            records[code] = _Record(
                base, base.inputs.get("assessed_on"), visits_by_code.get(base.details.get("visit"))
            )
    return records


def _value(param: Param, record: _Record) -> tuple[float | None, str, str, str]:
    """(AVAL, AVALC, reason not evaluable, rule version) of one record."""
    if param.kind == "run":
        run = record.run or {}
        days = run.get("current_run_days")
        why = "" if run else "visit not due"
        return _number(days), "", why, run.get("rule_version", "")
    derived = record.derived
    if derived is None:
        return None, "", "no value", ""
    if not derived.evaluable:
        return None, "", derived.why, derived.rule_version
    value = derived.value
    if param.kind == "flag":
        return (
            (None, "", "", derived.rule_version)
            if value is None
            else (float(bool(value)), _yn(value), "", derived.rule_version)
        )
    if param.kind == "grades":
        return None, str(value or ""), "", derived.rule_version
    return _number(value), "", "", derived.rule_version


def _change(aval, base):
    if aval is None or base is None:
        return None
    return float(Decimal(str(aval)) - Decimal(str(base)))


def _adeff_rows(ctx, participant, adsl_row, result, inputs, visit_numbers) -> list[dict]:
    """The participant's ADEFF records: per parameter, its baseline record then each follow-up visit."""
    visits_by_code = {v.code: v for v in inputs.visits.get(participant.pk, [])}
    baselines = _baseline_records(result, inputs, visits_by_code)
    cutoff = ctx.options.cutoff
    follow_up = [
        row for row in result.follow_up if cutoff is None or (row.on is not None and row.on <= cutoff)
    ]
    common = {
        "STUDYID": adsl_row["STUDYID"],
        "USUBJID": adsl_row["USUBJID"],
        "SITEID": adsl_row["SITEID"],
        "TRTP": adsl_row["TRT01P"],
        "TRTA": adsl_row["TRT01A"],
        "SAFFL": adsl_row["SAFFL"],
        "EFFFL": adsl_row["EFFFL"],
    }
    rows = []
    for param in PARAMS:
        base = baselines.get(param.code) if param.baseline else None
        if base is not None and cutoff is not None and (base.on is None or base.on > cutoff):
            base = None
        base_value = _value(param, base) if base is not None else (None, "", "", "")
        records = [(base, True)] if base is not None else []
        for row in follow_up:
            visit = visits_by_code.get(row.code)
            if param.kind == "run":
                records.append((_Record(on=row.on, visit=visit, run=row.maintenance.get(param.key)), False))
            else:
                records.append((_Record(row.values.get(param.key), row.on, visit), False))
        for record, is_baseline in records:
            aval, avalc, why, rule = _value(param, record)
            visit = record.visit
            rows.append(
                {
                    **common,
                    "PARAMCD": param.code,
                    "PARAM": param.name,
                    "PARCAT1": param.category,
                    "AVAL": aval,
                    "AVALC": avalc,
                    "BASE": base_value[0],
                    "BASEC": base_value[1],
                    "CHG": None if is_baseline or param.kind != "num" else _change(aval, base_value[0]),
                    "ABLFL": "Y" if is_baseline else "",
                    "ADT": shown_date(ctx, participant, record.on),
                    "ADY": sdtm_day(participant.infusion_date, record.on),
                    "AVISIT": visit.name if visit is not None else "",
                    "AVISITN": visit.target_day if visit is not None else None,
                    "VISITNUM": visit_numbers.get(visit.pk) if visit is not None else None,
                    "NEREAS": why,
                    "RULEVER": rule,
                }
            )
    return rows


def _adsl_row(ctx, participant, dm: dict, result, ranks: dict[int, int]) -> dict:
    p = participant
    baseline = result.baseline if result is not None else {}
    sledai = baseline.get("sledai_2k")
    cutoff = ctx.options.cutoff
    evaluable_after = any(
        (row.values.get("sledai_2k") is not None and row.values["sledai_2k"].evaluable)
        and (cutoff is None or (row.on is not None and row.on <= cutoff))
        for row in (result.follow_up if result is not None else [])
    )
    infused = p.infusion_date is not None
    rank = ranks.get(p.dose_level_id)
    return {
        **{name: dm.get(name) for name in (
            "STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "AGEU", "SEX", "RACE", "ETHNIC", "ARM", "ACTARM",
        )},
        "TRT01P": dm.get("ARM", ""),
        "TRT01PN": rank if dm.get("ARM") else None,
        "TRT01A": dm.get("ACTARM", ""),
        "TRT01AN": rank if dm.get("ACTARM") else None,
        "ENRLFL": _yn(p.enrollment_date is not None and p.dose_level_id is not None),
        "SAFFL": _yn(infused),
        # Empty when the export leaves the efficacy forms out: the population cannot be decided.
        "EFFFL": "" if result is None else _yn(
            infused and sledai is not None and sledai.evaluable and evaluable_after
        ),
        "ENRLDT": shown_date(ctx, p, p.enrollment_date),
        "LDSTDT": shown_date(ctx, p, p.lymphodepletion_start_date),
        "TRTSDT": shown_date(ctx, p, p.infusion_date),
        "TRTEDT": shown_date(ctx, p, p.infusion_date),
        "EOSDT": shown_date(ctx, p, p.end_date),
    }  # fmt: skip


BASELINE_COLUMNS = {
    "SLEDAI2K": "BSLEDAI", "CSLEDAI": "BCSLEDAI", "SELENA": "BSELENA", "PGA": "BPGA", "PREDEQ": "BPREDEQ",
}  # fmt: skip


def _with_baseline(adsl_row: dict, adeff_rows: list[dict]) -> dict:
    for row in adeff_rows:
        if row["ABLFL"] == "Y":
            if row["PARAMCD"] in BASELINE_COLUMNS:
                adsl_row[BASELINE_COLUMNS[row["PARAMCD"]]] = row["AVAL"]
            elif row["PARAMCD"] == "BILAG":
                adsl_row["BBILAG"] = row["AVALC"]
    return adsl_row


def _subjects(ctx, writers, ranks, *, efficacy: bool) -> dict[str, dict]:
    """Write the ADSL and ADEFF records of every participant in scope; the ADSL values ADAE needs, by
    USUBJID."""
    dm_rows = sdtm.dm_rows(ctx)
    subjects = {}
    for people in sdtm._participants(ctx):
        visit_numbers = {}
        derived = iter(())
        if efficacy:
            visit_numbers = dict(
                Visit.objects.filter(participant_id__in=[p.pk for p in people]).values_list("pk", "sequence")
            )
            derived = _endpoints(people)  # lazily: one group's inputs in memory at a time
        for p in people:
            dm = next(dm_rows)
            if dm["USUBJID"] != ctx.usubjid(p):  # both read the participants in scope in the same order
                raise RuntimeError(f"DM and ADSL out of step at {dm['USUBJID']}")
            result, inputs = next(derived, (None, None))
            if result is not None and result.participant.pk != p.pk:
                raise RuntimeError(f"endpoints and ADSL out of step at {dm['USUBJID']}")
            adsl_row = _adsl_row(ctx, p, dm, result, ranks)
            adeff_rows = _adeff_rows(ctx, p, adsl_row, result, inputs, visit_numbers) if result else []
            writers["ADSL"].add(_with_baseline(adsl_row, adeff_rows))
            if "ADEFF" in writers:
                for row in adeff_rows:
                    writers["ADEFF"].add(row)
            subjects[adsl_row["USUBJID"]] = {
                name: adsl_row[name] for name in ("SITEID", "TRT01A", "TRT01AN", "SAFFL", "TRTSDT")
            }
    return subjects


# --- ADAE ------------------------------------------------------------------------------------------

RELATED = {"POSSIBLE", "PROBABLE", "DEFINITE"}  # adverse_events.models.RELATED, as SDTM AE writes them


def _protocol_day(study_day: int | None) -> int | None:
    """An SDTM study day (no day 0) as a protocol day (Day 0 = the infusion)."""
    if study_day is None:
        return None
    return study_day - 1 if study_day > 0 else study_day


def _adae_rows(ctx, subjects: dict[str, dict], study_windows):
    seq = defaultdict(int)
    for ae in sdtm.ae_rows(ctx):
        usubjid = ae["USUBJID"]
        seq[usubjid] += 1  # AESEQ as the SDTM AE domain numbers the same rows
        subject = subjects.get(usubjid, {})
        start_day = ae.get("AESTDY")  # none when the participant was not infused
        day = _protocol_day(start_day)
        grade = ae.get("AETOXGR") or ""
        row = {
            **{name: ae.get(name) for name in (
                "STUDYID", "USUBJID", "AESPID", "AETERM", "AEDECOD", "AEBODSYS", "AESER", "AEREL", "AERELLD",
                "AEACN", "AEOUT", "AESICAT", "AETOXGR",
            )},
            "SITEID": subject.get("SITEID", ""),
            "TRTA": subject.get("TRT01A", ""),
            "TRTAN": subject.get("TRT01AN"),
            "SAFFL": subject.get("SAFFL", ""),
            "TRTSDT": subject.get("TRTSDT"),
            "AESEQ": seq[usubjid],
            "ATOXGRN": float(grade) if grade.isdigit() else None,
            "ASTDT": _iso_date(ae.get("AESTDTC")),
            "ASTDY": start_day,
            "AENDT": _iso_date(ae.get("AEENDTC")),
            "AENDY": ae.get("AEENDY"),
            "TRTEMFL": "Y" if start_day is not None and start_day >= 1 else "",
            "CTRELFL": "Y" if ae.get("AEREL") in RELATED else "",
        }  # fmt: skip
        for window in study_windows:
            row[window.flag] = "Y" if window.holds(day) else ""
        yield row


# --- The export step -------------------------------------------------------------------------------


def datasets_in_scope(study, options) -> list[Domain]:
    """ADSL always; ADEFF with the efficacy forms in scope; ADAE with the adverse events in scope."""
    from django.apps import apps

    codes = {spec.code for spec in scope.form_specs(options)}
    chosen = [ADSL]
    if apps.is_installed("efficacy") and codes & EFFICACY_FORMS:
        chosen.append(ADEFF)
    if options.form_codes is None or "adverse_events" in options.form_codes:
        chosen.append(adae(study))
    return chosen


def write_adam(*, study, options, directory: Path) -> dict[str, int]:
    """Write ADSL, ADEFF and ADAE (CSV and XPT) and their define files to ``directory``; {file: rows}."""
    directory.mkdir(parents=True, exist_ok=True)
    ctx = Context(study, options)
    datasets = datasets_in_scope(study, options)
    by_code = {d.code: d for d in datasets}
    writers = {
        d.code: DatasetWriter(d, variables_of(d, options), directory, bom=options.bom)
        for d in datasets
        if d.code != "ADAE"
    }
    counts, written = {}, []

    def finish(writer):
        rows, lengths = writer.close()
        if rows:
            counts[f"{writer.domain.code}.csv"] = counts[f"{writer.domain.code}.xpt"] = rows
            written.append((writer.domain, writer.variables, rows, lengths))

    with translation.override("en"):
        subjects = _subjects(ctx, writers, _dose_ranks(study), efficacy="ADEFF" in writers)
        for writer in writers.values():
            finish(writer)
        if "ADAE" in by_code:
            domain = by_code["ADAE"]
            writer = DatasetWriter(domain, variables_of(domain, options), directory, bom=options.bom)
            for row in _adae_rows(ctx, subjects, windows(study)):
                writer.add(row)
            finish(writer)
        counts.update(write_define(written, directory, options=options))
        counts.update(write_define_xml(written, directory, study=study, options=options, model=ADAM))
    return counts

"""SDTM-style domains as CSV and SAS transport (XPT version 5), and their define-style metadata.

Domains: DM, DS, SV, IE, MH, CM, EX, AE, LB, VS, RS (SLEDAI-2K, clinical SLEDAI, SELENA-SLEDAI, PGA,
BILAG-2004, SRI-4, DORIS, drug-free DORIS, LLDAS from ``efficacy.endpoints``), FA (daily CRS and
ICANS findings). Variable names follow the SDTMIG (``STUDYID``, ``DOMAIN``, ``USUBJID``, ``--SEQ``,
``--TESTCD``, ``--ORRES``, ``--STRESC``, ``--STRESN``, ``--DTC``, ``--DY``, ``VISITNUM``, ...); names
are at most 8 characters, labels at most 40, character values at most 200 bytes (XPT v5 limits).

Study day (``--DY``) is the project's own study day, ``Participant.study_day``: days from Day 0,
the CAR-T infusion, so the infusion day is 0 and the day before it -1. This differs from the SDTMIG
convention (no day 0, reference start day 1) on purpose: the protocol schedules visits on Day 0
based days, and the define file says so.

Dates are ISO 8601 character values. De-identified exports leave out initials and free text, give
age instead of the year of birth, and move every date by the participant's stored offset
(``exports.deid``), or in "study day" mode leave dates empty and keep only ``--DY``.

Memory: CSV rows are written as they are produced; pyreadstat writes a transport file from a whole
data frame (it cannot append), so each domain's columns are collected too, compactly (numbers in a
float64 array, character values as 32-bit codes into the column's distinct values, the same string
object for every repeat), and written once the domain is complete: memory grows with the largest
domain, not with the study. Records are read per batch of participants; RS derives the efficacy
endpoints one participant at a time from inputs read per ``ENDPOINTS_BATCH``. On 10,000 synthetic
participants (337,610 RS rows) the SDTM export peaks about 120 MB above the process's start.
"""

import csv
from array import array
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyreadstat
from django.apps import apps
from django.db.models import Prefetch
from django.utils import translation

from crfs.registry import FORMS
from edc.partial_dates import PARTIAL_LENGTH, Precision, to_precision
from trials.models import Participant
from visits.models import Visit

from . import deid, scope
from .define import write_define
from .odm import subject_key

BATCH = 500
ENDPOINTS_BATCH = 100  # participants whose efficacy inputs are read together (RS)
MAX_CHAR_BYTES = 200


@dataclass(frozen=True)
class Var:
    name: str
    label: str
    type: str = "Char"  # "Char" or "Num"
    origin: str = "CRF"

    def __post_init__(self):
        if len(self.name) > 8 or len(self.label) > 40:
            raise ValueError(f"{self.name}: SAS names ≤ 8 characters, labels ≤ 40")


def C(name, label, origin="CRF"):  # noqa: N802 - SDTM metadata reads as a table
    return Var(name, label, "Char", origin)


def N(name, label, origin="CRF"):  # noqa: N802
    return Var(name, label, "Num", origin)


IDS = [
    C("STUDYID", "Study Identifier", "Assigned"),
    C("DOMAIN", "Domain Abbreviation", "Assigned"),
    C("USUBJID", "Unique Subject Identifier", "Derived"),
]
VISIT = [N("VISITNUM", "Visit Number", "Derived"), C("VISIT", "Visit Name", "Derived")]


def seq(code):
    return N(f"{code}SEQ", "Sequence Number", "Derived")


def dtc(code, label="Date/Time of Collection"):
    return [C(f"{code}DTC", label), N(f"{code}DY", "Study Day of Collection", "Derived")]


@dataclass(frozen=True)
class Domain:
    code: str
    label: str
    variables: tuple[Var, ...]
    forms: tuple[str, ...] = ()  # form codes the domain reads (empty: always written)


DOMAINS = {
    d.code: d
    for d in (
        Domain(
            "DM",
            "Demographics",
            (
                *IDS,
                C("SUBJID", "Subject Identifier for the Study", "Assigned"),
                C("RFSTDTC", "Subject Reference Start Date/Time", "Derived"),
                C("RFENDTC", "Subject Reference End Date/Time", "Derived"),
                C("RFXSTDTC", "Date/Time of First Study Treatment", "Derived"),
                C("RFICDTC", "Date/Time of Informed Consent"),
                C("DTHDTC", "Date/Time of Death"),
                C("DTHFL", "Subject Death Flag", "Derived"),
                C("SITEID", "Study Site Identifier", "Assigned"),
                N("BRTHYR", "Year of Birth"),
                N("AGE", "Age", "Derived"),
                C("AGEU", "Age Units", "Assigned"),
                C("SEX", "Sex"),
                C("ETHNIC", "Ethnicity"),
                C("ARMCD", "Planned Arm Code", "Assigned"),
                C("ARM", "Description of Planned Arm", "Assigned"),
                C("ACTARMCD", "Actual Arm Code", "Derived"),
                C("COUNTRY", "Country", "Assigned"),
                C("DMDTC", "Date/Time of Collection"),
                N("DMDY", "Study Day of Collection", "Derived"),
            ),
        ),
        Domain(
            "DS",
            "Disposition",
            (
                *IDS,
                seq("DS"),
                C("DSTERM", "Reported Term for the Disposition Event"),
                C("DSDECOD", "Standardized Disposition Term", "Assigned"),
                C("DSCAT", "Category for Disposition Event", "Assigned"),
                C("DSSTDTC", "Start Date/Time of Disposition Event"),
                N("DSSTDY", "Study Day of Start of Disposition Event", "Derived"),
            ),
        ),
        Domain(
            "SV",
            "Subject Visits",
            (
                *IDS,
                *VISIT,
                N("VISITDY", "Planned Study Day of Visit", "Protocol"),
                C("SVSTDTC", "Start Date/Time of Visit"),
                N("SVSTDY", "Study Day of Start of Visit", "Derived"),
                C("SVSTAT", "Visit Status", "Derived"),
                C("SVUPDES", "Description of Unplanned Visit"),
            ),
        ),
        Domain(
            "IE",
            "Inclusion/Exclusion Criteria Not Met",
            (
                *IDS,
                seq("IE"),
                C("IETESTCD", "Inclusion/Exclusion Criterion Short Name", "Assigned"),
                C("IETEST", "Inclusion/Exclusion Criterion", "Assigned"),
                C("IECAT", "Inclusion/Exclusion Category", "Assigned"),
                C("IEORRES", "I/E Criterion Original Result"),
                C("IESTRESC", "I/E Criterion Result in Std Format", "Derived"),
                *VISIT,
                *dtc("IE"),
            ),
            ("eligibility",),
        ),
        Domain(
            "MH",
            "Medical History",
            (
                *IDS,
                seq("MH"),
                C("MHTERM", "Reported Term for the Medical History"),
                C("MHCAT", "Category for Medical History", "Assigned"),
                C("MHSTDTC", "Start Date/Time of Medical History Event"),
                C("MHENDTC", "End Date/Time of Medical History Event"),
                C("MHENRF", "End Relative to Reference Period", "Derived"),
                *VISIT,
                *dtc("MH"),
            ),
            ("medical_history", "demographics"),
        ),
        Domain(
            "CM",
            "Concomitant/Prior Medications",
            (
                *IDS,
                seq("CM"),
                C("CMTRT", "Reported Name of Drug, Med, or Therapy"),
                C("CMCAT", "Category for Medication", "Assigned"),
                C("CMCLAS", "Medication Class"),
                C("CMINDC", "Indication"),
                N("CMDOSE", "Dose per Administration"),
                C("CMDOSU", "Dose Units"),
                C("CMDOSFRQ", "Dosing Frequency per Interval"),
                C("CMROUTE", "Route of Administration"),
                N("CMPREDEQ", "Prednisone Equivalent (mg/day)", "Derived"),
                C("CMSTDTC", "Start Date/Time of Medication"),
                C("CMENDTC", "End Date/Time of Medication"),
                N("CMSTDY", "Study Day of Start of Medication", "Derived"),
                C("CMENRF", "End Relative to Reference Period", "Derived"),
            ),
            ("medications", "demographics"),
        ),
        Domain(
            "EX",
            "Exposure",
            (
                *IDS,
                seq("EX"),
                C("EXTRT", "Name of Treatment", "Assigned"),
                C("EXCAT", "Category of Treatment", "Assigned"),
                N("EXDOSE", "Dose"),
                C("EXDOSU", "Dose Units", "Assigned"),
                C("EXLOT", "Lot Number"),
                C("EXSTDTC", "Start Date/Time of Treatment"),
                C("EXENDTC", "End Date/Time of Treatment"),
                N("EXSTDY", "Study Day of Start of Treatment", "Derived"),
                *VISIT,
            ),
            ("infusion", "lymphodepletion"),
        ),
        Domain(
            "AE",
            "Adverse Events",
            (
                *IDS,
                seq("AE"),
                N("AESPID", "Sponsor-Defined Identifier"),
                C("AETERM", "Reported Term for the Adverse Event"),
                C("AEDECOD", "Dictionary-Derived Term (CTCAE v5)", "Assigned"),
                C("AEBODSYS", "Body System or Organ Class", "Assigned"),
                C("AESER", "Serious Event"),
                C("AETOXGR", "Standard Toxicity Grade (maximum)", "Derived"),
                C("AEREL", "Causality (CAR-T)"),
                C("AERELLD", "Causality (lymphodepletion)"),
                C("AEACN", "Action Taken with Study Treatment"),
                C("AEOUT", "Outcome of Adverse Event"),
                C("AESICAT", "Adverse Event of Special Interest"),
                C("AESTDTC", "Start Date/Time of Adverse Event"),
                C("AEENDTC", "End Date/Time of Adverse Event"),
                N("AESTDY", "Study Day of Start of Adverse Event", "Derived"),
                N("AEENDY", "Study Day of End of Adverse Event", "Derived"),
            ),
        ),
        Domain(
            "LB",
            "Laboratory Test Results",
            (
                *IDS,
                seq("LB"),
                C("LBTESTCD", "Lab Test or Examination Short Name", "Assigned"),
                C("LBTEST", "Lab Test or Examination Name", "Assigned"),
                C("LBCAT", "Category for Lab Test", "Assigned"),
                C("LBORRES", "Result or Finding in Original Units"),
                C("LBORRESU", "Original Units"),
                C("LBORNRLO", "Reference Range Lower Limit in Orig Unit"),
                C("LBORNRHI", "Reference Range Upper Limit in Orig Unit"),
                C("LBSTRESC", "Character Result/Finding in Std Format", "Derived"),
                N("LBSTRESN", "Numeric Result/Finding in Standard Units", "Derived"),
                C("LBSTRESU", "Standard Units", "Derived"),
                C("LBNRIND", "Reference Range Indicator", "Derived"),
                C("LBTOXGR", "Standard Toxicity Grade", "Derived"),
                C("LBSTAT", "Completion Status"),
                *VISIT,
                *dtc("LB", "Date/Time of Specimen Collection"),
            ),
            ("labs",),
        ),
        Domain(
            "VS",
            "Vital Signs",
            (
                *IDS,
                seq("VS"),
                C("VSTESTCD", "Vital Signs Test Short Name", "Assigned"),
                C("VSTEST", "Vital Signs Test Name", "Assigned"),
                C("VSORRES", "Result or Finding in Original Units"),
                C("VSORRESU", "Original Units", "Assigned"),
                C("VSSTRESC", "Character Result/Finding in Std Format", "Derived"),
                N("VSSTRESN", "Numeric Result/Finding in Standard Units", "Derived"),
                C("VSSTRESU", "Standard Units", "Assigned"),
                *VISIT,
                *dtc("VS", "Date/Time of Measurements"),
            ),
            ("vital_signs",),
        ),
        Domain(
            "RS",
            "Disease Response and Activity",
            (
                *IDS,
                seq("RS"),
                C("RSTESTCD", "Assessment Short Name", "Assigned"),
                C("RSTEST", "Assessment Name", "Assigned"),
                C("RSCAT", "Category for Assessment", "Assigned"),
                C("RSORRES", "Result or Finding in Original Units", "Derived"),
                C("RSSTRESC", "Character Result/Finding in Std Format", "Derived"),
                N("RSSTRESN", "Numeric Result/Finding in Standard Units", "Derived"),
                C("RSSTAT", "Completion Status", "Derived"),
                C("RSREASND", "Reason Not Done", "Derived"),
                C("RSBLFL", "Baseline Flag", "Derived"),
                C("RSRULE", "Rule Version", "Derived"),
                *VISIT,
                *dtc("RS", "Date/Time of Assessment"),
            ),
            ("sledai", "pga", "bilag"),
        ),
        Domain(
            "FA",
            "Findings About (CRS and ICANS, daily)",
            (
                *IDS,
                seq("FA"),
                C("FATESTCD", "Findings About Test Short Name", "Assigned"),
                C("FATEST", "Findings About Test Name", "Assigned"),
                C("FAOBJ", "Object of the Observation", "Assigned"),
                C("FACAT", "Category for Findings About", "Assigned"),
                C("FAORRES", "Result or Finding in Original Units"),
                C("FAORRESU", "Original Units", "Assigned"),
                C("FASTRESC", "Character Result/Finding in Std Format", "Derived"),
                N("FASTRESN", "Numeric Result/Finding in Standard Units", "Derived"),
                *VISIT,
                *dtc("FA", "Date/Time of Assessment"),
            ),
            ("crs", "icans"),
        ),
    )
}


# --- Values ----------------------------------------------------------------------------------------


def char(value) -> str:
    """A character value: text, at most 200 bytes of UTF-8 (the XPT v5 limit)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, Decimal):
        value = format(value.normalize(), "f")
    text = str(value).replace("\r", " ").replace("\n", " ")
    encoded = text.encode("utf-8")
    if len(encoded) > MAX_CHAR_BYTES:
        text = encoded[:MAX_CHAR_BYTES].decode("utf-8", errors="ignore")
    return text


def num(value) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def num_text(value: float | None) -> str:
    """How a number is written in the CSV (read back as the same float)."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(value)


class Context:
    """The export's study, options and per-participant date handling."""

    def __init__(self, study, options):
        self.study = study
        self.options = options
        self.study_code = study.code
        self.shifts: dict[int, int] = {}

    def subjid(self, participant) -> str:
        return subject_key(participant, self.options)

    def usubjid(self, participant) -> str:
        return f"{self.study_code}-{self.subjid(participant)}"

    def base(self, domain: str, participant) -> dict:
        return {"STUDYID": self.study_code, "DOMAIN": domain, "USUBJID": self.usubjid(participant)}

    def load_shifts(self, ids):
        if self.options.deidentify:
            deid.ensure_date_shifts(ids)
            from .models import DateShift

            self.shifts.update(
                DateShift.objects.filter(participant_id__in=ids).values_list("participant_id", "days")
            )

    def dtc(self, participant, value, precision: str = Precision.DAY) -> str:
        """ISO 8601 text of a date or time stamp, as de-identification shows it; a partial date
        (``edc.partial_dates``) to its precision ("2019", "2019-03")."""
        if value is None:
            return ""
        if precision in PARTIAL_LENGTH:
            return to_precision(self.dtc(participant, value), precision)
        if self.options.deidentify:
            if self.options.date_mode == "study_day":
                return ""
            value = deid.shift(participant.pk, value, self.shifts.get(participant.pk))
        if isinstance(value, datetime):
            return value.replace(microsecond=0).isoformat(timespec="minutes")
        return value.isoformat()

    def dy(self, participant, value, precision: str = Precision.DAY) -> int | None:
        if value is None or precision in PARTIAL_LENGTH:  # no study day of a partial date (SDTMIG 4.4.4)
            return None
        day = value.date() if isinstance(value, datetime) else value
        return participant.study_day(day)

    def free_text(self, value) -> str:
        return "" if self.options.deidentify else char(value)


def visit_columns(visit) -> dict:
    if visit is None:
        return {"VISITNUM": None, "VISIT": ""}
    return {"VISITNUM": visit.sequence, "VISIT": visit.name}


# --- Domain builders: each yields rows (dicts) ordered by participant --------------------------------


def _participants(ctx):
    ids = list(scope.participants(ctx.study, ctx.options).values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        ctx.load_shifts(batch)
        order = {pk: i for i, pk in enumerate(batch)}
        people = Participant.objects.filter(pk__in=batch).select_related("site__study", "dose_level")
        yield sorted(people, key=lambda p: order[p.pk])


def _forms(ctx, code, people, related=("visit",), children=None):
    """Records of form ``code`` of ``people`` in scope, grouped by participant id; ``children``: the
    name of a child table whose live rows (by pk) are read for the whole batch in one query, as
    ``record.live_<children>``."""
    if code not in FORMS or not any(spec.code == code for spec in scope.form_specs(ctx.options)):
        return {}
    grouped = defaultdict(list)
    qs = scope.records(FORMS[code], ctx.options, ctx.study).filter(participant_id__in=[p.pk for p in people])
    if children:
        rows = getattr(FORMS[code].model, children).rel.related_model.objects
        qs = qs.prefetch_related(
            Prefetch(
                children,
                queryset=rows.filter(entered_in_error=False).order_by("pk"),
                to_attr=f"live_{children}",
            )
        )
    for record in qs.select_related(*related):
        grouped[record.participant_id].append(record)
    return grouped


def dm_rows(ctx):
    for people in _participants(ctx):
        demographics = _forms(ctx, "demographics", people)
        deaths = _forms(ctx, "death", people)
        for p in people:
            demo = (demographics.get(p.pk) or [None])[0]
            death = (deaths.get(p.pk) or [None])[0]
            reference = p.consent_date or p.screening_date
            row = ctx.base("DM", p)
            row.update(
                SUBJID=ctx.subjid(p),
                RFSTDTC=ctx.dtc(p, p.infusion_date),
                RFENDTC=ctx.dtc(p, p.end_date),
                RFXSTDTC=ctx.dtc(p, p.infusion_date),
                RFICDTC=ctx.dtc(p, p.consent_date),
                DTHDTC=ctx.dtc(p, death.death_date if death else None),
                DTHFL="Y" if death else "",
                SITEID=p.site.code,
                BRTHYR=None if ctx.options.deidentify else p.year_of_birth,
                AGE=deid.age_at(p.year_of_birth, reference),
                AGEU="YEARS",
                SEX=p.sex,
                ETHNIC=char(demo.get_ethnicity_display() if demo and demo.ethnicity else ""),
                ARMCD=p.dose_level.code if p.dose_level else "",
                ARM=p.dose_level.label if p.dose_level else "",
                ACTARMCD=(p.dose_level.code if p.dose_level and p.infusion_date else ""),
                COUNTRY=p.site.country,
                DMDTC=ctx.dtc(p, p.screening_date),
                DMDY=ctx.dy(p, p.screening_date),
            )
            yield row


def ds_rows(ctx):
    for people in _participants(ctx):
        ends = _forms(ctx, "end_of_study", people)
        for p in people:
            events = []
            if p.consent_date:
                events.append(
                    (
                        "INFORMED CONSENT OBTAINED",
                        "INFORMED CONSENT OBTAINED",
                        "PROTOCOL MILESTONE",
                        p.consent_date,
                    )
                )
            if p.status == "screen_failed":
                events.append(
                    (
                        ctx.free_text(p.screen_failure_reason) or "SCREEN FAILURE",
                        "SCREEN FAILURE",
                        "DISPOSITION EVENT",
                        p.eligibility_date or p.screening_date,
                    )
                )
            if p.enrollment_date:
                events.append(("ENROLLED", "ENROLLED", "PROTOCOL MILESTONE", p.enrollment_date))
            if p.infusion_date:
                events.append(("CAR-T INFUSION", "CAR-T INFUSION", "PROTOCOL MILESTONE", p.infusion_date))
            for end in ends.get(p.pk, []):
                decod = end.get_reason_display() if end.reason else ""
                events.append((char(decod).upper(), end.reason.upper(), "DISPOSITION EVENT", end.end_date))
            for term, decod, cat, on in events:
                row = ctx.base("DS", p)
                row.update(
                    DSTERM=term, DSDECOD=decod, DSCAT=cat, DSSTDTC=ctx.dtc(p, on), DSSTDY=ctx.dy(p, on)
                )
                yield row


def sv_rows(ctx):
    for people in _participants(ctx):
        visits = defaultdict(list)
        qs = Visit.objects.filter(participant_id__in=[p.pk for p in people], entered_in_error=False)
        if ctx.options.cutoff:
            qs = qs.filter(visit_date__lte=ctx.options.cutoff)
        for visit in qs.order_by("participant_id", "sequence"):
            visits[visit.participant_id].append(visit)
        for p in people:
            for visit in visits.get(p.pk, []):
                if visit.visit_date is None and not visit.missed:
                    continue
                row = ctx.base("SV", p)
                row.update(
                    VISITNUM=visit.sequence,
                    VISIT=visit.name,
                    VISITDY=visit.target_day,
                    SVSTDTC=ctx.dtc(p, visit.visit_date),
                    SVSTDY=ctx.dy(p, visit.visit_date),
                    SVSTAT="NOT DONE" if visit.missed else "",
                    SVUPDES=ctx.free_text(visit.status_reason) if visit.unscheduled else "",
                )
                yield row


def ie_rows(ctx):
    from crfs.criteria import CRITERIA

    codes = {}
    for kind in ("inclusion", "exclusion"):
        members = [c for c in CRITERIA if c.kind == kind]
        for i, criterion in enumerate(members, start=1):
            codes[criterion.key] = f"{'IN' if kind == 'inclusion' else 'EX'}{i:02d}"
    from crfs.criteria import BY_KEY

    for people in _participants(ctx):
        forms = _forms(ctx, "eligibility", people)
        for p in people:
            for form in forms.get(p.pk, []):
                for key in form.unmet_criteria or []:
                    criterion = BY_KEY.get(key)
                    if criterion is None:
                        continue
                    answer = getattr(form, key, "")
                    row = ctx.base("IE", p)
                    row.update(
                        IETESTCD=codes[key],
                        IETEST=char(criterion.label),
                        IECAT=criterion.kind.upper(),
                        IEORRES={"yes": "Y", "no": "N", "unknown": "U"}.get(answer, char(answer)),
                        IESTRESC={"yes": "Y", "no": "N", "unknown": "U"}.get(answer, char(answer)),
                        **visit_columns(form.visit),
                        IEDTC=ctx.dtc(p, form.assessed_on),
                        IEDY=ctx.dy(p, form.assessed_on),
                    )
                    yield row


def mh_rows(ctx):
    for people in _participants(ctx):
        histories = _forms(ctx, "medical_history", people, children="conditions")
        demographics = _forms(ctx, "demographics", people)
        for p in people:
            for demo in demographics.get(p.pk, []):
                if demo.diagnosis_date:
                    row = ctx.base("MH", p)
                    row.update(
                        MHTERM="SYSTEMIC LUPUS ERYTHEMATOSUS",
                        MHCAT="PRIMARY DIAGNOSIS",
                        MHSTDTC=ctx.dtc(p, demo.diagnosis_date),
                        MHENDTC="",
                        MHENRF="ONGOING",
                        **visit_columns(demo.visit),
                        MHDTC=ctx.dtc(p, demo.assessed_on),
                        MHDY=ctx.dy(p, demo.assessed_on),
                    )
                    yield row
            for history in histories.get(p.pk, []):
                for condition in history.live_conditions:
                    row = ctx.base("MH", p)
                    row.update(
                        MHTERM=ctx.free_text(condition.condition),
                        MHCAT="GENERAL MEDICAL HISTORY",
                        MHSTDTC=ctx.dtc(p, condition.start_date, condition.start_date_precision),
                        MHENDTC=ctx.dtc(p, condition.end_date),
                        MHENRF="ONGOING" if condition.ongoing else "",
                        **visit_columns(history.visit),
                        MHDTC=ctx.dtc(p, history.assessed_on),
                        MHDY=ctx.dy(p, history.assessed_on),
                    )
                    yield row


def cm_rows(ctx):
    for people in _participants(ctx):
        demographics = _forms(ctx, "demographics", people, children="prior_treatments")
        medications = _forms(ctx, "medications", people)
        for p in people:
            for demo in demographics.get(p.pk, []):
                for treatment in demo.live_prior_treatments:
                    agent = treatment.get_agent_display()
                    row = ctx.base("CM", p)
                    row.update(
                        CMTRT=char(agent).upper()
                        if treatment.agent != "other"
                        else ctx.free_text(treatment.agent_other),
                        CMCAT="PRIOR SLE TREATMENT",
                        CMSTDTC=ctx.dtc(p, treatment.start_date, treatment.start_date_precision),
                        CMENDTC=ctx.dtc(p, treatment.stop_date),
                        CMSTDY=ctx.dy(p, treatment.start_date, treatment.start_date_precision),
                        CMENRF="ONGOING" if treatment.reason_stopped.startswith("ongoing") else "",
                    )
                    yield row
            for med in medications.get(p.pk, []):
                row = ctx.base("CM", p)
                row.update(
                    CMTRT=ctx.free_text(med.agent).upper(),
                    CMCAT=med.period.upper(),
                    CMCLAS=med.drug_class.upper(),
                    CMINDC=ctx.free_text(med.indication),
                    CMDOSE=num(med.dose),
                    CMDOSU=med.dose_unit,
                    CMDOSFRQ=med.frequency.upper(),
                    CMROUTE=med.get_route_display().upper() if med.route else "",
                    CMPREDEQ=num(med.prednisone_equivalent_mg_day),
                    CMSTDTC=ctx.dtc(p, med.start_date, med.start_date_precision),
                    CMENDTC=ctx.dtc(p, med.stop_date),
                    CMSTDY=ctx.dy(p, med.start_date, med.start_date_precision),
                    CMENRF="ONGOING" if med.ongoing else "",
                )
                yield row


CAR_T = "UCB-DERIVED CD19/BCMA CAR-T CELLS"


def ex_rows(ctx):
    for people in _participants(ctx):
        lymphodepletions = _forms(ctx, "lymphodepletion", people)
        infusions = _forms(ctx, "infusion", people)
        for p in people:
            for form in lymphodepletions.get(p.pk, []):
                for drug, dose in (
                    ("FLUDARABINE", form.fludarabine_given_mg),
                    ("CYCLOPHOSPHAMIDE", form.cyclophosphamide_given_mg),
                ):
                    if dose is None:
                        continue
                    row = ctx.base("EX", p)
                    row.update(
                        EXTRT=drug,
                        EXCAT="LYMPHODEPLETION",
                        EXDOSE=num(dose),
                        EXDOSU="mg",
                        EXSTDTC=ctx.dtc(p, form.assessed_on),
                        EXENDTC=ctx.dtc(p, form.assessed_on),
                        EXSTDY=ctx.dy(p, form.assessed_on),
                        **visit_columns(form.visit),
                    )
                    yield row
            for form in infusions.get(p.pk, []):
                start = _at(form.infusion_date, form.infusion_start)
                end = _at(form.infusion_date, form.infusion_stop)
                row = ctx.base("EX", p)
                row.update(
                    EXTRT=CAR_T,
                    EXCAT="CAR-T",
                    EXDOSE=num(form.dose_per_kg),
                    EXDOSU="CAR+ viable cells/kg",
                    EXLOT=char(form.product_lot),
                    EXSTDTC=ctx.dtc(p, start),
                    EXENDTC=ctx.dtc(p, end),
                    EXSTDY=ctx.dy(p, form.infusion_date),
                    **visit_columns(form.visit),
                )
                yield row
            cutoff = ctx.options.cutoff
            if not infusions.get(p.pk) and p.infusion_date and (cutoff is None or p.infusion_date <= cutoff):
                # Day 0 recorded on the participant without an infusion form yet: the exposure is
                # known, its dose is not.
                row = ctx.base("EX", p)
                row.update(
                    EXTRT=CAR_T,
                    EXCAT="CAR-T",
                    EXDOSU="CAR+ viable cells/kg",
                    EXSTDTC=ctx.dtc(p, p.infusion_date),
                    EXENDTC=ctx.dtc(p, p.infusion_date),
                    EXSTDY=ctx.dy(p, p.infusion_date),
                )
                yield row


def _at(day: date | None, clock):
    if day is None:
        return None
    return datetime.combine(day, clock) if clock else day


def ae_rows(ctx):
    from adverse_events.models import AdverseEvent

    for people in _participants(ctx):
        events = AdverseEvent.objects.filter(
            participant_id__in=[p.pk for p in people], entered_in_error=False
        )
        if ctx.options.cutoff:
            events = events.filter(onset_date__lte=ctx.options.cutoff)
        grouped = defaultdict(list)
        for event in events.prefetch_related("grades").order_by("participant_id", "number"):
            grouped[event.participant_id].append(event)
        for p in people:
            for event in grouped.get(p.pk, []):
                grades = [g.grade for g in event.grades.all() if not g.entered_in_error]
                row = ctx.base("AE", p)
                row.update(
                    AESPID=event.number,
                    AETERM=ctx.free_text(event.verbatim),
                    AEDECOD=char(
                        event.term_label if event.term != "other" else ctx.free_text(event.term_other)
                    ),
                    AEBODSYS=char(event.soc),
                    AESER="Y" if event.serious else "N",
                    AETOXGR=str(max(grades)) if grades else "",
                    AEREL=event.relationship_car_t.upper(),
                    AERELLD=event.relationship_lymphodepletion.upper(),
                    AEACN=event.action_taken.upper(),
                    AEOUT=event.outcome.upper(),
                    AESICAT=event.aesi_category.upper(),
                    AESTDTC=ctx.dtc(p, _at(event.onset_date, event.onset_time)),
                    AEENDTC=ctx.dtc(p, _at(event.resolution_date, event.resolution_time)),
                    AESTDY=ctx.dy(p, event.onset_date),
                    AEENDY=ctx.dy(p, event.resolution_date),
                )
                yield row


def lab_test_code(code: str) -> str:
    """The analyte code as an SDTM test code: upper case, no underscores, at most 8 characters."""
    return code.replace("_", "").upper()[:8]


def lb_rows(ctx):
    from labs.analytes import analyte
    from labs.models import LabResult

    for people in _participants(ctx):
        panels = _forms(ctx, "labs", people)
        panel_ids = [panel.pk for group in panels.values() for panel in group]
        results = defaultdict(list)
        for result in LabResult.objects.filter(panel_id__in=panel_ids).order_by("panel_id", "pk"):
            results[result.panel_id].append(result)
        for p in people:
            for panel in panels.get(p.pk, []):
                for result in results.get(panel.pk, []):
                    if not result.entered and not result.not_done:
                        continue
                    spec = analyte(result.analyte)
                    original = result.value if result.value is not None else result.result
                    standard = result.standard_value if result.standard_value is not None else result.result
                    collected = result.collected_at or panel.collected_at
                    row = ctx.base("LB", p)
                    row.update(
                        LBTESTCD=lab_test_code(result.analyte),
                        LBTEST=char(spec.label if spec else result.analyte),
                        LBCAT=panel.panel.upper(),
                        LBORRES=char(original),
                        LBORRESU=result.unit,
                        LBORNRLO=char(result.lln),
                        LBORNRHI=char(result.uln),
                        LBSTRESC=char(standard),
                        LBSTRESN=num(result.standard_value),
                        LBSTRESU=result.standard_unit,
                        LBNRIND={"H": "HIGH", "L": "LOW"}.get(
                            result.flag, "NORMAL" if result.lln or result.uln else ""
                        ),
                        LBTOXGR="" if result.ctcae_grade is None else str(result.ctcae_grade),
                        LBSTAT="NOT DONE" if result.not_done else "",
                        **visit_columns(panel.visit),
                        LBDTC=ctx.dtc(p, collected),
                        LBDY=ctx.dy(p, collected),
                    )
                    yield row


VITAL_TESTS = (
    ("temperature_c", "TEMP", "Temperature", "C"),
    ("heart_rate", "HR", "Heart Rate", "beats/min"),
    ("systolic_bp", "SYSBP", "Systolic Blood Pressure", "mmHg"),
    ("diastolic_bp", "DIABP", "Diastolic Blood Pressure", "mmHg"),
    ("respiratory_rate", "RESP", "Respiratory Rate", "breaths/min"),
    ("spo2_pct", "OXYSAT", "Oxygen Saturation", "%"),
    ("weight_kg", "WEIGHT", "Weight", "kg"),
    ("height_cm", "HEIGHT", "Height", "cm"),
    ("bmi", "BMI", "Body Mass Index", "kg/m2"),
)


def vs_rows(ctx):
    for people in _participants(ctx):
        forms = _forms(ctx, "vital_signs", people)
        for p in people:
            for form in forms.get(p.pk, []):
                for field, code, test, unit in VITAL_TESTS:
                    value = getattr(form, field)
                    if value is None:
                        continue
                    row = ctx.base("VS", p)
                    row.update(
                        VSTESTCD=code,
                        VSTEST=test,
                        VSORRES=char(value),
                        VSORRESU=unit,
                        VSSTRESC=char(value),
                        VSSTRESN=num(value),
                        VSSTRESU=unit,
                        **visit_columns(form.visit),
                        VSDTC=ctx.dtc(p, form.assessed_on),
                        VSDY=ctx.dy(p, form.assessed_on),
                    )
                    yield row


# efficacy.endpoints value name -> (test code, test name, category)
RESPONSE_TESTS = {
    "sledai_2k": ("SLEDAI2K", "SLEDAI-2K Total Score", "SLEDAI-2K"),
    "clinical_sledai": ("CSLEDAI", "Clinical SLEDAI-2K Score", "SLEDAI-2K"),
    "selena_sledai": ("SELENA", "SELENA-SLEDAI Total Score", "SELENA-SLEDAI"),
    "pga": ("PGA", "Physician Global Assessment (0-3)", "PGA"),
    "bilag": ("BILAG", "BILAG-2004 System Grades", "BILAG-2004"),
    "sri_4": ("SRI4", "SLE Responder Index 4", "SRI-4"),
    "doris": ("DORIS", "DORIS 2021 Remission", "DORIS"),
    "drug_free_doris_antimalarial_allowed": ("DFDORISA", "Drug-Free DORIS, Antimalarial Allowed", "DORIS"),
    "drug_free_doris_strict": ("DFDORIS", "Drug-Free DORIS, Strict", "DORIS"),
    "lldas": ("LLDAS", "Lupus Low Disease Activity State", "LLDAS"),
}


def _endpoints(people):
    """``efficacy.endpoints`` of ``people``: inputs read per group of ``ENDPOINTS_BATCH``
    participants, derived one participant at a time (only one participant's values in memory)."""
    from efficacy import endpoints

    for start in range(0, len(people), ENDPOINTS_BATCH):
        inputs = endpoints.load(people[start : start + ENDPOINTS_BATCH])
        for p in inputs.participants:
            yield endpoints.derive(p, inputs, maintenance=False)


def rs_rows(ctx):
    for people in _participants(ctx):
        visits = {
            pk: SimpleNamespace(sequence=sequence, name=name)
            for pk, sequence, name in Visit.objects.filter(
                participant_id__in=[p.pk for p in people]
            ).values_list("pk", "sequence", "name")
        }
        for result in _endpoints(people):
            p = result.participant
            for visit_row in result.rows:
                visit = visits.get(visit_row.visit_id)
                on = visit_row.on
                if ctx.options.cutoff and (on is None or on > ctx.options.cutoff):
                    continue
                for key, (code, test, category) in RESPONSE_TESTS.items():
                    derived = visit_row.values.get(key)
                    if derived is None:
                        continue
                    value = derived.value
                    shown = "Y" if value is True else "N" if value is False else char(value)
                    row = ctx.base("RS", p)
                    row.update(
                        RSTESTCD=code,
                        RSTEST=test,
                        RSCAT=category,
                        RSORRES=shown if derived.evaluable else "",
                        RSSTRESC=shown if derived.evaluable else "",
                        RSSTRESN=num(value)
                        if derived.evaluable and not isinstance(value, (bool, str))
                        else None,
                        RSSTAT="" if derived.evaluable else "NOT DONE",
                        RSREASND="" if derived.evaluable else char(derived.why),
                        RSBLFL="Y" if visit_row.baseline else "",
                        RSRULE=char(derived.rule_version),
                        **visit_columns(visit),
                        RSDTC=ctx.dtc(p, on),
                        RSDY=ctx.dy(p, on),
                    )
                    yield row


CRS_TESTS = (
    ("temperature_c", "TMAX", "Maximum Temperature", "C"),
    ("fever_masked", "FEVMASK", "Fever Masked by Antipyretic/Anticytokine", ""),
    ("hypotension", "HYPOTEN", "Hypotension: Worst Support", ""),
    ("oxygen_device", "OXYDEV", "Oxygen: Worst Device", ""),
    ("oxygen_flow_l_min", "OXYFLOW", "Oxygen Flow", "L/min"),
    ("tocilizumab_given", "TOCI", "Tocilizumab Given", ""),
    ("steroids_given", "STEROID", "Corticosteroids Given", ""),
    ("crs_grade", "CRSGR", "ASTCT CRS Grade (computed)", ""),
    ("investigator_grade", "CRSGRINV", "ASTCT CRS Grade (investigator)", ""),
)
ICANS_TESTS = (
    ("ice_score", "ICESCORE", "ICE Score (computed)", ""),
    ("consciousness", "CONSC", "Level of Consciousness", ""),
    ("seizure", "SEIZURE", "Seizure", ""),
    ("motor", "MOTOR", "Motor Findings", ""),
    ("icp_cerebral_edema", "ICPEDEMA", "Raised ICP/Cerebral Oedema", ""),
    ("icans_grade", "ICANSGR", "ASTCT ICANS Grade (computed)", ""),
    ("investigator_grade", "ICANSGRI", "ASTCT ICANS Grade (investigator)", ""),
)


def fa_rows(ctx):
    for people in _participants(ctx):
        crs = _forms(ctx, "crs", people)
        icans = _forms(ctx, "icans", people)
        for p in people:
            assessments = [(f, CRS_TESTS, "CYTOKINE RELEASE SYNDROME", "CRS") for f in crs.get(p.pk, [])]
            assessments += [(f, ICANS_TESTS, "ICANS", "ICANS") for f in icans.get(p.pk, [])]
            assessments.sort(key=lambda a: (a[0].assessed_on or date.min, a[3]))
            for form, tests, obj, category in assessments:
                for field, code, test, unit in tests:
                    value = getattr(form, field)
                    if value is None or value == "":
                        continue
                    row = ctx.base("FA", p)
                    row.update(
                        FATESTCD=code,
                        FATEST=test,
                        FAOBJ=obj,
                        FACAT=category,
                        FAORRES=char(value),
                        FAORRESU=unit,
                        FASTRESC=char(value),
                        FASTRESN=None if isinstance(value, (bool, str)) else num(value),
                        **visit_columns(form.visit),
                        FADTC=ctx.dtc(p, form.assessed_on),
                        FADY=ctx.dy(p, form.assessed_on),
                    )
                    yield row


BUILDERS = {
    "DM": dm_rows,
    "DS": ds_rows,
    "SV": sv_rows,
    "IE": ie_rows,
    "MH": mh_rows,
    "CM": cm_rows,
    "EX": ex_rows,
    "AE": ae_rows,
    "LB": lb_rows,
    "VS": vs_rows,
    "RS": rs_rows,
    "FA": fa_rows,
}


def variables_of(domain: Domain, options) -> list[Var]:
    """The domain's variables as exported (a de-identified DM has no year of birth)."""
    if options.deidentify:
        return [v for v in domain.variables if v.name != "BRTHYR"]
    return list(domain.variables)


def domains_in_scope(options) -> list[Domain]:
    codes = {spec.code for spec in scope.form_specs(options)}
    chosen = []
    for domain in DOMAINS.values():
        if domain.code == "RS" and not apps.is_installed("efficacy"):
            continue
        if not domain.forms or codes & set(domain.forms):
            chosen.append(domain)
    return chosen


class _CharColumn:
    """A character column kept compact: each distinct value once, and one 32-bit code per row."""

    __slots__ = ("codes", "index")

    def __init__(self):
        self.index: dict[str, int] = {}
        self.codes = array("i")

    def add(self, value) -> str:
        """Append ``char(value)`` and return it (a string seen before is not converted again)."""
        index = self.index
        code = index.get(value) if type(value) is str else None
        if code is None:
            # A known key is a char() result, so char(key) == key: only new values are converted.
            text = char(value)
            code = index.get(text)
            if code is None:
                code = index[text] = len(index)
        else:
            text = value
        self.codes.append(code)
        return text

    def max_bytes(self) -> int:
        """Longest value in bytes (at least 1), as the define file reports it."""
        return max((len(text.encode("utf-8")) for text in self.index), default=0) or 1

    def series(self) -> pd.Series:
        values = np.empty(len(self.index), dtype=object)
        values[:] = list(self.index)
        codes = np.frombuffer(self.codes, dtype=np.int32) if self.codes else np.empty(0, dtype=np.int32)
        return pd.Series(values[codes], dtype="object", copy=False)


def write_domain(domain: Domain, rows, variables: list[Var], directory: Path) -> tuple[int, dict[str, int]]:
    """Write ``DOMAIN.csv`` row by row and ``DOMAIN.xpt`` from the collected columns; the row count
    and the longest value (bytes) of each character variable.

    Columns are collected compactly (numbers in a float64 array, character values as codes into the
    column's distinct values), so a domain costs about 4 to 8 bytes per cell until its XPT is written.
    """
    names = [v.name for v in variables]
    chars = {v.name: _CharColumn() for v in variables if v.type == "Char"}
    numbers = {v.name: array("d") for v in variables if v.type == "Num"}
    plan = [(v.name, v.type == "Num", numbers.get(v.name), chars.get(v.name)) for v in variables]
    seq_name = f"{domain.code}SEQ"
    has_seq = seq_name in names
    counters = defaultdict(int)
    count = 0
    nan = float("nan")
    with (directory / f"{domain.code}.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for row in rows:
            if has_seq:
                counters[row["USUBJID"]] += 1
                row[seq_name] = counters[row["USUBJID"]]
            line = []
            for name, is_num, number_column, char_column in plan:
                value = row.get(name)
                if is_num:
                    value = num(value)
                    line.append(num_text(value))
                    number_column.append(nan if value is None else value)
                else:
                    line.append(char_column.add(value))
            writer.writerow(line)
            count += 1
    del counters
    lengths = {name: column.max_bytes() for name, column in chars.items()}
    frame = {}
    for var in variables:  # one column at a time: its compact form is freed once converted
        if var.type == "Num":
            frame[var.name] = pd.Series(np.frombuffer(numbers.pop(var.name), dtype="float64"), copy=True)
        else:
            frame[var.name] = chars.pop(var.name).series()
    frame = pd.DataFrame(frame, copy=False)
    pyreadstat.write_xport(
        frame,
        str(directory / f"{domain.code}.xpt"),
        file_label=domain.label[:40],
        column_labels=[v.label for v in variables],
        table_name=domain.code,
        file_format_version=5,
    )
    del frame
    return count, lengths


def write_sdtm(*, study, options, directory: Path) -> dict[str, int]:
    """Write every SDTM-style domain in scope to ``directory``; {file name: rows}."""
    directory.mkdir(parents=True, exist_ok=True)
    ctx = Context(study, options)
    counts = {}
    written = []
    with translation.override("en"):
        for domain in domains_in_scope(options):
            variables = variables_of(domain, options)
            rows, lengths = write_domain(domain, BUILDERS[domain.code](ctx), variables, directory)
            counts[f"{domain.code}.csv"] = rows
            counts[f"{domain.code}.xpt"] = rows
            written.append((domain, variables, rows, lengths))
        counts.update(write_define(written, directory, options=options))
    return counts

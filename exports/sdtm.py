"""SDTM-style domains as CSV and SAS transport (XPT version 5), and their define-style metadata.

Domains: DM, DS, SV, IE, MH, CM, EX, AE, LB, VS, RS (SLEDAI-2K, clinical SLEDAI, SELENA-SLEDAI, PGA,
BILAG-2004, SRI-4, DORIS, drug-free DORIS, LLDAS from ``efficacy.endpoints``), FA (daily CRS and
ICANS findings). Variable names follow the SDTMIG (``STUDYID``, ``DOMAIN``, ``USUBJID``, ``--SEQ``,
``--TESTCD``, ``--ORRES``, ``--STRESC``, ``--STRESN``, ``--DTC``, ``--DY``, ``VISITNUM``, ...); names
are at most 8 characters, labels at most 40, character values at most 200 bytes (XPT v5 limits).

Study day (``--DY``) follows the SDTMIG: the reference start date RFSTDTC is the CAR-T infusion
(the protocol's Day 0, also RFXSTDTC) and is study day 1, the day before it is -1; there is no day 0.
So the protocol's Day 28 visit is ``--DY`` 29 and ``VISITDY`` 29 (``sdtm_day``). EPOCH (SCREENING,
TREATMENT from the first lymphodepletion dose through the infusion day, FOLLOW-UP after it) is derived
from each record's own date (``epoch``). The trial design domains (TS, TA, TE, TV, TI) come from
``exports.trial_design``; SUPPDM carries the Chinese ethnic group, which CDISC's ETHNIC cannot hold;
RELREC relates each CRS or ICANS adverse event to the daily findings (FA groups) of its days.

AE terms are coded from the MedDRA codes CTCAE v5.0 publishes (``adverse_events.coding``: LLT and
primary SOC); a term outside CTCAE stays uncoded and is listed in ``uncoded_terms.csv``. DSDECOD is
a PROTMLST term for a protocol milestone and an NCOMPLT term for a disposition event; every coded
variable's codelist, with NCI codes, is in ``exports/ct/sdtm-ct.yaml``.

Character values are ASCII (``ascii_text``): CDISC's transport files and their reviewers' tools expect
it. The rule: superscript digits after a digit become ``^`` and the digits (10⁹/L -> 10^9/L), after
a letter plain digits (m² -> m2); everything else by ``anyascii`` (−, ≥, µ -> -, >=, u; Chinese to
pinyin syllables, e.g. 盐城 -> YanCheng). The define file states the rule. A dataset without rows is
not shipped.

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

import re
from array import array
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyreadstat
from anyascii import anyascii
from django.apps import apps
from django.db.models import Max, Prefetch
from django.utils import translation

from crfs.missing import reasons_by_record
from crfs.models import MissingReason
from crfs.registry import FORMS
from edc.partial_dates import PARTIAL_LENGTH, Precision, to_precision
from trials.models import Participant
from visits.models import Visit

from . import deid, scope, trial_design
from .csvfile import CsvFile
from .define import write_define
from .define_xml import write_define_xml
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
DESIGN_IDS = IDS[:2]  # the trial design datasets describe the protocol: no subject
VISIT = [N("VISITNUM", "Visit Number", "Derived"), C("VISIT", "Visit Name", "Derived")]


def seq(code):
    return N(f"{code}SEQ", "Sequence Number", "Derived")


def dtc(code, label="Date/Time of Collection"):
    return [C(f"{code}DTC", label), N(f"{code}DY", "Study Day of Collection", "Derived")]


SUPP_VARIABLES = (
    C("STUDYID", "Study Identifier", "Assigned"),
    C("RDOMAIN", "Related Domain Abbreviation", "Assigned"),
    C("USUBJID", "Unique Subject Identifier", "Derived"),
    C("IDVAR", "Identifying Variable", "Assigned"),
    C("IDVARVAL", "Identifying Variable Value", "Assigned"),
    C("QNAM", "Qualifier Variable Name", "Assigned"),
    C("QLABEL", "Qualifier Variable Label", "Assigned"),
    C("QVAL", "Data Value"),
    C("QORIG", "Origin", "Assigned"),
    C("QEVAL", "Evaluator", "Assigned"),
)


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
                C("RFXENDTC", "Date/Time of Last Study Treatment", "Derived"),
                C("RFICDTC", "Date/Time of Informed Consent"),
                C("RFPENDTC", "Date/Time of End of Participation", "Derived"),
                C("DTHDTC", "Date/Time of Death"),
                C("DTHFL", "Subject Death Flag", "Derived"),
                C("SITEID", "Study Site Identifier", "Assigned"),
                C("BRTHDTC", "Date/Time of Birth"),
                N("AGE", "Age", "Derived"),
                C("AGEU", "Age Units", "Assigned"),
                C("SEX", "Sex"),
                C("RACE", "Race", "Derived"),
                C("ETHNIC", "Ethnicity", "Derived"),
                C("ARMCD", "Planned Arm Code", "Assigned"),
                C("ARM", "Description of Planned Arm", "Assigned"),
                C("ACTARMCD", "Actual Arm Code", "Derived"),
                C("ACTARM", "Description of Actual Arm", "Derived"),
                C("ARMNRS", "Reason Arm and/or Actual Arm is Null", "Derived"),
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
                C("EPOCH", "Epoch", "Derived"),
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
                C("SVENDTC", "End Date/Time of Visit"),
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
                C("EPOCH", "Epoch", "Derived"),
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
                C("EPOCH", "Epoch", "Derived"),
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
                C("EPOCH", "Epoch", "Derived"),
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
                C("EXDOSFRM", "Dose Form", "Assigned"),
                C("EXROUTE", "Route of Administration", "Assigned"),
                C("EXLOT", "Lot Number"),
                C("EPOCH", "Epoch", "Derived"),
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
                C("AELLT", "Lowest Level Term", "Assigned"),
                N("AELLTCD", "Lowest Level Term Code", "Assigned"),
                C("AEDECOD", "Dictionary-Derived Term", "Assigned"),
                C("AEBODSYS", "Body System or Organ Class", "Assigned"),
                N("AEBDSYCD", "Body System or Organ Class Code", "Assigned"),
                C("AESOC", "Primary System Organ Class", "Assigned"),
                N("AESOCCD", "Primary System Organ Class Code", "Assigned"),
                C("AESER", "Serious Event"),
                C("AESCONG", "Congenital Anomaly or Birth Defect"),
                C("AESDISAB", "Persist or Signif Disability/Incapacity"),
                C("AESDTH", "Results in Death"),
                C("AESHOSP", "Requires or Prolongs Hospitalization"),
                C("AESLIFE", "Is Life Threatening"),
                C("AESMIE", "Other Medically Important Serious Event"),
                C("AETOXGR", "Standard Toxicity Grade (maximum)", "Derived"),
                C("AEREL", "Causality (CAR-T)"),
                C("AERELLD", "Causality (lymphodepletion)"),
                C("AEACN", "Action Taken with Study Treatment"),
                C("AEOUT", "Outcome of Adverse Event"),
                C("AESICAT", "Adverse Event of Special Interest"),
                C("EPOCH", "Epoch", "Derived"),
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
                N("LBSTNRLO", "Reference Range Lower Limit-Std Units", "Derived"),
                N("LBSTNRHI", "Reference Range Upper Limit-Std Units", "Derived"),
                C("LBNRIND", "Reference Range Indicator", "Derived"),
                C("LBTOXGR", "Standard Toxicity Grade", "Derived"),
                C("LBSTAT", "Completion Status"),
                C("LBREASND", "Reason Test Not Done"),
                *VISIT,
                C("EPOCH", "Epoch", "Derived"),
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
                C("VSSTAT", "Completion Status"),
                C("VSREASND", "Reason Not Done"),
                *VISIT,
                C("EPOCH", "Epoch", "Derived"),
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
                C("EPOCH", "Epoch", "Derived"),
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
                C("FAGRPID", "Group ID", "Assigned"),
                C("FAORRES", "Result or Finding in Original Units"),
                C("FAORRESU", "Original Units", "Assigned"),
                C("FASTRESC", "Character Result/Finding in Std Format", "Derived"),
                N("FASTRESN", "Numeric Result/Finding in Standard Units", "Derived"),
                *VISIT,
                C("EPOCH", "Epoch", "Derived"),
                *dtc("FA", "Date/Time of Assessment"),
            ),
            ("crs", "icans"),
        ),
        Domain(
            "SUPPDM",
            "Supplemental Qualifiers for DM",
            SUPP_VARIABLES,
            ("demographics",),
        ),
        Domain(
            "RELREC",
            "Related Records",
            (
                C("STUDYID", "Study Identifier", "Assigned"),
                C("RDOMAIN", "Related Domain Abbreviation", "Assigned"),
                C("USUBJID", "Unique Subject Identifier", "Derived"),
                C("IDVAR", "Identifying Variable", "Assigned"),
                C("IDVARVAL", "Identifying Variable Value", "Assigned"),
                C("RELTYPE", "Relationship Type", "Assigned"),
                C("RELID", "Relationship Identifier", "Derived"),
            ),
            ("crs", "icans"),
        ),
        Domain(
            "TE",
            "Trial Elements",
            (
                *DESIGN_IDS,
                C("ETCD", "Element Code", "Protocol"),
                C("ELEMENT", "Description of Element", "Protocol"),
                C("TESTRL", "Rule for Start of Element", "Protocol"),
                C("TEENRL", "Rule for End of Element", "Protocol"),
                C("TEDUR", "Planned Duration of Element", "Protocol"),
            ),
        ),
        Domain(
            "TA",
            "Trial Arms",
            (
                *DESIGN_IDS,
                C("ARMCD", "Planned Arm Code", "Protocol"),
                C("ARM", "Description of Planned Arm", "Protocol"),
                N("TAETORD", "Planned Order of Element within Arm", "Protocol"),
                C("ETCD", "Element Code", "Protocol"),
                C("ELEMENT", "Description of Element", "Protocol"),
                C("TABRANCH", "Branch", "Protocol"),
                C("TATRANS", "Transition Rule", "Protocol"),
                C("EPOCH", "Epoch", "Protocol"),
            ),
        ),
        Domain(
            "TV",
            "Trial Visits",
            (
                *DESIGN_IDS,
                N("VISITNUM", "Visit Number", "Protocol"),
                C("VISIT", "Visit Name", "Protocol"),
                N("VISITDY", "Planned Study Day of Visit", "Protocol"),
                C("ARMCD", "Planned Arm Code", "Protocol"),
                C("TVSTRL", "Visit Start Rule", "Protocol"),
                C("TVENRL", "Visit End Rule", "Protocol"),
            ),
        ),
        Domain(
            "TI",
            "Trial Inclusion/Exclusion Criteria",
            (
                *DESIGN_IDS,
                C("IETESTCD", "Incl/Excl Criterion Short Name", "Protocol"),
                C("IETEST", "Inclusion/Exclusion Criterion", "Protocol"),
                C("IECAT", "Inclusion/Exclusion Category", "Protocol"),
                C("TIVERS", "Protocol Criteria Versions", "Protocol"),
            ),
        ),
        Domain(
            "TS",
            "Trial Summary",
            (
                *DESIGN_IDS,
                N("TSSEQ", "Sequence Number", "Assigned"),
                C("TSGRPID", "Group ID", "Assigned"),
                C("TSPARMCD", "Trial Summary Parameter Short Name", "Protocol"),
                C("TSPARM", "Trial Summary Parameter", "Protocol"),
                C("TSVAL", "Parameter Value", "Protocol"),
                C("TSVALNF", "Parameter Null Flavor", "Protocol"),
                C("TSVALCD", "Parameter Value Code", "Protocol"),
                C("TSVCDREF", "Name of the Reference Terminology", "Protocol"),
                C("TSVCDVER", "Version of the Reference Terminology", "Protocol"),
            ),
        ),
    )
}


# --- Values ----------------------------------------------------------------------------------------


SUPERSCRIPT_DIGITS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789", strict=True))
_SUPERSCRIPT_RUN = re.compile("([0-9A-Za-z]?)([⁰¹²³⁴⁵⁶⁷⁸⁹]+)")


def _superscript(match: re.Match) -> str:
    before, digits = match.group(1), "".join(SUPERSCRIPT_DIGITS[c] for c in match.group(2))
    return f"{before}^{digits}" if before.isdigit() else before + digits


def ascii_text(text: str) -> str:
    """``text`` in ASCII by the documented rule (module docstring): 10⁹ -> 10^9, m² -> m2, then
    ``anyascii`` (− -> -, ≥ -> >=, µ -> u, Chinese -> pinyin)."""
    if text.isascii():
        return text
    return anyascii(_SUPERSCRIPT_RUN.sub(_superscript, text))


def char(value) -> str:
    """A character value: ASCII text (``ascii_text``), at most 200 bytes (the XPT v5 limit)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, Decimal):
        value = format(value.normalize(), "f")
    text = ascii_text(str(value).replace("\r", " ").replace("\n", " "))
    return text[:MAX_CHAR_BYTES]


def sdtm_day(reference: date | None, on: date | None) -> int | None:
    """SDTMIG study day of ``on``: the reference start date is day 1, the day before it -1, no day 0."""
    if reference is None or on is None:
        return None
    days = (on - reference).days
    return days + 1 if days >= 0 else days


def planned_day(protocol_day: int | None) -> int | None:
    """A protocol day (Day 0 = the infusion) as an SDTMIG study day (VISITDY)."""
    if protocol_day is None:
        return None
    return protocol_day + 1 if protocol_day >= 0 else protocol_day


SCREENING, TREATMENT, FOLLOW_UP = "SCREENING", "TREATMENT", "FOLLOW-UP"


def epoch(participant, on) -> str:
    """The trial epoch a record dated ``on`` falls in: SCREENING from consent (or screening) until the
    first lymphodepletion dose, TREATMENT from it through the infusion day, FOLLOW-UP after; empty
    before the study (a medical history start) or without a date."""
    if on is None:
        return ""
    day = on.date() if isinstance(on, datetime) else on
    start = participant.consent_date or participant.screening_date
    if start and day < start:
        return ""
    treatment = participant.lymphodepletion_start_date or participant.infusion_date
    if treatment is None or day < treatment:
        return SCREENING
    if participant.infusion_date is None or day <= participant.infusion_date:
        return TREATMENT
    return FOLLOW_UP


def num(value) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class Context:
    """The export's study, options and per-participant date handling."""

    def __init__(self, study, options):
        self.study = study
        self.options = options
        self.study_code = study.code
        self.shifts: dict[int, int] = {}
        self.uncoded: list = []  # (participant, adverse event, reason) of AE terms outside CTCAE

    def subjid(self, participant) -> str:
        return subject_key(participant, self.options)

    def usubjid(self, participant) -> str:
        """Assigned at screening and never changed: the screening number, not the study id that
        enrollment adds (a screen failure keeps it too). De-identified: the export's subject key."""
        if self.options.deidentify:
            return f"{self.study_code}-{self.subjid(participant)}"
        return f"{self.study_code}-{participant.screening_number}"

    def base(self, domain: str, participant) -> dict:
        return {"STUDYID": self.study_code, "DOMAIN": domain, "USUBJID": self.usubjid(participant)}

    def load_shifts(self, ids):
        if self.options.deidentify:
            self.shifts.update(deid.offsets(ids))

    def dtc(self, participant, value, precision: str = Precision.DAY) -> str:
        """ISO 8601 text of a date or time stamp, as de-identification shows it; a partial date
        (``edc.partial_dates``) to its precision ("2019", "2019-03")."""
        if value is None:
            return ""
        if precision in PARTIAL_LENGTH:
            return to_precision(self.dtc(participant, value), precision)
        if isinstance(value, datetime) and value.tzinfo is not None:
            # The site's own clock, without an offset: a collection at 08:30 in Yancheng is 08:30.
            value = value.astimezone(ZoneInfo(participant.site.timezone)).replace(tzinfo=None)
        if self.options.deidentify:
            if self.options.date_mode == "study_day":
                return ""
            value = deid.shift(participant.pk, value, self.shifts.get(participant.pk))
        if isinstance(value, datetime):
            return value.replace(microsecond=0).isoformat(timespec="minutes")
        return value.isoformat()

    def dy(self, participant, value, precision: str = Precision.DAY) -> int | None:
        """SDTMIG study day (no day 0) from RFSTDTC, the infusion; none for a partial date (SDTMIG 4.4.4)."""
        if value is None or precision in PARTIAL_LENGTH:
            return None
        day = value.date() if isinstance(value, datetime) else value
        return sdtm_day(participant.infusion_date, day)

    def epoch(self, participant, value) -> str:
        return epoch(participant, value)

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
        unknown = reasons_by_record(
            FORMS["demographics"].model, [d.pk for group in demographics.values() for d in group]
        )
        deaths = _forms(ctx, "death", people)
        last_visits = dict(
            Visit.objects.filter(
                participant_id__in=[p.pk for p in people], entered_in_error=False, visit_date__isnull=False
            )
            .values("participant_id")
            .annotate(last=Max("visit_date"))
            .values_list("participant_id", "last")
        )
        for p in people:
            demo = (demographics.get(p.pk) or [None])[0]
            death = (deaths.get(p.pk) or [None])[0]
            reference = p.consent_date or p.screening_date
            arm = arms(p)
            ethnicity = demo.ethnicity if demo else ""
            if demo and not ethnicity and unknown.get(demo.pk, {}).get("ethnicity") == MissingReason.UNKNOWN:
                ethnicity = "unknown"
            row = ctx.base("DM", p)
            row.update(
                SUBJID=ctx.subjid(p),
                RFSTDTC=ctx.dtc(p, p.infusion_date),
                RFENDTC=ctx.dtc(p, p.end_date),
                RFXSTDTC=ctx.dtc(p, p.infusion_date),
                RFXENDTC=ctx.dtc(p, p.infusion_date),  # one infusion: first and last treatment
                RFICDTC=ctx.dtc(p, p.consent_date),
                RFPENDTC=ctx.dtc(p, p.end_date or last_visits.get(p.pk)),  # end of study, else the last visit
                DTHDTC=ctx.dtc(p, death.death_date if death else None),
                DTHFL="Y" if death else "",
                SITEID=p.site.code,
                # A partial ISO 8601 date: the year is all the CRF collects (never in a de-identified DM).
                BRTHDTC="" if ctx.options.deidentify else str(p.year_of_birth),
                AGE=deid.age_at(p.year_of_birth, reference),
                AGEU="YEARS",
                SEX=p.sex,
                RACE=RACE.get(ethnicity, ""),
                ETHNIC=ETHNIC.get(ethnicity, ""),
                **arm,
                COUNTRY=country_code(p.site.country),
                DMDTC=ctx.dtc(p, p.screening_date),
                DMDY=ctx.dy(p, p.screening_date),
            )
            yield row


# CDISC ETHNIC is Hispanic or Latino or not; the CRF asks for the Chinese ethnic group instead, which
# SUPPDM (ETHGRP) carries. Han and the other Chinese ethnic groups are RACE "ASIAN" in CDISC CT.
ETHNIC = {
    "han": "NOT HISPANIC OR LATINO",
    "other_chinese": "NOT HISPANIC OR LATINO",
    "not_reported": "NOT REPORTED",
    "unknown": "UNKNOWN",  # the site said the ethnicity is unknown (``crfs.missing``)
}
RACE = {"han": "ASIAN", "other_chinese": "ASIAN", "not_reported": "NOT REPORTED", "unknown": "UNKNOWN"}
SCREEN_FAILURE, NOT_ASSIGNED, NOT_TREATED = "SCREEN FAILURE", "NOT ASSIGNED", "ASSIGNED, NOT TREATED"


def arms(p) -> dict:
    """ARMCD/ARM (the dose level assigned), ACTARMCD/ACTARM (the one infused) and, when either is null,
    ARMNRS (SDTMIG 3.4: arm codes stay null for screen failures and participants not assigned)."""
    planned = p.dose_level
    if planned is None:
        reason = SCREEN_FAILURE if p.status == "screen_failed" else NOT_ASSIGNED
        return {"ARMCD": "", "ARM": "", "ACTARMCD": "", "ACTARM": "", "ARMNRS": reason}
    treated = p.infusion_date is not None
    return {
        "ARMCD": planned.code,
        "ARM": char(planned.label),
        "ACTARMCD": planned.code if treated else "",
        "ACTARM": char(planned.label) if treated else "",
        "ARMNRS": "" if treated else NOT_TREATED,
    }


def country_code(name: str) -> str:
    """ISO 3166-1 alpha-3 code of a country name or code ("China" -> "CHN")."""
    import pycountry

    if not name:
        return ""
    try:
        return pycountry.countries.lookup(name.strip()).alpha_3
    except LookupError:
        return ""


def suppdm_rows(ctx):
    """SUPPDM: the Chinese ethnic group (QNAM ETHGRP) that DM.ETHNIC cannot hold."""
    for people in _participants(ctx):
        demographics = _forms(ctx, "demographics", people)
        for p in people:
            demo = (demographics.get(p.pk) or [None])[0]
            if demo is None or not demo.ethnicity or demo.ethnicity == "not_reported":
                continue
            value = demo.get_ethnicity_display()
            if demo.ethnicity == "other":
                value = ctx.free_text(demo.ethnicity_other) or value
            yield {
                "STUDYID": ctx.study_code,
                "RDOMAIN": "DM",
                "USUBJID": ctx.usubjid(p),
                "IDVAR": "",
                "IDVARVAL": "",
                "QNAM": "ETHGRP",
                "QLABEL": "Ethnic Group (China)",
                "QVAL": char(value),
                "QORIG": "CRF",
                "QEVAL": "",
            }


# End of study reason (crfs.EndOfStudyReason) -> DSDECOD from CDISC CT NCOMPLT (C66727). "other" has
# no NCOMPLT term since CT 2024: the sponsor extension OTHER (exports/ct/sdtm-ct.yaml, ``extended``).
END_OF_STUDY_DECOD = {
    "completed": "COMPLETED",
    "withdrew_consent": "WITHDRAWAL OF CONSENT",
    "lost_to_follow_up": "LOST TO FOLLOW-UP",
    "adverse_event": "ADVERSE EVENT",
    "investigator": "PHYSICIAN DECISION",
    "sponsor": "SPONSOR REQUEST",
    "died": "DEATH",
    "other": "OTHER",
}
DISPOSITION, MILESTONE = "DISPOSITION EVENT", "PROTOCOL MILESTONE"


def ds_rows(ctx):
    """DS: protocol milestones (DSCAT PROTOCOL MILESTONE, DSDECOD from PROTMLST C114118: informed
    consent, entry into the trial at enrollment) and dispositions (DSCAT DISPOSITION EVENT, DSDECOD
    from NCOMPLT C66727: screen failure, the end of study). The infusion is exposure (EX, RFXSTDTC),
    not a disposition."""
    for people in _participants(ctx):
        ends = _forms(ctx, "end_of_study", people)
        for p in people:
            events = []
            if p.consent_date:
                consent = "INFORMED CONSENT OBTAINED"
                events.append((consent, consent, MILESTONE, p.consent_date))
            if p.status == "screen_failed":
                events.append(
                    (
                        ctx.free_text(p.screen_failure_reason) or "SCREEN FAILURE",
                        "SCREEN FAILURE",
                        DISPOSITION,
                        p.eligibility_date or p.screening_date,
                    )
                )
            if p.enrollment_date:
                events.append(("ENROLLED", "ENTERED INTO TRIAL", MILESTONE, p.enrollment_date))
            for end in ends.get(p.pk, []):
                if not end.reason:
                    continue  # an end-of-study form not yet completed: no disposition yet
                term = char(end.get_reason_display()).upper()
                events.append((term, END_OF_STUDY_DECOD[end.reason], DISPOSITION, end.end_date))
            for term, decod, cat, on in events:
                row = ctx.base("DS", p)
                row.update(
                    DSTERM=term,
                    DSDECOD=decod,
                    DSCAT=cat,
                    EPOCH=ctx.epoch(p, on),
                    DSSTDTC=ctx.dtc(p, on),
                    DSSTDY=ctx.dy(p, on),
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
                    VISITDY=planned_day(visit.target_day),
                    SVSTDTC=ctx.dtc(p, visit.visit_date),
                    SVSTDY=ctx.dy(p, visit.visit_date),
                    SVENDTC=ctx.dtc(p, visit.visit_date),  # one-day visits
                    SVSTAT="NOT DONE" if visit.missed else "",
                    SVUPDES=ctx.free_text(visit.status_reason) if visit.unscheduled else "",
                )
                yield row


def ie_rows(ctx):
    from crfs.criteria import BY_KEY

    codes = trial_design.criterion_codes()
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
                        EPOCH=ctx.epoch(p, form.assessed_on),
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
                        EPOCH=ctx.epoch(p, demo.assessed_on),
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
                        EPOCH=ctx.epoch(p, history.assessed_on),
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
                        EPOCH=ctx.epoch(p, treatment.start_date),
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
                    EPOCH=ctx.epoch(p, med.start_date),
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
                        EXDOSFRM="INJECTION",
                        EXROUTE="INTRAVENOUS",
                        EXSTDTC=ctx.dtc(p, form.assessed_on),
                        EXENDTC=ctx.dtc(p, form.assessed_on),
                        EXSTDY=ctx.dy(p, form.assessed_on),
                        EPOCH=ctx.epoch(p, form.assessed_on),
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
                    EXDOSFRM="SUSPENSION",
                    EXROUTE="INTRAVENOUS",
                    EXLOT=char(form.product_lot),
                    EXSTDTC=ctx.dtc(p, start),
                    EXENDTC=ctx.dtc(p, end),
                    EXSTDY=ctx.dy(p, form.infusion_date),
                    EPOCH=ctx.epoch(p, form.infusion_date),
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
                    EXDOSFRM="SUSPENSION",
                    EXROUTE="INTRAVENOUS",
                    EXSTDTC=ctx.dtc(p, p.infusion_date),
                    EXENDTC=ctx.dtc(p, p.infusion_date),
                    EXSTDY=ctx.dy(p, p.infusion_date),
                    EPOCH=ctx.epoch(p, p.infusion_date),
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
                    **ae_coding(ctx, p, event),
                    AESER="Y" if event.serious else "N",
                    **seriousness(event),
                    AETOXGR=str(max(grades)) if grades else "",
                    AEREL=event.relationship_car_t.upper(),
                    AERELLD=event.relationship_lymphodepletion.upper(),
                    AEACN=AE_ACTION.get(event.action_taken, ""),
                    AEOUT=AE_OUTCOME.get(event.outcome, ""),
                    AESICAT=event.aesi_category.upper(),
                    AESTDTC=ctx.dtc(p, _at(event.onset_date, event.onset_time)),
                    AEENDTC=ctx.dtc(p, _at(event.resolution_date, event.resolution_time)),
                    AESTDY=ctx.dy(p, event.onset_date),
                    EPOCH=ctx.epoch(p, event.onset_date),
                    AEENDY=ctx.dy(p, event.resolution_date),
                )
                yield row


def ae_coding(ctx, participant, event) -> dict:
    """AELLT…AESOCCD from the MedDRA codes CTCAE v5.0 publishes for the event's term
    (``adverse_events.coding``). CTCAE terms are MedDRA LLTs, grouped by their primary SOC; CTCAE does
    not publish the Preferred Term, so AEDECOD carries the CTCAE term (the LLT) and no AEPTCD is
    shipped. A term outside CTCAE stays uncoded and is listed in ``uncoded_terms.csv``."""
    from adverse_events import coding

    found = coding.coding_of(event.term)
    if found is None:
        ctx.uncoded.append((participant, event, coding.why_uncoded(event.term)))
        return dict.fromkeys(("AELLT", "AELLTCD", "AEDECOD", "AEBODSYS", "AEBDSYCD", "AESOC", "AESOCCD"))
    return {
        "AELLT": char(found.llt),
        "AELLTCD": int(found.llt_code),
        "AEDECOD": char(found.llt),
        "AEBODSYS": char(found.soc),
        "AEBDSYCD": int(found.soc_code),
        "AESOC": char(found.soc),
        "AESOCCD": int(found.soc_code),
    }


UNCODED_FILE = "uncoded_terms.csv"
# Files beside the datasets that are listings, not datasets (no XPT, not in define.xml).
LISTING_FILES = ("define.csv", UNCODED_FILE)
UNCODED_COLUMNS = ("USUBJID", "AESPID", "AETERM", "CTCAE_ENTRY", "SPECIFIED", "AESTDTC", "REASON")


def ctcae_entry(event) -> str:
    """The CTCAE entry the site chose, in CTCAE's own English ("<SOC> - Other, specify" for a term
    the site wrote itself)."""
    from adverse_events import ctcae_terms

    term = ctcae_terms.term(event.term)
    if term is None:
        return char(event.term)
    if term.other_specify:
        return char(f"{term.soc} - Other, specify")
    return char(term.name)


def write_uncoded(ctx, directory: Path) -> dict[str, int]:
    """``uncoded_terms.csv``: the adverse events whose term CTCAE v5.0 does not code, for the data
    manager (the same events as the Safety "Uncoded terms" page, within the export's scope)."""
    with CsvFile(directory / UNCODED_FILE, bom=ctx.options.bom) as writer:
        writer.header(list(UNCODED_COLUMNS))
        for participant, event, reason in ctx.uncoded:
            writer.writerow(
                [
                    ctx.usubjid(participant),
                    event.number,
                    ctx.free_text(event.verbatim),
                    ctcae_entry(event),
                    ctx.free_text(event.term_other),
                    ctx.dtc(participant, _at(event.onset_date, event.onset_time)),
                    reason,
                ]
            )
    return {UNCODED_FILE: len(ctx.uncoded)}


SERIOUSNESS = {
    "AESCONG": "serious_congenital_anomaly",
    "AESDISAB": "serious_disability",
    "AESDTH": "serious_death",
    "AESHOSP": "serious_hospitalisation",
    "AESLIFE": "serious_life_threatening",
    "AESMIE": "serious_important_medical_event",
}
# CDISC CT OUT (C66768) and ACN (C66767). ACN has no "delayed": a delayed infusion was given at the
# planned dose (DOSE NOT CHANGED); the CRF's own wording stays in the ODM archive.
AE_OUTCOME = {
    "recovered": "RECOVERED/RESOLVED",
    "recovering": "RECOVERING/RESOLVING",
    "not_recovered": "NOT RECOVERED/NOT RESOLVED",
    "sequelae": "RECOVERED/RESOLVED WITH SEQUELAE",
    "fatal": "FATAL",
    "unknown": "UNKNOWN",
}
AE_ACTION = {
    "none": "DOSE NOT CHANGED",
    "lymphodepletion_reduced": "DOSE REDUCED",
    "lymphodepletion_interrupted": "DRUG INTERRUPTED",
    "infusion_delayed": "DOSE NOT CHANGED",
    "infusion_interrupted": "DRUG INTERRUPTED",
    "infusion_not_given": "DRUG WITHDRAWN",
    "not_applicable": "NOT APPLICABLE",
}


def seriousness(event) -> dict:
    """AESCONG…AESMIE: Y/N for a serious event, null for a non-serious one (SDTMIG)."""
    if not event.serious:
        return dict.fromkeys(SERIOUSNESS, "")
    return {name: "Y" if getattr(event, field) else "N" for name, field in SERIOUSNESS.items()}


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
                        LBSTNRLO=standard_limit(result, result.lln),
                        LBSTNRHI=standard_limit(result, result.uln),
                        LBSTAT="NOT DONE" if result.not_done else "",
                        LBREASND="NOT RECORDED ON THE CRF" if result.not_done else "",
                        **visit_columns(panel.visit),
                        LBDTC=ctx.dtc(p, collected),
                        LBDY=ctx.dy(p, collected),
                        EPOCH=ctx.epoch(p, collected),
                    )
                    yield row


def standard_limit(result, limit) -> float | None:
    """A reference limit in the standard unit: the result's own conversion factor applied to it."""
    if limit is None:
        return None
    if result.unit == result.standard_unit:
        return num(limit)
    if result.value in (None, 0) or result.standard_value is None:
        return None
    return round(float(limit * result.standard_value / result.value), 6)


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


# Why a finding is empty (``crfs.missing``) as SDTM says it: --STAT "NOT DONE" and --REASND. The CRF
# asks whether the test was done, not why, so "not done" says no more than that; a result the site
# cannot know is a test not done for that reason. A test "not applicable" is no record (SDTMIG 4.5.1.2:
# --STAT records tests planned and not done).
NOT_DONE_REASONS = {
    MissingReason.NOT_DONE: "NOT RECORDED ON THE CRF",
    MissingReason.UNKNOWN: "RESULT UNKNOWN",
}


def vs_rows(ctx):
    for people in _participants(ctx):
        forms = _forms(ctx, "vital_signs", people)
        reasons = reasons_by_record(FORMS["vital_signs"].model, [f.pk for g in forms.values() for f in g])
        for p in people:
            for form in forms.get(p.pk, []):
                missing = reasons.get(form.pk, {})
                for field, code, test, unit in VITAL_TESTS:
                    value = getattr(form, field)
                    if value is None and missing.get(field) not in NOT_DONE_REASONS:
                        continue
                    row = ctx.base("VS", p)
                    row.update(
                        VSTESTCD=code,
                        VSTEST=test,
                        VSORRES=char(value),
                        VSORRESU=unit if value is not None else "",
                        VSSTRESC=char(value),
                        VSSTRESN=num(value),
                        VSSTRESU=unit if value is not None else "",
                        VSSTAT="NOT DONE" if value is None else "",
                        VSREASND=NOT_DONE_REASONS[missing[field]] if value is None else "",
                        **visit_columns(form.visit),
                        VSDTC=ctx.dtc(p, form.assessed_on),
                        VSDY=ctx.dy(p, form.assessed_on),
                        EPOCH=ctx.epoch(p, form.assessed_on),
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


def _not_done_reason(ctx, derived) -> str:
    """Why a response is not evaluable; in a de-identified export a fixed phrase, since the derived
    reason may quote a real date or a medication's free-text name."""
    if derived.evaluable:
        return ""
    return "NOT EVALUABLE" if ctx.options.deidentify else char(derived.why)


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
                if on is None:  # a visit not reached: no assessment happened, no placeholder row
                    continue
                if ctx.options.cutoff and on > ctx.options.cutoff:
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
                        RSREASND=_not_done_reason(ctx, derived),
                        RSBLFL="Y" if visit_row.baseline else "",
                        RSRULE=char(derived.rule_version),
                        **visit_columns(visit),
                        RSDTC=ctx.dtc(p, on),
                        RSDY=ctx.dy(p, on),
                        EPOCH=ctx.epoch(p, on),
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
                        FAGRPID=fa_group(category, form),
                        FAORRES=char(value),
                        FAORRESU=unit,
                        FASTRESC=char(value),
                        FASTRESN=None if isinstance(value, (bool, str)) else num(value),
                        **visit_columns(form.visit),
                        FADTC=ctx.dtc(p, form.assessed_on),
                        FADY=ctx.dy(p, form.assessed_on),
                        EPOCH=ctx.epoch(p, form.assessed_on),
                    )
                    yield row


def fa_group(category: str, form) -> str:
    """FAGRPID: one assessment's findings (RELREC relates the group to its adverse event)."""
    return f"{category}-{form.pk}"


# The adverse-event term whose event a day's CRS or ICANS findings are about.
FA_EVENT_TERMS = {"CRS": "cytokine_release_syndrome", "ICANS": "icans"}


def relrec_rows(ctx):
    """RELREC: each CRS or ICANS adverse event with the daily assessments (FA groups) that fall
    between its onset and its resolution (or after its onset while it is ongoing). AE records are
    identified by AESPID (the event's number), FA records by FAGRPID; one RELID per event."""
    from adverse_events.models import AdverseEvent

    for people in _participants(ctx):
        events = AdverseEvent.objects.filter(
            participant_id__in=[p.pk for p in people],
            entered_in_error=False,
            term__in=FA_EVENT_TERMS.values(),
        )
        if ctx.options.cutoff:
            events = events.filter(onset_date__lte=ctx.options.cutoff)
        by_participant = defaultdict(list)
        for event in events.order_by("participant_id", "number"):
            by_participant[event.participant_id].append(event)
        forms = {"CRS": _forms(ctx, "crs", people), "ICANS": _forms(ctx, "icans", people)}
        tests = {"CRS": CRS_TESTS, "ICANS": ICANS_TESTS}
        for p in people:
            for event in by_participant.get(p.pk, []):
                category = next(c for c, term in FA_EVENT_TERMS.items() if term == event.term)
                groups = [
                    fa_group(category, form)
                    for form in sorted(forms[category].get(p.pk, []), key=lambda f: f.assessed_on or date.min)
                    if form.assessed_on
                    and event.onset_date <= form.assessed_on
                    and (event.resolution_date is None or form.assessed_on <= event.resolution_date)
                    and _has_findings(form, tests[category])
                ]
                if not groups:
                    continue
                relid = f"AE{event.number}-{category}"
                base = {"STUDYID": ctx.study_code, "USUBJID": ctx.usubjid(p), "RELTYPE": "", "RELID": relid}
                yield {**base, "RDOMAIN": "AE", "IDVAR": "AESPID", "IDVARVAL": str(event.number)}
                for group in groups:
                    yield {**base, "RDOMAIN": "FA", "IDVAR": "FAGRPID", "IDVARVAL": group}


def _has_findings(form, tests) -> bool:
    """Whether ``fa_rows`` writes at least one record for the assessment."""
    return any(getattr(form, field) not in (None, "") for field, *_rest in tests)


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
    "SUPPDM": suppdm_rows,
    "RELREC": relrec_rows,
    "TE": trial_design.te_rows,
    "TA": trial_design.ta_rows,
    "TV": trial_design.tv_rows,
    "TI": trial_design.ti_rows,
    "TS": trial_design.ts_rows,
}


def variables_of(domain: Domain, options) -> list[Var]:
    """The domain's variables as exported (a de-identified DM has no date of birth)."""
    if options.deidentify:
        return [v for v in domain.variables if v.name != "BRTHDTC"]
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


def write_domain(
    domain: Domain, rows, variables: list[Var], directory: Path, *, bom: bool = False
) -> tuple[int, dict[str, int]]:
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
    with CsvFile(directory / f"{domain.code}.csv", bom=bom) as writer:
        writer.header(names)
        for row in rows:
            if has_seq and seq_name not in row:  # TSSEQ comes numbered
                counters[row["USUBJID"]] += 1
                row[seq_name] = counters[row["USUBJID"]]
            line = []
            for name, is_num, number_column, char_column in plan:
                value = row.get(name)
                if is_num:
                    value = num(value)
                    line.append(value)  # a float: written as a number, never formula-guarded
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
            rows, lengths = write_domain(
                domain, BUILDERS[domain.code](ctx), variables, directory, bom=options.bom
            )
            if rows == 0:  # no empty dataset is shipped (SDTMIG 3.4, section 3.2.1)
                for suffix in (".csv", ".xpt"):
                    (directory / f"{domain.code}{suffix}").unlink()
                continue
            counts[f"{domain.code}.csv"] = rows
            counts[f"{domain.code}.xpt"] = rows
            written.append((domain, variables, rows, lengths))
        if ctx.uncoded:  # like a dataset, the listing is not shipped empty
            counts.update(write_uncoded(ctx, directory))
        counts.update(write_define(written, directory, options=options))
        counts.update(write_define_xml(written, directory, study=study, options=options))
    return counts

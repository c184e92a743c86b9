"""The eligibility checklist: evaluating its automatic items, and gating enrollment on it.

``evaluate`` computes every automatic item of ``crfs.criteria`` with ``edc.clinical.compute`` from the
values entered on the checklist, the participant record (year of birth, sex, consent) and the
prior-treatment log of the demographics form; the checklist stores the result as shown.

``enrollment_blockers`` is the rule ``trials.services`` applies: when the participant's protocol
expects an eligibility form, eligibility can be recorded as met, and the participant enrolled, only
with a complete checklist on which every criterion is met, evaluated again on current data (the
pregnancy test at the enrollment date). A protocol without an eligibility form keeps the
investigator's decision alone.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.apps import apps
from django.utils import translation
from django.utils.translation import gettext

from edc.clinical import CalculatorInputError, compute

from .criteria import AUTOMATIC, BY_KEY, CRITERIA
from .models import (
    EligibilityChecklist,
    EligibilityOutcome,
    FormStatus,
    PriorTreatment,
    TestResult,
    VitalSigns,
    YesNoUnknown,
)

CODE = "eligibility"
YES, NO, UNKNOWN = YesNoUnknown.YES.value, YesNoUnknown.NO.value, YesNoUnknown.UNKNOWN.value


def _english(value) -> str:
    with translation.override("en"):
        return str(value)


def _shown(msgid: str, params: dict) -> str:
    text = gettext(msgid) if msgid else ""
    if params:
        text = text % {k: gettext(v) if isinstance(v, str) and v else v for k, v in params.items()}
    return text


class Detail:
    """A computed detail kept as English message ids and their values, shown in the reader's language.

    The checklist stores the parts (``automatic_results``) as computed at the save; the page shows them
    in Chinese or in English from the same stored parts, values that are labels translated too.
    """

    def __init__(self, *parts):
        self.parts = [(msgid, params) for msgid, params in parts]

    @classmethod
    def message(cls, msgid: str) -> "Detail":
        return cls((msgid, {}))

    def __mod__(self, params: dict) -> "Detail":
        ((msgid, _none),) = self.parts
        return Detail((msgid, {k: _english(v) for k, v in params.items()}))

    def __add__(self, other) -> "Detail":
        return Detail(*self.parts, *_as_detail(other).parts)

    def __radd__(self, other) -> "Detail":
        return Detail(*_as_detail(other).parts, *self.parts)

    def __str__(self) -> str:
        return "".join(_shown(msgid, params) for msgid, params in self.parts)

    def as_json(self) -> list:
        return [[msgid, params] for msgid, params in self.parts]


def _as_detail(value) -> Detail:
    return value if isinstance(value, Detail) else Detail((_english(value), {}))


def _joined(parts: list[Detail], separator: str = ", ") -> Detail:
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + separator + part
    return joined


# In this module ``_`` marks the message of a computed detail (stored as its English id, translated when
# shown: ``detail_text``); messages shown at once use ``gettext``. Both are found by makemessages.
_ = Detail.message


def detail_text(stored: dict | None) -> str:
    """A stored automatic item's detail in the reader's language (older items: as stored)."""
    if not stored:
        return ""
    parts = stored.get("parts")
    if parts is None:
        return stored.get("detail", "")
    return "".join(_shown(msgid, params) for msgid, params in parts)


@dataclass
class Item:
    answer: str  # yes / no / unknown, in the criterion's own sense (exclusion "yes" = present)
    detail: object  # a Detail, or a calculator's message
    rule_version: str = ""

    def as_json(self) -> dict:
        detail = _as_detail(self.detail)
        return {
            "answer": self.answer,
            "detail": _english(detail),
            "parts": detail.as_json(),
            "rule_version": self.rule_version,
        }


@dataclass
class Evaluation:
    automatic: dict[str, Item]
    answers: dict[str, str]
    crcl_ml_min: Decimal | None = None
    unmet: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        if self.unmet:
            return EligibilityOutcome.NOT_ELIGIBLE
        return EligibilityOutcome.UNDETERMINED if self.undecided else EligibilityOutcome.ELIGIBLE


def _run(name: str, inputs: dict) -> tuple[dict | None, str]:
    try:
        return compute(name, inputs), ""
    except CalculatorInputError as exc:
        return None, str(exc)


def _answer(met: bool | None) -> str:
    return UNKNOWN if met is None else (YES if met else NO)


def _number(value) -> str | None:
    return None if value is None else str(value)


def _age(checklist, participant) -> Item:
    if participant.consent_date is None:
        return Item(NO, _("consent is not recorded"))
    result, error = _run(
        "eligibility_age",
        {
            "year_of_birth": participant.year_of_birth,
            "reference_year": participant.consent_date.year,
            "age_years": checklist.age_at_consent,
        },
    )
    if result is None:
        return Item(UNKNOWN, error, "eligibility_age/1")
    low, high = result["age_min"], result["age_max"]
    ages = str(low) if low == high else f"{low}–{high}"
    detail = _("born %(year)s, consent %(consent)s: %(ages)s years") % {
        "year": participant.year_of_birth,
        "consent": participant.consent_date.isoformat(),
        "ages": ages,
    }
    if result["age_criterion_met"] is None:
        detail += " · " + _("enter the exact age at consent from the date of birth")
    return Item(_answer(result["age_criterion_met"]), detail, result["rule_version"])


def _prior_treatments(participant) -> list[PriorTreatment] | None:
    """The prior-treatment log of the demographics form; None when there is no such form yet."""
    rows = list(
        PriorTreatment.objects.filter(
            form__participant=participant, form__entered_in_error=False, entered_in_error=False
        ).order_by("pk")
    )
    if rows:
        return rows
    Demographics = apps.get_model("crfs", "Demographics")
    exists = Demographics.objects.filter(participant=participant, entered_in_error=False).exists()
    return [] if exists else None


def _refractory(participant, on: date | None) -> Item:
    rows = _prior_treatments(participant)
    if rows is None:
        return Item(UNKNOWN, _("no prior-treatment log yet (demographics form)"))
    if on is None:
        return Item(UNKNOWN, _("enter the date of assessment"))
    treatments = [
        {
            "agent": row.agent_name or row.agent,
            "start": row.start_date.isoformat(),
            "stop": row.stop_date.isoformat() if row.stop_date else None,
            "reason_stopped": row.reason_stopped,
        }
        for row in rows
        if row.start_date and row.reason_stopped
    ]
    result, error = _run(
        "eligibility_refractoriness", {"reference_date": on.isoformat(), "treatments": treatments}
    )
    if result is None:
        return Item(UNKNOWN, error, "eligibility_refractoriness/1")
    agents = ", ".join(result["qualifying_agents"]) or _("none")
    detail = _("%(n)s agent(s) failed after ≥ 3 months (2 needed): %(agents)s") % {
        "n": result["n_qualifying"],
        "agents": agents,
    }
    return Item(_answer(result["refractory"]), detail, result["rule_version"])


def _disease_activity(checklist) -> Item:
    values = (checklist.selena_sledai, checklist.bilag_a, checklist.bilag_b)
    if None in values:
        return Item(UNKNOWN, _("enter SELENA-SLEDAI and the BILAG-2004 A and B counts"))
    result, error = _run(
        "eligibility_disease_activity",
        {"selena_sledai": values[0], "n_bilag_a": values[1], "n_bilag_b": values[2]},
    )
    if result is None:
        return Item(UNKNOWN, error, "eligibility_disease_activity/1")
    detail = _("SELENA-SLEDAI %(s)s, BILAG A %(a)s, B %(b)s") % {
        "s": values[0],
        "a": values[1],
        "b": values[2],
    }
    return Item(_answer(result["activity_criterion_met"]), detail, result["rule_version"])


def _age_for_clearance(checklist, participant, on: date | None) -> int | None:
    # Only the year of birth is known: the older of the two possible ages, which gives the lower
    # (conservative) clearance, unless the exact age was entered.
    if checklist.age_at_consent is not None:
        return checklist.age_at_consent
    if on is None:
        return None
    return on.year - participant.year_of_birth


def _crcl(checklist, participant, on) -> tuple[Item, Decimal | None]:
    age = _age_for_clearance(checklist, participant, on)
    values = (checklist.weight_kg, checklist.creatinine, checklist.creatinine_unit, age)
    if any(v in (None, "") for v in values):
        return Item(UNKNOWN, _("enter weight, creatinine and its unit")), None
    result, error = _run(
        "cockcroft_gault",
        {
            "age_years": age,
            "weight_kg": str(checklist.weight_kg),
            "sex": participant.sex,
            "serum_creatinine": str(checklist.creatinine),
            "creatinine_unit": checklist.creatinine_unit,
        },
    )
    if result is None:
        return Item(UNKNOWN, error, "cockcroft_gault/1"), None
    crcl = Decimal(str(result["crcl_ml_min"]))
    detail = _("CrCl %(crcl)s mL/min (age %(age)s, actual weight)") % {"crcl": crcl, "age": age}
    met = result["eligible_crcl_ge_30"]
    if not met and checklist.crcl_reduction_due_to_sle:
        met, detail = True, detail + " · " + _("reduction attributed to SLE by the investigator")
    return Item(_answer(met), detail, result["rule_version"]), crcl


def _organ_function(checklist) -> dict[str, Item]:
    inputs = {
        "anc_10e9_l": _number(checklist.anc),
        "haemoglobin_g_l": _number(checklist.haemoglobin),
        "alt": _number(checklist.alt),
        "alt_uln": _number(checklist.alt_uln),
        "ast": _number(checklist.ast),
        "ast_uln": _number(checklist.ast_uln),
        "bilirubin": _number(checklist.bilirubin),
        "bilirubin_uln": _number(checklist.bilirubin_uln),
        "inr": _number(checklist.inr),
        "pt_s": _number(checklist.pt),
        "pt_uln_s": _number(checklist.pt_uln),
    }
    result, error = _run("eligibility_organ_function", inputs)
    version = "eligibility_organ_function/1"
    if result is None:
        return {
            key: Item(UNKNOWN, error, version)
            for key in (
                "inc_anc",
                "inc_haemoglobin",
                "inc_alt",
                "inc_ast",
                "inc_bilirubin",
                "inc_inr",
                "inc_pt",
            )
        }
    version = result["rule_version"]

    def ratio(value, uln):
        if value is None or not uln:
            return _("enter the value and the ULN")
        return _("%(value)s = %(ratio)s × ULN") % {"value": value, "ratio": round(value / uln, 2)}

    def item(key, met, detail, due_to_sle=False):
        if met is False and due_to_sle:
            return Item(YES, detail + " · " + _("attributed to SLE by the investigator"), version)
        return Item(_answer(met), detail, version)

    return {
        "inc_anc": item(
            "inc_anc",
            result["anc_met"],
            _("neutrophils %(v)s × 10⁹/L") % {"v": checklist.anc},
            checklist.neutropenia_due_to_sle,
        ),
        "inc_haemoglobin": item(
            "inc_haemoglobin", result["haemoglobin_met"], _("Hb %(v)s g/L") % {"v": checklist.haemoglobin}
        ),
        "inc_alt": item(
            "inc_alt",
            result["alt_met"],
            ratio(checklist.alt, checklist.alt_uln),
            checklist.liver_abnormality_due_to_sle,
        ),
        "inc_ast": item(
            "inc_ast",
            result["ast_met"],
            ratio(checklist.ast, checklist.ast_uln),
            checklist.liver_abnormality_due_to_sle,
        ),
        "inc_bilirubin": item(
            "inc_bilirubin",
            result["bilirubin_met"],
            ratio(checklist.bilirubin, checklist.bilirubin_uln),
            checklist.liver_abnormality_due_to_sle,
        ),
        "inc_inr": item("inc_inr", result["inr_met"], _("INR %(v)s") % {"v": checklist.inr}),
        "inc_pt": item("inc_pt", result["pt_met"], ratio(checklist.pt, checklist.pt_uln)),
    }


def _serology(checklist) -> dict[str, Item]:
    inputs = {
        key: (getattr(checklist, key) or None)
        for key in ("hbsag", "hbcab", "hbv_dna", "hcv_ab", "hcv_rna", "hiv_ab", "syphilis")
    }
    result, error = _run("eligibility_serology", inputs)
    if result is None:
        return {
            k: Item(UNKNOWN, error, "eligibility_serology/1")
            for k in ("exc_hbv", "exc_hcv", "exc_hiv", "exc_syphilis")
        }

    def shown(*keys):
        parts = [
            _("%(field)s: %(value)s")
            % {
                "field": checklist._meta.get_field(k).verbose_name,
                "value": getattr(checklist, f"get_{k}_display")() or "—",
            }
            for k in keys
        ]
        return _joined(parts)

    version = result["rule_version"]
    return {
        "exc_hbv": Item(_answer(result["hbv_excluded"]), shown("hbsag", "hbcab", "hbv_dna"), version),
        "exc_hcv": Item(_answer(result["hcv_excluded"]), shown("hcv_ab", "hcv_rna"), version),
        "exc_hiv": Item(_answer(result["hiv_excluded"]), shown("hiv_ab"), version),
        "exc_syphilis": Item(_answer(result["syphilis_excluded"]), shown("syphilis"), version),
    }


def pregnancy_item(checklist, participant, on: date | None) -> Item:
    if on is None:
        return Item(UNKNOWN, _("enter the date of assessment"))
    result, error = _run(
        "eligibility_pregnancy_test",
        {
            "sex": participant.sex,
            "childbearing_potential": checklist.childbearing_potential or None,
            "reference_date": on.isoformat(),
            "test_date": checklist.pregnancy_test_on.isoformat() if checklist.pregnancy_test_on else None,
            "test_result": checklist.pregnancy_test_result or None,
        },
    )
    if result is None:
        return Item(UNKNOWN, error, "eligibility_pregnancy_test/1")
    if not result["applicable"]:
        detail = _("not applicable")
    elif result["days_before"] is None:
        detail = _("enter the serum HCG test date and result")
    else:
        detail = _("%(result)s, %(days)s day(s) before %(on)s") % {
            "result": checklist.get_pregnancy_test_result_display() or "—",
            "days": result["days_before"],
            "on": on.isoformat(),
        }
    return Item(_answer(result["pregnancy_test_met"]), detail, result["rule_version"])


def _consent(participant, on) -> Item:
    consent = participant.consent_date
    if consent is None:
        return Item(NO, _("consent is not recorded"))
    if on is not None and consent > on:
        return Item(NO, _("consent (%(date)s) is after the assessment") % {"date": consent.isoformat()})
    return Item(
        YES,
        _("signed %(date)s, version %(version)s")
        % {"date": consent.isoformat(), "version": participant.consent_version},
    )


def evaluate(checklist: EligibilityChecklist) -> Evaluation:
    """Every criterion's answer: the automatic ones computed now, the others as entered."""
    participant = checklist.participant
    on = checklist.assessed_on if isinstance(checklist.assessed_on, date) else None
    crcl_item, crcl = _crcl(checklist, participant, on)
    automatic = {
        "inc_age": _age(checklist, participant),
        "inc_refractory": _refractory(participant, on),
        "inc_disease_activity": _disease_activity(checklist),
        "inc_crcl": crcl_item,
        "inc_pregnancy_test": pregnancy_item(checklist, participant, on),
        "inc_consent": _consent(participant, on),
        **_organ_function(checklist),
        **_serology(checklist),
    }
    automatic = {c.key: automatic[c.key] for c in AUTOMATIC}  # checklist order
    answers = {c.key: automatic[c.key].answer if c.automatic else getattr(checklist, c.key) for c in CRITERIA}
    evaluation = Evaluation(automatic=automatic, answers=answers, crcl_ml_min=crcl)
    for criterion in CRITERIA:
        given = answers[criterion.key]
        if given in ("", UNKNOWN):
            evaluation.undecided.append(criterion.key)
        elif given != criterion.required_answer:
            evaluation.unmet.append(criterion.key)
    return evaluation


def labels(keys) -> str:
    return "; ".join(str(BY_KEY[k].label) for k in keys)


# --- Enrollment gate --------------------------------------------------------------------------------


def protocol_expects_checklist(participant) -> bool:
    visits = (participant.protocol_version.content or {}).get("schedule", {}).get("visits", [])
    return any(CODE in visit.get("forms", []) for visit in visits)


def current_checklist(participant) -> EligibilityChecklist | None:
    return (
        EligibilityChecklist.objects.filter(participant=participant, entered_in_error=False)
        .select_related("participant")
        .order_by("-pk")
        .first()
    )


def enrollment_blockers(participant, *, on: date | None = None) -> list[str]:
    """Why the checklist does not allow eligibility to be met (or enrollment on ``on``); [] if it does."""
    if not protocol_expects_checklist(participant):
        return []
    checklist = current_checklist(participant)
    if checklist is None:
        return [gettext("Fill in the eligibility checklist of the screening visit first.")]
    checklist.participant = participant
    problems = []
    if checklist.status != FormStatus.COMPLETE:
        problems.append(gettext("The eligibility checklist is not marked complete."))
    live = evaluate(checklist)
    stored = {key: getattr(checklist, key) for key in live.automatic}
    if stored != {key: item.answer for key, item in live.automatic.items()}:
        problems.append(
            gettext(
                "The data behind the eligibility checklist changed after it was saved (for example the "
                "prior-treatment log): open the checklist and save it again."
            )
        )
    if live.unmet:
        problems.append(gettext("Criteria not met: %(criteria)s.") % {"criteria": labels(live.unmet)})
    if live.undecided:
        problems.append(
            gettext("Criteria not answered or unknown: %(criteria)s.") % {"criteria": labels(live.undecided)}
        )
    if on is not None and on != checklist.assessed_on and not live.unmet:
        item = pregnancy_item(checklist, participant, on)
        if item.answer != YES:
            problems.append(
                gettext(
                    "The pregnancy test must be negative and done within 7 days before enrollment "
                    "(%(detail)s)."
                )
                % {"detail": item.detail}
            )
    return problems


def decision_from_checklist(participant) -> dict:
    """Initial values of the participant page's "Record eligibility" action."""
    if not protocol_expects_checklist(participant):
        return {}
    checklist = current_checklist(participant)
    if checklist is None:
        return {}
    initial = {"assessed_on": checklist.assessed_on}
    if checklist.outcome == EligibilityOutcome.ELIGIBLE and checklist.status == FormStatus.COMPLETE:
        initial["met"] = "yes"
    elif checklist.outcome == EligibilityOutcome.NOT_ELIGIBLE:
        initial["met"] = "no"
        initial["screen_failure_reason"] = gettext("Not met: %(criteria)s.") % {
            "criteria": labels(checklist.unmet_criteria)
        }
    return initial


# --- "Fill from this participant's data" ------------------------------------------------------------


def values_from_participant_data(participant, visit=None) -> dict:
    """Checklist values found in this participant's other forms (latest of each), for review.

    Weight from the vital signs forms; when the apps are installed, laboratory results from
    ``labs`` (entered value and unit, ULN in the same unit) and SELENA-SLEDAI and BILAG-2004 counts
    from ``disease_activity``. Nothing is saved: the values fill the form for the user to check.
    """
    values: dict = {}
    vitals = (
        VitalSigns.objects.filter(participant=participant, entered_in_error=False, weight_kg__isnull=False)
        .order_by("-assessed_on", "-pk")
        .first()
    )
    if vitals is not None:
        values["weight_kg"] = vitals.weight_kg
    if apps.is_installed("labs"):
        values.update(_from_labs(participant))
    if apps.is_installed("disease_activity"):
        values.update(_from_disease_activity(participant))
    return values


LAB_FIELDS = {
    # analyte: (checklist value field, checklist ULN field, value in the standard unit)
    "anc": ("anc", None, True),
    "hb": ("haemoglobin", None, True),
    "alt": ("alt", "alt_uln", False),
    "ast": ("ast", "ast_uln", False),
    "bilirubin": ("bilirubin", "bilirubin_uln", False),
    "inr": ("inr", None, False),
    "pt": ("pt", "pt_uln", False),
}
SEROLOGY_FIELDS = ("hbsag", "hbcab", "hcv_ab", "hiv_ab", "syphilis")
NUCLEIC_ACID_FIELDS = ("hbv_dna", "hcv_rna")


def _from_labs(participant) -> dict:
    LabResult = apps.get_model("labs", "LabResult")
    wanted = ["creatinine", "hcg", *LAB_FIELDS, *SEROLOGY_FIELDS, *NUCLEIC_ACID_FIELDS]
    latest = {}
    rows = (
        LabResult.objects.filter(
            panel__participant=participant, panel__entered_in_error=False, analyte__in=wanted, not_done=False
        )
        .select_related("panel__participant__site")
        .order_by("analyte", "-collected_at", "-pk")
    )
    for row in rows:
        latest.setdefault(row.analyte, row)
    values = {}
    for analyte, (value_field, uln_field, standard) in LAB_FIELDS.items():
        row = latest.get(analyte)
        if row is None:
            continue
        value = row.standard_value if standard else row.value
        if value is not None:
            values[value_field] = value
        if uln_field and row.uln is not None:
            values[uln_field] = row.uln
    creatinine = latest.get("creatinine")
    if creatinine is not None and creatinine.value is not None and creatinine.unit in ("mg/dL", "umol/L"):
        values["creatinine"], values["creatinine_unit"] = creatinine.value, creatinine.unit
    for analyte in SEROLOGY_FIELDS:
        row = latest.get(analyte)
        if row is not None and row.result in (TestResult.NEGATIVE, TestResult.POSITIVE):
            values[analyte] = row.result
    for analyte in NUCLEIC_ACID_FIELDS:
        row = latest.get(analyte)
        if row is not None:
            detected = row.value is not None or row.result not in ("", "not_detected")
            values[analyte] = TestResult.POSITIVE if detected else TestResult.NEGATIVE
    hcg = latest.get("hcg")
    if hcg is not None and hcg.result in (TestResult.NEGATIVE, TestResult.POSITIVE) and hcg.collected_at:
        from edc.localtime import site_time

        values["pregnancy_test_result"] = hcg.result
        values["pregnancy_test_on"] = site_time(hcg.collected_at, participant.site.timezone).date()
    dates = [r.collected_at for r in latest.values() if r.collected_at and r.analyte in LAB_FIELDS]
    if dates:
        from edc.localtime import site_time

        values["labs_collected_on"] = site_time(max(dates), participant.site.timezone).date()
    return values


def _from_disease_activity(participant) -> dict:
    values = {}
    Sledai = apps.get_model("disease_activity", "SledaiAssessment")
    sledai = (
        Sledai.objects.filter(participant=participant, entered_in_error=False, selena_sledai__isnull=False)
        .order_by("-assessed_on", "-pk")
        .first()
    )
    if sledai is not None:
        values["selena_sledai"] = sledai.selena_sledai
    Bilag = apps.get_model("disease_activity", "BilagAssessment")
    bilag = (
        Bilag.objects.filter(participant=participant, entered_in_error=False)
        .order_by("-assessed_on", "-pk")
        .first()
    )
    if bilag is not None:
        values["bilag_a"], values["bilag_b"] = bilag.count("A"), bilag.count("B")
    return values

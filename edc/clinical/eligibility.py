"""Automatic items of the UDCAR-SLE eligibility checklist (registry record NCT07274059).

Each calculator answers one or more criteria with ``True`` (met), ``False`` (not met) or ``None``
(cannot be decided from the values given: the checklist shows "unknown"). Inclusive limits (≥, ≤),
compared exactly, as clinical-rules.md section 10 says.

``eligibility_age``
    Only the year of birth is stored. At consent in year Y someone born in year B is Y − B − 1 or
    Y − B years old. The criterion (18–75 inclusive) is met when both possible ages are in range, not
    met when neither is, and undecided otherwise, unless the exact age (``age_years``, read from the
    date of birth in the source documents) is given; it must be one of the two possible ages.

``eligibility_organ_function``
    Neutrophils ≥ 1.0 × 10⁹/L, haemoglobin ≥ 60 g/L, ALT and AST ≤ 3 × ULN, total bilirubin
    ≤ 1.5 × ULN, INR ≤ 1.5 and PT ≤ 1.5 × ULN (decision 9). Every input is optional; a missing value
    leaves its criterion undecided. The registry text excepts abnormalities caused by SLE; that is an
    investigator's attribution, applied by the checklist, not here.

``eligibility_refractoriness``
    Decision 9: at least two distinct agents, each given for at least 3 calendar months and stopped
    for inefficacy or continued despite inefficacy. The duration runs from ``start`` to ``stop`` (to
    ``reference_date`` while the agent continues); 3 calendar months from 30 November end on
    28 (or 29) February.

``eligibility_serology``
    Exclusion criterion 7: hepatitis B (any positive HBsAg or HBcAb with HBV DNA above the limit of
    detection), hepatitis C (HCV antibody with HCV RNA positive), HIV antibody, syphilis. A positive
    hepatitis marker without its DNA/RNA result is undecided. The registry says "HBsAg and HBcAb";
    reading it as "or" excludes at least everyone the literal text excludes [VERIFY with the sponsor].

``eligibility_pregnancy_test``
    Women of childbearing potential: a negative serum HCG within 7 days before the reference date
    (enrollment). Not applicable (met) for men and for women without childbearing potential.
"""

import calendar
from datetime import date
from decimal import Decimal

from .errors import CalculatorInputError
from .inputs import choice, integer, number
from .registry import calculator

AGE_MIN, AGE_MAX = 18, 75
ANC_MIN_10E9_L = Decimal("1.0")
HB_MIN_G_L = Decimal(60)
AMINOTRANSFERASE_MAX_X_ULN = Decimal(3)
BILIRUBIN_MAX_X_ULN = Decimal("1.5")
INR_MAX = Decimal("1.5")
PT_MAX_X_ULN = Decimal("1.5")
REFRACTORY_MIN_AGENTS = 2
REFRACTORY_MIN_MONTHS = 3
PREGNANCY_TEST_WINDOW_DAYS = 7

REASONS_STOPPED = ("inefficacy", "intolerance", "other", "ongoing_inefficacy", "ongoing")
FAILED_FOR_INEFFICACY = ("inefficacy", "ongoing_inefficacy")
STILL_GIVEN = ("ongoing_inefficacy", "ongoing")
SEROLOGY = ("negative", "positive", "not_done")


def _date(inputs, key, *, optional=False):
    if key not in inputs or inputs[key] is None:
        if optional:
            return None
        raise CalculatorInputError(key, "is required")
    value = inputs[key]
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise CalculatorInputError(key, f"must be a date (YYYY-MM-DD), not {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CalculatorInputError(key, f"must be a date (YYYY-MM-DD), not {value!r}") from None


def add_months(day: date, months: int) -> date | None:
    """``day`` plus whole calendar months, clamped to the month's last day; None past year 9999."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    if year > 9999:
        return None
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@calculator(
    "eligibility_age",
    rule_version="eligibility_age/1",
    source="NCT07274059 inclusion criterion 1 (18-75 years inclusive)",
    title="Age 18-75 at consent from the year of birth",
)
def eligibility_age(inputs):
    """Age 18-75 at consent from the year of birth."""
    born = integer(inputs, "year_of_birth", minimum=1850, maximum=9999)
    year = integer(inputs, "reference_year", minimum=born, maximum=9999)
    youngest, oldest = max(year - born - 1, 0), year - born
    exact = integer(inputs, "age_years", optional=True, allow_none=True, maximum=150)
    if exact is not None:
        if exact not in (youngest, oldest):
            raise CalculatorInputError(
                "age_years", f"must be {youngest} or {oldest} for someone born in {born}, got {exact}"
            )
        youngest = oldest = exact
    if youngest >= AGE_MIN and oldest <= AGE_MAX:
        met = True
    elif oldest < AGE_MIN or youngest > AGE_MAX:
        met = False
    else:
        met = None
    return {"age_min": youngest, "age_max": oldest, "age_criterion_met": met}


def _limit(inputs, key, uln_key=None, *, times=None, minimum=None, maximum=None):
    value = number(inputs, key, optional=True, allow_none=True)
    if value is None:
        return None
    if uln_key is not None:
        uln = number(inputs, uln_key, optional=True, allow_none=True)
        if uln is None:
            return None
        if uln == 0:
            raise CalculatorInputError(uln_key, "must be greater than 0")
        return value <= uln * times
    if minimum is not None:
        return value >= minimum
    return value <= maximum


@calculator(
    "eligibility_organ_function",
    rule_version="eligibility_organ_function/1",
    source="NCT07274059 inclusion criterion 5; clinical-rules.md section 10 and decision 9",
    title="Bone marrow, liver and coagulation function at screening",
)
def eligibility_organ_function(inputs):
    """Bone marrow, liver and coagulation function at screening."""
    return {
        "anc_met": _limit(inputs, "anc_10e9_l", minimum=ANC_MIN_10E9_L),
        "haemoglobin_met": _limit(inputs, "haemoglobin_g_l", minimum=HB_MIN_G_L),
        "alt_met": _limit(inputs, "alt", "alt_uln", times=AMINOTRANSFERASE_MAX_X_ULN),
        "ast_met": _limit(inputs, "ast", "ast_uln", times=AMINOTRANSFERASE_MAX_X_ULN),
        "bilirubin_met": _limit(inputs, "bilirubin", "bilirubin_uln", times=BILIRUBIN_MAX_X_ULN),
        "inr_met": _limit(inputs, "inr", maximum=INR_MAX),
        "pt_met": _limit(inputs, "pt_s", "pt_uln_s", times=PT_MAX_X_ULN),
    }


@calculator(
    "eligibility_refractoriness",
    rule_version="eligibility_refractoriness/1",
    source="NCT07274059 inclusion criterion 3; clinical-rules.md decision 9",
    title="Refractory SLE from the prior-treatment log",
)
def eligibility_refractoriness(inputs):
    """Refractory SLE from the prior-treatment log."""
    reference = _date(inputs, "reference_date")
    treatments = inputs.get("treatments")
    if not isinstance(treatments, (list, tuple)):
        raise CalculatorInputError("treatments", "must be a list")
    qualifying: dict[str, str] = {}  # lower-case name -> name as entered (one agent counts once)
    for i, row in enumerate(treatments):
        key = f"treatments[{i}]"
        if not isinstance(row, dict):
            raise CalculatorInputError(key, "must be an object")
        agent = row.get("agent")
        if not isinstance(agent, str) or not agent.strip():
            raise CalculatorInputError(f"{key}.agent", "is required")
        try:
            reason = choice(row, "reason_stopped", REASONS_STOPPED)
            start = _date(row, "start")
            stop = _date(row, "stop", optional=True)
        except CalculatorInputError as exc:  # name the row: treatments[2].start
            raise CalculatorInputError(f"{key}.{exc.key}", str(exc).split(": ", 1)[-1]) from None
        if reason in STILL_GIVEN:
            stop = reference if stop is None else min(stop, reference)
        if stop is None or reason not in FAILED_FOR_INEFFICACY:
            continue
        three_months_on = add_months(start, REFRACTORY_MIN_MONTHS)
        if three_months_on is not None and stop >= three_months_on:
            qualifying.setdefault(agent.strip().lower(), agent.strip())
    return {
        "refractory": len(qualifying) >= REFRACTORY_MIN_AGENTS,
        "qualifying_agents": list(qualifying.values()),
        "n_qualifying": len(qualifying),
    }


def _serology(inputs, key):
    return choice(inputs, key, SEROLOGY, optional=True, allow_none=True)


def _excluded_if_confirmed(screen, confirm):
    """A positive screening test excludes only with a positive confirmation (DNA/RNA)."""
    if screen == "positive":
        return {"positive": True, "negative": False}.get(confirm)
    if screen == "negative":
        return False
    return None


@calculator(
    "eligibility_serology",
    rule_version="eligibility_serology/1",
    source="NCT07274059 exclusion criterion 7",
    title="Hepatitis B and C, HIV and syphilis exclusion",
)
def eligibility_serology(inputs):
    """Hepatitis B and C, HIV and syphilis exclusion."""
    hbsag, hbcab, hbv_dna = (_serology(inputs, k) for k in ("hbsag", "hbcab", "hbv_dna"))
    if "positive" in (hbsag, hbcab):
        hbv = _excluded_if_confirmed("positive", hbv_dna)
    elif hbsag == hbcab == "negative":
        hbv = False
    else:
        hbv = None
    hcv = _excluded_if_confirmed(_serology(inputs, "hcv_ab"), _serology(inputs, "hcv_rna"))
    single = {"positive": True, "negative": False}
    return {
        "hbv_excluded": hbv,
        "hcv_excluded": hcv,
        "hiv_excluded": single.get(_serology(inputs, "hiv_ab")),
        "syphilis_excluded": single.get(_serology(inputs, "syphilis")),
    }


@calculator(
    "eligibility_pregnancy_test",
    rule_version="eligibility_pregnancy_test/1",
    source="NCT07274059 inclusion criterion 6 (negative serum HCG within 7 days before enrollment)",
    title="Negative pregnancy test within 7 days for women of childbearing potential",
)
def eligibility_pregnancy_test(inputs):
    """Negative pregnancy test within 7 days for women of childbearing potential."""
    sex = choice(inputs, "sex", ("M", "F"))
    potential = choice(
        inputs, "childbearing_potential", ("yes", "no", "unknown"), optional=True, allow_none=True
    )
    reference = _date(inputs, "reference_date")
    window = integer(inputs, "window_days", optional=True, default=PREGNANCY_TEST_WINDOW_DAYS, maximum=365)
    if sex == "M" or potential == "no":
        return {"pregnancy_test_met": True, "applicable": False, "days_before": None}
    tested = _date(inputs, "test_date", optional=True)
    result = choice(inputs, "test_result", ("negative", "positive"), optional=True, allow_none=True)
    days = (reference - tested).days if tested else None
    if result == "positive":
        met = False
    elif potential is None or potential == "unknown" or tested is None or result is None:
        met = None
    else:
        met = 0 <= days <= window  # a test after the reference date is not "before enrollment"
    return {"pregnancy_test_met": met, "applicable": True, "days_before": days}

"""Screening forms of a participant who meets every criterion, for the demo data and the test factories.

Entered through ``save_form`` like any user's data, so the stored checklist is exactly what the
services would produce. ``checklist`` overrides change single values (for a screen failure, say).
"""

from datetime import date, timedelta
from decimal import Decimal

from .criteria import MANUAL
from .registry import FORMS
from .services import save_form


def _years_before(day: date, years: int) -> date:
    return day - timedelta(days=round(365.25 * years))


def demographics_data(participant, on: date) -> dict:
    return {
        "assessed_on": on,
        "sex": participant.sex,
        "year_of_birth": participant.year_of_birth,
        "ethnicity": "han",
        "diagnosis_date": max(_years_before(on, 6), date(participant.year_of_birth + 16, 1, 1)),
        "eular_acr_ana": True,
        "domain_renal": True,
        "domain_complement": True,
        "domain_sle_antibodies": True,
        "domain_mucocutaneous": True,
        "organ_renal": True,
        "organ_mucocutaneous": True,
        "nephritis_class": "IV",
        "prior_treatments": [
            {
                "agent": "mycophenolate",
                "start_date": _years_before(on, 3),
                "stop_date": _years_before(on, 2),
                "dose": "1 g twice daily",
                "reason_stopped": "inefficacy",
            },
            {
                "agent": "tacrolimus",
                "start_date": _years_before(on, 2),
                "stop_date": _years_before(on, 1),
                "dose": "2 mg twice daily",
                "reason_stopped": "inefficacy",
            },
            {
                "agent": "hydroxychloroquine",
                "start_date": _years_before(on, 5),
                "dose": "200 mg twice daily",
                "reason_stopped": "ongoing",
            },
        ],
    }


def checklist_data(participant, on: date, **overrides) -> dict:
    data = {
        "assessed_on": on,
        "labs_collected_on": on,
        "weight_kg": Decimal("58.0"),
        "creatinine": Decimal("68"),
        "creatinine_unit": "umol/L",
        "anc": Decimal("2.10"),
        "haemoglobin": Decimal("104"),
        "alt": Decimal("28"),
        "alt_uln": Decimal("40"),
        "ast": Decimal("31"),
        "ast_uln": Decimal("40"),
        "bilirubin": Decimal("9.0"),
        "bilirubin_uln": Decimal("21.0"),
        "inr": Decimal("1.02"),
        "pt": Decimal("12.1"),
        "pt_uln": Decimal("13.5"),
        "selena_sledai": 10,
        "bilag_a": 1,
        "bilag_b": 1,
        "hbsag": "negative",
        "hbcab": "negative",
        "hcv_ab": "negative",
        "hiv_ab": "negative",
        "syphilis": "negative",
    }
    if participant.sex == "F":
        data.update(childbearing_potential="yes", pregnancy_test_on=on, pregnancy_test_result="negative")
    for criterion in MANUAL:
        data[criterion.key] = criterion.required_answer
        data[f"{criterion.key}_source"] = "medical_record"
    data.update(overrides)
    return data


def record_screening_forms(user, participant, *, on: date, complete: bool = True, **checklist):
    """Demographics with a prior-treatment log meeting the refractoriness rule, and the checklist."""
    visit = participant.visits.get(code="SCR")
    save_form(
        user=user,
        spec=FORMS["demographics"],
        visit=visit,
        data=demographics_data(participant, on),
        complete=complete,
    )
    return save_form(
        user=user,
        spec=FORMS["eligibility"],
        visit=visit,
        data=checklist_data(participant, on, **checklist),
        complete=complete,
    )

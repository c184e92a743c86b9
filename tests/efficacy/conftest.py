"""A participant written by hand: infused 290 days ago after lymphodepletion, with disease-activity
forms and a medication log entered through the form service, as site staff would."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache

from crfs.registry import FORMS
from crfs.services import save_form
from edc.clinical.response import BILAG_SYSTEMS
from tests.conftest import make_participant, today_at
from visits.services import record_visit

INFUSED_DAYS_AGO = 290


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def sledai_data(on, present=(), **extra):
    """A complete SLEDAI entry: each descriptor in ``present`` present, attributable, persistent."""
    data = {"assessed_on": on, "look_back_days": 10, **extra}
    for key in present:
        data |= {f"{key}_present": True, f"{key}_attributable": True, f"{key}_course": "persistent"}
    return data


def bilag_data(on, **grades):
    return {"assessed_on": on, **dict.fromkeys(BILAG_SYSTEMS, "D"), **grades}


def glucocorticoid(agent, mg, start, stop=None, **extra):
    return {
        "agent": agent,
        "drug_class": "glucocorticoid",
        "glucocorticoid": agent,
        "dose": Decimal(mg),
        "dose_unit": "mg",
        "frequency": "qd",
        "route": "oral",
        "start_date": start,
        "stop_date": stop,
        "ongoing": stop is None,
        "period": "concomitant",
        **extra,
    }


def other(agent, drug_class, start, stop=None):
    return {
        "agent": agent,
        "drug_class": drug_class,
        "dose": Decimal("200"),
        "dose_unit": "mg",
        "frequency": "bid",
        "route": "oral",
        "start_date": start,
        "stop_date": stop,
        "ongoing": stop is None,
        "period": "concomitant",
    }


class Writer:
    """Saves forms at a participant's visits (complete unless told otherwise)."""

    def __init__(self, user, participant):
        self.user, self.participant = user, participant

    def visit(self, code):
        return self.participant.visits.get(code=code)

    def day(self, study_day):
        return self.participant.infusion_date + timedelta(days=study_day)

    def record(self, code, study_day):
        visit = self.visit(code)
        return record_visit(user=self.user, visit=visit, visit_date=self.day(study_day))

    def form(self, form_code, visit_code, complete=True, **data):
        return save_form(
            user=self.user, spec=FORMS[form_code], visit=self.visit(visit_code), data=data, complete=complete
        )

    def assessments(self, code, study_day, *, present=(), pga="0.0", bilag=None, pga_complete=True):
        on = self.day(study_day)
        self.form("sledai", code, **sledai_data(on, present))
        if pga is None:
            self.form("pga", code, complete=False, assessed_on=on)
        else:
            self.form("pga", code, complete=pga_complete, assessed_on=on, pga=Decimal(pga))
        self.form("bilag", code, **bilag_data(on, **(bilag or {})))

    def medication(self, data, visit_code="BL"):
        return self.form("medications", visit_code, **data)


@pytest.fixture
def hand_participant(coordinator, site_yc):
    """Baseline (the LD day, day −5) SLEDAI-2K 14; a responder who tapers prednisone off by day 150
    and stays on hydroxychloroquine; Month 9 has a draft PGA. See test_endpoints_by_hand for the
    values expected at each visit."""
    today = today_at(site_yc)
    p = make_participant(
        coordinator,
        site_yc,
        screened=today - timedelta(days=INFUSED_DAYS_AGO + 20),
        infused=today - timedelta(days=INFUSED_DAYS_AGO),
    )
    p.lymphodepletion_start_date = p.infusion_date - timedelta(days=5)
    p.save(update_fields=["lymphodepletion_start_date"])
    w = Writer(coordinator, p)
    for code, day in (("BL", -5), ("D28", 28), ("M3", 90), ("M6", 180), ("M9", 270)):
        w.record(code, day)
    # Screening: an older, higher SLEDAI (not the baseline: a later one exists before lymphodepletion).
    w.assessments(
        "SCR",
        -15,
        present=("arthritis", "rash", "low_complement", "increased_dna_binding", "proteinuria", "pleurisy"),
        pga="2.2",
        bilag={"renal": "A"},
    )
    # Baseline: arthritis 4 + rash 2 + proteinuria 4 + low complement 2 + anti-dsDNA 2 = 14 (clinical 10).
    w.assessments(
        "BL",
        -5,
        present=("arthritis", "rash", "proteinuria", "low_complement", "increased_dna_binding"),
        pga="2.0",
        bilag={"musculoskeletal": "B", "mucocutaneous": "B", "renal": "B"},
    )
    # Day 28: serology only, 4 (clinical 0).
    w.assessments(
        "D28",
        28,
        present=("low_complement", "increased_dna_binding"),
        pga="0.4",
        bilag={"musculoskeletal": "C"},
    )
    # Month 3: anti-dsDNA only, 2.
    w.assessments("M3", 90, present=("increased_dna_binding",), pga="0.3")
    # Month 6: nothing, 0.
    w.assessments("M6", 180, present=(), pga="0.2")
    # Month 9: SLEDAI and BILAG complete, PGA still a draft without a value.
    w.assessments("M9", 270, present=(), pga=None)

    w.medication(glucocorticoid("prednisone", "10", w.day(-200), w.day(40)))
    w.medication(glucocorticoid("prednisone", "5", w.day(41), w.day(150)))
    w.medication(other("hydroxychloroquine", "antimalarial", w.day(-1000)))
    w.medication(other("mycophenolate", "immunosuppressant", w.day(-400), w.day(-6)))
    # Excluded from the SLE maintenance dose: CRS treatment and infusion premedication.
    w.medication(glucocorticoid("methylprednisolone", "80", w.day(2), w.day(30), for_crs_or_icans=True))
    w.medication(glucocorticoid("dexamethasone", "10", w.day(90), w.day(90), premedication=True))
    p.refresh_from_db()
    return p

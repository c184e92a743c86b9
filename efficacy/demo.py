"""Synthetic disease-activity, medication and laboratory data for the infused demo participants, so
the efficacy dashboards of the demo study have something to show.

Entered through the form services like any user's data (``save_form``, ``save_panel``), only at
visits that took place. Each infused demo participant follows one of the ``PROFILES`` below: a
trajectory of SLEDAI descriptors and PGA after CAR-T, a glucocorticoid taper and the usual biomarker
course (B-cell aplasia and reconstitution, CAR-T expansion and contraction, complement recovery).
Made-up values, no real data.
"""

from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone

from crfs.registry import FORMS
from crfs.services import save_form
from edc.clinical.response import BILAG_SYSTEMS

BASELINE_ACTIVE = ("arthritis", "rash", "proteinuria", "low_complement", "increased_dna_binding")
BASELINE_BILAG = {"musculoskeletal": "B", "mucocutaneous": "B", "renal": "B"}

# Per follow-up visit: (descriptors present, PGA, BILAG grades other than D); None: PGA left as a draft.
PROFILES = {
    "complete_response": {
        "D28": (("low_complement", "increased_dna_binding"), "0.6", {"musculoskeletal": "C"}),
        "M3": (("increased_dna_binding",), "0.3", {}),
        "M6": ((), "0.2", {}),
        "M9": ((), "0.1", {}),
        "M12": ((), "0.0", {}),
        "M18": ((), "0.0", {}),
        "M24": ((), "0.0", {}),
    },
    "low_activity": {
        "D28": (("arthritis", "increased_dna_binding"), "0.9", {"musculoskeletal": "C"}),
        "M3": (("increased_dna_binding",), "0.6", {}),
        "M6": (("increased_dna_binding",), "0.4", {}),
        "M9": ((), "0.3", {}),
    },
    "slow_responder": {
        "D28": (
            ("arthritis", "proteinuria", "low_complement"),
            "1.6",
            {"renal": "B", "musculoskeletal": "C"},
        ),
        "M3": (("low_complement", "increased_dna_binding"), "0.8", {}),
        "M6": ((), None, {}),  # PGA not entered yet: the visit is not evaluable
    },
}
# (agent, class, daily dose mg, frequency, start study day, stop study day or None); prednisone
# tapers differ by profile.
COMMON_MEDICATIONS = [("mycophenolate", "immunosuppressant", "1000", "bid", -900, -6)]
TAPERS = {
    "complete_response": [("prednisone", "10", -400, 30), ("prednisone", "5", 31, 100)],
    "low_activity": [("prednisone", "10", -400, 45), ("prednisone", "7.5", 46, None)],
    "slow_responder": [("prednisone", "15", -400, 60), ("prednisone", "10", 61, None)],
}
HYDROXYCHLOROQUINE_STOP = {"complete_response": 240}  # strict drug-free DORIS from Month 9


def _profile(index: int) -> str:
    return ("complete_response", "low_activity", "slow_responder")[index % 3]


def biomarkers(day: int) -> dict[str, Decimal]:
    """Made-up values at study ``day``: B cells gone from day 7 and back after about three months, CAR
    transgene peaking at day 7-14, complement and anti-dsDNA normalising, IgG falling a little."""
    if day < 0:
        cd19 = Decimal(160)
    elif day < 60:
        cd19 = Decimal(0)
    else:
        cd19 = Decimal(min(220, round(2 ** ((day - 60) / 20))))
    if day < 0:
        transgene = None
    else:
        peak = 60000 if day <= 10 else 60000 * 0.5 ** ((day - 10) / 6)
        transgene = Decimal(max(0, round(peak if day >= 4 else 2000 * (day + 1))))
    cells = None if transgene is None else Decimal(round(float(transgene) / 1500, 1))
    recovery = min(1, max(0, day) / 90)
    return {
        "c3": Decimal(str(round(0.5 + 0.45 * recovery, 2))),
        "c4": Decimal(str(round(0.06 + 0.12 * recovery, 2))),
        "anti_dsdna": Decimal(round(420 - 360 * recovery)),
        "igg": Decimal(str(round(13.5 - 4 * recovery, 1))),
        "cd19": cd19,
        "car_transgene": transgene,
        "car_cells": cells,
    }


PANELS = {
    "immunology": (("c3", "g/L"), ("c4", "g/L"), ("anti_dsdna", "IU/mL"), ("igg", "g/L")),
    "lymphocyte_subsets": (("cd19", "cells/uL"),),
    "car_t_kinetics": (("car_transgene", "copies/ug gDNA"), ("car_cells", "cells/uL")),
}
LAB_VISITS = ("BL", "D7", "D14", "D28", "M3", "M6", "M9", "M12", "M18", "M24")


def _sledai(on, present):
    data = {"assessed_on": on, "look_back_days": 10}
    for key in present:
        data |= {f"{key}_present": True, f"{key}_attributable": True, f"{key}_course": "persistent"}
    return data


def record_efficacy_data(user, participant, index: int) -> None:
    """Baseline and follow-up assessments, medications and biomarker panels of an infused participant."""
    from labs.analytes import analytes_of
    from labs.services import ResultEntry, save_panel

    if participant.infusion_date is None:
        return
    profile = _profile(index)
    day0 = participant.infusion_date
    visits = {v.code: v for v in participant.visits.filter(visit_date__isnull=False, entered_in_error=False)}

    def save(code, visit, complete=True, **data):
        save_form(user=user, spec=FORMS[code], visit=visit, data=data, complete=complete)

    def assess(visit, present, pga, bilag):
        on = visit.visit_date
        save("sledai", visit, **_sledai(on, present))
        if pga is None:
            save("pga", visit, complete=False, assessed_on=on)
        else:
            save("pga", visit, assessed_on=on, pga=Decimal(pga))
        save("bilag", visit, assessed_on=on, **(dict.fromkeys(BILAG_SYSTEMS, "D") | bilag))

    for code in ("SCR", "BL"):
        if code in visits:
            assess(visits[code], BASELINE_ACTIVE, "2.1" if code == "SCR" else "1.9", BASELINE_BILAG)
    for code, (present, pga, bilag) in PROFILES[profile].items():
        if code in visits:
            assess(visits[code], present, pga, bilag)

    anchor = visits.get("BL") or visits.get("SCR")
    if anchor is None:
        return
    today = max(v.visit_date for v in visits.values())

    def medication(agent, drug_class, dose, frequency, start, stop, **extra):
        start_date, stop_date = (
            day0 + timedelta(days=start),
            None if stop is None else day0 + timedelta(days=stop),
        )
        if start_date > today:
            return
        if stop_date is not None and stop_date > today:
            stop_date = None
        save(
            "medications",
            anchor,
            agent=agent,
            drug_class=drug_class,
            dose=Decimal(dose),
            dose_unit="mg",
            frequency=frequency,
            route="oral",
            start_date=start_date,
            stop_date=stop_date,
            ongoing=stop_date is None,
            period="concomitant",
            **extra,
        )

    for agent, drug_class, dose, frequency, start, stop in COMMON_MEDICATIONS:
        medication(agent, drug_class, dose, frequency, start, stop)
    medication(
        "hydroxychloroquine", "antimalarial", "200", "bid", -1500, HYDROXYCHLOROQUINE_STOP.get(profile)
    )
    for agent, dose, start, stop in TAPERS[profile]:
        medication(agent, "glucocorticoid", dose, "qd", start, stop, glucocorticoid=agent)

    tz = ZoneInfo(participant.site.timezone)
    for code in LAB_VISITS:
        visit = visits.get(code)
        if visit is None:
            continue
        values = biomarkers((visit.visit_date - day0).days)
        # 08:30 site time, or now for a visit today before 08:30 there (a future time is refused).
        collected = min(datetime.combine(visit.visit_date, time(8, 30), tz), timezone.now())
        for panel, analytes in PANELS.items():
            entries = [ResultEntry(a, values[a], unit) for a, unit in analytes if values[a] is not None]
            entered = {entry.analyte for entry in entries}
            not_done = [
                ResultEntry(a.code, not_done=True) for a in analytes_of(panel) if a.code not in entered
            ]
            if entries:
                entries += not_done
                save_panel(
                    user=user,
                    visit=visit,
                    panel=panel,
                    data={"collected_at": collected, "laboratory": "Site laboratory", "source": "local"},
                    results=entries,
                    complete=True,
                )

"""Lymphodepletion, CAR-T infusion (Day 0), hospitalisation, end of study and death."""

from datetime import time, timedelta
from decimal import Decimal

import pytest

from crfs.demo import record_screening_forms
from crfs.models import Death, EndOfStudy, Infusion, Lymphodepletion
from crfs.registry import FORMS
from crfs.services import save_form
from edc.errors import DomainError
from tests.conftest import make_participant
from tests.crfs.checking import assert_check, check_outcome
from trials import services
from trials.models import Participant, ParticipantStatus
from visits.models import Visit
from visits.services import add_unscheduled_visit

LD, INFUSION = FORMS["lymphodepletion"], FORMS["infusion"]


@pytest.fixture
def enrolled_later(coordinator, site_yc, today):
    """Consented 20 days ago, enrolled 10 days ago: dates between the two are after consent only."""
    p = make_participant(coordinator, site_yc, stage="consented", screened=today - timedelta(days=20))
    record_screening_forms(coordinator, p, on=today - timedelta(days=12))
    p = services.record_eligibility(
        user=coordinator, participant=p, met=True, assessed_on=today - timedelta(days=12)
    )
    return services.enroll_participant(
        user=coordinator,
        participant=p,
        enrollment_date=today - timedelta(days=10),
        dose_level=site_yc.study.dose_levels.first(),
    )


# --- Lymphodepletion ---------------------------------------------------------------------------------


@pytest.fixture
def ld_visit(enrolled):
    return enrolled.visits.get(code="LD-5")


@pytest.fixture
def ld_base(ld_visit):
    return {
        "assessed_on": ld_visit.target_date,
        "fludarabine_planned_mg_m2": Decimal("30"),
        "fludarabine_given_mg": Decimal("54.6"),
        "cyclophosphamide_planned_mg_m2": Decimal("500"),
        "cyclophosphamide_given_mg": Decimal("910"),
        "creatinine": Decimal("70"),
        "creatinine_unit": "umol/L",
    }


def test_lymphodepletion_doses_follow_the_bsa_of_the_latest_height_and_weight(coordinator, ld_visit, ld_base):
    obj = save_form(user=coordinator, spec=LD, visit=ld_visit, data=ld_base, complete=True)
    # 170 cm, 70 kg -> 1.82 m²; 30 mg/m² -> 54.6 mg; 500 mg/m² -> 910 mg (clinical-rules.md section 11)
    assert (obj.height_cm, obj.weight_kg, obj.bsa_m2) == (Decimal("170.0"), Decimal("70.0"), Decimal("1.82"))
    assert (obj.fludarabine_planned_mg, obj.cyclophosphamide_planned_mg) == (
        Decimal("54.6"),
        Decimal("910.0"),
    )
    assert (obj.fludarabine_given_mg_m2, obj.cyclophosphamide_given_mg_m2) == (
        Decimal("30.0"),
        Decimal("500.0"),
    )
    assert obj.rule_versions == {"bsa": "bsa_lymphodepletion/1", "crcl": "cockcroft_gault/1"}


def test_the_first_day_given_starts_lymphodepletion(coordinator, enrolled, ld_visit, ld_base):
    save_form(user=coordinator, spec=LD, visit=ld_visit, data=ld_base)
    enrolled.refresh_from_db()
    assert enrolled.status == ParticipantStatus.LYMPHODEPLETED
    assert enrolled.lymphodepletion_start_date == ld_base["assessed_on"]


def test_a_planned_day_not_given_yet_does_not_start_lymphodepletion(coordinator, enrolled, ld_visit, ld_base):
    save_form(
        user=coordinator,
        spec=LD,
        visit=ld_visit,
        data={**ld_base, "fludarabine_given_mg": None, "cyclophosphamide_given_mg": None},
    )
    enrolled.refresh_from_db()
    assert enrolled.status == ParticipantStatus.ENROLLED


def test_no_height_and_weight_opens_a_query_that_closes_once_they_are_recorded(coordinator, site_yc, today):
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=20), planned=today + timedelta(days=5)
    )
    visit = p.visits.get(code="LD-5")
    base = {"assessed_on": visit.target_date, "fludarabine_planned_mg_m2": Decimal("30")}
    fired, obj = check_outcome(coordinator, "lymphodepletion", visit, base, "LD-NO-BSA")
    assert fired == "soft" and obj.bsa_m2 is None
    save_form(
        user=coordinator,
        spec=FORMS["vital_signs"],
        visit=p.visits.get(code="BL"),
        data={
            "assessed_on": today - timedelta(days=1),
            "weight_kg": Decimal("60"),
            "height_cm": Decimal("160"),
        },
    )
    quiet, obj = check_outcome(coordinator, "lymphodepletion", visit, base, "LD-NO-BSA", instance=obj)
    assert quiet == "quiet" and obj.bsa_m2 == Decimal("1.63")


@pytest.mark.parametrize(
    ("check_id", "firing", "quiet"),
    [
        (
            "LD-FLUDARABINE-IMPOSSIBLE",
            {"fludarabine_planned_mg_m2": Decimal("100.1")},
            {"fludarabine_planned_mg_m2": Decimal("100")},
        ),
        (
            "LD-CYCLOPHOSPHAMIDE-IMPOSSIBLE",
            {"cyclophosphamide_planned_mg_m2": Decimal("3000.1")},
            {"cyclophosphamide_planned_mg_m2": Decimal("3000")},
        ),
        ("LD-CREATININE", {"creatinine": Decimal("2000")}, {"creatinine": Decimal("1800")}),
        (
            "LD-FLUDARABINE-DEVIATION",
            {"fludarabine_given_mg": Decimal("60.1")},
            {"fludarabine_given_mg": Decimal("60.0")},
        ),
        (
            "LD-CYCLOPHOSPHAMIDE-DEVIATION",
            {"cyclophosphamide_given_mg": Decimal("1001.1")},
            {"cyclophosphamide_given_mg": Decimal("1001.0")},
        ),
        ("LD-FLUDARABINE-CRCL-BELOW-30", {"creatinine": Decimal("400")}, {"creatinine": Decimal("70")}),
        (
            "LD-FLUDARABINE-CRCL-30-70",
            {"creatinine": Decimal("150")},
            {"creatinine": Decimal("150"), "fludarabine_renal_decision": "reduced"},
        ),
    ],
)
def test_lymphodepletion_edit_check_fires_and_not(coordinator, ld_visit, ld_base, check_id, firing, quiet):
    assert_check(coordinator, "lymphodepletion", ld_visit, ld_base, check_id, firing, quiet)


def test_lymphodepletion_before_enrollment_is_refused(coordinator, enrolled_later, today):
    visit = enrolled_later.visits.get(code="LD-5")
    base = {"fludarabine_planned_mg_m2": Decimal("30")}
    assert_check(
        coordinator,
        "lymphodepletion",
        visit,
        base,
        "LD-BEFORE-ENROLLMENT",
        {"assessed_on": today - timedelta(days=11)},
        {"assessed_on": today - timedelta(days=10)},
    )


def test_lymphodepletion_on_or_after_day_0_is_refused(coordinator, infused, today):
    visit = infused.visits.get(code="LD-5")
    assert_check(
        coordinator,
        "lymphodepletion",
        visit,
        {"fludarabine_planned_mg_m2": Decimal("30")},
        "LD-AFTER-INFUSION",
        {"assessed_on": today - timedelta(days=10)},
        {"assessed_on": today - timedelta(days=11)},
    )


# --- CAR-T infusion ----------------------------------------------------------------------------------


@pytest.fixture
def d0(enrolled):
    return enrolled.visits.get(code="D0")


@pytest.fixture
def infusion_base(today):
    return {
        "infusion_date": today - timedelta(days=1),
        "product_lot": "UC-2026-014",
        "bag_id": "B1",
        "total_nucleated_cells": Decimal("150000000"),
        "viability_pct": Decimal("90"),
        "car_positive_pct": Decimal("50"),
        "dosing_weight_kg": Decimal("70"),
        "dosing_weight_on": today - timedelta(days=15),
        "infusion_start": time(10, 0),
        "infusion_stop": time(10, 20),
        "volume_ml": Decimal("50"),
        "premedication_paracetamol": True,
        "premedication_antihistamine": True,
        "pre_temperature_c": Decimal("36.8"),
        "pre_heart_rate": 80,
        "pre_systolic_bp": 120,
        "pre_diastolic_bp": 75,
        "pre_spo2_pct": 98,
        "post_temperature_c": Decimal("37.0"),
        "post_heart_rate": 82,
        "post_systolic_bp": 118,
        "post_diastolic_bp": 74,
        "post_spo2_pct": 98,
        "reaction": "no",
    }


def test_the_infusion_computes_the_dose_per_kg_against_the_planned_dose_level(coordinator, d0, infusion_base):
    obj = save_form(user=coordinator, spec=INFUSION, visit=d0, data=infusion_base, complete=True)
    # 1.5e8 x 90 % x 50 % = 67 500 000 CAR+ viable cells; / 70 kg = 964 286 /kg; DL1 = 1e6 /kg: -3.6 %
    assert (obj.car_positive_viable_cells, obj.dose_per_kg) == (Decimal(67500000), Decimal(964286))
    assert (obj.planned_dose_per_kg, obj.deviation_pct, obj.dose_deviation) == (
        Decimal(1000000),
        Decimal("-3.6"),
        False,
    )
    assert obj.dose_rule_version == "car_t_dose/1"


def test_saving_the_infusion_sets_day_0_and_reanchors_the_schedule(coordinator, enrolled, d0, infusion_base):
    save_form(user=coordinator, spec=INFUSION, visit=d0, data=infusion_base)
    p = Participant.objects.get(pk=enrolled.pk)
    day0 = infusion_base["infusion_date"]
    assert (p.status, p.infusion_date) == (ParticipantStatus.INFUSED, day0)
    m3 = p.visits.get(code="M3")
    assert (m3.target_date, m3.provisional) == (day0 + timedelta(days=90), False)


def test_changing_day_0_on_the_infusion_form_needs_a_reason(coordinator, enrolled, d0, infusion_base):
    obj = save_form(user=coordinator, spec=INFUSION, visit=d0, data=infusion_base)
    moved = {**infusion_base, "infusion_date": infusion_base["infusion_date"] - timedelta(days=1)}
    with pytest.raises(DomainError) as error:
        save_form(user=coordinator, spec=INFUSION, visit=d0, instance=obj, data=moved)
    assert error.value.field == "reason"
    assert Infusion.objects.get().infusion_date == infusion_base["infusion_date"]  # nothing half-saved
    save_form(user=coordinator, spec=INFUSION, visit=d0, instance=obj, data=moved, reason="wrong day entered")
    assert Participant.objects.get(pk=enrolled.pk).infusion_date == moved["infusion_date"]


def test_a_draft_without_a_date_does_not_set_day_0(coordinator, enrolled, d0):
    save_form(user=coordinator, spec=INFUSION, visit=d0, data={"product_lot": "UC-1"})
    assert Participant.objects.get(pk=enrolled.pk).infusion_date is None


def test_a_deviation_beyond_the_protocol_tolerance_opens_a_query(coordinator, d0, infusion_base):
    assert_check(
        coordinator,
        "infusion",
        d0,
        infusion_base,
        "INF-DOSE-DEVIATION",
        {"total_nucleated_cells": Decimal("100000000")},  # 642 857 /kg: -35.7 %
        {"total_nucleated_cells": Decimal("150000000")},
    )


def test_no_planned_dose_opens_a_query(coordinator, enrolled, d0, infusion_base, site_yc):
    Participant.objects.filter(pk=enrolled.pk).update(dose_level=None)
    fired, obj = check_outcome(coordinator, "infusion", fresh(d0), infusion_base, "INF-NO-PLANNED-DOSE")
    assert fired == "soft" and obj.planned_dose_per_kg is None
    Participant.objects.filter(pk=enrolled.pk).update(dose_level=site_yc.study.dose_levels.first())
    quiet, _obj = check_outcome(
        coordinator, "infusion", fresh(d0), infusion_base, "INF-NO-PLANNED-DOSE", instance=obj
    )
    assert quiet == "quiet"


def fresh(visit):
    """The visit with its participant as stored now (as a new request reads it)."""
    return Visit.objects.select_related("participant__site__study", "participant__dose_level").get(
        pk=visit.pk
    )


VITALS = [
    ("temperature_c", Decimal("29.9"), Decimal("30")),
    ("heart_rate", 19, 20),
    ("systolic_bp", 39, 40),
    ("diastolic_bp", 19, 20),
    ("spo2_pct", 49, 50),
]


@pytest.mark.parametrize(
    ("check_id", "firing", "quiet"),
    [
        ("INF-DATE-FUTURE", {"infusion_date": "future"}, {}),
        ("INF-STOP-BEFORE-START", {"infusion_stop": time(9, 59)}, {"infusion_stop": time(10, 0)}),
        ("INF-WEIGHT", {"dosing_weight_kg": Decimal("19.9")}, {"dosing_weight_kg": Decimal("20")}),
        ("INF-WEIGHT-DATE", {"dosing_weight_on": "day0+1"}, {"dosing_weight_on": "day0"}),
        ("INF-CELLS", {"total_nucleated_cells": Decimal(0)}, {}),
        ("INF-CELLS", {"total_nucleated_cells": Decimal(10**12 + 1)}, {}),
        ("INF-VIABILITY-LOW", {"viability_pct": Decimal("69.9")}, {"viability_pct": Decimal("70")}),
        (
            "INF-STEROID-PREMEDICATION",
            {"premedication_systemic_steroid": True},
            {"premedication_systemic_steroid": False},
        ),
        ("INF-POST-HYPOTENSION", {"post_systolic_bp": 89}, {"post_systolic_bp": 90}),
        ("INF-POST-FEVER", {"post_temperature_c": Decimal("38.0")}, {"post_temperature_c": Decimal("37.9")}),
        *[
            (
                f"INF-{when.upper()}-{name.upper().replace('_', '-')}-IMPOSSIBLE",
                {f"{when}_{name}": bad},
                {f"{when}_{name}": good},
            )
            for when in ("pre", "post")
            for name, bad, good in VITALS
        ],
    ],
)
def test_infusion_edit_check_fires_and_not(coordinator, d0, infusion_base, today, check_id, firing, quiet):
    day0 = infusion_base["infusion_date"]
    replace = {"future": today + timedelta(days=1), "day0": day0, "day0+1": day0 + timedelta(days=1)}

    def resolved(values):
        return {k: replace.get(v, v) if isinstance(v, str) else v for k, v in values.items()}

    assert_check(coordinator, "infusion", d0, infusion_base, check_id, resolved(firing), resolved(quiet))


def test_the_infusion_cannot_be_before_enrollment(coordinator, enrolled_later, infusion_base, today):
    visit = enrolled_later.visits.get(code="D0")
    base = {**infusion_base, "dosing_weight_on": today - timedelta(days=12)}
    assert_check(
        coordinator,
        "infusion",
        visit,
        base,
        "INF-BEFORE-ENROLLMENT",
        {"infusion_date": today - timedelta(days=11)},
        {"infusion_date": today - timedelta(days=9)},
    )


def test_the_infusion_must_follow_lymphodepletion(coordinator, enrolled, d0, infusion_base, today):
    p = services.record_lymphodepletion(
        user=coordinator, participant=enrolled, start_date=today - timedelta(days=6)
    )
    assert_check(
        coordinator,
        "infusion",
        fresh(d0),
        {**infusion_base, "dosing_weight_on": today - timedelta(days=7)},
        "INF-NOT-AFTER-LYMPHODEPLETION",
        {"infusion_date": p.lymphodepletion_start_date},
        {"infusion_date": today - timedelta(days=1)},
    )


# --- Hospitalisation ---------------------------------------------------------------------------------


@pytest.fixture
def hospital_base(today):
    return {
        "admitted_on": today - timedelta(days=10),
        "reason": "car_t_monitoring",
        "icu_admission": "no",
        "discharged_on": today - timedelta(days=2),
        "discharge_destination": "home_within_2h",
        "within_2h_until_day_28": "yes",
    }


def test_the_hospitalisation_completes_with_the_discharge(coordinator, infused, hospital_base):
    obj = save_form(
        user=coordinator,
        spec=FORMS["hospitalisation"],
        visit=infused.visits.get(code="D7"),
        data=hospital_base,
        complete=True,
    )
    assert obj.status == "complete"


def test_a_participant_still_in_hospital_completes_without_a_discharge(coordinator, infused, hospital_base):
    data = {
        **hospital_base,
        "still_in_hospital": True,
        "discharged_on": None,
        "discharge_destination": "",
        "within_2h_until_day_28": "",
    }
    obj = save_form(
        user=coordinator,
        spec=FORMS["hospitalisation"],
        visit=infused.visits.get(code="D7"),
        data=data,
        complete=True,
    )
    assert obj.status == "complete"


@pytest.mark.parametrize(
    ("check_id", "firing", "quiet"),
    [
        ("HOSP-ADMISSION-FUTURE", {"admitted_on": 1, "discharged_on": None}, {}),
        ("HOSP-ADMISSION-BEFORE-CONSENT", {"admitted_on": -41}, {"admitted_on": -40}),
        ("HOSP-DISCHARGE-FUTURE", {"discharged_on": 1}, {}),
        ("HOSP-DISCHARGE-BEFORE-ADMISSION", {"discharged_on": -11}, {"discharged_on": -10}),
        (
            "HOSP-STILL-IN-BUT-DISCHARGED",
            {"still_in_hospital": True},
            {"still_in_hospital": True, "discharged_on": None, "discharge_destination": ""},
        ),
        ("HOSP-ICU-DAYS-WITHOUT-ICU", {"icu_days": 2}, {"icu_days": 2, "icu_admission": "yes"}),
        ("HOSP-SHORT-STAY", {"discharged_on": -4}, {"discharged_on": -3}),
        ("HOSP-NOT-WITHIN-2-HOURS", {"within_2h_until_day_28": "no"}, {"within_2h_until_day_28": "yes"}),
    ],
)
def test_hospitalisation_edit_check_fires_and_not(
    coordinator, infused, hospital_base, today, check_id, firing, quiet
):
    def resolved(values):
        return {
            k: today + timedelta(days=v) if k.endswith("_on") and isinstance(v, int) else v
            for k, v in values.items()
        }

    visit = infused.visits.get(code="D7")
    assert_check(
        coordinator, "hospitalisation", visit, hospital_base, check_id, resolved(firing), resolved(quiet)
    )


# --- End of study and death --------------------------------------------------------------------------


@pytest.fixture
def eos_base(today):
    return {
        "end_date": today,
        "reason": "withdrew_consent",
        "details": "Moved to another province",
        "last_contact_on": today,
    }


def test_a_complete_early_termination_withdraws_the_participant(coordinator, infused, unscheduled, eos_base):
    save_form(user=coordinator, spec=FORMS["end_of_study"], visit=unscheduled, data=eos_base, complete=True)
    p = Participant.objects.get(pk=infused.pk)
    assert p.status == ParticipantStatus.WITHDRAWN
    assert p.end_reason == "Early termination: withdrew consent: Moved to another province"


def test_a_draft_end_of_study_does_not_end_participation(coordinator, infused, unscheduled, eos_base):
    save_form(user=coordinator, spec=FORMS["end_of_study"], visit=unscheduled, data=eos_base)
    assert Participant.objects.get(pk=infused.pk).status == ParticipantStatus.INFUSED


def test_completion_follows_the_status_machine(coordinator, infused, unscheduled, eos_base):
    completed = {**eos_base, "reason": "completed", "details": ""}
    with pytest.raises(DomainError, match="cannot become completed"):
        save_form(
            user=coordinator, spec=FORMS["end_of_study"], visit=unscheduled, data=completed, complete=True
        )
    assert not EndOfStudy.objects.exists()
    services.start_follow_up(user=coordinator, participant=Participant.objects.get(pk=infused.pk))
    save_form(user=coordinator, spec=FORMS["end_of_study"], visit=unscheduled, data=completed, complete=True)
    assert Participant.objects.get(pk=infused.pk).status == ParticipantStatus.COMPLETED


@pytest.mark.parametrize(
    ("check_id", "firing", "quiet"),
    [
        ("EOS-FUTURE", {"end_date": 1, "last_contact_on": 0}, {}),
        (
            "EOS-BEFORE-CONSENT",
            {"end_date": -41, "last_contact_on": -41},
            {"end_date": -40, "last_contact_on": -40},
        ),
        ("EOS-LAST-CONTACT-AFTER-END", {"end_date": -1}, {"end_date": 0}),
        ("EOS-DIED-WITHOUT-DEATH-REPORT", {"reason": "died"}, {}),
        ("EOS-COMPLETED-VISITS-PENDING", {"reason": "completed"}, {}),
    ],
)
def test_end_of_study_edit_check_fires_and_not(
    coordinator, unscheduled, eos_base, today, check_id, firing, quiet
):
    def resolved(values):
        return {k: today + timedelta(days=v) if isinstance(v, int) else v for k, v in values.items()}

    assert_check(
        coordinator, "end_of_study", unscheduled, eos_base, check_id, resolved(firing), resolved(quiet)
    )


@pytest.fixture
def death_base(today):
    return {
        "death_date": today,
        "primary_cause": "infection",
        "cause_description": "Pneumonia",
        "relatedness": "possibly",
        "autopsy": "no",
        "information_source": "medical_record",
    }


def test_a_complete_death_report_records_the_death(coordinator, infused, unscheduled, death_base, today):
    save_form(user=coordinator, spec=FORMS["death"], visit=unscheduled, data=death_base, complete=True)
    p = Participant.objects.get(pk=infused.pk)
    assert (p.status, p.end_date, p.end_reason) == (ParticipantStatus.DIED, today, "Pneumonia")


def test_the_end_of_study_of_a_participant_who_died_agrees_with_the_death_report(
    coordinator, infused, unscheduled, death_base, eos_base
):
    save_form(user=coordinator, spec=FORMS["death"], visit=unscheduled, data=death_base, complete=True)
    save_form(
        user=coordinator,
        spec=FORMS["end_of_study"],
        visit=unscheduled,
        data={**eos_base, "reason": "died"},
        complete=True,
    )
    assert Participant.objects.get(pk=infused.pk).status == ParticipantStatus.DIED
    second = add_unscheduled_visit(
        user=coordinator, participant=infused, visit_date=death_base["death_date"], reason="x"
    )
    with pytest.raises(DomainError, match="already ended"):
        save_form(user=coordinator, spec=FORMS["end_of_study"], visit=second, data=eos_base, complete=True)


@pytest.mark.parametrize(
    ("check_id", "firing", "quiet"),
    [
        ("DEATH-FUTURE", {"death_date": 1}, {}),
        ("DEATH-BEFORE-CONSENT", {"death_date": -41}, {}),
        ("DEATH-BEFORE-A-VISIT", {"death_date": -1}, {"death_date": 0}),
        ("DEATH-RELATEDNESS-UNKNOWN", {"relatedness": "unknown"}, {"relatedness": "possibly"}),
    ],
)
def test_death_edit_check_fires_and_not(coordinator, unscheduled, death_base, today, check_id, firing, quiet):
    def resolved(values):
        return {k: today + timedelta(days=v) if isinstance(v, int) else v for k, v in values.items()}

    assert_check(coordinator, "death", unscheduled, death_base, check_id, resolved(firing), resolved(quiet))


def test_the_death_report_and_end_of_study_are_offered_at_unscheduled_visits(
    client, coordinator, infused, unscheduled
):
    from django.urls import reverse

    client.force_login(coordinator)
    body = client.get(reverse("casebook", args=[infused.pk])).content.decode()
    assert "Death" in body and "End of study" in body
    assert Death.objects.count() == 0 and Lymphodepletion.objects.count() == 0

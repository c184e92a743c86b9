"""The eligibility checklist: every registry criterion, automatic items, and enrollment gating."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from crfs.criteria import CRITERIA, EXCLUSION, INCLUSION
from crfs.demo import checklist_data, demographics_data, record_screening_forms
from crfs.eligibility import decision_from_checklist, enrollment_blockers
from crfs.models import (
    Demographics,
    EligibilityChecklist,
    EligibilityOutcome,
    FormStatus,
    PriorTreatment,
    VitalSigns,
)
from crfs.registry import FORMS
from crfs.services import save_form
from edc.errors import DomainError
from tests.conftest import ROOT, make_participant
from tests.crfs.checking import assert_check, check_outcome
from trials import services
from trials.models import ParticipantStatus
from trials.protocol import load, parse

ELIGIBILITY = FORMS["eligibility"]


def save_checklist(user, participant, *, complete=True, **overrides):
    visit = participant.visits.get(code="SCR")
    on = participant.consent_date
    if not Demographics.objects.filter(participant=participant).exists():
        save_form(
            user=user,
            spec=FORMS["demographics"],
            visit=visit,
            data=demographics_data(participant, on),
            complete=True,
        )
    return save_form(
        user=user,
        spec=ELIGIBILITY,
        visit=visit,
        data=checklist_data(participant, on, **overrides),
        complete=complete,
    )


# --- The checklist ----------------------------------------------------------------------------------


def test_the_checklist_holds_the_19_inclusion_and_14_exclusion_items_of_the_registry():
    kinds = [c.kind for c in CRITERIA]
    assert (kinds.count(INCLUSION), kinds.count(EXCLUSION)) == (19, 14)
    fields = {f.name for f in EligibilityChecklist._meta.get_fields()}
    for criterion in CRITERIA:
        assert criterion.key in fields
        assert criterion.automatic or f"{criterion.key}_source" in fields


def test_a_complete_checklist_meeting_every_criterion_is_eligible_with_each_rule_version(
    coordinator, consented
):
    checklist = save_checklist(coordinator, consented)
    assert checklist.status == FormStatus.COMPLETE
    assert checklist.outcome == EligibilityOutcome.ELIGIBLE and checklist.unmet_criteria == []
    assert checklist.automatic_results["inc_crcl"]["rule_version"] == "cockcroft_gault/1"
    assert checklist.automatic_results["inc_refractory"]["rule_version"] == "eligibility_refractoriness/1"
    assert (
        checklist.automatic_results["inc_disease_activity"]["rule_version"]
        == "eligibility_disease_activity/1"
    )
    assert all(
        item["answer"] == ("no" if key.startswith("exc") else "yes")
        for key, item in checklist.automatic_results.items()
    )


def test_creatinine_clearance_is_shown_with_the_age_and_actual_weight(coordinator, consented):
    checklist = save_checklist(coordinator, consented)
    # woman, born 1985 (older possible age used), 58 kg, 68 umol/L
    age = consented.consent_date.year - 1985
    expected = round((140 - age) * 58 / (72 * 68 / 88.4) * 0.85, 1)
    assert abs(float(checklist.crcl_ml_min) - expected) <= 0.1
    assert f"age {age}" in checklist.automatic_results["inc_crcl"]["detail"]


@pytest.mark.parametrize(
    ("key", "overrides", "answer"),
    [
        ("inc_anc", {"anc": Decimal("0.99")}, "no"),
        ("inc_anc", {"anc": Decimal("1.00")}, "yes"),
        ("inc_anc", {"anc": Decimal("0.50"), "neutropenia_due_to_sle": True}, "yes"),
        ("inc_haemoglobin", {"haemoglobin": Decimal("59.9")}, "no"),
        ("inc_haemoglobin", {"haemoglobin": Decimal("60.0")}, "yes"),
        ("inc_alt", {"alt": Decimal("120.1"), "alt_uln": Decimal("40")}, "no"),
        ("inc_alt", {"alt": Decimal("120.0"), "alt_uln": Decimal("40")}, "yes"),
        ("inc_ast", {"ast": Decimal("150"), "liver_abnormality_due_to_sle": True}, "yes"),
        ("inc_bilirubin", {"bilirubin": Decimal("31.51"), "bilirubin_uln": Decimal("21")}, "no"),
        ("inc_bilirubin", {"bilirubin": Decimal("31.50"), "bilirubin_uln": Decimal("21")}, "yes"),
        ("inc_inr", {"inr": Decimal("1.51")}, "no"),
        ("inc_inr", {"inr": Decimal("1.50")}, "yes"),
        ("inc_pt", {"pt": Decimal("20.3"), "pt_uln": Decimal("13.5")}, "no"),
        ("inc_pt", {"pt": Decimal("20.2"), "pt_uln": Decimal("13.5")}, "yes"),
        ("inc_crcl", {"creatinine": Decimal("250")}, "no"),
        ("inc_crcl", {"creatinine": Decimal("250"), "crcl_reduction_due_to_sle": True}, "yes"),
        ("inc_crcl", {"creatinine": None}, "unknown"),
        ("inc_disease_activity", {"selena_sledai": 7, "bilag_a": 0, "bilag_b": 1}, "no"),
        ("inc_disease_activity", {"selena_sledai": 6, "bilag_a": 0, "bilag_b": 2}, "yes"),
        ("inc_disease_activity", {"selena_sledai": 8, "bilag_a": 0, "bilag_b": 0}, "yes"),
        ("exc_hbv", {"hbcab": "positive", "hbv_dna": "positive"}, "yes"),
        ("exc_hbv", {"hbcab": "positive", "hbv_dna": "negative"}, "no"),
        ("exc_hbv", {"hbsag": "positive"}, "unknown"),
        ("exc_hcv", {"hcv_ab": "positive", "hcv_rna": "positive"}, "yes"),
        ("exc_hcv", {"hcv_ab": "positive", "hcv_rna": "negative"}, "no"),
        ("exc_hiv", {"hiv_ab": "positive"}, "yes"),
        ("exc_syphilis", {"syphilis": "positive"}, "yes"),
        ("inc_pregnancy_test", {"pregnancy_test_result": "positive", "exc_pregnancy": "yes"}, "no"),
        ("inc_pregnancy_test", {"childbearing_potential": "no", "pregnancy_test_on": None}, "yes"),
        ("inc_pregnancy_test", {"childbearing_potential": "unknown"}, "unknown"),
    ],
)
def test_each_automatic_item_is_computed_from_the_values_entered(
    coordinator, consented, key, overrides, answer
):
    checklist = save_checklist(coordinator, consented, complete=False, **overrides)
    assert getattr(checklist, key) == answer
    expected = {"yes": "yes", "no": "no", "unknown": "unknown"}[answer]
    assert checklist.automatic_results[key]["answer"] == expected
    if answer != ("no" if key.startswith("exc") else "yes"):
        assert checklist.outcome != EligibilityOutcome.ELIGIBLE


def test_a_pregnancy_test_8_days_before_the_assessment_is_too_old(coordinator, consented):
    on = consented.consent_date
    checklist = save_checklist(
        coordinator, consented, pregnancy_test_on=on - timedelta(days=8), complete=False
    )
    assert checklist.inc_pregnancy_test == "no"
    checklist = save_checklist_again(coordinator, checklist, pregnancy_test_on=on - timedelta(days=7))
    assert checklist.inc_pregnancy_test == "yes"


def save_checklist_again(user, checklist, **overrides):
    participant = checklist.participant
    return save_form(
        user=user,
        spec=ELIGIBILITY,
        visit=checklist.visit,
        instance=checklist,
        data=checklist_data(participant, participant.consent_date, **overrides),
        reason="correction",
    )


def test_men_need_no_pregnancy_test(coordinator, site_yc, today):
    from trials import services as trial_services

    p = trial_services.screen_participant(
        user=coordinator, site=site_yc, initials="MN", year_of_birth=1980, sex="M", screening_date=today
    )
    p = trial_services.record_consent(
        user=coordinator, participant=p, consent_date=today, consent_version="1"
    )
    checklist = save_checklist(coordinator, p)
    assert (
        checklist.inc_pregnancy_test == "yes"
        and "not applicable" in checklist.automatic_results["inc_pregnancy_test"]["detail"]
    )


# --- Age from the year of birth ---------------------------------------------------------------------


@pytest.fixture
def turning_18(coordinator, site_yc, today):
    """Born in the year that makes the participant 17 or 18 at consent: the year alone cannot decide."""
    p = services.screen_participant(
        user=coordinator,
        site=site_yc,
        initials="YB",
        year_of_birth=today.year - 18,
        sex="F",
        screening_date=today,
    )
    return services.record_consent(user=coordinator, participant=p, consent_date=today, consent_version="1")


def test_age_is_met_when_both_possible_ages_are_18_to_75(coordinator, consented):
    checklist = save_checklist(coordinator, consented)
    assert (
        checklist.inc_age == "yes"
        and checklist.automatic_results["inc_age"]["rule_version"] == "eligibility_age/1"
    )


def test_age_is_unknown_when_the_year_of_birth_alone_cannot_decide(coordinator, turning_18):
    checklist = save_checklist(coordinator, turning_18, complete=False)
    assert checklist.inc_age == "unknown"
    assert "exact age" in checklist.automatic_results["inc_age"]["detail"]


@pytest.mark.parametrize(("age", "answer"), [(18, "yes"), (17, "no")])
def test_the_exact_age_from_the_source_documents_decides_at_the_boundary(
    coordinator, turning_18, age, answer
):
    checklist = save_checklist(coordinator, turning_18, complete=False, age_at_consent=age)
    assert checklist.inc_age == answer


# --- Refractoriness from the prior-treatment log ----------------------------------------------------


def test_one_agent_failed_is_not_refractory(coordinator, consented):
    visit = consented.visits.get(code="SCR")
    data = demographics_data(consented, consented.consent_date)
    data["prior_treatments"] = data["prior_treatments"][:1]
    save_form(user=coordinator, spec=FORMS["demographics"], visit=visit, data=data)
    checklist = save_checklist(coordinator, consented, complete=False)
    assert (
        checklist.inc_refractory == "no"
        and "1 agent" in checklist.automatic_results["inc_refractory"]["detail"]
    )


def test_refractoriness_is_unknown_without_a_demographics_form(coordinator, consented):
    visit = consented.visits.get(code="SCR")
    checklist = save_form(
        user=coordinator,
        spec=ELIGIBILITY,
        visit=visit,
        data=checklist_data(consented, consented.consent_date),
    )
    assert checklist.inc_refractory == "unknown" and checklist.outcome == EligibilityOutcome.UNDETERMINED


def test_an_agent_continued_despite_inefficacy_for_3_months_counts(coordinator, consented):
    on = consented.consent_date
    visit = consented.visits.get(code="SCR")
    data = demographics_data(consented, on)
    data["prior_treatments"][1] = {
        "agent": "belimumab",
        "start_date": on - timedelta(days=92),
        "reason_stopped": "ongoing_inefficacy",
    }
    save_form(user=coordinator, spec=FORMS["demographics"], visit=visit, data=data)
    assert save_checklist(coordinator, consented).inc_refractory == "yes"


# --- Enrollment gating ------------------------------------------------------------------------------


def test_eligibility_cannot_be_met_without_the_checklist(coordinator, consented):
    with pytest.raises(DomainError, match="checklist"):
        services.record_eligibility(
            user=coordinator, participant=consented, met=True, assessed_on=consented.consent_date
        )


def test_eligibility_cannot_be_met_while_the_checklist_is_a_draft(coordinator, consented):
    save_checklist(coordinator, consented, complete=False)
    with pytest.raises(DomainError, match="not marked complete"):
        services.record_eligibility(
            user=coordinator, participant=consented, met=True, assessed_on=consented.consent_date
        )


def test_eligibility_cannot_be_met_with_a_criterion_not_met(coordinator, consented):
    save_checklist(coordinator, consented, exc_infection="yes")
    with pytest.raises(DomainError, match="Uncontrolled or treatment-requiring"):
        services.record_eligibility(
            user=coordinator, participant=consented, met=True, assessed_on=consented.consent_date
        )
    consented.refresh_from_db()
    assert consented.eligibility_met is None


def test_an_ineligible_participant_is_a_screen_failure_with_the_checklist_reason(coordinator, consented):
    save_checklist(coordinator, consented, selena_sledai=4)
    decision = decision_from_checklist(consented)
    assert decision["met"] == "no" and "SELENA-SLEDAI" in decision["screen_failure_reason"]
    p = services.record_eligibility(
        user=coordinator,
        participant=consented,
        met=False,
        assessed_on=decision["assessed_on"],
        screen_failure_reason=decision["screen_failure_reason"],
    )
    assert p.status == ParticipantStatus.SCREEN_FAILED and "SELENA-SLEDAI" in p.screen_failure_reason


def test_enrollment_is_refused_when_the_checklist_is_corrected_to_not_met(coordinator, consented):
    checklist = save_checklist(coordinator, consented)
    p = services.record_eligibility(
        user=coordinator, participant=consented, met=True, assessed_on=consented.consent_date
    )
    save_checklist_again(coordinator, checklist, hiv_ab="positive")
    with pytest.raises(DomainError, match="HIV"):
        services.enroll_participant(user=coordinator, participant=p, enrollment_date=p.consent_date)


def test_enrollment_is_refused_when_the_checklist_is_stale(coordinator, consented):
    save_checklist(coordinator, consented)
    p = services.record_eligibility(
        user=coordinator, participant=consented, met=True, assessed_on=consented.consent_date
    )
    PriorTreatment.objects.filter(form__participant=p, agent="tacrolimus").update(
        reason_stopped="intolerance"
    )
    problems = enrollment_blockers(p)
    assert any("save it again" in problem for problem in problems)
    with pytest.raises(DomainError, match="checklist"):
        services.enroll_participant(user=coordinator, participant=p, enrollment_date=p.consent_date)


def test_enrollment_needs_a_pregnancy_test_within_7_days_before_the_enrollment_date(coordinator, consented):
    save_checklist(coordinator, consented)
    p = services.record_eligibility(
        user=coordinator, participant=consented, met=True, assessed_on=consented.consent_date
    )
    with pytest.raises(DomainError, match="7 days"):
        services.enroll_participant(
            user=coordinator, participant=p, enrollment_date=p.consent_date + timedelta(days=8)
        )
    p = services.enroll_participant(
        user=coordinator, participant=p, enrollment_date=p.consent_date + timedelta(days=5)
    )
    assert p.status == ParticipantStatus.ENROLLED


def test_a_protocol_without_an_eligibility_form_keeps_the_investigators_decision(coordinator, make_user, db):
    from accounts.models import Role

    content = parse((ROOT / "protocols" / "examples" / "example-ra-small.yaml").read_text(), "example")
    content["trial"]["nct_id"] = "NCT00000002"
    for visit in content["schedule"]["visits"]:
        visit["forms"] = [f for f in visit["forms"] if f != "eligibility"]
    study = load(content, source_name="no-checklist.yaml").study
    site = study.sites.get()
    user = make_user(Role.COORDINATOR, site)
    p = make_participant(user, site, stage="consented")
    p = services.record_eligibility(user=user, participant=p, met=True, assessed_on=p.consent_date)
    assert p.eligibility_met is True


# --- The pages --------------------------------------------------------------------------------------


def test_the_record_eligibility_action_is_prefilled_from_the_checklist(client, coordinator, consented):
    save_checklist(coordinator, consented)
    client.force_login(coordinator)
    body = client.get(reverse("participant_action", args=[consented.pk, "eligibility"])).content.decode()
    assert re.search(r'value="yes"[^>]*checked', body)
    assert consented.consent_date.isoformat() in body


def test_the_checklist_page_shows_each_automatic_outcome_with_its_rule_version(
    client, coordinator, consented
):
    checklist = save_checklist(coordinator, consented)
    client.force_login(coordinator)
    body = client.get(reverse("form_entry", args=[checklist.visit_id, "eligibility"])).content.decode()
    assert "cockcroft_gault/1" in body and "eligibility_refractoriness/1" in body
    assert "Mycophenolate, Tacrolimus" in body


def test_a_coordinator_completes_the_checklist_through_the_page(client, coordinator, consented):
    visit = consented.visits.get(code="SCR")
    save_form(
        user=coordinator,
        spec=FORMS["demographics"],
        visit=visit,
        data=demographics_data(consented, consented.consent_date),
        complete=True,
    )
    data = {
        k: ("" if v is None else str(v)) for k, v in checklist_data(consented, consented.consent_date).items()
    }
    client.force_login(coordinator)
    response = client.post(reverse("form_entry", args=[visit.pk, "eligibility"]), {**data, "complete": "1"})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert EligibilityChecklist.objects.get().outcome == EligibilityOutcome.ELIGIBLE


def test_fill_from_this_participants_data_offers_the_latest_weight_without_saving(
    client, coordinator, consented
):
    visit = consented.visits.get(code="SCR")
    save_form(
        user=coordinator,
        spec=FORMS["vital_signs"],
        visit=visit,
        data={"assessed_on": consented.consent_date, "weight_kg": Decimal("61.5")},
    )
    client.force_login(coordinator)
    body = client.get(reverse("form_entry", args=[visit.pk, "eligibility"]) + "?prefill=1").content.decode()
    assert 'value="61.5"' in body and "not saved yet" in body
    assert not EligibilityChecklist.objects.exists() and VitalSigns.objects.count() == 1


def test_fill_from_this_participants_data_reads_the_laboratory_results(client, coordinator, consented):
    from crfs.eligibility import values_from_participant_data
    from labs.models import LabPanel, LabResult

    visit = consented.visits.get(code="SCR")
    panel = LabPanel.objects.create(participant=consented, visit=visit, panel="chemistry")
    LabResult.objects.create(panel=panel, analyte="creatinine", value=Decimal("75"), unit="umol/L")
    LabResult.objects.create(panel=panel, analyte="alt", value=Decimal("33"), unit="U/L", uln=Decimal("40"))
    values = values_from_participant_data(consented)
    assert (values["creatinine"], values["creatinine_unit"], values["alt"], values["alt_uln"]) == (
        Decimal("75"),
        "umol/L",
        Decimal("33"),
        Decimal("40"),
    )


# --- Edit checks ------------------------------------------------------------------------------------


@pytest.fixture
def checklist_base(consented):
    on = consented.consent_date
    return checklist_data(consented, on)


@pytest.mark.parametrize(
    ("check_id", "firing", "quiet"),
    [
        ("ELIG-AGE-YOB", {"age_at_consent": 30}, {"age_at_consent": None}),
        ("ELIG-LABS-FUTURE", {"labs_collected_on": "future"}, {}),
        ("ELIG-LABS-AFTER-ASSESSMENT", {"labs_collected_on": "+1"}, {}),
        ("ELIG-LABS-OLD", {"labs_collected_on": "-29"}, {"labs_collected_on": "-28"}),
        ("ELIG-PREGNANCY-FUTURE", {"pregnancy_test_on": "future"}, {}),
        (
            "ELIG-PREGNANCY-POSITIVE",
            {"pregnancy_test_result": "positive"},
            {"pregnancy_test_result": "positive", "exc_pregnancy": "yes"},
        ),
        ("ELIG-BILAG-COUNT", {"bilag_a": 5, "bilag_b": 5}, {"bilag_a": 5, "bilag_b": 4}),
        ("ELIG-SLEDAI-RANGE", {"selena_sledai": 106}, {"selena_sledai": 105}),
        ("ELIG-WEIGHT", {"weight_kg": Decimal("19.9")}, {"weight_kg": Decimal("20")}),
        ("ELIG-CREATININE", {"creatinine": Decimal("2000")}, {"creatinine": Decimal("1800")}),
        (
            "ELIG-CREATININE",
            {"creatinine": Decimal("68"), "creatinine_unit": "mg/dL"},
            {"creatinine": Decimal("0.8"), "creatinine_unit": "mg/dL"},
        ),
        ("ELIG-ANC", {"anc": Decimal("100.01")}, {"anc": Decimal("100")}),
        ("ELIG-HB", {"haemoglobin": Decimal("9.9")}, {"haemoglobin": Decimal("10")}),
        ("ELIG-INR", {"inr": Decimal("0.4")}, {"inr": Decimal("0.5")}),
        ("ELIG-ALT-ULN", {"alt_uln": Decimal("0")}, {"alt_uln": Decimal("40")}),
        ("ELIG-AST-ULN", {"ast_uln": Decimal("0")}, {"ast_uln": Decimal("40")}),
        ("ELIG-BILIRUBIN-ULN", {"bilirubin_uln": Decimal("0")}, {"bilirubin_uln": Decimal("21")}),
        ("ELIG-PT-ULN", {"pt_uln": Decimal("0")}, {"pt_uln": Decimal("13.5")}),
    ],
)
def test_eligibility_edit_check_fires_and_not(
    coordinator, consented, checklist_base, today, check_id, firing, quiet
):
    def dates(values):
        on = consented.consent_date
        out = {}
        for key, value in values.items():
            if value == "future":
                value = today + timedelta(days=1)
            elif isinstance(value, str) and value[:1] in "+-" and value[1:].isdigit():
                value = on + timedelta(days=int(value))
            out[key] = value
        return out

    visit = consented.visits.get(code="SCR")
    assert_check(coordinator, "eligibility", visit, checklist_base, check_id, dates(firing), dates(quiet))


def test_a_male_participant_cannot_have_childbearing_potential(coordinator, site_yc, today):
    p = services.screen_participant(
        user=coordinator, site=site_yc, initials="MM", year_of_birth=1980, sex="M", screening_date=today
    )
    p = services.record_consent(user=coordinator, participant=p, consent_date=today, consent_version="1")
    base = checklist_data(p, today)
    assert_check(
        coordinator,
        "eligibility",
        p.visits.get(code="SCR"),
        base,
        "ELIG-CBP-MALE",
        {"childbearing_potential": "yes"},
        {},
    )


def test_an_enrolled_participants_checklist_changed_to_not_met_opens_a_query(coordinator, enrolled):
    checklist = EligibilityChecklist.objects.get(participant=enrolled)
    base = checklist_data(enrolled, checklist.assessed_on)
    fired, obj = check_outcome(
        coordinator,
        "eligibility",
        checklist.visit,
        {**base, "exc_infection": "yes"},
        "ELIG-ENROLLED-NOT-MET",
        instance=checklist,
        reason="new information",
    )
    assert fired == "soft"
    quiet, _obj = check_outcome(
        coordinator,
        "eligibility",
        checklist.visit,
        base,
        "ELIG-ENROLLED-NOT-MET",
        instance=obj,
        reason="corrected",
    )
    assert quiet == "quiet"


def test_record_screening_forms_makes_a_participant_eligible(coordinator, consented):
    record_screening_forms(coordinator, consented, on=consented.consent_date)
    assert enrollment_blockers(consented) == []

"""Edit checks of the screening, history, treatment and end-of-participation forms.

Registered in ``crfs.checks.CHECK_MODULES``. Hard checks refuse impossible or contradictory values;
soft checks open an automatic query on values that are possible but need a second look, and the
query closes by itself when a later save no longer fires the check.
"""

from datetime import date
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from edc.localtime import site_today

from .checks import HARD, SOFT, EditCheck, _between, _date_before_consent, _date_in_future
from .models import (
    EligibilityOutcome,
    ExamResult,
    PhysicalExam,
    ReasonStopped,
    TestResult,
    YesNoUnknown,
)

ONGOING = (ReasonStopped.ONGOING, ReasonStopped.ONGOING_INEFFICACY)
# Creatinine that no living adult has, per unit (clinical-rules.md section 10: mg/dL x 88.4 = umol/L).
CREATININE_LIMITS = {"mg/dL": (Decimal("0.1"), Decimal(20)), "umol/L": (Decimal(9), Decimal(1800))}


def _today(obj) -> date:
    return site_today(obj.participant.site.timezone)


def _is_date(*values) -> bool:
    return all(isinstance(v, date) for v in values)


def _any_row(name, predicate):
    def fires(obj):
        return any(predicate(obj, row) for row in obj.rows(name))

    return fires


def _creatinine_impossible(obj) -> bool:
    limits = CREATININE_LIMITS.get(obj.creatinine_unit)
    return (
        obj.creatinine is not None and limits is not None and not (limits[0] <= obj.creatinine <= limits[1])
    )


def _positive_uln(field):
    def fires(obj):
        value = getattr(obj, field)
        return value is not None and value <= 0

    return fires


def _age_inconsistent(obj) -> bool:
    consent, age = obj.participant.consent_date, obj.age_at_consent
    if consent is None or age is None:
        return False
    oldest = consent.year - obj.participant.year_of_birth
    return age not in (oldest - 1, oldest)


def _deviates(planned_field, given_field, tolerance=Decimal("0.10")):
    def fires(obj):
        planned, given = getattr(obj, planned_field), getattr(obj, given_field)
        return bool(planned) and given is not None and abs(given - planned) > planned * tolerance

    return fires


def _crcl_between(low, high):
    def fires(obj):
        return (
            obj.crcl_ml_min is not None
            and bool(obj.fludarabine_planned_mg_m2)
            and (low is None or obj.crcl_ml_min >= low)
            and obj.crcl_ml_min < high
            and (low is None or not obj.fludarabine_renal_decision)
        )

    return fires


def _pending_scheduled_visits(obj) -> bool:
    return obj.visit.participant.visits.filter(
        definition__isnull=False,
        definition__optional=False,
        visit_date__isnull=True,
        missed=False,
        not_applicable=False,
        entered_in_error=False,
    ).exists()


def _death_form_missing(obj) -> bool:
    from .models import Death

    return (
        obj.reason == "died"
        and not Death.objects.filter(participant=obj.participant, entered_in_error=False).exists()
    )


def _visit_after(field):
    def fires(obj):
        day = getattr(obj, field)
        return (
            isinstance(day, date)
            and obj.participant.visits.filter(visit_date__gt=day, entered_in_error=False).exists()
        )

    return fires


ELIGIBILITY = [
    EditCheck(
        "ELIG-AGE-YOB",
        "eligibility",
        "age_at_consent",
        HARD,
        _("The age at consent does not match the year of birth."),
        _age_inconsistent,
    ),
    EditCheck(
        "ELIG-LABS-FUTURE",
        "eligibility",
        "labs_collected_on",
        HARD,
        _("The laboratory date cannot be in the future."),
        _date_in_future("labs_collected_on"),
    ),
    EditCheck(
        "ELIG-LABS-AFTER-ASSESSMENT",
        "eligibility",
        "labs_collected_on",
        HARD,
        _("The laboratory tests cannot be after the date of assessment."),
        lambda o: _is_date(o.labs_collected_on, o.assessed_on) and o.labs_collected_on > o.assessed_on,
    ),
    EditCheck(
        "ELIG-LABS-OLD",
        "eligibility",
        "labs_collected_on",
        SOFT,
        _("The laboratory tests are more than 28 days older than the assessment: confirm they are current."),
        lambda o: (
            _is_date(o.labs_collected_on, o.assessed_on) and (o.assessed_on - o.labs_collected_on).days > 28
        ),
    ),
    EditCheck(
        "ELIG-PREGNANCY-FUTURE",
        "eligibility",
        "pregnancy_test_on",
        HARD,
        _("The pregnancy test date cannot be in the future."),
        _date_in_future("pregnancy_test_on"),
    ),
    EditCheck(
        "ELIG-CBP-MALE",
        "eligibility",
        "childbearing_potential",
        HARD,
        _("Childbearing potential applies to women; the participant is recorded as male."),
        lambda o: o.participant.sex == "M" and o.childbearing_potential == YesNoUnknown.YES,
    ),
    EditCheck(
        "ELIG-PREGNANCY-POSITIVE",
        "eligibility",
        "exc_pregnancy",
        HARD,
        _("The pregnancy test is positive: the pregnancy exclusion cannot be answered no."),
        lambda o: o.pregnancy_test_result == TestResult.POSITIVE and o.exc_pregnancy == YesNoUnknown.NO,
    ),
    EditCheck(
        "ELIG-BILAG-COUNT",
        "eligibility",
        "bilag_b",
        HARD,
        _("BILAG-2004 has 9 systems: the A and B counts together cannot exceed 9."),
        lambda o: o.bilag_a is not None and o.bilag_b is not None and o.bilag_a + o.bilag_b > 9,
    ),
    EditCheck(
        "ELIG-SLEDAI-RANGE",
        "eligibility",
        "selena_sledai",
        HARD,
        _("SELENA-SLEDAI is between 0 and 105."),
        _between("selena_sledai", 0, 105),
    ),
    EditCheck(
        "ELIG-WEIGHT",
        "eligibility",
        "weight_kg",
        HARD,
        _("Weight must be between 20 and 300 kg."),
        _between("weight_kg", 20, 300),
    ),
    EditCheck(
        "ELIG-CREATININE",
        "eligibility",
        "creatinine",
        HARD,
        _("Creatinine must be 0.1–20 mg/dL (9–1800 µmol/L): check the value and its unit."),
        _creatinine_impossible,
    ),
    EditCheck(
        "ELIG-ANC",
        "eligibility",
        "anc",
        HARD,
        _("Neutrophils must be between 0 and 100 × 10⁹/L."),
        _between("anc", 0, 100),
    ),
    EditCheck(
        "ELIG-HB",
        "eligibility",
        "haemoglobin",
        HARD,
        _("Haemoglobin must be between 10 and 250 g/L (a value in g/dL is 10 times smaller)."),
        _between("haemoglobin", 10, 250),
    ),
    EditCheck(
        "ELIG-INR",
        "eligibility",
        "inr",
        HARD,
        _("INR must be between 0.5 and 20."),
        _between("inr", "0.5", 20),
    ),
    *[
        EditCheck(
            f"ELIG-{name.upper().replace('_', '-')}",
            "eligibility",
            name,
            HARD,
            _("The upper limit of normal must be greater than 0."),
            _positive_uln(name),
        )
        for name in ("alt_uln", "ast_uln", "bilirubin_uln", "pt_uln")
    ],
    EditCheck(
        "ELIG-ENROLLED-NOT-MET",
        "eligibility",
        "outcome",
        SOFT,
        _("The participant is enrolled but the checklist no longer shows every criterion met: review it."),
        lambda o: o.participant.enrollment_date is not None and o.outcome != EligibilityOutcome.ELIGIBLE,
    ),
]

DEMOGRAPHICS = [
    EditCheck(
        "DM-SEX",
        "demographics",
        "sex",
        HARD,
        _("Sex differs from the participant's screening record; correct one of them."),
        lambda o: bool(o.sex) and o.sex != o.participant.sex,
    ),
    EditCheck(
        "DM-YEAR-OF-BIRTH",
        "demographics",
        "year_of_birth",
        HARD,
        _("Year of birth differs from the participant's screening record; correct one of them."),
        lambda o: o.year_of_birth is not None and o.year_of_birth != o.participant.year_of_birth,
    ),
    EditCheck(
        "DM-DIAGNOSIS-FUTURE",
        "demographics",
        "diagnosis_date",
        HARD,
        _("The diagnosis date cannot be in the future."),
        _date_in_future("diagnosis_date"),
    ),
    EditCheck(
        "DM-DIAGNOSIS-BEFORE-BIRTH",
        "demographics",
        "diagnosis_date",
        HARD,
        _("The diagnosis date cannot be before the year of birth."),
        lambda o: _is_date(o.diagnosis_date) and o.diagnosis_date.year < o.participant.year_of_birth,
    ),
    EditCheck(
        "DM-TREATMENT-STOP-BEFORE-START",
        "demographics",
        "prior_treatments",
        HARD,
        _("A prior treatment stops before it starts."),
        _any_row(
            "prior_treatments",
            lambda o, r: _is_date(r.start_date, r.stop_date) and r.stop_date < r.start_date,
        ),
    ),
    EditCheck(
        "DM-TREATMENT-FUTURE",
        "demographics",
        "prior_treatments",
        HARD,
        _("A prior treatment date is in the future."),
        _any_row(
            "prior_treatments",
            lambda o, r: any(_is_date(d) and d > _today(o) for d in (r.start_date, r.stop_date)),
        ),
    ),
    EditCheck(
        "DM-TREATMENT-ONGOING-STOPPED",
        "demographics",
        "prior_treatments",
        HARD,
        _("A prior treatment marked as continuing has a stop date."),
        _any_row("prior_treatments", lambda o, r: r.reason_stopped in ONGOING and r.stop_date is not None),
    ),
    EditCheck(
        "DM-TREATMENT-STOPPED-NO-DATE",
        "demographics",
        "prior_treatments",
        SOFT,
        _(
            "A prior treatment was stopped but has no stop date: add it, or the refractoriness rule "
            "cannot use it."
        ),
        _any_row(
            "prior_treatments",
            lambda o, r: r.reason_stopped not in ("", *ONGOING) and r.stop_date is None,
        ),
    ),
    EditCheck(
        "DM-TREATMENT-OTHER-UNNAMED",
        "demographics",
        "prior_treatments",
        SOFT,
        _("A prior treatment is “other” without the agent's name."),
        _any_row("prior_treatments", lambda o, r: r.agent == "other" and not r.agent_other.strip()),
    ),
    EditCheck(
        "DM-ANA-ENTRY",
        "demographics",
        "eular_acr_ana",
        SOFT,
        _("Domains are ticked but the entry criterion (ANA ≥ 1:80) is not: the 2019 criteria require it."),
        lambda o: (
            not o.eular_acr_ana
            and any(getattr(o, f.name) for f in o._meta.concrete_fields if f.name.startswith("domain_"))
        ),
    ),
    EditCheck(
        "DM-NEPHRITIS-NOT-RENAL",
        "demographics",
        "nephritis_class",
        SOFT,
        _("A lupus nephritis class is recorded but renal involvement is not ticked."),
        lambda o: o.nephritis_class not in ("", "none") and not o.organ_renal,
    ),
]

MEDICAL_HISTORY = [
    EditCheck(
        "MH-END-BEFORE-START",
        "medical_history",
        "conditions",
        HARD,
        _("A condition ends before it starts."),
        _any_row("conditions", lambda o, r: _is_date(r.start_date, r.end_date) and r.end_date < r.start_date),
    ),
    EditCheck(
        "MH-FUTURE",
        "medical_history",
        "conditions",
        HARD,
        _("A condition date is in the future."),
        _any_row(
            "conditions", lambda o, r: any(_is_date(d) and d > _today(o) for d in (r.start_date, r.end_date))
        ),
    ),
    EditCheck(
        "MH-BEFORE-BIRTH",
        "medical_history",
        "conditions",
        HARD,
        _("A condition starts before the year of birth."),
        _any_row(
            "conditions",
            lambda o, r: _is_date(r.start_date) and r.start_date.year < o.participant.year_of_birth,
        ),
    ),
    EditCheck(
        "MH-ONGOING-ENDED",
        "medical_history",
        "conditions",
        HARD,
        _("A condition is marked ongoing and has an end date."),
        _any_row("conditions", lambda o, r: r.ongoing and r.end_date is not None),
    ),
    EditCheck(
        "MH-NO-CONDITIONS-BUT-ROWS",
        "medical_history",
        "any_condition",
        HARD,
        _("“No medical history” is answered but conditions are listed."),
        lambda o: o.any_condition == YesNoUnknown.NO and bool(o.rows("conditions")),
    ),
    EditCheck(
        "MH-NOT-ONGOING-NO-END",
        "medical_history",
        "conditions",
        SOFT,
        _("A condition is not ongoing but has no end date."),
        _any_row("conditions", lambda o, r: not r.ongoing and r.end_date is None),
    ),
]

PHYSICAL_EXAM = [
    check
    for system in PhysicalExam.SYSTEMS
    for check in (
        EditCheck(
            f"PE-{system.upper().replace('_', '-')}-FINDINGS",
            "physical_exam",
            f"{system}_findings",
            HARD,
            _("Findings are described for a system not marked abnormal: mark it abnormal or clear them."),
            lambda o, s=system: (
                getattr(o, s) != ExamResult.ABNORMAL and bool(getattr(o, f"{s}_findings").strip())
            ),
        ),
        EditCheck(
            f"PE-{system.upper().replace('_', '-')}-NOT-DONE",
            "physical_exam",
            system,
            SOFT,
            _("This body system was not examined: confirm, or record the examination."),
            lambda o, s=system: getattr(o, s) == ExamResult.NOT_DONE,
        ),
    )
]

LYMPHODEPLETION = [
    EditCheck(
        "LD-FLUDARABINE-IMPOSSIBLE",
        "lymphodepletion",
        "fludarabine_planned_mg_m2",
        HARD,
        _("Fludarabine above 100 mg/m² a day is not a lymphodepletion dose."),
        _between("fludarabine_planned_mg_m2", 0, 100),
    ),
    EditCheck(
        "LD-CYCLOPHOSPHAMIDE-IMPOSSIBLE",
        "lymphodepletion",
        "cyclophosphamide_planned_mg_m2",
        HARD,
        _("Cyclophosphamide above 3000 mg/m² a day is not a lymphodepletion dose."),
        _between("cyclophosphamide_planned_mg_m2", 0, 3000),
    ),
    EditCheck(
        "LD-BEFORE-ENROLLMENT",
        "lymphodepletion",
        "assessed_on",
        HARD,
        _("Lymphodepletion cannot be given before enrollment."),
        lambda o: (
            _is_date(o.assessed_on)
            and (o.participant.enrollment_date is None or o.assessed_on < o.participant.enrollment_date)
        ),
    ),
    EditCheck(
        "LD-AFTER-INFUSION",
        "lymphodepletion",
        "assessed_on",
        HARD,
        _("Lymphodepletion must be given before the infusion (Day 0)."),
        lambda o: (
            _is_date(o.assessed_on, o.participant.infusion_date)
            and o.assessed_on >= o.participant.infusion_date
        ),
    ),
    EditCheck(
        "LD-CREATININE",
        "lymphodepletion",
        "creatinine",
        HARD,
        _("Creatinine must be 0.1–20 mg/dL (9–1800 µmol/L): check the value and its unit."),
        _creatinine_impossible,
    ),
    EditCheck(
        "LD-NO-BSA",
        "lymphodepletion",
        "fludarabine_planned_mg_m2",
        SOFT,
        _("BSA cannot be computed: record height and weight on a vital signs form before lymphodepletion."),
        lambda o: (
            o.bsa_m2 is None
            and (o.fludarabine_planned_mg_m2 is not None or o.cyclophosphamide_planned_mg_m2 is not None)
        ),
    ),
    EditCheck(
        "LD-FLUDARABINE-DEVIATION",
        "lymphodepletion",
        "fludarabine_given_mg",
        SOFT,
        _("The fludarabine given differs from the planned dose by more than 10 %: confirm."),
        _deviates("fludarabine_planned_mg", "fludarabine_given_mg"),
    ),
    EditCheck(
        "LD-CYCLOPHOSPHAMIDE-DEVIATION",
        "lymphodepletion",
        "cyclophosphamide_given_mg",
        SOFT,
        _("The cyclophosphamide given differs from the planned dose by more than 10 %: confirm."),
        _deviates("cyclophosphamide_planned_mg", "cyclophosphamide_given_mg"),
    ),
    # clinical-rules.md section 11: fludarabine is renally cleared, avoided below 30 mL/min and
    # commonly reduced (-20 %) at 30-70 mL/min [PROTOCOL].
    EditCheck(
        "LD-FLUDARABINE-CRCL-BELOW-30",
        "lymphodepletion",
        "fludarabine_planned_mg_m2",
        SOFT,
        _(
            "Creatinine clearance is below 30 mL/min: fludarabine is usually avoided. Confirm with the "
            "investigator."
        ),
        _crcl_between(None, 30),
    ),
    EditCheck(
        "LD-FLUDARABINE-CRCL-30-70",
        "lymphodepletion",
        "fludarabine_renal_decision",
        SOFT,
        _(
            "Creatinine clearance is 30–70 mL/min: fludarabine is commonly reduced by 20 %. Record whether "
            "the dose was reduced or the full dose confirmed."
        ),
        _crcl_between(30, 70),
    ),
]

VITALS_LIMITS = {
    "temperature_c": (30, 45, _("Temperature must be between 30 and 45 °C.")),
    "heart_rate": (20, 250, _("Heart rate must be between 20 and 250 /min.")),
    "systolic_bp": (40, 300, _("Systolic blood pressure must be between 40 and 300 mmHg.")),
    "diastolic_bp": (20, 200, _("Diastolic blood pressure must be between 20 and 200 mmHg.")),
    "spo2_pct": (50, 100, _("SpO₂ must be between 50 and 100 %.")),
}

INFUSION = [
    EditCheck(
        "INF-DATE-FUTURE",
        "infusion",
        "infusion_date",
        HARD,
        _("The infusion date cannot be in the future."),
        _date_in_future("infusion_date"),
    ),
    EditCheck(
        "INF-BEFORE-ENROLLMENT",
        "infusion",
        "infusion_date",
        HARD,
        _("The infusion cannot be before enrollment."),
        lambda o: (
            _is_date(o.infusion_date)
            and (o.participant.enrollment_date is None or o.infusion_date < o.participant.enrollment_date)
        ),
    ),
    EditCheck(
        "INF-NOT-AFTER-LYMPHODEPLETION",
        "infusion",
        "infusion_date",
        HARD,
        _("The infusion must follow the start of lymphodepletion."),
        lambda o: (
            _is_date(o.infusion_date, o.participant.lymphodepletion_start_date)
            and o.infusion_date <= o.participant.lymphodepletion_start_date
        ),
    ),
    EditCheck(
        "INF-STOP-BEFORE-START",
        "infusion",
        "infusion_stop",
        HARD,
        _("The infusion stops before it starts (an infusion over midnight: record the times of Day 0)."),
        lambda o: (
            o.infusion_start is not None
            and o.infusion_stop is not None
            and o.infusion_stop < o.infusion_start
        ),
    ),
    EditCheck(
        "INF-WEIGHT",
        "infusion",
        "dosing_weight_kg",
        HARD,
        _("Weight must be between 20 and 300 kg."),
        _between("dosing_weight_kg", 20, 300),
    ),
    EditCheck(
        "INF-WEIGHT-DATE",
        "infusion",
        "dosing_weight_on",
        HARD,
        _("The dosing weight must be measured on or before the infusion date."),
        lambda o: (
            _is_date(o.dosing_weight_on)
            and (
                o.dosing_weight_on > _today(o)
                or (_is_date(o.infusion_date) and o.dosing_weight_on > o.infusion_date)
            )
        ),
    ),
    EditCheck(
        "INF-CELLS",
        "infusion",
        "total_nucleated_cells",
        HARD,
        _("Total nucleated cells must be between 1 and 10¹² (check the exponent)."),
        _between("total_nucleated_cells", 1, 10**12),
    ),
    *[
        EditCheck(
            f"INF-{when.upper()}-{name.upper().replace('_', '-')}-IMPOSSIBLE",
            "infusion",
            f"{when}_{name}",
            HARD,
            message,
            _between(f"{when}_{name}", low, high),
        )
        for when in ("pre", "post")
        for name, (low, high, message) in VITALS_LIMITS.items()
    ],
    EditCheck(
        "INF-DOSE-DEVIATION",
        "infusion",
        "dose_per_kg",
        SOFT,
        _("The dose delivered deviates from the planned dose level by more than the protocol tolerance."),
        lambda o: o.dose_deviation is True,
    ),
    EditCheck(
        "INF-NO-PLANNED-DOSE",
        "infusion",
        "dose_per_kg",
        SOFT,
        _("The participant has no dose level with a dose per kg: the deviation cannot be assessed."),
        lambda o: o.dose_per_kg is not None and not o.planned_dose_per_kg,
    ),
    EditCheck(
        "INF-VIABILITY-LOW",
        "infusion",
        "viability_pct",
        SOFT,
        _("Viability below 70 %: confirm against the certificate of analysis."),
        lambda o: o.viability_pct is not None and o.viability_pct < 70,
    ),
    EditCheck(
        "INF-STEROID-PREMEDICATION",
        "infusion",
        "premedication_systemic_steroid",
        SOFT,
        _("Systemic steroids are avoided as premedication for CAR-T cells: confirm and give the reason."),
        lambda o: o.premedication_systemic_steroid,
    ),
    EditCheck(
        "INF-POST-HYPOTENSION",
        "infusion",
        "post_systolic_bp",
        SOFT,
        _("Systolic blood pressure below 90 mmHg after the infusion: check for an infusion reaction or CRS."),
        lambda o: o.post_systolic_bp is not None and o.post_systolic_bp < 90,
    ),
    EditCheck(
        "INF-POST-FEVER",
        "infusion",
        "post_temperature_c",
        SOFT,
        _("Fever (≥ 38.0 °C) after the infusion: check for an infusion reaction or CRS."),
        lambda o: o.post_temperature_c is not None and o.post_temperature_c >= Decimal("38.0"),
    ),
]

HOSPITALISATION = [
    EditCheck(
        "HOSP-ADMISSION-FUTURE",
        "hospitalisation",
        "admitted_on",
        HARD,
        _("The admission date cannot be in the future."),
        _date_in_future("admitted_on"),
    ),
    EditCheck(
        "HOSP-ADMISSION-BEFORE-CONSENT",
        "hospitalisation",
        "admitted_on",
        HARD,
        _("The admission date cannot be before informed consent."),
        _date_before_consent("admitted_on"),
    ),
    EditCheck(
        "HOSP-DISCHARGE-FUTURE",
        "hospitalisation",
        "discharged_on",
        HARD,
        _("The discharge date cannot be in the future."),
        _date_in_future("discharged_on"),
    ),
    EditCheck(
        "HOSP-DISCHARGE-BEFORE-ADMISSION",
        "hospitalisation",
        "discharged_on",
        HARD,
        _("The discharge cannot be before the admission."),
        lambda o: _is_date(o.admitted_on, o.discharged_on) and o.discharged_on < o.admitted_on,
    ),
    EditCheck(
        "HOSP-STILL-IN-BUT-DISCHARGED",
        "hospitalisation",
        "still_in_hospital",
        HARD,
        _("“Still in hospital” is ticked but a discharge date is given."),
        lambda o: o.still_in_hospital and o.discharged_on is not None,
    ),
    EditCheck(
        "HOSP-ICU-DAYS-WITHOUT-ICU",
        "hospitalisation",
        "icu_days",
        HARD,
        _("Days in intensive care are given but there was no intensive care admission."),
        lambda o: bool(o.icu_days) and o.icu_admission == YesNoUnknown.NO,
    ),
    EditCheck(
        "HOSP-SHORT-STAY",
        "hospitalisation",
        "discharged_on",
        SOFT,
        _(
            "Discharged before Day 7: the protocol keeps participants in hospital at least 7 days after "
            "infusion."
        ),
        lambda o: (
            _is_date(o.discharged_on, o.participant.infusion_date)
            and (o.discharged_on - o.participant.infusion_date).days < 7
        ),
    ),
    EditCheck(
        "HOSP-NOT-WITHIN-2-HOURS",
        "hospitalisation",
        "within_2h_until_day_28",
        SOFT,
        _("The protocol asks participants to stay within 2 hours of the centre until Day 28: confirm."),
        lambda o: o.within_2h_until_day_28 == YesNoUnknown.NO,
    ),
]

END_OF_STUDY = [
    EditCheck(
        "EOS-FUTURE",
        "end_of_study",
        "end_date",
        HARD,
        _("The end of study date cannot be in the future."),
        _date_in_future("end_date"),
    ),
    EditCheck(
        "EOS-BEFORE-CONSENT",
        "end_of_study",
        "end_date",
        HARD,
        _("The end of study date cannot be before informed consent."),
        _date_before_consent("end_date"),
    ),
    EditCheck(
        "EOS-LAST-CONTACT-AFTER-END",
        "end_of_study",
        "last_contact_on",
        HARD,
        _("The last contact cannot be after the end of study date."),
        lambda o: _is_date(o.last_contact_on, o.end_date) and o.last_contact_on > o.end_date,
    ),
    EditCheck(
        "EOS-DIED-WITHOUT-DEATH-REPORT",
        "end_of_study",
        "reason",
        SOFT,
        _("The participant died: fill in the death report (an unscheduled visit holds it)."),
        _death_form_missing,
    ),
    EditCheck(
        "EOS-COMPLETED-VISITS-PENDING",
        "end_of_study",
        "reason",
        SOFT,
        _("Completed is recorded but scheduled visits are neither done, missed nor not applicable."),
        lambda o: o.reason == "completed" and _pending_scheduled_visits(o),
    ),
]

DEATH = [
    EditCheck(
        "DEATH-FUTURE",
        "death",
        "death_date",
        HARD,
        _("The date of death cannot be in the future."),
        _date_in_future("death_date"),
    ),
    EditCheck(
        "DEATH-BEFORE-CONSENT",
        "death",
        "death_date",
        HARD,
        _("The date of death cannot be before informed consent."),
        _date_before_consent("death_date"),
    ),
    EditCheck(
        "DEATH-BEFORE-A-VISIT",
        "death",
        "death_date",
        HARD,
        _("A visit is recorded after this date of death."),
        _visit_after("death_date"),
    ),
    EditCheck(
        "DEATH-RELATEDNESS-UNKNOWN",
        "death",
        "relatedness",
        SOFT,
        _("The relationship of the death to the CAR-T product is unknown: the sponsor needs an assessment."),
        lambda o: o.relatedness == "unknown",
    ),
]

CHECKS: list[EditCheck] = [
    *ELIGIBILITY,
    *DEMOGRAPHICS,
    *MEDICAL_HISTORY,
    *PHYSICAL_EXAM,
    *LYMPHODEPLETION,
    *INFUSION,
    *HOSPITALISATION,
    *END_OF_STUDY,
    *DEATH,
]

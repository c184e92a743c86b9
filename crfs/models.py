"""Case report forms: one typed model per CRF, each with a protected foreign key to its visit.

``CaseReportForm`` is the one abstract base: participant, visit, workflow status, and (from
``ClinicalRecord``) the version for optimistic locking and the entered-in-error retirement. Concrete
forms declare plain fields, ``required_for_complete`` and, where they derive values, ``derive()``.
"""

from typing import ClassVar

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from edc.integrity import RefuseWhenLocked
from edc.models import ClinicalRecord
from edc.partial_dates import precision_field

from .criteria import BY_KEY, MANUAL


class FormStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETE = "complete", _("Complete")


class CaseReportForm(ClinicalRecord):
    participant = models.ForeignKey("trials.Participant", models.PROTECT, related_name="+")
    visit = models.ForeignKey("visits.Visit", models.PROTECT, related_name="+")
    status = models.CharField(
        _("form status"), max_length=12, choices=FormStatus.choices, default=FormStatus.IN_PROGRESS
    )
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("completed by"),
    )

    # Fields that must hold a value before the form can be marked complete.
    required_for_complete: ClassVar[tuple[str, ...]] = ()
    # Reverse relations of child tables entered on the same page (rows of a ``CrfRow`` model).
    child_sets: ClassVar[tuple[str, ...]] = ()

    class Meta:
        abstract = True

    def derive(self) -> None:
        """Compute derived fields from the entered ones (via ``edc.clinical.compute``)."""

    def missing_required(self) -> list[str]:
        """Required fields without a value; one whose absence the site explained ("not done",
        "unknown", "not applicable": ``crfs.missing``) counts as answered."""
        explained = getattr(self, "_missing_reasons", {})
        return [
            name
            for name in self.required_for_complete
            if getattr(self, name) in (None, "") and not explained.get(name)
        ]

    def derived_rows(self) -> list[tuple[object, object, str]]:
        """(label, value as shown, rule version) of every derived value, for the form page."""
        return []

    def rows(self, name: str) -> list:
        """The live rows of child table ``name``: those being saved, else those stored."""
        pending = getattr(self, "_pending_rows", {})
        if name in pending:
            return pending[name]
        if self.pk is None:
            return []
        return list(getattr(self, name).filter(entered_in_error=False).order_by("pk"))

    @classmethod
    def protected(cls, name: str):
        """Database triggers every CRF carries: no hard delete."""
        return pgtrigger.Protect(name=f"{name}_no_delete", operation=pgtrigger.Delete)


class CrfRow(ClinicalRecord):
    """One row of a child table of a CRF (a prior treatment, a past condition).

    Rows are versioned and audited like their form and never deleted: removing a row from the table
    marks it entered in error with the form's reason.
    """

    class Meta:
        abstract = True


def crf_meta_constraints(name: str):
    """One instance of a single-instance form per visit (entered-in-error ones aside)."""
    return [
        models.UniqueConstraint(
            fields=["visit"], condition=models.Q(entered_in_error=False), name=f"{name}_one_per_visit"
        )
    ]


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class VitalSigns(CaseReportForm):
    """Vital signs, weight and height (height at screening)."""

    assessed_on = models.DateField(_("date"), null=True, blank=True)
    temperature_c = models.DecimalField(
        _("temperature (°C)"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    heart_rate = models.PositiveSmallIntegerField(_("heart rate (/min)"), null=True, blank=True)
    systolic_bp = models.PositiveSmallIntegerField(_("systolic BP (mmHg)"), null=True, blank=True)
    diastolic_bp = models.PositiveSmallIntegerField(_("diastolic BP (mmHg)"), null=True, blank=True)
    respiratory_rate = models.PositiveSmallIntegerField(_("respiratory rate (/min)"), null=True, blank=True)
    spo2_pct = models.PositiveSmallIntegerField(_("SpO₂ (%)"), null=True, blank=True)
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=5, decimal_places=1, null=True, blank=True)
    height_cm = models.DecimalField(_("height (cm)"), max_digits=4, decimal_places=1, null=True, blank=True)
    bmi = models.DecimalField(
        _("BMI (kg/m²)"), max_digits=4, decimal_places=1, null=True, blank=True, editable=False
    )

    required_for_complete = (
        "assessed_on",
        "temperature_c",
        "heart_rate",
        "systolic_bp",
        "diastolic_bp",
        "weight_kg",
    )

    class Meta:
        verbose_name = _("vital signs")
        verbose_name_plural = _("vital signs")
        constraints = crf_meta_constraints("vitalsigns")
        triggers = [CaseReportForm.protected("vitalsigns"), RefuseWhenLocked()]

    def derive(self):
        if self.weight_kg and self.height_cm:
            from decimal import ROUND_HALF_UP, Decimal

            metres = Decimal(self.height_cm) / 100
            self.bmi = (Decimal(self.weight_kg) / (metres * metres)).quantize(Decimal("0.1"), ROUND_HALF_UP)
        else:
            self.bmi = None


# --- Choices and columns shared by the forms below -------------------------------------------------


class YesNoUnknown(models.TextChoices):
    YES = "yes", _("Yes")
    NO = "no", _("No")
    UNKNOWN = "unknown", _("Unknown")


class Source(models.TextChoices):
    MEDICAL_RECORD = "medical_record", _("Medical record")
    LABORATORY_REPORT = "laboratory_report", _("Laboratory report")
    INTERVIEW = "interview", _("Participant interview")
    EXAMINATION = "examination", _("Investigator's examination or judgement")
    OTHER = "other", _("Other source document")


class TestResult(models.TextChoices):
    NEGATIVE = "negative", _("Negative")
    POSITIVE = "positive", _("Positive")
    NOT_DONE = "not_done", _("Not done")


class CreatinineUnit(models.TextChoices):
    MG_DL = "mg/dL", "mg/dL"
    UMOL_L = "umol/L", "µmol/L"


def answer(label):
    return models.CharField(label, max_length=7, choices=YesNoUnknown.choices, blank=True)


def computed_answer(label):
    return models.CharField(label, max_length=7, choices=YesNoUnknown.choices, blank=True, editable=False)


def source(label):
    return models.CharField(label, max_length=20, choices=Source.choices, blank=True)


def serology_result(label):
    return models.CharField(label, max_length=8, choices=TestResult.choices, blank=True)


def percent(label):
    return models.DecimalField(
        label,
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )


def tracked(model):
    return pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))(model)


# --- Eligibility checklist -------------------------------------------------------------------------


class EligibilityOutcome(models.TextChoices):
    ELIGIBLE = "eligible", _("All criteria met")
    NOT_ELIGIBLE = "not_eligible", _("Not eligible")
    UNDETERMINED = "undetermined", _("Not decided yet")


@tracked
class EligibilityChecklist(CaseReportForm):
    """Every inclusion and exclusion criterion of the registry record, answered with its source.

    The values the automatic items evaluate are entered here (or filled from this participant's data)
    so the checklist shows exactly what was evaluated; ``crfs.eligibility`` computes the items with
    ``edc.clinical.compute`` and stores each outcome with its rule version, as shown on the page.
    """

    assessed_on = models.DateField(_("date of assessment"), null=True, blank=True)

    # Values evaluated by the automatic items
    age_at_consent = models.PositiveSmallIntegerField(
        _("age at consent (years)"),
        null=True,
        blank=True,
        help_text=_(
            "From the date of birth in the source documents. Needed only when the year of birth cannot "
            "decide: someone turning 18 or 76 in the year of consent."
        ),
    )
    labs_collected_on = models.DateField(_("screening laboratory tests collected on"), null=True, blank=True)
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=5, decimal_places=1, null=True, blank=True)
    creatinine = models.DecimalField(
        _("serum creatinine"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    creatinine_unit = models.CharField(
        _("creatinine unit"), max_length=6, choices=CreatinineUnit.choices, blank=True
    )
    anc = models.DecimalField(
        _("neutrophils (× 10⁹/L)"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    haemoglobin = models.DecimalField(
        _("haemoglobin (g/L)"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    alt = models.DecimalField(_("ALT (U/L)"), max_digits=7, decimal_places=1, null=True, blank=True)
    alt_uln = models.DecimalField(_("ALT ULN (U/L)"), max_digits=7, decimal_places=1, null=True, blank=True)
    ast = models.DecimalField(_("AST (U/L)"), max_digits=7, decimal_places=1, null=True, blank=True)
    ast_uln = models.DecimalField(_("AST ULN (U/L)"), max_digits=7, decimal_places=1, null=True, blank=True)
    bilirubin = models.DecimalField(
        _("total bilirubin"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    bilirubin_uln = models.DecimalField(
        _("total bilirubin ULN (same unit)"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    inr = models.DecimalField(_("INR"), max_digits=4, decimal_places=2, null=True, blank=True)
    pt = models.DecimalField(_("prothrombin time (s)"), max_digits=5, decimal_places=1, null=True, blank=True)
    pt_uln = models.DecimalField(
        _("prothrombin time ULN (s)"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    neutropenia_due_to_sle = models.BooleanField(
        _("low neutrophils caused by SLE (investigator)"), default=False
    )
    liver_abnormality_due_to_sle = models.BooleanField(
        _("ALT, AST or bilirubin elevation caused by SLE (investigator)"), default=False
    )
    crcl_reduction_due_to_sle = models.BooleanField(
        _("creatinine clearance reduction caused by SLE (investigator)"), default=False
    )
    selena_sledai = models.PositiveSmallIntegerField(_("SELENA-SLEDAI score"), null=True, blank=True)
    bilag_a = models.PositiveSmallIntegerField(_("number of BILAG-2004 A scores"), null=True, blank=True)
    bilag_b = models.PositiveSmallIntegerField(_("number of BILAG-2004 B scores"), null=True, blank=True)
    hbsag = serology_result(_("HBsAg"))
    hbcab = serology_result(_("HBcAb"))
    hbv_dna = serology_result(_("HBV DNA above the limit of detection"))
    hcv_ab = serology_result(_("HCV antibody"))
    hcv_rna = serology_result(_("HCV RNA"))
    hiv_ab = serology_result(_("HIV antibody"))
    syphilis = serology_result(_("syphilis test"))
    childbearing_potential = answer(_("woman of childbearing potential"))
    pregnancy_test_on = models.DateField(_("serum HCG test date"), null=True, blank=True)
    pregnancy_test_result = models.CharField(
        _("serum HCG result"),
        max_length=8,
        choices=[
            (TestResult.NEGATIVE, TestResult.NEGATIVE.label),
            (TestResult.POSITIVE, TestResult.POSITIVE.label),
        ],
        blank=True,
    )

    # Automatic items (crfs.criteria), derived
    inc_age = computed_answer(_("age 18–75"))
    inc_refractory = computed_answer(_("treatment refractory"))
    inc_disease_activity = computed_answer(_("disease activity"))
    inc_anc = computed_answer(_("neutrophils"))
    inc_haemoglobin = computed_answer(_("haemoglobin"))
    inc_alt = computed_answer(_("ALT"))
    inc_ast = computed_answer(_("AST"))
    inc_bilirubin = computed_answer(_("bilirubin"))
    inc_crcl = computed_answer(_("creatinine clearance"))
    inc_inr = computed_answer(_("INR"))
    inc_pt = computed_answer(_("prothrombin time"))
    inc_pregnancy_test = computed_answer(_("pregnancy test"))
    inc_consent = computed_answer(_("informed consent"))
    exc_hbv = computed_answer(_("hepatitis B"))
    exc_hcv = computed_answer(_("hepatitis C"))
    exc_hiv = computed_answer(_("HIV"))
    exc_syphilis = computed_answer(_("syphilis"))

    # Items the investigator answers, each with its source
    inc_sle_classification = answer(_("2019 EULAR/ACR classification"))
    inc_sle_classification_source = source(_("2019 EULAR/ACR classification: source"))
    inc_no_csf = answer(_("no colony-stimulating factor"))
    inc_no_csf_source = source(_("no colony-stimulating factor: source"))
    inc_haemodynamically_stable = answer(_("haemodynamically stable"))
    inc_haemodynamically_stable_source = source(_("haemodynamically stable: source"))
    inc_contraception = answer(_("contraception"))
    inc_contraception_source = source(_("contraception: source"))
    inc_not_breastfeeding = answer(_("not breastfeeding"))
    inc_not_breastfeeding_source = source(_("not breastfeeding: source"))
    inc_compliance = answer(_("expected compliance"))
    inc_compliance_source = source(_("expected compliance: source"))
    exc_drug_allergy = answer(_("severe drug allergy"))
    exc_drug_allergy_source = source(_("severe drug allergy: source"))
    exc_infection = answer(_("uncontrolled infection"))
    exc_infection_source = source(_("uncontrolled infection: source"))
    exc_cardiac = answer(_("insufficient cardiac function"))
    exc_cardiac_source = source(_("insufficient cardiac function: source"))
    exc_congenital_ig_deficiency = answer(_("congenital immunoglobulin deficiency"))
    exc_congenital_ig_deficiency_source = source(_("congenital immunoglobulin deficiency: source"))
    exc_malignancy = answer(_("malignancy within 5 years"))
    exc_malignancy_source = source(_("malignancy within 5 years: source"))
    exc_esrd = answer(_("end-stage renal failure"))
    exc_esrd_source = source(_("end-stage renal failure: source"))
    exc_mental_illness = answer(_("mental illness or cognitive impairment"))
    exc_mental_illness_source = source(_("mental illness or cognitive impairment: source"))
    exc_recent_immunosuppression = answer(_("recent immunosuppressant or biologic"))
    exc_recent_immunosuppression_source = source(_("recent immunosuppressant or biologic: source"))
    exc_pregnancy = answer(_("pregnant or planning pregnancy"))
    exc_pregnancy_source = source(_("pregnant or planning pregnancy: source"))
    exc_investigator = answer(_("other condition (investigator)"))
    exc_investigator_source = source(_("other condition (investigator): source"))

    # Derived summary, stored as shown
    crcl_ml_min = models.DecimalField(
        _("creatinine clearance (mL/min)"),
        max_digits=6,
        decimal_places=1,
        null=True,
        blank=True,
        editable=False,
    )
    automatic_results = models.JSONField(_("automatic items as computed"), default=dict, editable=False)
    outcome = models.CharField(
        _("eligibility"),
        max_length=12,
        choices=EligibilityOutcome.choices,
        default=EligibilityOutcome.UNDETERMINED,
        editable=False,
    )
    unmet_criteria = models.JSONField(_("criteria not met"), default=list, editable=False)

    required_for_complete = (
        "assessed_on",
        "labs_collected_on",
        "weight_kg",
        "creatinine",
        "creatinine_unit",
        "anc",
        "haemoglobin",
        "alt",
        "alt_uln",
        "ast",
        "ast_uln",
        "bilirubin",
        "bilirubin_uln",
        "inr",
        "pt",
        "pt_uln",
        "selena_sledai",
        "bilag_a",
        "bilag_b",
        "hbsag",
        "hbcab",
        "hcv_ab",
        "hiv_ab",
        "syphilis",
    )

    class Meta:
        verbose_name = _("eligibility checklist")
        verbose_name_plural = _("eligibility checklists")
        constraints = crf_meta_constraints("eligibilitychecklist")
        triggers = [CaseReportForm.protected("eligibilitychecklist"), RefuseWhenLocked()]

    def missing_required(self):
        missing = super().missing_required()
        for criterion in MANUAL:
            missing += [n for n in (criterion.key, f"{criterion.key}_source") if not getattr(self, n)]
        if TestResult.POSITIVE in (self.hbsag, self.hbcab) and not self.hbv_dna:
            missing.append("hbv_dna")
        if self.hcv_ab == TestResult.POSITIVE and not self.hcv_rna:
            missing.append("hcv_rna")
        if self.participant.sex == "F" and not self.childbearing_potential:
            missing.append("childbearing_potential")
        if self.childbearing_potential == YesNoUnknown.YES:
            missing += [n for n in ("pregnancy_test_on", "pregnancy_test_result") if not getattr(self, n)]
        return missing

    def derive(self):
        from django.utils import translation

        from .eligibility import evaluate

        with translation.override("en"):  # stored as English ids and values, shown in either language
            evaluation = evaluate(self)
        for key, item in evaluation.automatic.items():
            setattr(self, key, item.answer)
        self.automatic_results = {key: item.as_json() for key, item in evaluation.automatic.items()}
        self.crcl_ml_min = evaluation.crcl_ml_min
        self.outcome = evaluation.outcome
        self.unmet_criteria = evaluation.unmet

    def derived_rows(self):
        """The outcome; each automatic item is shown with its criterion in the criteria table."""
        crcl = self.automatic_results.get("inc_crcl", {})
        rows = [(_("Creatinine clearance (mL/min)"), self.crcl_ml_min, crcl.get("rule_version", ""))]
        if self.unmet_criteria:
            unmet = "; ".join(str(BY_KEY[k].label) for k in self.unmet_criteria if k in BY_KEY)
            rows.append((_("Criteria not met"), unmet, ""))
        rows.append((_("Eligibility"), self.get_outcome_display(), ""))
        return rows


# --- Demographics and SLE history ------------------------------------------------------------------


class Ethnicity(models.TextChoices):
    HAN = "han", _("Han Chinese")
    OTHER_CHINESE = "other_chinese", _("Other Chinese ethnic group")
    OTHER = "other", _("Other (specify)")
    NOT_REPORTED = "not_reported", _("Not reported")


class NephritisClass(models.TextChoices):
    NONE = "none", _("No lupus nephritis")
    NOT_BIOPSIED = "not_biopsied", _("Lupus nephritis, not biopsied")
    I = "I", _("ISN/RPS class I")  # noqa: E741
    II = "II", _("ISN/RPS class II")
    III = "III", _("ISN/RPS class III")
    IV = "IV", _("ISN/RPS class IV")
    V = "V", _("ISN/RPS class V")
    VI = "VI", _("ISN/RPS class VI")
    III_V = "III+V", _("ISN/RPS class III + V")
    IV_V = "IV+V", _("ISN/RPS class IV + V")


@tracked
class Demographics(CaseReportForm):
    """Demographics and SLE history, with the prior-treatment log the refractoriness rule reads."""

    assessed_on = models.DateField(_("date"), null=True, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=[("F", _("Female")), ("M", _("Male"))], blank=True)
    year_of_birth = models.PositiveSmallIntegerField(_("year of birth"), null=True, blank=True)
    ethnicity = models.CharField(_("ethnicity"), max_length=16, choices=Ethnicity.choices, blank=True)
    ethnicity_other = models.CharField(_("ethnicity (specify)"), max_length=100, blank=True)
    diagnosis_date = models.DateField(_("date of SLE diagnosis"), null=True, blank=True)

    # Domains of the 2019 EULAR/ACR classification criteria ever met
    # (Aringer M et al., Ann Rheum Dis 2019;78:1151-9)
    eular_acr_ana = models.BooleanField(_("entry criterion: ANA ≥ 1:80 on HEp-2 cells ever"), default=False)
    domain_constitutional = models.BooleanField(_("constitutional (fever)"), default=False)
    domain_haematological = models.BooleanField(_("haematological"), default=False)
    domain_neuropsychiatric = models.BooleanField(_("neuropsychiatric"), default=False)
    domain_mucocutaneous = models.BooleanField(_("mucocutaneous"), default=False)
    domain_serosal = models.BooleanField(_("serosal"), default=False)
    domain_musculoskeletal = models.BooleanField(_("musculoskeletal"), default=False)
    domain_renal = models.BooleanField(_("renal"), default=False)
    domain_antiphospholipid = models.BooleanField(_("antiphospholipid antibodies"), default=False)
    domain_complement = models.BooleanField(_("low complement (C3 and/or C4)"), default=False)
    domain_sle_antibodies = models.BooleanField(
        _("SLE-specific antibodies (anti-dsDNA, anti-Smith)"), default=False
    )

    # Organ involvement ever (BILAG-2004 systems)
    organ_constitutional = models.BooleanField(_("constitutional"), default=False)
    organ_mucocutaneous = models.BooleanField(_("mucocutaneous"), default=False)
    organ_neuropsychiatric = models.BooleanField(_("neuropsychiatric"), default=False)
    organ_musculoskeletal = models.BooleanField(_("musculoskeletal"), default=False)
    organ_cardiorespiratory = models.BooleanField(_("cardiorespiratory"), default=False)
    organ_gastrointestinal = models.BooleanField(_("gastrointestinal"), default=False)
    organ_ophthalmic = models.BooleanField(_("ophthalmic"), default=False)
    organ_renal = models.BooleanField(_("renal"), default=False)
    organ_haematological = models.BooleanField(_("haematological"), default=False)

    nephritis_class = models.CharField(
        _("lupus nephritis class (latest biopsy)"), max_length=12, choices=NephritisClass.choices, blank=True
    )
    nephritis_biopsy_on = models.DateField(_("date of the latest renal biopsy"), null=True, blank=True)

    required_for_complete = (
        "assessed_on",
        "sex",
        "year_of_birth",
        "ethnicity",
        "diagnosis_date",
        "nephritis_class",
    )
    child_sets = ("prior_treatments",)

    class Meta:
        verbose_name = _("demographics and SLE history")
        verbose_name_plural = _("demographics and SLE history")
        constraints = crf_meta_constraints("demographics")
        triggers = [CaseReportForm.protected("demographics"), RefuseWhenLocked()]

    def missing_required(self):
        missing = super().missing_required()
        if self.ethnicity == Ethnicity.OTHER and not self.ethnicity_other.strip():
            missing.append("ethnicity_other")
        for row in self.rows("prior_treatments"):
            if not row.start_date or not row.reason_stopped:
                missing.append("prior_treatments")
                break
        return missing


class Agent(models.TextChoices):
    HYDROXYCHLOROQUINE = "hydroxychloroquine", _("Hydroxychloroquine")
    GLUCOCORTICOID = "glucocorticoid", _("Glucocorticoid")
    MYCOPHENOLATE = "mycophenolate", _("Mycophenolate")
    CYCLOPHOSPHAMIDE = "cyclophosphamide", _("Cyclophosphamide")
    AZATHIOPRINE = "azathioprine", _("Azathioprine")
    METHOTREXATE = "methotrexate", _("Methotrexate")
    TACROLIMUS = "tacrolimus", _("Tacrolimus")
    CICLOSPORIN = "ciclosporin", _("Ciclosporin")
    LEFLUNOMIDE = "leflunomide", _("Leflunomide")
    BELIMUMAB = "belimumab", _("Belimumab")
    TELITACICEPT = "telitacicept", _("Telitacicept")
    RITUXIMAB = "rituximab", _("Rituximab")
    ANIFROLUMAB = "anifrolumab", _("Anifrolumab")
    VOCLOSPORIN = "voclosporin", _("Voclosporin")
    OTHER = "other", _("Other (specify)")


class ReasonStopped(models.TextChoices):
    INEFFICACY = "inefficacy", _("Stopped: inefficacy")
    INTOLERANCE = "intolerance", _("Stopped: intolerance")
    OTHER = "other", _("Stopped: other reason")
    ONGOING_INEFFICACY = "ongoing_inefficacy", _("Continuing despite inefficacy")
    ONGOING = "ongoing", _("Continuing")


@tracked
class PriorTreatment(CrfRow):
    """One SLE treatment before screening (clinical-rules.md decision 9 reads these rows)."""

    form = models.ForeignKey(Demographics, models.PROTECT, related_name="prior_treatments")
    agent = models.CharField(_("agent"), max_length=20, choices=Agent.choices)
    agent_other = models.CharField(_("other agent"), max_length=100, blank=True)
    start_date = models.DateField(_("start"), null=True, blank=True)
    start_date_precision = precision_field(_("start known to"))
    stop_date = models.DateField(_("stop"), null=True, blank=True)
    dose = models.CharField(_("dose and frequency"), max_length=100, blank=True)
    reason_stopped = models.CharField(
        _("reason stopped"), max_length=20, choices=ReasonStopped.choices, blank=True
    )

    class Meta:
        verbose_name = _("prior treatment")
        verbose_name_plural = _("prior treatments")
        triggers = [CaseReportForm.protected("priortreatment"), RefuseWhenLocked(parent="form")]

    def __str__(self):
        return self.agent_name

    @property
    def agent_name(self) -> str:
        return self.agent_other.strip() if self.agent == Agent.OTHER else str(Agent(self.agent).label)


# --- Medical history and physical examination ------------------------------------------------------


@tracked
class MedicalHistory(CaseReportForm):
    """Conditions other than SLE, past and present."""

    assessed_on = models.DateField(_("date"), null=True, blank=True)
    any_condition = answer(_("any relevant medical history other than SLE"))

    required_for_complete = ("assessed_on", "any_condition")
    child_sets = ("conditions",)

    class Meta:
        verbose_name = _("medical history")
        verbose_name_plural = _("medical histories")
        constraints = crf_meta_constraints("medicalhistory")
        triggers = [CaseReportForm.protected("medicalhistory"), RefuseWhenLocked()]

    def missing_required(self):
        missing = super().missing_required()
        if self.any_condition == YesNoUnknown.YES and not self.rows("conditions"):
            missing.append("conditions")
        return missing


@tracked
class MedicalCondition(CrfRow):
    form = models.ForeignKey(MedicalHistory, models.PROTECT, related_name="conditions")
    condition = models.CharField(_("condition"), max_length=200)
    start_date = models.DateField(_("start"), null=True, blank=True)
    start_date_precision = precision_field(_("start known to"))
    ongoing = models.BooleanField(_("ongoing"), default=False)
    end_date = models.DateField(_("end"), null=True, blank=True)

    class Meta:
        verbose_name = _("condition")
        verbose_name_plural = _("conditions")
        triggers = [CaseReportForm.protected("medicalcondition"), RefuseWhenLocked(parent="form")]

    def __str__(self):
        return self.condition


class ExamResult(models.TextChoices):
    NORMAL = "normal", _("Normal")
    ABNORMAL = "abnormal", _("Abnormal")
    NOT_DONE = "not_done", _("Not done")


def exam(label):
    return models.CharField(label, max_length=8, choices=ExamResult.choices, blank=True)


def findings(label):
    return models.TextField(label, blank=True)


@tracked
class PhysicalExam(CaseReportForm):
    """Per body system normal / abnormal / not done, with the findings of abnormal systems."""

    SYSTEMS = (
        "general",
        "skin",
        "head_neck",
        "lymph_nodes",
        "cardiovascular",
        "respiratory",
        "abdomen",
        "musculoskeletal",
        "neurological",
    )

    assessed_on = models.DateField(_("date"), null=True, blank=True)
    general = exam(_("general appearance"))
    general_findings = findings(_("general appearance: findings"))
    skin = exam(_("skin and mucosa"))
    skin_findings = findings(_("skin and mucosa: findings"))
    head_neck = exam(_("head, eyes, ears, nose, throat"))
    head_neck_findings = findings(_("head, eyes, ears, nose, throat: findings"))
    lymph_nodes = exam(_("lymph nodes"))
    lymph_nodes_findings = findings(_("lymph nodes: findings"))
    cardiovascular = exam(_("cardiovascular"))
    cardiovascular_findings = findings(_("cardiovascular: findings"))
    respiratory = exam(_("respiratory"))
    respiratory_findings = findings(_("respiratory: findings"))
    abdomen = exam(_("abdomen"))
    abdomen_findings = findings(_("abdomen: findings"))
    musculoskeletal = exam(_("musculoskeletal"))
    musculoskeletal_findings = findings(_("musculoskeletal: findings"))
    neurological = exam(_("neurological"))
    neurological_findings = findings(_("neurological: findings"))

    required_for_complete = ("assessed_on", *SYSTEMS)

    class Meta:
        verbose_name = _("physical examination")
        verbose_name_plural = _("physical examinations")
        constraints = crf_meta_constraints("physicalexam")
        triggers = [CaseReportForm.protected("physicalexam"), RefuseWhenLocked()]

    def missing_required(self):
        missing = super().missing_required()
        return missing + [
            f"{system}_findings"
            for system in self.SYSTEMS
            if getattr(self, system) == ExamResult.ABNORMAL
            and not getattr(self, f"{system}_findings").strip()
        ]


# --- Lymphodepletion and CAR-T infusion ------------------------------------------------------------


class RenalDoseDecision(models.TextChoices):
    REDUCED = "reduced", _("Fludarabine reduced for renal function")
    FULL_DOSE = "full_dose", _("Full dose confirmed by the investigator")


@tracked
class Lymphodepletion(CaseReportForm):
    """One day of fludarabine / cyclophosphamide (clinical-rules.md section 11), planned and given.

    BSA comes from the latest height and weight on the vital signs forms (decision 15, Mosteller);
    creatinine clearance from the creatinine entered here, for the renal dose check of fludarabine.
    """

    assessed_on = models.DateField(_("date given"), null=True, blank=True)
    fludarabine_planned_mg_m2 = models.DecimalField(
        _("fludarabine planned (mg/m²)"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    fludarabine_given_mg = models.DecimalField(
        _("fludarabine given (mg)"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    cyclophosphamide_planned_mg_m2 = models.DecimalField(
        _("cyclophosphamide planned (mg/m²)"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    cyclophosphamide_given_mg = models.DecimalField(
        _("cyclophosphamide given (mg)"), max_digits=7, decimal_places=1, null=True, blank=True
    )
    creatinine = models.DecimalField(
        _("latest serum creatinine"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    creatinine_unit = models.CharField(
        _("creatinine unit"), max_length=6, choices=CreatinineUnit.choices, blank=True
    )
    fludarabine_renal_decision = models.CharField(
        _("fludarabine and renal function"), max_length=10, choices=RenalDoseDecision.choices, blank=True
    )

    # Derived, stored as used for the dose
    height_cm = models.DecimalField(
        _("height used (cm)"), max_digits=4, decimal_places=1, null=True, blank=True, editable=False
    )
    weight_kg = models.DecimalField(
        _("weight used (kg)"), max_digits=5, decimal_places=1, null=True, blank=True, editable=False
    )
    weight_measured_on = models.DateField(_("weight measured on"), null=True, blank=True, editable=False)
    bsa_m2 = models.DecimalField(
        _("BSA (m²)"), max_digits=4, decimal_places=2, null=True, blank=True, editable=False
    )
    dosing_bsa_m2 = models.DecimalField(
        _("BSA used for dosing (m²)"), max_digits=4, decimal_places=2, null=True, blank=True, editable=False
    )
    fludarabine_planned_mg = models.DecimalField(
        _("fludarabine planned (mg)"), max_digits=8, decimal_places=1, null=True, blank=True, editable=False
    )
    fludarabine_given_mg_m2 = models.DecimalField(
        _("fludarabine given (mg/m²)"), max_digits=8, decimal_places=1, null=True, blank=True, editable=False
    )
    cyclophosphamide_planned_mg = models.DecimalField(
        _("cyclophosphamide planned (mg)"),
        max_digits=9,
        decimal_places=1,
        null=True,
        blank=True,
        editable=False,
    )
    cyclophosphamide_given_mg_m2 = models.DecimalField(
        _("cyclophosphamide given (mg/m²)"),
        max_digits=9,
        decimal_places=1,
        null=True,
        blank=True,
        editable=False,
    )
    crcl_ml_min = models.DecimalField(
        _("creatinine clearance (mL/min)"),
        max_digits=7,
        decimal_places=1,
        null=True,
        blank=True,
        editable=False,
    )
    rule_versions = models.JSONField(_("rule versions"), default=dict, editable=False)

    required_for_complete = (
        "assessed_on",
        "fludarabine_planned_mg_m2",
        "fludarabine_given_mg",
        "cyclophosphamide_planned_mg_m2",
        "cyclophosphamide_given_mg",
    )

    class Meta:
        verbose_name = _("lymphodepletion")
        verbose_name_plural = _("lymphodepletion")
        constraints = crf_meta_constraints("lymphodepletion")
        triggers = [CaseReportForm.protected("lymphodepletion"), RefuseWhenLocked()]

    def derive(self):
        from .dosing import derive_lymphodepletion

        derive_lymphodepletion(self)

    def derived_rows(self):
        versions = self.rule_versions or {}
        bsa_version = versions.get("bsa", "")
        weight = (
            _("%(height)s cm, %(weight)s kg (%(on)s)")
            % {"height": self.height_cm, "weight": self.weight_kg, "on": self.weight_measured_on}
            if self.weight_kg and self.height_cm
            else _("no height and weight on the vital signs forms yet")
        )
        return [
            (_("Height and weight used"), weight, ""),
            (_("BSA (m²)"), self.bsa_m2, bsa_version),
            (_("Fludarabine planned (mg)"), self.fludarabine_planned_mg, bsa_version),
            (_("Fludarabine given (mg/m²)"), self.fludarabine_given_mg_m2, bsa_version),
            (_("Cyclophosphamide planned (mg)"), self.cyclophosphamide_planned_mg, bsa_version),
            (_("Cyclophosphamide given (mg/m²)"), self.cyclophosphamide_given_mg_m2, bsa_version),
            (_("Creatinine clearance (mL/min)"), self.crcl_ml_min, versions.get("crcl", "")),
        ]


def vital(label, digits=3, places=0):
    if places:
        return models.DecimalField(label, max_digits=digits, decimal_places=places, null=True, blank=True)
    return models.PositiveSmallIntegerField(label, null=True, blank=True)


@tracked
class Infusion(CaseReportForm):
    """The CAR-T infusion (Day 0): product, dose delivered against the planned dose level, vitals.

    Saving it with a date records Day 0 through ``trials.services.record_infusion`` in the same
    transaction, which re-anchors the schedule.
    """

    infusion_date = models.DateField(_("infusion date (Day 0)"), null=True, blank=True)
    product_lot = models.CharField(_("product lot"), max_length=40, blank=True)
    bag_id = models.CharField(_("bag identifier(s)"), max_length=80, blank=True)
    total_nucleated_cells = models.DecimalField(
        _("total nucleated cells"),
        max_digits=16,
        decimal_places=0,
        null=True,
        blank=True,
        help_text=_("Whole cells; scientific notation is accepted (e.g. 2.5e8)."),
    )
    viability_pct = percent(_("viability (%)"))
    car_positive_pct = percent(_("CAR⁺ cells (%)"))
    dosing_weight_kg = models.DecimalField(
        _("dosing weight (kg)"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    dosing_weight_on = models.DateField(_("dosing weight measured on"), null=True, blank=True)
    infusion_start = models.TimeField(_("infusion start"), null=True, blank=True)
    infusion_stop = models.TimeField(_("infusion stop"), null=True, blank=True)
    volume_ml = models.DecimalField(
        _("volume infused (mL)"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    premedication_paracetamol = models.BooleanField(_("premedication: paracetamol"), default=False)
    premedication_antihistamine = models.BooleanField(_("premedication: antihistamine"), default=False)
    premedication_systemic_steroid = models.BooleanField(_("premedication: systemic steroid"), default=False)
    premedication_other = models.CharField(_("premedication: other"), max_length=200, blank=True)
    pre_temperature_c = vital(_("before: temperature (°C)"), 4, 1)
    pre_heart_rate = vital(_("before: heart rate (/min)"))
    pre_systolic_bp = vital(_("before: systolic BP (mmHg)"))
    pre_diastolic_bp = vital(_("before: diastolic BP (mmHg)"))
    pre_spo2_pct = vital(_("before: SpO₂ (%)"))
    post_temperature_c = vital(_("after: temperature (°C)"), 4, 1)
    post_heart_rate = vital(_("after: heart rate (/min)"))
    post_systolic_bp = vital(_("after: systolic BP (mmHg)"))
    post_diastolic_bp = vital(_("after: diastolic BP (mmHg)"))
    post_spo2_pct = vital(_("after: SpO₂ (%)"))
    reaction = answer(_("infusion reaction"))
    reaction_description = models.TextField(_("infusion reaction: description"), blank=True)

    # Derived (car_t_dose), stored as shown
    car_positive_viable_cells = models.DecimalField(
        _("CAR⁺ viable cells infused"), max_digits=16, decimal_places=0, null=True, blank=True, editable=False
    )
    dose_per_kg = models.DecimalField(
        _("CAR⁺ viable cells per kg"), max_digits=16, decimal_places=0, null=True, blank=True, editable=False
    )
    planned_dose_per_kg = models.DecimalField(
        _("planned CAR⁺ cells per kg"), max_digits=20, decimal_places=0, null=True, blank=True, editable=False
    )
    deviation_pct = models.DecimalField(
        _("deviation from the planned dose (%)"),
        max_digits=16,
        decimal_places=1,
        null=True,
        blank=True,
        editable=False,
    )
    dose_deviation = models.BooleanField(_("dose deviation"), null=True, blank=True, editable=False)
    dose_rule_version = models.CharField(_("dose rule version"), max_length=40, blank=True, editable=False)

    required_for_complete = (
        "infusion_date",
        "product_lot",
        "bag_id",
        "total_nucleated_cells",
        "viability_pct",
        "car_positive_pct",
        "dosing_weight_kg",
        "dosing_weight_on",
        "infusion_start",
        "infusion_stop",
        "pre_temperature_c",
        "pre_heart_rate",
        "pre_systolic_bp",
        "post_temperature_c",
        "post_heart_rate",
        "post_systolic_bp",
        "reaction",
    )

    class Meta:
        verbose_name = _("CAR-T infusion")
        verbose_name_plural = _("CAR-T infusions")
        constraints = crf_meta_constraints("infusion")
        triggers = [CaseReportForm.protected("infusion"), RefuseWhenLocked()]

    def missing_required(self):
        missing = super().missing_required()
        if self.reaction == YesNoUnknown.YES and not self.reaction_description.strip():
            missing.append("reaction_description")
        return missing

    def derive(self):
        from .dosing import derive_car_t_dose

        derive_car_t_dose(self)

    def derived_rows(self):
        deviation = "—"
        if self.deviation_pct is not None:
            deviation = f"{self.deviation_pct:+} %" + (f" · {_('deviation')}" if self.dose_deviation else "")
        return [
            (_("CAR⁺ viable cells infused"), _sci(self.car_positive_viable_cells), self.dose_rule_version),
            (_("CAR⁺ viable cells per kg"), _sci(self.dose_per_kg), self.dose_rule_version),
            (_("Planned (dose level)"), _sci(self.planned_dose_per_kg), ""),
            (_("Deviation from plan"), deviation, self.dose_rule_version),
        ]


def _sci(value) -> str:
    return "—" if value is None else f"{value:.3E}"


# --- Hospitalisation, end of study, death ----------------------------------------------------------


class AdmissionReason(models.TextChoices):
    CAR_T_MONITORING = "car_t_monitoring", _("Planned monitoring after CAR-T infusion")
    CRS = "crs", _("Cytokine release syndrome")
    ICANS = "icans", _("ICANS")
    INFECTION = "infection", _("Infection")
    SLE_FLARE = "sle_flare", _("SLE flare")
    OTHER = "other", _("Other (specify)")


class DischargeDestination(models.TextChoices):
    HOME_WITHIN_2H = "home_within_2h", _("Home or lodging within 2 hours of the centre")
    HOME_FARTHER = "home_farther", _("Home more than 2 hours from the centre")
    OTHER_HOSPITAL = "other_hospital", _("Transferred to another hospital")
    DIED = "died", _("Died in hospital")
    OTHER = "other", _("Other")


@tracked
class Hospitalisation(CaseReportForm):
    """The post-infusion stay (at least 7 days in this protocol) and the discharge."""

    admitted_on = models.DateField(_("admitted on"), null=True, blank=True)
    reason = models.CharField(
        _("reason for admission"), max_length=20, choices=AdmissionReason.choices, blank=True
    )
    reason_other = models.CharField(_("reason (specify)"), max_length=200, blank=True)
    icu_admission = answer(_("intensive care admission"))
    icu_days = models.PositiveSmallIntegerField(_("days in intensive care"), null=True, blank=True)
    still_in_hospital = models.BooleanField(_("still in hospital"), default=False)
    discharged_on = models.DateField(_("discharged on"), null=True, blank=True)
    discharge_destination = models.CharField(
        _("discharge destination"), max_length=16, choices=DischargeDestination.choices, blank=True
    )
    within_2h_until_day_28 = answer(_("stays within 2 hours of the centre until Day 28"))

    required_for_complete = ("admitted_on", "reason", "icu_admission")

    class Meta:
        verbose_name = _("hospitalisation and discharge")
        verbose_name_plural = _("hospitalisations and discharges")
        constraints = crf_meta_constraints("hospitalisation")
        triggers = [CaseReportForm.protected("hospitalisation"), RefuseWhenLocked()]

    def missing_required(self):
        missing = super().missing_required()
        if not self.still_in_hospital:
            missing += [
                n
                for n in ("discharged_on", "discharge_destination", "within_2h_until_day_28")
                if not getattr(self, n)
            ]
        if self.reason == AdmissionReason.OTHER and not self.reason_other.strip():
            missing.append("reason_other")
        return missing


class EndOfStudyReason(models.TextChoices):
    COMPLETED = "completed", _("Completed the study")
    WITHDREW_CONSENT = "withdrew_consent", _("Early termination: withdrew consent")
    LOST_TO_FOLLOW_UP = "lost_to_follow_up", _("Early termination: lost to follow-up")
    ADVERSE_EVENT = "adverse_event", _("Early termination: adverse event")
    INVESTIGATOR = "investigator", _("Early termination: investigator's decision")
    SPONSOR = "sponsor", _("Early termination: sponsor's decision")
    DIED = "died", _("Died")
    OTHER = "other", _("Early termination: other reason")


@tracked
class EndOfStudy(CaseReportForm):
    """Completion or early termination. Marking it complete ends the participation."""

    end_date = models.DateField(_("end of study date"), null=True, blank=True)
    reason = models.CharField(_("end of study"), max_length=20, choices=EndOfStudyReason.choices, blank=True)
    details = models.TextField(_("details"), blank=True)
    last_contact_on = models.DateField(_("last contact"), null=True, blank=True)

    required_for_complete = ("end_date", "reason", "last_contact_on")

    class Meta:
        verbose_name = _("end of study")
        verbose_name_plural = _("end of study")
        constraints = crf_meta_constraints("endofstudy")
        triggers = [CaseReportForm.protected("endofstudy"), RefuseWhenLocked()]

    def missing_required(self):
        missing = super().missing_required()
        if (
            self.reason not in ("", EndOfStudyReason.COMPLETED, EndOfStudyReason.DIED)
            and not self.details.strip()
        ):
            missing.append("details")
        return missing


class DeathCause(models.TextChoices):
    SLE = "sle", _("SLE")
    INFECTION = "infection", _("Infection")
    CRS = "crs", _("Cytokine release syndrome")
    ICANS = "icans", _("ICANS")
    HAEMATOLOGICAL = "haematological", _("Haematological toxicity")
    OTHER_ADVERSE_EVENT = "other_adverse_event", _("Other adverse event")
    MALIGNANCY = "malignancy", _("Malignancy")
    OTHER = "other", _("Other")
    UNKNOWN = "unknown", _("Unknown")


class Relatedness(models.TextChoices):
    RELATED = "related", _("Related")
    POSSIBLY = "possibly", _("Possibly related")
    UNLIKELY = "unlikely", _("Unlikely related")
    NOT_RELATED = "not_related", _("Not related")
    UNKNOWN = "unknown", _("Unknown")


@tracked
class Death(CaseReportForm):
    """The death report. Marking it complete records the death on the participant."""

    death_date = models.DateField(_("date of death"), null=True, blank=True)
    primary_cause = models.CharField(
        _("primary cause"), max_length=20, choices=DeathCause.choices, blank=True
    )
    cause_description = models.TextField(_("cause of death"), blank=True)
    relatedness = models.CharField(
        _("relationship to the CAR-T product"), max_length=12, choices=Relatedness.choices, blank=True
    )
    autopsy = answer(_("autopsy performed"))
    information_source = source(_("source of the information"))

    required_for_complete = (
        "death_date",
        "primary_cause",
        "cause_description",
        "relatedness",
        "information_source",
    )

    class Meta:
        verbose_name = _("death")
        verbose_name_plural = _("deaths")
        constraints = crf_meta_constraints("death")
        triggers = [CaseReportForm.protected("death"), RefuseWhenLocked()]


# --- Missing data said properly ---------------------------------------------------------------------


class MissingReason(models.TextChoices):
    NOT_DONE = "not_done", _("Not done")
    UNKNOWN = "unknown", _("Unknown")
    NOT_APPLICABLE = "not_applicable", _("Not applicable")


@tracked
class MissingValue(models.Model):
    """Why a field of a form has no value: "not done", "unknown" or "not applicable", as the protocol
    allows for that field (``settings.missing_data``). An empty reason is one withdrawn (rows are never
    deleted, so the audit trail keeps every reason given)."""

    content_type = models.ForeignKey("contenttypes.ContentType", models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    form = GenericForeignKey("content_type", "object_id")
    field_name = models.CharField(_("field"), max_length=64)
    reason = models.CharField(_("reason missing"), max_length=16, choices=MissingReason.choices, blank=True)

    class Meta:
        verbose_name = _("missing value")
        verbose_name_plural = _("missing values")
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "field_name"], name="missing_value_one_per_field"
            )
        ]
        triggers = [
            pgtrigger.Protect(name="missing_value_no_delete", operation=pgtrigger.Delete),
            RefuseWhenLocked(parent="form"),  # a reason is part of its form: locked with it
        ]

    def __str__(self):
        return f"{self.field_name}: {self.get_reason_display()}"

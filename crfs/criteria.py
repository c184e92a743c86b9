"""The eligibility criteria of the registry record NCT07274059, one entry per checklist item.

Plain data: the checklist model declares one answer column per key (and a source column for the
items the investigator answers), the evaluation walks this list, and the page shows it in this order.
Inclusion items must all be answered *yes*, exclusion items all *no*.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

INCLUSION, EXCLUSION = "inclusion", "exclusion"


@dataclass(frozen=True)
class Criterion:
    key: str
    kind: str
    label: object
    automatic: bool = False  # computed from the values entered on the checklist

    @property
    def required_answer(self) -> str:
        return "yes" if self.kind == INCLUSION else "no"


CRITERIA: list[Criterion] = [
    Criterion("inc_age", INCLUSION, _("Aged 18 to 75 years (inclusive) at consent"), automatic=True),
    Criterion(
        "inc_sle_classification",
        INCLUSION,
        _("Systemic lupus erythematosus meeting the 2019 EULAR/ACR classification criteria"),
    ),
    Criterion(
        "inc_refractory",
        INCLUSION,
        _("Treatment refractory: at least 2 conventional SLE treatments failed, each given ≥ 3 months"),
        automatic=True,
    ),
    Criterion(
        "inc_disease_activity",
        INCLUSION,
        _("SELENA-SLEDAI ≥ 6 with ≥ 1 BILAG-2004 A or ≥ 2 B organ scores, or SELENA-SLEDAI ≥ 8"),
        automatic=True,
    ),
    Criterion(
        "inc_anc",
        INCLUSION,
        _("Neutrophils ≥ 1.0 × 10⁹/L (neutropenia caused by SLE excepted)"),
        automatic=True,
    ),
    Criterion(
        "inc_no_csf",
        INCLUSION,
        _("No colony-stimulating factor in the 2 weeks before the neutrophil count"),
    ),
    Criterion("inc_haemoglobin", INCLUSION, _("Haemoglobin ≥ 60 g/L"), automatic=True),
    Criterion("inc_alt", INCLUSION, _("ALT ≤ 3 × ULN (elevation caused by SLE excepted)"), automatic=True),
    Criterion("inc_ast", INCLUSION, _("AST ≤ 3 × ULN (elevation caused by SLE excepted)"), automatic=True),
    Criterion(
        "inc_bilirubin",
        INCLUSION,
        _("Total bilirubin ≤ 1.5 × ULN (elevation caused by SLE excepted)"),
        automatic=True,
    ),
    Criterion(
        "inc_crcl",
        INCLUSION,
        _("Creatinine clearance ≥ 30 mL/min by Cockcroft–Gault (reduction caused by SLE excepted)"),
        automatic=True,
    ),
    Criterion("inc_inr", INCLUSION, _("INR ≤ 1.5"), automatic=True),
    Criterion("inc_pt", INCLUSION, _("Prothrombin time ≤ 1.5 × ULN"), automatic=True),
    Criterion("inc_haemodynamically_stable", INCLUSION, _("Haemodynamically stable")),
    Criterion(
        "inc_contraception",
        INCLUSION,
        _(
            "Agrees to approved contraception or abstinence during treatment and for 6 months after "
            "(answer yes when neither the participant nor the partner can bear children)"
        ),
    ),
    Criterion(
        "inc_pregnancy_test",
        INCLUSION,
        _("Women of childbearing potential: negative serum HCG within 7 days before enrollment"),
        automatic=True,
    ),
    Criterion("inc_not_breastfeeding", INCLUSION, _("Not breastfeeding (answer yes for men)")),
    Criterion("inc_consent", INCLUSION, _("Informed consent signed"), automatic=True),
    Criterion(
        "inc_compliance",
        INCLUSION,
        _("Expected to comply with the study procedures and follow-up"),
    ),
    Criterion("exc_drug_allergy", EXCLUSION, _("History of severe drug allergy or atopic diathesis")),
    Criterion(
        "exc_infection",
        EXCLUSION,
        _("Uncontrolled or treatment-requiring fungal, bacterial, viral or other infection (or suspected)"),
    ),
    Criterion("exc_cardiac", EXCLUSION, _("Cardiac function insufficient to tolerate the study treatment")),
    Criterion("exc_congenital_ig_deficiency", EXCLUSION, _("Congenital immunoglobulin deficiency")),
    Criterion("exc_malignancy", EXCLUSION, _("Malignant tumour within the past 5 years")),
    Criterion("exc_esrd", EXCLUSION, _("End-stage renal failure")),
    Criterion(
        "exc_hbv",
        EXCLUSION,
        _("Hepatitis B: HBsAg or HBcAb positive with HBV DNA above the limit of detection"),
        automatic=True,
    ),
    Criterion(
        "exc_hcv", EXCLUSION, _("Hepatitis C: HCV antibody positive with HCV RNA positive"), automatic=True
    ),
    Criterion("exc_hiv", EXCLUSION, _("HIV antibody positive"), automatic=True),
    Criterion("exc_syphilis", EXCLUSION, _("Positive syphilis test"), automatic=True),
    Criterion("exc_mental_illness", EXCLUSION, _("History of mental illness or severe cognitive impairment")),
    Criterion(
        "exc_recent_immunosuppression",
        EXCLUSION,
        _(
            "Disease-modifying immunosuppressant within 5 half-lives, or biological agent within 4 weeks, "
            "before enrollment"
        ),
    ),
    Criterion("exc_pregnancy", EXCLUSION, _("Pregnant, or planning to become pregnant")),
    Criterion(
        "exc_investigator",
        EXCLUSION,
        _("Any other condition that, in the investigator's judgement, precludes participation"),
    ),
]

BY_KEY = {c.key: c for c in CRITERIA}
MANUAL = [c for c in CRITERIA if not c.automatic]
AUTOMATIC = [c for c in CRITERIA if c.automatic]

"""The analytes of every laboratory panel, as data: one row per analyte, read in one screen.

Units are written as ``edc.clinical.units`` spells them (``umol/L``, ``10^9/L``, ``cells/uL``); the
first accepted unit is the standard unit, in which values are stored beside the entered ones and
graded. An analyte accepts several units only where ``edc.clinical.units`` can convert between them
(``conversion`` names its analyte there; cell counts share one set of factors). ``ctcae`` names the
``ctcae_v5_labs`` parameter graded from the value. ``minimum``/``maximum`` (standard unit) bound the
physiologically possible values: outside them the save is refused (check LAB-IMPOSSIBLE).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _


class Panel(models.TextChoices):
    HAEMATOLOGY = "haematology", _("Haematology")
    CHEMISTRY = "chemistry", _("Chemistry")
    COAGULATION = "coagulation", _("Coagulation")
    INFLAMMATION = "inflammation", _("Inflammation")
    IMMUNOLOGY = "immunology", _("Immunology")
    URINALYSIS = "urinalysis", _("Urinalysis")
    LYMPHOCYTE_SUBSETS = "lymphocyte_subsets", _("Lymphocyte subsets")
    CAR_T_KINETICS = "car_t_kinetics", _("CAR-T kinetics")
    VIROLOGY = "virology", _("Virology")
    PREGNANCY = "pregnancy", _("Pregnancy test")


# Display labels of the unit codes (the codes themselves are stored).
UNIT_LABELS = {
    "10^9/L": "×10⁹/L",
    "10^3/uL": "×10³/µL",
    "cells/uL": "cells/µL",
    "umol/L": "µmol/L",
    "ug/L": "µg/L",
    "copies/ug gDNA": "copies/µg gDNA",
}


def unit_label(unit: str) -> str:
    return UNIT_LABELS.get(unit, unit)


# Qualitative results (categorical answers) and their labels.
NEGATIVE, POSITIVE, INDETERMINATE = "negative", "positive", "indeterminate"
NOT_DETECTED, BELOW_LLOQ = "not_detected", "detected_below_lloq"
RESULT_LABELS = {
    NEGATIVE: _("Negative"),
    POSITIVE: _("Positive"),
    INDETERMINATE: _("Indeterminate"),
    NOT_DETECTED: _("Not detected"),
    BELOW_LLOQ: _("Detected, below the limit of quantification"),
    "1:80": "1:80",
    "1:160": "1:160",
    "1:320": "1:320",
    "1:640": "1:640",
    ">=1:1280": "≥1:1280",
    "none": _("None seen"),
    "hyaline": _("Hyaline"),
    "granular": _("Granular"),
    "red_cell": _("Red cell"),
    "white_cell": _("White cell"),
    "waxy": _("Waxy"),
    "other": _("Other"),
}
SEROLOGY = (NEGATIVE, POSITIVE, INDETERMINATE)
PCR = (NOT_DETECTED, BELOW_LLOQ)  # beside a number when the virus is quantified
ANA_TITRES = (NEGATIVE, "1:80", "1:160", "1:320", "1:640", ">=1:1280")
CASTS = ("none", "hyaline", "granular", "red_cell", "white_cell", "waxy", "other")

CELLS = ("10^9/L", "10^3/uL", "cells/uL")
CELLS_PER_UL = ("cells/uL", "10^9/L")
PROTEIN_G_L = ("g/L", "mg/dL")


@dataclass(frozen=True)
class Analyte:
    code: str
    label: object
    panel: str
    units: tuple[str, ...] = ()  # accepted entry units, the standard one first; () = qualitative only
    conversion: str | None = None  # analyte of edc.clinical.units.CONVERSIONS
    ctcae: str | None = None  # ctcae_v5_labs parameter
    results: tuple[str, ...] = ()  # accepted categorical results
    minimum: Decimal = Decimal(0)
    maximum: Decimal | None = None
    # A value far outside the reference range opens a query (LAB-FAR-ABOVE/BELOW); off where the
    # extreme is the expected effect of the treatment (B-cell aplasia after CD19 CAR-T).
    range_query: bool = True

    @property
    def standard_unit(self) -> str:
        return self.units[0] if self.units else ""

    @property
    def quantitative(self) -> bool:
        return bool(self.units)

    def unit_choices(self):
        return [(u, unit_label(u)) for u in self.units]

    def result_choices(self):
        return [(r, RESULT_LABELS[r]) for r in self.results]


def _a(code, label, panel, units=(), conversion=None, ctcae=None, results=(), minimum=0, maximum=None, **kw):
    return Analyte(
        code,
        label,
        panel,
        tuple(units),
        conversion,
        ctcae,
        tuple(results),
        Decimal(str(minimum)),
        None if maximum is None else Decimal(str(maximum)),
        **kw,
    )


P = Panel
# fmt: off
ANALYTES: tuple[Analyte, ...] = (
    # Haematology
    _a("wbc", _("White blood cells"), P.HAEMATOLOGY, CELLS, "wbc", "wbc_decreased", maximum=500),
    _a("anc", _("Neutrophils (ANC)"), P.HAEMATOLOGY, CELLS, "neutrophils", "neutrophil_count_decreased",
       maximum=300),
    _a("alc", _("Lymphocytes (ALC)"), P.HAEMATOLOGY, CELLS, "lymphocytes", "lymphocyte_count_decreased",
       maximum=500),
    _a("hb", _("Haemoglobin"), P.HAEMATOLOGY, ("g/L", "g/dL", "mmol/L"), "haemoglobin", "anemia",
       maximum=250),
    _a("platelets", _("Platelets"), P.HAEMATOLOGY, CELLS, "platelets", "platelet_count_decreased",
       maximum=5000),
    # Chemistry
    _a("creatinine", _("Creatinine"), P.CHEMISTRY, ("umol/L", "mg/dL"), "creatinine", "creatinine_increased",
       maximum=3000),
    _a("alt", _("ALT"), P.CHEMISTRY, ("U/L",), ctcae="alt_increased", maximum=20000),
    _a("ast", _("AST"), P.CHEMISTRY, ("U/L",), ctcae="ast_increased", maximum=20000),
    _a("bilirubin", _("Total bilirubin"), P.CHEMISTRY, ("umol/L", "mg/dL"), "bilirubin",
       "blood_bilirubin_increased", maximum=1000),
    _a("albumin", _("Albumin"), P.CHEMISTRY, ("g/L",), maximum=80),
    _a("ldh", _("LDH"), P.CHEMISTRY, ("U/L",), maximum=50000),
    _a("uric_acid", _("Uric acid"), P.CHEMISTRY, ("umol/L",), maximum=2000),
    _a("sodium", _("Sodium"), P.CHEMISTRY, ("mmol/L",), minimum=80, maximum=200),
    _a("potassium", _("Potassium"), P.CHEMISTRY, ("mmol/L",), minimum="1.0", maximum=12),
    # Coagulation
    _a("pt", _("Prothrombin time"), P.COAGULATION, ("s",), maximum=300),
    _a("inr", _("INR"), P.COAGULATION, ("ratio",), maximum=20),
    _a("aptt", _("APTT"), P.COAGULATION, ("s",), maximum=300),
    _a("fibrinogen", _("Fibrinogen"), P.COAGULATION, ("g/L",), maximum=20),
    # Inflammation
    _a("crp", _("CRP"), P.INFLAMMATION, ("mg/L", "mg/dL"), "crp", maximum=1000),
    _a("ferritin", _("Ferritin"), P.INFLAMMATION, ("ug/L", "ng/mL"), "ferritin", maximum=500000),
    _a("il6", _("IL-6"), P.INFLAMMATION, ("pg/mL",), maximum=1000000),
    # Immunology
    _a("c3", _("Complement C3"), P.IMMUNOLOGY, PROTEIN_G_L, "c3", maximum=10),
    _a("c4", _("Complement C4"), P.IMMUNOLOGY, PROTEIN_G_L, "c4", maximum=5),
    _a("anti_dsdna", _("Anti-dsDNA"), P.IMMUNOLOGY, ("IU/mL",), maximum=100000),
    _a("ana", _("ANA (titre)"), P.IMMUNOLOGY, results=ANA_TITRES),
    _a("igg", _("IgG"), P.IMMUNOLOGY, PROTEIN_G_L, "igg", maximum=100),
    _a("iga", _("IgA"), P.IMMUNOLOGY, PROTEIN_G_L, "iga", maximum=50),
    _a("igm", _("IgM"), P.IMMUNOLOGY, PROTEIN_G_L, "igm", maximum=50),
    # Urinalysis
    _a("urine_rbc", _("Urine red cells"), P.URINALYSIS, ("RBC/HPF",), maximum=5000),
    _a("urine_wbc", _("Urine white cells"), P.URINALYSIS, ("WBC/HPF",), maximum=5000),
    _a("casts", _("Urinary casts"), P.URINALYSIS, results=CASTS),
    _a("upcr", _("Urine protein/creatinine ratio"), P.URINALYSIS, ("g/g", "mg/mg", "mg/g", "mg/mmol"), "upcr",
       maximum=50),
    _a("protein_24h", _("24-hour urine protein"), P.URINALYSIS, ("g/24h",), maximum=50),
    # Lymphocyte subsets (absolute counts)
    _a("cd19", _("CD19⁺ B cells"), P.LYMPHOCYTE_SUBSETS, CELLS_PER_UL, "cd19_b_cells", maximum=100000,
       range_query=False),
    _a("cd3", _("CD3⁺ T cells"), P.LYMPHOCYTE_SUBSETS, CELLS_PER_UL, "lymphocytes", maximum=100000),
    _a("cd4", _("CD4⁺ T cells"), P.LYMPHOCYTE_SUBSETS, CELLS_PER_UL, "cd4_lymphocytes",
       "cd4_lymphocytes_decreased", maximum=100000),
    _a("cd8", _("CD8⁺ T cells"), P.LYMPHOCYTE_SUBSETS, CELLS_PER_UL, "lymphocytes", maximum=100000),
    _a("nk", _("NK cells (CD16⁺CD56⁺)"), P.LYMPHOCYTE_SUBSETS, CELLS_PER_UL, "lymphocytes", maximum=100000),
    # CAR-T kinetics
    _a("car_transgene", _("CAR transgene (qPCR)"), P.CAR_T_KINETICS, ("copies/ug gDNA",), maximum=10**9,
       results=(NOT_DETECTED,), range_query=False),
    _a("car_cells", _("CAR⁺ cells (flow)"), P.CAR_T_KINETICS, ("cells/uL",), maximum=100000,
       results=(NOT_DETECTED,), range_query=False),
    # Virology
    _a("cmv_pcr", _("CMV DNA (PCR)"), P.VIROLOGY, ("IU/mL",), results=PCR, maximum=10**10),
    _a("ebv_pcr", _("EBV DNA (PCR)"), P.VIROLOGY, ("copies/mL",), results=PCR, maximum=10**10),
    _a("hbsag", _("HBsAg"), P.VIROLOGY, results=SEROLOGY),
    _a("hbcab", _("Anti-HBc"), P.VIROLOGY, results=SEROLOGY),
    _a("hbv_dna", _("HBV DNA"), P.VIROLOGY, ("IU/mL",), results=PCR, maximum=10**10),
    _a("hcv_ab", _("Anti-HCV"), P.VIROLOGY, results=SEROLOGY),
    _a("hcv_rna", _("HCV RNA"), P.VIROLOGY, ("IU/mL",), results=PCR, maximum=10**10),
    _a("hiv_ab", _("HIV antibody/antigen"), P.VIROLOGY, results=SEROLOGY),
    _a("syphilis", _("Syphilis serology"), P.VIROLOGY, results=SEROLOGY),
    # Pregnancy
    _a("hcg", _("Serum hCG"), P.PREGNANCY, ("mIU/mL",), results=(NEGATIVE, POSITIVE), maximum=10**7),
)
# fmt: on

BY_CODE: dict[str, Analyte] = {a.code: a for a in ANALYTES}
if len(BY_CODE) != len(ANALYTES):  # pragma: no cover - a typo in the table above
    raise RuntimeError("analyte code declared twice")


def analyte(code: str) -> Analyte | None:
    return BY_CODE.get(code)


def analytes_of(panel: str) -> list[Analyte]:
    return [a for a in ANALYTES if a.panel == panel]


# Decimals a laboratory reports in each unit (the analyte's own where it differs). A reference range
# converted from the unit of the site's range into the unit of the report is shown to this precision:
# creatinine 41–73 µmol/L reads 0.46–0.83 mg/dL, not 0.4638–0.8258 mg/dL.
REPORTED_DECIMALS = {
    "10^9/L": 2,
    "10^3/uL": 2,
    "cells/uL": 0,
    "g/L": 1,
    "g/dL": 1,
    "mmol/L": 1,
    "umol/L": 0,
    "mg/dL": 2,
    "mg/L": 1,
    "ug/L": 0,
    "ng/mL": 0,
    "U/L": 0,
    "g/g": 2,
    "mg/mg": 2,
    "mg/g": 0,
    "mg/mmol": 1,
}
ANALYTE_DECIMALS = {
    ("hb", "g/L"): 0,
    ("albumin", "g/L"): 0,
    ("c3", "mg/dL"): 0,
    ("c4", "mg/dL"): 0,
    ("igg", "mg/dL"): 0,
    ("iga", "mg/dL"): 0,
    ("igm", "mg/dL"): 0,
    ("c3", "g/L"): 2,
    ("c4", "g/L"): 2,
    ("hb", "mmol/L"): 1,
    ("potassium", "mmol/L"): 1,
}


def reported_decimals(code: str, unit: str) -> int | None:
    """The decimals ``unit`` is reported with for analyte ``code`` (None: no convention known)."""
    return ANALYTE_DECIMALS.get((code, unit), REPORTED_DECIMALS.get(unit))

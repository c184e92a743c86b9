"""Disease activity CRFs: SLEDAI (SLEDAI-2K and SELENA-SLEDAI from one entry), PGA and BILAG-2004.

Schema choice: the 24 SLEDAI descriptors are explicit columns of the assessment
(``fever_present``, ``fever_attributable``, ``fever_course``), not child rows. One assessment is one
row, so everything the CRF framework does per field works unchanged: the audit trail reads
"Fever: attributable to SLE: True → False" with the reason, a soft check opens its query on a real
field, the conflict page shows the other person's values, and an export has one row per visit with one
documented column per item (the way SLEDAI is analysed). The supporting values are typed columns named
after what they hold (``platelets``, ``c3``), not a generic value/unit pair.
"""

from decimal import Decimal

import pghistory
from django.db import models
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from crfs.models import CaseReportForm, crf_meta_constraints
from edc.clinical import CalculatorInputError, compute
from edc.clinical.inputs import round_half_up
from edc.clinical.response import BILAG_SYSTEMS
from edc.clinical.sledai import DEFAULT_ARTHRITIS_MIN_JOINTS, DEFAULT_LOOK_BACK_DAYS, KEYS
from edc.integrity import RefuseWhenLocked


class Course(models.TextChoices):
    NEW = "new", _("new")
    RECURRENT = "recurrent", _("recurrent")
    PERSISTENT = "persistent", _("persistent")
    WORSENED = "worsened", _("worsened")


# clinical-rules.md section 1.2, in table order (the keys of edc.clinical.sledai.DESCRIPTORS).
DESCRIPTOR_LABELS = {
    "seizure": _("Seizure"),
    "psychosis": _("Psychosis"),
    "organic_brain_syndrome": _("Organic brain syndrome"),
    "visual_disturbance": _("Visual disturbance"),
    "cranial_nerve_disorder": _("Cranial nerve disorder"),
    "lupus_headache": _("Lupus headache"),
    "cva": _("Cerebrovascular accident"),
    "vasculitis": _("Vasculitis"),
    "arthritis": _("Arthritis"),
    "myositis": _("Myositis"),
    "urinary_casts": _("Urinary casts"),
    "haematuria": _("Haematuria"),
    "proteinuria": _("Proteinuria"),
    "pyuria": _("Pyuria"),
    "rash": _("Rash"),
    "alopecia": _("Alopecia"),
    "mucosal_ulcers": _("Mucosal ulcers"),
    "pleurisy": _("Pleurisy"),
    "pericarditis": _("Pericarditis"),
    "low_complement": _("Low complement"),
    "increased_dna_binding": _("Increased DNA binding"),
    "fever": _("Fever"),
    "thrombocytopenia": _("Thrombocytopenia"),
    "leukopenia": _("Leukopenia"),
}
DESCRIPTOR_HINTS = {
    "seizure": _("Recent onset; exclude metabolic, infectious and drug causes."),
    "psychosis": _("Severe disturbance in perceiving reality; exclude uraemia and drugs."),
    "organic_brain_syndrome": _("Acute, fluctuating impaired mental function; exclude other causes."),
    "visual_disturbance": _(
        "Retinal changes of SLE or optic neuritis; exclude hypertension, infection, drugs."
    ),
    "cranial_nerve_disorder": _("New sensory or motor neuropathy of a cranial nerve."),
    "lupus_headache": _("Severe, persistent; not responding to narcotic analgesia."),
    "cva": _("New cerebrovascular accident; exclude arteriosclerosis."),
    "vasculitis": _("Ulceration, gangrene, tender finger nodules, infarcts, or proven by biopsy/angiogram."),
    "arthritis": _("Joints with pain and signs of inflammation; give the number of joints."),
    "myositis": _("Proximal aching or weakness with raised CK/aldolase, EMG or biopsy."),
    "urinary_casts": _("Heme-granular or red-cell casts."),
    "haematuria": _("> 5 RBC/HPF; exclude stone, infection and other causes."),
    "proteinuria": _("> 0.5 g/24 h (or UPCR > 0.5 g/g)."),
    "pyuria": _("> 5 WBC/HPF; exclude infection."),
    "rash": _("Inflammatory-type lupus rash, new or ongoing."),
    "alopecia": _("Abnormal patchy or diffuse hair loss, new or ongoing."),
    "mucosal_ulcers": _("Oral or nasal ulcers, new or ongoing."),
    "pleurisy": _("Pleuritic pain with rub, effusion or pleural thickening."),
    "pericarditis": _("Pericardial pain with rub, effusion, or ECG/echo confirmation."),
    "low_complement": _("CH50, C3 or C4 below the lab's lower limit of normal."),
    "increased_dna_binding": _("Anti-dsDNA above the lab's normal range."),
    "fever": _("> 38 °C; exclude infection (and CRS after CAR-T)."),
    "thrombocytopenia": _("Platelets < 100 ×10⁹/L; exclude drug (and CAR-T) causes."),
    "leukopenia": _("WBC < 3.0 ×10⁹/L; exclude drug (and CAR-T) causes."),
}

# The typed columns that support each descriptor, in entry order.
SUPPORTING_FIELDS = {
    "arthritis": ("arthritis_joints",),
    "haematuria": ("urine_rbc_hpf",),
    "proteinuria": ("proteinuria_value", "proteinuria_unit", "proteinuria_previous_value"),
    "pyuria": ("urine_wbc_hpf",),
    "low_complement": ("c3", "c3_lln", "c4", "c4_lln", "complement_unit"),
    "increased_dna_binding": ("anti_dsdna", "anti_dsdna_uln", "anti_dsdna_unit"),
    "fever": ("temperature_c",),
    "thrombocytopenia": ("platelets",),
    "leukopenia": ("wbc",),
}


def _present(key):
    return models.BooleanField(format_lazy("{}: {}", DESCRIPTOR_LABELS[key], _("present")), default=False)


def _attributable(key):
    return models.BooleanField(
        format_lazy("{}: {}", DESCRIPTOR_LABELS[key], _("attributable to SLE")), null=True, blank=True
    )


def _course(key):
    return models.CharField(
        format_lazy("{}: {}", DESCRIPTOR_LABELS[key], _("course")),
        max_length=10,
        choices=Course.choices,
        blank=True,
    )


def _measure(label, max_digits, decimal_places):
    return models.DecimalField(
        label, max_digits=max_digits, decimal_places=decimal_places, null=True, blank=True
    )


class ProteinuriaUnit(models.TextChoices):
    G_24H = "g/24h", "g/24 h"
    MG_24H = "mg/24h", "mg/24 h"
    G_G = "g/g", _("g/g (UPCR)")
    MG_G = "mg/g", _("mg/g (UPCR)")
    MG_MMOL = "mg/mmol", _("mg/mmol (UPCR)")


class ComplementUnit(models.TextChoices):
    G_L = "g/L", "g/L"
    MG_DL = "mg/dL", "mg/dL"


class DnaBindingUnit(models.TextChoices):
    IU_ML = "IU/mL", "IU/mL"
    U_ML = "U/mL", "U/mL"
    PERCENT = "%", _("% binding")
    INDEX = "index", _("index")


def study_setting(participant, name, default):
    """A protocol setting (⚙ of clinical-rules.md section 14) of the participant's study."""
    value = (participant.site.study.settings or {}).get(name)
    return default if value is None else value


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class SledaiAssessment(CaseReportForm):
    """The 24 SLEDAI descriptors with attribution and course; SLEDAI-2K, clinical SLEDAI and
    SELENA-SLEDAI derived from the same entry (decision 6). Only descriptors present *and*
    attributable to SLE score (decision 7)."""

    assessed_on = models.DateField(_("date of assessment"), null=True, blank=True)
    look_back_days = models.PositiveSmallIntegerField(
        _("look-back (days)"),
        null=True,
        blank=True,
        help_text=_("Descriptors and labs count if present on the day or within this many days before."),
    )

    seizure_present = _present("seizure")
    seizure_attributable = _attributable("seizure")
    seizure_course = _course("seizure")
    psychosis_present = _present("psychosis")
    psychosis_attributable = _attributable("psychosis")
    psychosis_course = _course("psychosis")
    organic_brain_syndrome_present = _present("organic_brain_syndrome")
    organic_brain_syndrome_attributable = _attributable("organic_brain_syndrome")
    organic_brain_syndrome_course = _course("organic_brain_syndrome")
    visual_disturbance_present = _present("visual_disturbance")
    visual_disturbance_attributable = _attributable("visual_disturbance")
    visual_disturbance_course = _course("visual_disturbance")
    cranial_nerve_disorder_present = _present("cranial_nerve_disorder")
    cranial_nerve_disorder_attributable = _attributable("cranial_nerve_disorder")
    cranial_nerve_disorder_course = _course("cranial_nerve_disorder")
    lupus_headache_present = _present("lupus_headache")
    lupus_headache_attributable = _attributable("lupus_headache")
    lupus_headache_course = _course("lupus_headache")
    cva_present = _present("cva")
    cva_attributable = _attributable("cva")
    cva_course = _course("cva")
    vasculitis_present = _present("vasculitis")
    vasculitis_attributable = _attributable("vasculitis")
    vasculitis_course = _course("vasculitis")
    arthritis_present = _present("arthritis")
    arthritis_attributable = _attributable("arthritis")
    arthritis_course = _course("arthritis")
    myositis_present = _present("myositis")
    myositis_attributable = _attributable("myositis")
    myositis_course = _course("myositis")
    urinary_casts_present = _present("urinary_casts")
    urinary_casts_attributable = _attributable("urinary_casts")
    urinary_casts_course = _course("urinary_casts")
    haematuria_present = _present("haematuria")
    haematuria_attributable = _attributable("haematuria")
    haematuria_course = _course("haematuria")
    proteinuria_present = _present("proteinuria")
    proteinuria_attributable = _attributable("proteinuria")
    proteinuria_course = _course("proteinuria")
    pyuria_present = _present("pyuria")
    pyuria_attributable = _attributable("pyuria")
    pyuria_course = _course("pyuria")
    rash_present = _present("rash")
    rash_attributable = _attributable("rash")
    rash_course = _course("rash")
    alopecia_present = _present("alopecia")
    alopecia_attributable = _attributable("alopecia")
    alopecia_course = _course("alopecia")
    mucosal_ulcers_present = _present("mucosal_ulcers")
    mucosal_ulcers_attributable = _attributable("mucosal_ulcers")
    mucosal_ulcers_course = _course("mucosal_ulcers")
    pleurisy_present = _present("pleurisy")
    pleurisy_attributable = _attributable("pleurisy")
    pleurisy_course = _course("pleurisy")
    pericarditis_present = _present("pericarditis")
    pericarditis_attributable = _attributable("pericarditis")
    pericarditis_course = _course("pericarditis")
    low_complement_present = _present("low_complement")
    low_complement_attributable = _attributable("low_complement")
    low_complement_course = _course("low_complement")
    increased_dna_binding_present = _present("increased_dna_binding")
    increased_dna_binding_attributable = _attributable("increased_dna_binding")
    increased_dna_binding_course = _course("increased_dna_binding")
    fever_present = _present("fever")
    fever_attributable = _attributable("fever")
    fever_course = _course("fever")
    thrombocytopenia_present = _present("thrombocytopenia")
    thrombocytopenia_attributable = _attributable("thrombocytopenia")
    thrombocytopenia_course = _course("thrombocytopenia")
    leukopenia_present = _present("leukopenia")
    leukopenia_attributable = _attributable("leukopenia")
    leukopenia_course = _course("leukopenia")

    # Supporting values: the worst value within the look-back window.
    arthritis_joints = models.PositiveSmallIntegerField(
        _("Arthritis: inflamed joints (n)"), null=True, blank=True
    )
    urine_rbc_hpf = models.PositiveSmallIntegerField(_("Haematuria: RBC per HPF"), null=True, blank=True)
    proteinuria_value = _measure(_("Proteinuria: value"), 8, 3)
    proteinuria_unit = models.CharField(
        _("Proteinuria: unit and method"),
        max_length=8,
        choices=ProteinuriaUnit.choices,
        default=ProteinuriaUnit.G_24H,
        blank=True,
    )
    proteinuria_previous_value = _measure(_("Proteinuria: previous value (same unit)"), 8, 3)
    urine_wbc_hpf = models.PositiveSmallIntegerField(_("Pyuria: WBC per HPF"), null=True, blank=True)
    c3 = _measure(_("Low complement: C3"), 7, 2)
    c3_lln = _measure(_("Low complement: C3 lower limit of normal"), 7, 2)
    c4 = _measure(_("Low complement: C4"), 7, 2)
    c4_lln = _measure(_("Low complement: C4 lower limit of normal"), 7, 2)
    complement_unit = models.CharField(
        _("Low complement: unit"),
        max_length=6,
        choices=ComplementUnit.choices,
        default=ComplementUnit.G_L,
        blank=True,
    )
    anti_dsdna = _measure(_("Increased DNA binding: anti-dsDNA"), 9, 1)
    anti_dsdna_uln = _measure(_("Increased DNA binding: upper limit of normal"), 9, 1)
    anti_dsdna_unit = models.CharField(
        _("Increased DNA binding: unit"),
        max_length=6,
        choices=DnaBindingUnit.choices,
        default=DnaBindingUnit.IU_ML,
        blank=True,
    )
    temperature_c = _measure(_("Fever: highest temperature (°C)"), 4, 1)
    platelets = _measure(_("Thrombocytopenia: lowest platelets (×10⁹/L)"), 6, 1)
    wbc = _measure(_("Leukopenia: lowest WBC (×10⁹/L)"), 5, 2)

    # Derived on save through edc.clinical.compute, kept with the rule version that produced them.
    sledai_2k = models.PositiveSmallIntegerField(_("SLEDAI-2K"), null=True, blank=True, editable=False)
    clinical_sledai = models.PositiveSmallIntegerField(
        _("clinical SLEDAI"), null=True, blank=True, editable=False
    )
    sledai_rule_version = models.CharField(
        _("SLEDAI-2K rule version"), max_length=40, blank=True, editable=False
    )
    selena_sledai = models.PositiveSmallIntegerField(
        _("SELENA-SLEDAI"), null=True, blank=True, editable=False
    )
    selena_rule_version = models.CharField(
        _("SELENA-SLEDAI rule version"), max_length=40, blank=True, editable=False
    )

    required_for_complete = ("assessed_on", "look_back_days")

    class Meta:
        verbose_name = _("SLEDAI assessment")
        verbose_name_plural = _("SLEDAI assessments")
        constraints = crf_meta_constraints("sledaiassessment")
        triggers = [CaseReportForm.protected("sledaiassessment"), RefuseWhenLocked()]

    def derived_rows(self):
        return [
            (_("SLEDAI-2K"), self.sledai_2k, self.sledai_rule_version),
            (_("clinical SLEDAI"), self.clinical_sledai, self.sledai_rule_version),
            (_("SELENA-SLEDAI"), self.selena_sledai, self.selena_rule_version),
            (_("look-back (days)"), self.look_back_days, ""),
        ]

    def is_present(self, key: str) -> bool:
        return bool(getattr(self, f"{key}_present"))

    def is_scored(self, key: str) -> bool:
        """Present and attributable to SLE: the only descriptors that score."""
        return self.is_present(key) and getattr(self, f"{key}_attributable") is True

    def scored_descriptors(self) -> list[str]:
        return [key for key in KEYS if self.is_scored(key)]

    def missing_required(self) -> list[str]:
        """Besides the date: attribution and course of every descriptor marked present, and the
        proteinuria values SELENA-SLEDAI needs when proteinuria has worsened."""
        missing = super().missing_required()
        for key in KEYS:
            if self.is_present(key):
                if getattr(self, f"{key}_attributable") is None:
                    missing.append(f"{key}_attributable")
                if not getattr(self, f"{key}_course"):
                    missing.append(f"{key}_course")
        if self.is_scored("proteinuria") and self.proteinuria_course == Course.WORSENED:
            for name in ("proteinuria_value", "proteinuria_unit", "proteinuria_previous_value"):
                if getattr(self, name) in (None, ""):
                    missing.append(name)
        return missing

    def measurements(self, key: str) -> list[dict]:
        """Calculator inputs (``value``, ``unit``, limits) for each supporting value entered."""
        if key == "arthritis":
            pairs = [(self.arthritis_joints, {"unit": "joints"})]
        elif key == "fever":
            pairs = [(self.temperature_c, {"unit": "C"})]
        elif key in ("thrombocytopenia", "leukopenia"):
            pairs = [(self.platelets if key == "thrombocytopenia" else self.wbc, {"unit": "10^9/L"})]
        elif key == "haematuria":
            pairs = [(self.urine_rbc_hpf, {"unit": "RBC/HPF"})]
        elif key == "pyuria":
            pairs = [(self.urine_wbc_hpf, {"unit": "WBC/HPF"})]
        elif key == "proteinuria":
            pairs = [(self.proteinuria_value, {"unit": self.proteinuria_unit})]
        elif key == "low_complement":
            unit = self.complement_unit
            pairs = [
                (self.c3, {"unit": unit, "lln": self.c3_lln}),
                (self.c4, {"unit": unit, "lln": self.c4_lln}),
            ]
        elif key == "increased_dna_binding":
            pairs = [(self.anti_dsdna, {"unit": self.anti_dsdna_unit, "uln": self.anti_dsdna_uln})]
        else:
            return []
        return [
            {"value": value, **extra}
            for value, extra in pairs
            if value is not None and all(v not in (None, "") for v in extra.values())
        ]

    def threshold_met(self, key: str) -> bool | None:
        """Whether a supporting value meets the descriptor's SLEDAI-2K definition; None without one."""
        results = []
        for inputs in self.measurements(key):
            try:
                result = compute(
                    "sledai_2k_lab_thresholds",
                    {
                        "descriptor": key,
                        "attributable_to_sle": True,
                        "arthritis_min_joints": study_setting(
                            self.participant, "arthritis_min_joints", DEFAULT_ARTHRITIS_MIN_JOINTS
                        ),
                        **inputs,
                    },
                )
            except CalculatorInputError:
                continue  # an impossible value: a hard check rejects it
            results.append(result["threshold_met"])
        return any(results) if results else None

    def selena_inputs(self, scored: list[str]) -> dict:
        inputs = {
            "present": scored,
            "course": {
                key: getattr(self, f"{key}_course") for key in scored if getattr(self, f"{key}_course")
            },
            "look_back_days": self.look_back_days,
        }
        if "proteinuria" in scored and self.proteinuria_course == Course.WORSENED:
            inputs["proteinuria_g_24h"] = self._proteinuria_g(self.proteinuria_value)
            inputs["proteinuria_previous_g_24h"] = self._proteinuria_g(self.proteinuria_previous_value)
        return inputs

    def _proteinuria_g(self, value):
        """The value in g/24 h (or g/g for a UPCR), converted by the same calculator that scores it."""
        if value is None or not self.proteinuria_unit:
            return None
        result = compute(
            "sledai_2k_lab_thresholds",
            {
                "descriptor": "proteinuria",
                "value": value,
                "unit": self.proteinuria_unit,
                "attributable_to_sle": True,
            },
        )
        return result["compared_value"]

    def derive(self):
        if self.look_back_days is None:
            self.look_back_days = study_setting(
                self.participant, "sledai_lookback_days", DEFAULT_LOOK_BACK_DAYS
            )
        scored = self.scored_descriptors()
        self.sledai_2k = self.clinical_sledai = self.selena_sledai = None
        self.sledai_rule_version = self.selena_rule_version = ""
        try:
            total = compute("sledai_2k_total", {"present": scored, "look_back_days": self.look_back_days})
        except CalculatorInputError:
            return  # an impossible look-back: a hard check rejects the save
        self.sledai_2k, self.clinical_sledai = total["sledai_2k"], total["clinical_sledai"]
        self.sledai_rule_version = total["rule_version"]
        try:
            selena = compute("selena_sledai_total", self.selena_inputs(scored))
        except CalculatorInputError:
            return  # course or proteinuria values still missing: a draft
        self.selena_sledai, self.selena_rule_version = selena["selena_sledai"], selena["rule_version"]


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class PhysicianGlobalAssessment(CaseReportForm):
    """PGA on the 0–3 scale (clinical-rules.md section 2), entered or measured on a 100 mm line."""

    assessed_on = models.DateField(_("date of assessment"), null=True, blank=True)
    pga = models.DecimalField(
        _("PGA (0–3)"),
        max_digits=2,
        decimal_places=1,
        null=True,
        blank=True,
        help_text=_("0 none, 1 mild, 2 moderate, 3 severe. Derived from the line when a length is given."),
    )
    vas_mm = models.DecimalField(
        _("mark on the 100 mm line (mm)"),
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        help_text=_("Optional: the distance from the left anchor; PGA = mm × 3 / 100."),
    )

    required_for_complete = ("assessed_on", "pga")

    class Meta:
        verbose_name = _("physician global assessment")
        verbose_name_plural = _("physician global assessments")
        constraints = crf_meta_constraints("physicianglobalassessment")
        triggers = [CaseReportForm.protected("physicianglobalassessment"), RefuseWhenLocked()]

    def derived_rows(self):
        if self.vas_mm is None:
            return []
        return [(_("PGA from the 100 mm line (mm × 3 / 100)"), self.pga, "")]

    def derive(self):
        # Section 2: PGA = mm / 100 × 3, recorded to one decimal (half-up, as every PGA comparison).
        vas = None if self.vas_mm is None else Decimal(self.vas_mm)
        if vas is not None and vas.is_finite() and Decimal(0) <= vas <= Decimal(100):
            self.pga = round_half_up(vas * 3 / 100, "0.1")


class BilagGrade(models.TextChoices):
    A = "A", _("A – severe activity")
    B = "B", _("B – moderate activity")
    C = "C", _("C – mild, stable")
    D = "D", _("D – previously involved, inactive")
    E = "E", _("E – never involved")


def _grade(label):
    return models.CharField(label, max_length=1, choices=BilagGrade.choices, blank=True)


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class BilagAssessment(CaseReportForm):
    """BILAG-2004 system grades as the investigator's validated scoring gives them (entered, not
    derived from the 97 items: clinical-rules.md section 3)."""

    assessed_on = models.DateField(_("date of assessment"), null=True, blank=True)
    constitutional = _grade(_("constitutional"))
    mucocutaneous = _grade(_("mucocutaneous"))
    neuropsychiatric = _grade(_("neuropsychiatric"))
    musculoskeletal = _grade(_("musculoskeletal"))
    cardiorespiratory = _grade(_("cardiorespiratory"))
    gastrointestinal = _grade(_("gastrointestinal"))
    ophthalmic = _grade(_("ophthalmic"))
    renal = _grade(_("renal"))
    haematological = _grade(_("haematological"))

    required_for_complete = ("assessed_on", *BILAG_SYSTEMS)

    class Meta:
        verbose_name = _("BILAG-2004 assessment")
        verbose_name_plural = _("BILAG-2004 assessments")
        constraints = crf_meta_constraints("bilagassessment")
        triggers = [CaseReportForm.protected("bilagassessment"), RefuseWhenLocked()]

    def grades(self) -> dict[str, str]:
        """System -> grade, as ``compute("sri_4", ...)`` takes them."""
        return {system: getattr(self, system) for system in BILAG_SYSTEMS}

    def count(self, grade: str) -> int:
        return sum(1 for value in self.grades().values() if value == grade)

# ruff: noqa: E501  (a data table: one CTCAE definition per line reads better than wrapped ones)
"""The adverse-event terms this EDC offers: the CTCAE v5.0 terms that CAR-T and lupus trials report most,
each with its system organ class (SOC) and its grade 1–5 definitions, plus one "Other, specify" term
per SOC.

Source: NCI Common Terminology Criteria for Adverse Events v5.0 (27 Nov 2017). The definitions are
CTCAE's wording, shortened where CTCAE lists several unit systems; a grade CTCAE marks "-" does not
exist for the term and cannot be recorded. [VERIFY against the NCI v5.0 spreadsheet before first
patient in.] Three terms are graded by the consensus scale the protocol names instead of CTCAE:
cytokine release syndrome and ICANS (ASTCT 2019), acute GvHD (MAGIC), IEC-HS (Hines 2023).

Term names stay in CTCAE's English in the database (``key``); the interface translates them.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

CTCAE = "CTCAE v5.0"
ASTCT = "ASTCT 2019"
MAGIC = "MAGIC 2016"
HINES = "Hines 2023"

BLOOD = _("Blood and lymphatic system disorders")
CARDIAC = _("Cardiac disorders")
GASTROINTESTINAL = _("Gastrointestinal disorders")
GENERAL = _("General disorders and administration site conditions")
HEPATOBILIARY = _("Hepatobiliary disorders")
IMMUNE = _("Immune system disorders")
INFECTIONS = _("Infections and infestations")
INJURY = _("Injury, poisoning and procedural complications")
INVESTIGATIONS = _("Investigations")
METABOLISM = _("Metabolism and nutrition disorders")
MUSCULOSKELETAL = _("Musculoskeletal and connective tissue disorders")
NEOPLASMS = _("Neoplasms benign, malignant and unspecified (incl cysts and polyps)")
NERVOUS = _("Nervous system disorders")
PREGNANCY = _("Pregnancy, puerperium and perinatal conditions")
PSYCHIATRIC = _("Psychiatric disorders")
RENAL = _("Renal and urinary disorders")
RESPIRATORY = _("Respiratory, thoracic and mediastinal disorders")
SKIN = _("Skin and subcutaneous tissue disorders")
VASCULAR = _("Vascular disorders")

DEATH = _("Death")
LIFE_THREATENING = _("Life-threatening consequences; urgent intervention indicated")

# CTCAE v5.0 "Other, specify" grading, shared by every SOC's catch-all term.
OTHER_GRADES = (
    _("Asymptomatic or mild symptoms; clinical or diagnostic observations only; intervention not indicated"),
    _(
        "Moderate; minimal, local or noninvasive intervention indicated; limiting age-appropriate "
        "instrumental ADL"
    ),
    _(
        "Severe or medically significant but not immediately life-threatening; hospitalization or "
        "prolongation of existing hospitalization indicated; disabling; limiting self care ADL"
    ),
    LIFE_THREATENING,
    _("Death related to AE"),
)
# The pattern of most infection terms (clinical-rules.md 8.3).
INFECTION_G2 = _("Moderate symptoms; oral intervention indicated (e.g., antibiotic, antifungal, antiviral)")
INFECTION_G3 = _(
    "IV antibiotic, antifungal, or antiviral intervention indicated; invasive intervention indicated"
)
PAIN = (
    _("Mild pain"),
    _("Moderate pain; limiting instrumental ADL"),
    _("Severe pain; limiting self care ADL"),
    None,
    None,
)
SYMPTOMS = (
    _("Mild symptoms"),
    _("Moderate symptoms; limiting instrumental ADL"),
    _("Severe symptoms; limiting self care ADL"),
    None,
    None,
)


@dataclass(frozen=True)
class Term:
    key: str
    name: object
    soc: object
    grades: tuple  # definitions of grades 1..5; None where the grade does not exist for the term
    scale: str = CTCAE
    other_specify: bool = False

    def allows(self, grade: int) -> bool:
        return 1 <= grade <= 5 and self.grades[grade - 1] is not None

    @property
    def allowed_grades(self) -> list[int]:
        return [grade for grade in range(1, 6) if self.allows(grade)]

    def definitions(self) -> list[tuple[int, object]]:
        return [(grade, self.grades[grade - 1]) for grade in self.allowed_grades]


def _g(g1=None, g2=None, g3=None, g4=None, g5=None):
    return (g1, g2, g3, g4, g5)


def _lab(g1, g2, g3, g4):
    return (g1, g2, g3, g4, None)


def _other(key, soc):
    return Term(key, _("Other, specify"), soc, OTHER_GRADES, other_specify=True)


TERMS: tuple[Term, ...] = (
    # Blood and lymphatic system disorders
    Term("anemia", _("Anemia"), BLOOD, _g(
        _("Hemoglobin <LLN - 10.0 g/dL; <LLN - 100 g/L"), _("Hemoglobin <10.0 - 8.0 g/dL; <100 - 80 g/L"),
        _("Hemoglobin <8.0 g/dL; <80 g/L; transfusion indicated"), LIFE_THREATENING, DEATH)),
    Term("febrile_neutropenia", _("Febrile neutropenia"), BLOOD, _g(
        None, None,
        _("ANC <1000/mm³ with a single temperature of >38.3 °C or a sustained temperature of ≥38 °C for "
          "more than one hour"),
        LIFE_THREATENING, DEATH)),
    Term("disseminated_intravascular_coagulation", _("Disseminated intravascular coagulation"), BLOOD, _g(
        None, _("Laboratory findings with no bleeding"), _("Laboratory findings and bleeding"),
        LIFE_THREATENING, DEATH)),
    Term("hemolysis", _("Hemolysis"), BLOOD, _g(
        _("Laboratory evidence of hemolysis only (e.g., DAT; Coombs'; schistocytes; decreased haptoglobin)"),
        _("Evidence of hemolysis and ≥2 g/dL decrease in hemoglobin"),
        _("Transfusion or medical intervention indicated (e.g., steroids)"), LIFE_THREATENING, DEATH)),
    Term("bone_marrow_hypocellular", _("Bone marrow hypocellular"), BLOOD, _g(
        # xgettext:no-python-format
        _("Mildly hypocellular or ≤25% reduction from normal cellularity for age"),
        # xgettext:no-python-format
        _("Moderately hypocellular or >25 - <50% reduction from normal cellularity for age"),
        # xgettext:no-python-format
        _("Severely hypocellular or >50 - ≤75% reduction from normal cellularity for age"),
        _("Aplastic persistent for longer than 2 weeks"), DEATH)),
    _other("blood_other", BLOOD),
    # Cardiac disorders
    Term("sinus_tachycardia", _("Sinus tachycardia"), CARDIAC, _g(
        _("Asymptomatic, intervention not indicated"), _("Symptomatic; non-urgent medical intervention indicated"),
        _("Urgent medical intervention indicated"))),
    Term("atrial_fibrillation", _("Atrial fibrillation"), CARDIAC, _g(
        _("Asymptomatic, intervention not indicated"), _("Non-urgent medical intervention indicated"),
        _("Symptomatic, urgent intervention indicated; device (e.g., pacemaker); ablation; new onset"),
        _("Life-threatening consequences; embolus requiring urgent intervention"), DEATH)),
    Term("ventricular_arrhythmia", _("Ventricular arrhythmia"), CARDIAC, _g(
        _("Asymptomatic, intervention not indicated"), _("Non-urgent medical intervention indicated"),
        _("Urgent intervention indicated"), _("Life-threatening consequences; hemodynamic compromise"), DEATH)),
    Term("heart_failure", _("Heart failure"), CARDIAC, _g(
        _("Asymptomatic with laboratory (e.g., BNP) or cardiac imaging abnormalities"),
        _("Symptoms with moderate activity or exertion"),
        _("Symptoms at rest or with minimal activity or exertion; hospitalization; new onset of symptoms"),
        _("Life-threatening consequences; urgent intervention indicated (e.g., continuous IV therapy or "
          "mechanical hemodynamic support)"), DEATH)),
    Term("myocarditis", _("Myocarditis"), CARDIAC, _g(
        _("Asymptomatic with laboratory (e.g., BNP) or cardiac imaging abnormalities"),
        _("Symptoms with moderate activity or exertion"),
        _("Severe with symptoms at rest or with minimal activity or exertion; intervention indicated"),
        LIFE_THREATENING, DEATH)),
    Term("pericardial_effusion", _("Pericardial effusion"), CARDIAC, _g(
        None, _("Asymptomatic effusion size small to moderate"), _("Effusion with physiologic consequences"),
        LIFE_THREATENING, DEATH)),
    _other("cardiac_other", CARDIAC),
    # Gastrointestinal disorders
    Term("nausea", _("Nausea"), GASTROINTESTINAL, _g(
        _("Loss of appetite without alteration in eating habits"),
        _("Oral intake decreased without significant weight loss, dehydration or malnutrition"),
        _("Inadequate oral caloric or fluid intake; tube feeding, TPN, or hospitalization indicated"))),
    Term("vomiting", _("Vomiting"), GASTROINTESTINAL, _g(
        _("Intervention not indicated"), _("Outpatient IV hydration; medical intervention indicated"),
        _("Tube feeding, TPN, or hospitalization indicated"), LIFE_THREATENING, DEATH)),
    Term("diarrhea", _("Diarrhea"), GASTROINTESTINAL, _g(
        _("Increase of <4 stools per day over baseline"),
        _("Increase of 4 - 6 stools per day over baseline; limiting instrumental ADL"),
        _("Increase of ≥7 stools per day over baseline; hospitalization indicated; limiting self care ADL"),
        LIFE_THREATENING, DEATH)),
    Term("abdominal_pain", _("Abdominal pain"), GASTROINTESTINAL, PAIN),
    Term("colitis", _("Colitis"), GASTROINTESTINAL, _g(
        _("Asymptomatic; clinical or diagnostic observations only; intervention not indicated"),
        _("Abdominal pain; mucus or blood in stool"), _("Severe abdominal pain; peritoneal signs"),
        LIFE_THREATENING, DEATH)),
    Term("mucositis_oral", _("Mucositis oral"), GASTROINTESTINAL, _g(
        _("Asymptomatic or mild symptoms; intervention not indicated"),
        _("Moderate pain or ulcer that does not interfere with oral intake; modified diet indicated"),
        _("Severe pain; interfering with oral intake"), LIFE_THREATENING, DEATH)),
    _other("gastrointestinal_other", GASTROINTESTINAL),
    # General disorders and administration site conditions
    Term("fever", _("Fever"), GENERAL, _g(
        _("38.0 - 39.0 °C"), _(">39.0 - 40.0 °C"), _(">40.0 °C for ≤24 hrs"), _(">40.0 °C for >24 hrs"), DEATH)),
    Term("fatigue", _("Fatigue"), GENERAL, _g(
        _("Fatigue relieved by rest"), _("Fatigue not relieved by rest; limiting instrumental ADL"),
        _("Fatigue not relieved by rest, limiting self care ADL"))),
    Term("chills", _("Chills"), GENERAL, _g(
        _("Mild sensation of cold; shivering; chattering of teeth"),
        _("Moderate tremor of the entire body; narcotics indicated"),
        _("Severe or prolonged, not responsive to narcotics"))),
    Term("edema_limbs", _("Edema limbs"), GENERAL, _g(
        # xgettext:no-python-format
        _("5 - 10% inter-limb discrepancy in volume or circumference"),
        # xgettext:no-python-format
        _(">10 - 30% inter-limb discrepancy; limiting instrumental ADL"),
        # xgettext:no-python-format
        _(">30% inter-limb discrepancy; gross deviation from normal anatomic contour; limiting self care ADL"))),
    Term("multi_organ_failure", _("Multi-organ failure"), GENERAL, _g(
        None, None, _("Shock with azotemia and acid-base disturbances; significant coagulation abnormalities"),
        _("Life-threatening consequences (e.g., vasopressor dependent and oliguric or anuric)"), DEATH)),
    Term("death_nos", _("Death NOS"), GENERAL, _g(None, None, None, None, DEATH)),
    _other("general_other", GENERAL),
    # Hepatobiliary disorders
    Term("hepatic_failure", _("Hepatic failure"), HEPATOBILIARY, _g(
        None, None, _("Asterixis; mild encephalopathy; drug-induced liver injury (DILI); limiting self care ADL"),
        _("Life-threatening consequences; moderate to severe encephalopathy; coma"), DEATH)),
    _other("hepatobiliary_other", HEPATOBILIARY),
    # Immune system disorders
    Term("cytokine_release_syndrome", _("Cytokine release syndrome"), IMMUNE, _g(
        _("Fever ≥38.0 °C without hypotension or hypoxia"),
        _("Fever with hypotension not requiring vasopressors and/or hypoxia requiring low-flow nasal cannula "
          "(≤6 L/min) or blow-by"),
        _("Fever with hypotension requiring one vasopressor (with or without vasopressin) and/or hypoxia "
          "requiring high-flow nasal cannula (>6 L/min), facemask, non-rebreather or Venturi mask"),
        _("Fever with hypotension requiring multiple vasopressors (excluding vasopressin) and/or hypoxia "
          "requiring positive pressure (CPAP, BiPAP, intubation and mechanical ventilation)"),
        _("Death due to CRS")), scale=ASTCT),
    Term("iec_hs", _("Immune effector cell-associated HLH-like syndrome (IEC-HS)"), IMMUNE, _g(
        _("Asymptomatic or mild; no IEC-HS-directed therapy"),
        _("IEC-HS-directed therapy needed (e.g., anakinra, corticosteroids)"),
        _("Severe; hospitalization or blood-product support, or new organ dysfunction"),
        _("Life-threatening (vasopressors, ventilation, dialysis, major bleeding)"), DEATH), scale=HINES),
    Term("acute_gvhd", _("Acute graft-versus-host disease"), IMMUNE, _g(
        _("MAGIC overall grade I"), _("MAGIC overall grade II"), _("MAGIC overall grade III"),
        _("MAGIC overall grade IV"), DEATH), scale=MAGIC),
    Term("allergic_reaction", _("Allergic reaction"), IMMUNE, _g(
        _("Systemic intervention not indicated"), _("Oral intervention indicated"),
        _("Bronchospasm; hospitalization indicated for clinical sequelae; intravenous intervention indicated"),
        LIFE_THREATENING, DEATH)),
    Term("anaphylaxis", _("Anaphylaxis"), IMMUNE, _g(
        None, None,
        _("Symptomatic bronchospasm, with or without urticaria; parenteral intervention indicated; "
          "allergy-related edema/angioedema; hypotension"), LIFE_THREATENING, DEATH)),
    Term("autoimmune_disorder", _("Autoimmune disorder"), IMMUNE, _g(
        _("Asymptomatic; serologic or other evidence of autoimmune reaction, with normal organ function; "
          "intervention not indicated"),
        _("Evidence of autoimmune reaction involving a non-essential organ or function (e.g., hypothyroidism)"),
        _("Autoimmune reactions involving major organ (e.g., colitis, anemia, myocarditis, kidney)"),
        LIFE_THREATENING, DEATH)),
    # Hypogammaglobulinaemia has no CTCAE v5.0 term: it is recorded here (clinical-rules.md 8.2).
    _other("immune_other", IMMUNE),
    # Infections and infestations
    Term("sepsis", _("Sepsis"), INFECTIONS, _g(None, None, None, LIFE_THREATENING, DEATH)),
    Term("lung_infection", _("Lung infection"), INFECTIONS, _g(
        None, INFECTION_G2, INFECTION_G3, LIFE_THREATENING, DEATH)),
    Term("upper_respiratory_infection", _("Upper respiratory infection"), INFECTIONS, _g(
        None, INFECTION_G2, INFECTION_G3, LIFE_THREATENING, DEATH)),
    Term("urinary_tract_infection", _("Urinary tract infection"), INFECTIONS, _g(
        None, _("Localized; local intervention indicated; oral intervention indicated"), INFECTION_G3,
        LIFE_THREATENING, DEATH)),
    Term("skin_infection", _("Skin infection"), INFECTIONS, _g(
        None, _("Localized, local intervention indicated"), INFECTION_G3, LIFE_THREATENING, DEATH)),
    Term("catheter_related_infection", _("Catheter related infection"), INFECTIONS, _g(
        None, _("Localized; local intervention indicated; oral intervention indicated"), INFECTION_G3,
        LIFE_THREATENING, DEATH)),
    Term("enterocolitis_infectious", _("Enterocolitis infectious"), INFECTIONS, _g(
        _("Asymptomatic; clinical or diagnostic observations only; intervention not indicated"),
        _("Passage of >3 unformed stools per 24 hrs or duration of illness >48 hrs; moderate abdominal pain"),
        INFECTION_G3, LIFE_THREATENING, DEATH)),
    # Viral reactivations (CMV, EBV, HBV, HSV, VZV) are recorded here with the pathogen (8.3).
    Term("infection_other", _("Other, specify"), INFECTIONS, _g(
        _("Mild symptoms; intervention not indicated"), INFECTION_G2, INFECTION_G3, LIFE_THREATENING, DEATH),
        other_specify=True),
    # Injury, poisoning and procedural complications
    Term("infusion_related_reaction", _("Infusion related reaction"), INJURY, _g(
        _("Mild transient reaction; infusion interruption not indicated; intervention not indicated"),
        _("Therapy or infusion interruption indicated but responds promptly to symptomatic treatment; "
          "prophylactic medications indicated for ≤24 hrs"),
        _("Prolonged; recurrence of symptoms following initial improvement; hospitalization indicated for "
          "clinical sequelae"), LIFE_THREATENING, DEATH)),
    _other("injury_other", INJURY),
    # Investigations
    Term("neutrophil_count_decreased", _("Neutrophil count decreased"), INVESTIGATIONS, _lab(
        _("<LLN - 1.5 × 10⁹/L"), _("<1.5 - 1.0 × 10⁹/L"), _("<1.0 - 0.5 × 10⁹/L"), _("<0.5 × 10⁹/L"))),
    Term("platelet_count_decreased", _("Platelet count decreased"), INVESTIGATIONS, _lab(
        _("<LLN - 75 × 10⁹/L"), _("<75 - 50 × 10⁹/L"), _("<50 - 25 × 10⁹/L"), _("<25 × 10⁹/L"))),
    Term("lymphocyte_count_decreased", _("Lymphocyte count decreased"), INVESTIGATIONS, _lab(
        _("<LLN - 0.8 × 10⁹/L"), _("<0.8 - 0.5 × 10⁹/L"), _("<0.5 - 0.2 × 10⁹/L"), _("<0.2 × 10⁹/L"))),
    Term("white_blood_cell_decreased", _("White blood cell decreased"), INVESTIGATIONS, _lab(
        _("<LLN - 3.0 × 10⁹/L"), _("<3.0 - 2.0 × 10⁹/L"), _("<2.0 - 1.0 × 10⁹/L"), _("<1.0 × 10⁹/L"))),
    Term("cd4_lymphocytes_decreased", _("CD4 lymphocytes decreased"), INVESTIGATIONS, _lab(
        _("<LLN - 500/mm³"), _("<500 - 200/mm³"), _("<200 - 100/mm³"), _("<100/mm³"))),
    Term("alanine_aminotransferase_increased", _("Alanine aminotransferase increased"), INVESTIGATIONS, _lab(
        _(">ULN - 3.0 × ULN if baseline was normal; 1.5 - 3.0 × baseline if baseline was abnormal"),
        _(">3.0 - 5.0 × ULN if baseline was normal; >3.0 - 5.0 × baseline if baseline was abnormal"),
        _(">5.0 - 20.0 × ULN if baseline was normal; >5.0 - 20.0 × baseline if baseline was abnormal"),
        _(">20.0 × ULN if baseline was normal; >20.0 × baseline if baseline was abnormal"))),
    Term("aspartate_aminotransferase_increased", _("Aspartate aminotransferase increased"), INVESTIGATIONS, _lab(
        _(">ULN - 3.0 × ULN if baseline was normal; 1.5 - 3.0 × baseline if baseline was abnormal"),
        _(">3.0 - 5.0 × ULN if baseline was normal; >3.0 - 5.0 × baseline if baseline was abnormal"),
        _(">5.0 - 20.0 × ULN if baseline was normal; >5.0 - 20.0 × baseline if baseline was abnormal"),
        _(">20.0 × ULN if baseline was normal; >20.0 × baseline if baseline was abnormal"))),
    Term("blood_bilirubin_increased", _("Blood bilirubin increased"), INVESTIGATIONS, _lab(
        _(">ULN - 1.5 × ULN if baseline was normal; >1.0 - 1.5 × baseline if baseline was abnormal"),
        _(">1.5 - 3.0 × ULN if baseline was normal; >1.5 - 3.0 × baseline if baseline was abnormal"),
        _(">3.0 - 10.0 × ULN if baseline was normal; >3.0 - 10.0 × baseline if baseline was abnormal"),
        _(">10.0 × ULN if baseline was normal; >10.0 × baseline if baseline was abnormal"))),
    Term("creatinine_increased", _("Creatinine increased"), INVESTIGATIONS, _lab(
        _(">ULN - 1.5 × ULN"), _(">1.5 - 3.0 × baseline; >1.5 - 3.0 × ULN"), _(">3.0 × baseline; >3.0 - 6.0 × ULN"),
        _(">6.0 × ULN"))),
    Term("fibrinogen_decreased", _("Fibrinogen decreased"), INVESTIGATIONS, _lab(
        # xgettext:no-python-format
        _("<1.0 - 0.75 × LLN; if abnormal, <25% decrease from baseline"),
        # xgettext:no-python-format
        _("<0.75 - 0.5 × LLN; if abnormal, 25 - <50% decrease from baseline"),
        # xgettext:no-python-format
        _("<0.5 - 0.25 × LLN; if abnormal, 50 - <75% decrease from baseline"),
        # xgettext:no-python-format
        _("<0.25 × LLN; if abnormal, 75% decrease from baseline or absolute value <50 mg/dL"))),
    Term("inr_increased", _("INR increased"), INVESTIGATIONS, _lab(
        _(">1.2 - 1.5; >1 - 1.5 × baseline if on anticoagulation; monitoring only indicated"),
        _(">1.5 - 2.5; >1.5 - 2.5 × baseline if on anticoagulation; dose adjustment indicated"),
        _(">2.5; >2.5 × baseline if on anticoagulation; bleeding"), None)),
    Term("ggt_increased", _("GGT increased"), INVESTIGATIONS, _lab(
        _(">ULN - 2.5 × ULN if baseline was normal; 2.0 - 2.5 × baseline if baseline was abnormal"),
        _(">2.5 - 5.0 × ULN if baseline was normal; >2.5 - 5.0 × baseline if baseline was abnormal"),
        _(">5.0 - 20.0 × ULN if baseline was normal; >5.0 - 20.0 × baseline if baseline was abnormal"),
        _(">20.0 × ULN if baseline was normal; >20.0 × baseline if baseline was abnormal"))),
    _other("investigations_other", INVESTIGATIONS),
    # Metabolism and nutrition disorders
    Term("anorexia", _("Anorexia"), METABOLISM, _g(
        _("Loss of appetite without alteration in eating habits"),
        _("Oral intake altered without significant weight loss or malnutrition; oral nutritional supplements "
          "indicated"),
        _("Associated with significant weight loss or malnutrition; tube feeding or TPN indicated"),
        LIFE_THREATENING, DEATH)),
    Term("hypokalemia", _("Hypokalemia"), METABOLISM, _lab(
        _("<LLN - 3.0 mmol/L"), _("Symptomatic with <LLN - 3.0 mmol/L; intervention indicated"),
        _("<3.0 - 2.5 mmol/L; hospitalization indicated"), _("<2.5 mmol/L; life-threatening consequences"))),
    Term("hyponatremia", _("Hyponatremia"), METABOLISM, _lab(
        _("<LLN - 130 mmol/L"), _("125 - 129 mmol/L and asymptomatic"),
        _("125 - 129 mmol/L symptomatic; 120 - 124 mmol/L regardless of symptoms"),
        _("<120 mmol/L; life-threatening consequences"))),
    Term("hypophosphatemia", _("Hypophosphatemia"), METABOLISM, _lab(
        _("Laboratory finding only and intervention not indicated"), _("Oral replacement therapy indicated"),
        _("Severe or medically significant but not immediately life-threatening; hospitalization indicated"),
        LIFE_THREATENING)),
    Term("hypocalcemia", _("Hypocalcemia"), METABOLISM, _lab(
        _("Corrected serum calcium <LLN - 2.0 mmol/L; ionized calcium <LLN - 1.0 mmol/L"),
        _("Corrected serum calcium <2.0 - 1.75 mmol/L; ionized calcium <1.0 - 0.9 mmol/L; symptomatic"),
        _("Corrected serum calcium <1.75 - 1.5 mmol/L; ionized calcium <0.9 - 0.8 mmol/L; hospitalization "
          "indicated"),
        _("Corrected serum calcium <1.5 mmol/L; ionized calcium <0.8 mmol/L; life-threatening consequences"))),
    Term("hypoalbuminemia", _("Hypoalbuminemia"), METABOLISM, _lab(
        _("<LLN - 30 g/L"), _("<30 - 20 g/L"), _("<20 g/L"), LIFE_THREATENING)),
    Term("hypertriglyceridemia", _("Hypertriglyceridemia"), METABOLISM, _lab(
        _("1.71 - 3.42 mmol/L"), _(">3.42 - 5.7 mmol/L"), _(">5.7 - 11.4 mmol/L"),
        _(">11.4 mmol/L; life-threatening consequences"))),
    Term("hyperglycemia", _("Hyperglycemia"), METABOLISM, _lab(
        _("Abnormal glucose above baseline with no medical intervention"),
        _("Change in daily management of glucose; oral antiglycemic agent initiated; workup for diabetes"),
        _("Insulin therapy initiated; hospitalization indicated"), LIFE_THREATENING)),
    Term("tumor_lysis_syndrome", _("Tumor lysis syndrome"), METABOLISM, _g(
        None, None, _("Present"), LIFE_THREATENING, DEATH)),
    _other("metabolism_other", METABOLISM),
    # Musculoskeletal and connective tissue disorders
    Term("arthralgia", _("Arthralgia"), MUSCULOSKELETAL, PAIN),
    Term("myalgia", _("Myalgia"), MUSCULOSKELETAL, PAIN),
    _other("musculoskeletal_other", MUSCULOSKELETAL),
    # Neoplasms
    Term("treatment_related_secondary_malignancy", _("Treatment related secondary malignancy"), NEOPLASMS, _g(
        None, None, _("Non life-threatening secondary malignancy"),
        _("Acute life-threatening secondary malignancy; blast crisis in leukemia"), DEATH)),
    _other("neoplasms_other", NEOPLASMS),
    # Nervous system disorders
    Term("icans", _("Immune effector cell-associated neurotoxicity syndrome (ICANS)"), NERVOUS, _g(
        _("ICE score 7-9, or awakens spontaneously"),
        _("ICE score 3-6, or awakens to voice"),
        _("ICE score 0-2; awakens only to tactile stimulus; a clinical seizure that resolves rapidly or a "
          "non-convulsive seizure on EEG that resolves with intervention; focal or local oedema on imaging"),
        _("Unarousable, stupor or coma; life-threatening prolonged or repetitive seizures; deep focal motor "
          "weakness; diffuse cerebral oedema, posturing, cranial nerve VI palsy, papilloedema or Cushing's "
          "triad"),
        _("Death due to ICANS")), scale=ASTCT),
    Term("encephalopathy", _("Encephalopathy"), NERVOUS, _g(*SYMPTOMS[:3], LIFE_THREATENING, DEATH)),
    Term("headache", _("Headache"), NERVOUS, PAIN),
    Term("seizure", _("Seizure"), NERVOUS, _g(
        _("Brief partial seizure; no loss of consciousness"), _("Brief generalized seizure"),
        _("New onset seizures (partial or generalized); multiple seizures despite medical intervention"),
        _("Life-threatening consequences; prolonged repetitive seizures"), DEATH)),
    Term("tremor", _("Tremor"), NERVOUS, SYMPTOMS),
    Term("dysphasia", _("Dysphasia"), NERVOUS, _g(
        _("Awareness of receptive or expressive characteristics; not impairing ability to communicate"),
        _("Moderate receptive or expressive characteristics; impairing ability to communicate spontaneously"),
        _("Severe receptive or expressive characteristics; impairing ability to read, write or communicate "
          "intelligibly"))),
    Term("depressed_level_of_consciousness", _("Depressed level of consciousness"), NERVOUS, _g(
        _("Decreased level of alertness"), _("Sedation; slow response to stimuli; limiting instrumental ADL"),
        _("Difficult to arouse"), _("Life-threatening consequences"), DEATH)),
    Term("somnolence", _("Somnolence"), NERVOUS, _g(
        _("Mild but more than usual drowsiness or sleepiness"), _("Moderate sedation; limiting instrumental ADL"),
        _("Obtundation or stupor"), LIFE_THREATENING, DEATH)),
    Term("cognitive_disturbance", _("Cognitive disturbance"), NERVOUS, _g(
        _("Mild cognitive disability; not interfering with work/school/life performance"),
        _("Moderate cognitive disability; interfering with work/school/life performance but capable of "
          "independent living"),
        _("Severe cognitive disability; significant impairment of work/school/life performance"))),
    Term("dizziness", _("Dizziness"), NERVOUS, _g(
        _("Mild unsteadiness or sensation of movement"),
        _("Moderate unsteadiness or sensation of movement; limiting instrumental ADL"),
        _("Severe unsteadiness or sensation of movement; limiting self care ADL"))),
    Term("extrapyramidal_disorder", _("Extrapyramidal disorder"), NERVOUS, _g(
        _("Mild involuntary movements"), _("Moderate involuntary movements; limiting instrumental ADL"),
        _("Severe involuntary movements or torticollis; limiting self care ADL"), LIFE_THREATENING, DEATH)),
    Term("peripheral_sensory_neuropathy", _("Peripheral sensory neuropathy"), NERVOUS, _g(
        _("Asymptomatic"), _("Moderate symptoms; limiting instrumental ADL"),
        _("Severe symptoms; limiting self care ADL"), LIFE_THREATENING)),
    Term("intracranial_hemorrhage", _("Intracranial hemorrhage"), NERVOUS, _g(
        _("Asymptomatic; clinical or diagnostic observations only; intervention not indicated"),
        _("Moderate symptoms; medical intervention indicated"),
        _("Ventriculostomy, ICP monitoring, intraventricular thrombolysis, or operative intervention indicated"),
        LIFE_THREATENING, DEATH)),
    _other("nervous_other", NERVOUS),
    # Pregnancy
    _other("pregnancy_other", PREGNANCY),
    # Psychiatric disorders
    Term("confusion", _("Confusion"), PSYCHIATRIC, _g(
        _("Mild disorientation"), _("Moderate disorientation; limiting instrumental ADL"),
        _("Severe disorientation; limiting self care ADL"), LIFE_THREATENING, DEATH)),
    Term("delirium", _("Delirium"), PSYCHIATRIC, _g(
        _("Mild acute confusional state"), _("Moderate and acute confusional state; limiting instrumental ADL"),
        _("Severe and acute confusional state; limiting self care ADL; hospitalization indicated"),
        LIFE_THREATENING, DEATH)),
    _other("psychiatric_other", PSYCHIATRIC),
    # Renal and urinary disorders
    Term("acute_kidney_injury", _("Acute kidney injury"), RENAL, _g(
        None, None, _("Hospitalization indicated"), _("Life-threatening consequences; dialysis indicated"), DEATH)),
    Term("proteinuria", _("Proteinuria"), RENAL, _g(
        _("1+ proteinuria; urinary protein ≥ULN - <1.0 g/24 hrs"),
        _("2+ and 3+ proteinuria; urinary protein 1.0 - <3.5 g/24 hrs"),
        _("Urinary protein ≥3.5 g/24 hrs; 4+ proteinuria"))),
    Term("hematuria", _("Hematuria"), RENAL, _g(
        _("Asymptomatic; clinical or diagnostic observations only; intervention not indicated"),
        _("Symptomatic; urinary catheter or bladder irrigation indicated; limiting instrumental ADL"),
        _("Gross hematuria; transfusion, IV medications, or hospitalization indicated"),
        _("Life-threatening consequences; urgent invasive intervention indicated"), DEATH)),
    Term("cystitis_noninfective", _("Cystitis noninfective"), RENAL, _g(
        _("Microscopic hematuria; minimal increase in frequency, urgency, dysuria, or nocturia"),
        _("Moderate hematuria; moderate increase in frequency, urgency, dysuria, nocturia or incontinence"),
        _("Gross hematuria; transfusion, IV medications, or hospitalization indicated"),
        _("Life-threatening consequences; urgent invasive intervention indicated"), DEATH)),
    _other("renal_other", RENAL),
    # Respiratory, thoracic and mediastinal disorders
    Term("hypoxia", _("Hypoxia"), RESPIRATORY, _g(
        None, _("Decreased oxygen saturation with exercise (e.g., pulse oximeter <88%); intermittent "
                "supplemental oxygen"),
        # xgettext:no-python-format
        _("Decreased oxygen saturation at rest (e.g., pulse oximeter <88% or PaO2 ≤55 mm Hg)"),
        _("Life-threatening airway compromise; urgent intervention indicated (e.g., tracheotomy or intubation)"),
        DEATH)),
    Term("dyspnea", _("Dyspnea"), RESPIRATORY, _g(
        _("Shortness of breath with moderate exertion"),
        _("Shortness of breath with minimal exertion; limiting instrumental ADL"),
        _("Shortness of breath at rest; limiting self care ADL"), LIFE_THREATENING, DEATH)),
    Term("cough", _("Cough"), RESPIRATORY, _g(
        _("Mild symptoms; nonprescription intervention indicated"),
        _("Moderate symptoms, medical intervention indicated; limiting instrumental ADL"),
        _("Severe symptoms; limiting self care ADL"))),
    Term("pleural_effusion", _("Pleural effusion"), RESPIRATORY, _g(
        _("Asymptomatic; clinical or diagnostic observations only; intervention not indicated"),
        _("Symptomatic; intervention indicated (e.g., diuretics or therapeutic thoracentesis)"),
        _("Symptomatic with respiratory distress and hypoxia; surgical intervention including chest tube or "
          "pleurodesis indicated"),
        _("Life-threatening respiratory or hemodynamic compromise; intubation or urgent intervention indicated"),
        DEATH)),
    Term("pneumonitis", _("Pneumonitis"), RESPIRATORY, _g(
        _("Asymptomatic; clinical or diagnostic observations only; intervention not indicated"),
        _("Symptomatic; medical intervention indicated; limiting instrumental ADL"),
        _("Severe symptoms; limiting self care ADL; oxygen indicated"),
        _("Life-threatening respiratory compromise; urgent intervention indicated"), DEATH)),
    Term("respiratory_failure", _("Respiratory failure"), RESPIRATORY, _g(
        None, None, None,
        _("Life-threatening consequences; urgent intervention, intubation, or ventilatory support indicated"),
        DEATH)),
    _other("respiratory_other", RESPIRATORY),
    # Skin and subcutaneous tissue disorders
    Term("rash_maculo_papular", _("Rash maculo-papular"), SKIN, _g(
        _("Macules/papules covering <10% BSA with or without symptoms"),
        _("Macules/papules covering 10 - 30% BSA with or without symptoms; limiting instrumental ADL"),
        _("Macules/papules covering >30% BSA with moderate or severe symptoms; limiting self care ADL"))),
    Term("pruritus", _("Pruritus"), SKIN, _g(
        _("Mild or localized; topical intervention indicated"),
        _("Widespread and intermittent; skin changes from scratching; oral intervention indicated"),
        _("Widespread and constant; limiting self care ADL or sleep; systemic corticosteroid or "
          "immunosuppressive therapy indicated"))),
    Term("alopecia", _("Alopecia"), SKIN, _g(
        # xgettext:no-python-format
        _("Hair loss of <50% of normal for that individual"),
        # xgettext:no-python-format
        _("Hair loss of ≥50% of normal for that individual that is readily apparent to others"))),
    _other("skin_other", SKIN),
    # Vascular disorders
    Term("hypotension", _("Hypotension"), VASCULAR, _g(
        _("Asymptomatic, intervention not indicated"), _("Non-urgent medical intervention indicated"),
        _("Medical intervention indicated; hospitalization indicated"),
        _("Life-threatening consequences and urgent intervention indicated"), DEATH)),
    Term("hypertension", _("Hypertension"), VASCULAR, _g(
        _("Systolic BP 120 - 139 mm Hg or diastolic BP 80 - 89 mm Hg"),
        _("Systolic BP 140 - 159 mm Hg or diastolic BP 90 - 99 mm Hg; medical intervention indicated"),
        _("Systolic BP ≥160 mm Hg or diastolic BP ≥100 mm Hg; more than one drug or more intensive therapy "
          "indicated"),
        _("Life-threatening consequences (e.g., malignant hypertension, hypertensive crisis); urgent "
          "intervention indicated"), DEATH)),
    Term("thromboembolic_event", _("Thromboembolic event"), VASCULAR, _g(
        _("Medical intervention not indicated (e.g., superficial thrombosis)"), _("Medical intervention indicated"),
        _("Urgent medical intervention indicated (e.g., pulmonary embolism or intracardiac thrombus)"),
        _("Life-threatening consequences with hemodynamic or neurologic instability"), DEATH)),
    Term("capillary_leak_syndrome", _("Capillary leak syndrome"), VASCULAR, _g(
        None, _("Symptomatic; medical intervention indicated"), _("Severe symptoms; intervention indicated"),
        LIFE_THREATENING, DEATH)),
    _other("vascular_other", VASCULAR),
)  # fmt: skip

BY_KEY: dict[str, Term] = {term.key: term for term in TERMS}
if len(BY_KEY) != len(TERMS):
    raise RuntimeError("duplicate CTCAE term key")

# Terms whose events are adverse events of special interest in a CAR-T trial (clinical-rules.md 9).
AESI_BY_TERM = {
    "cytokine_release_syndrome": "crs",
    "icans": "icans",
    "iec_hs": "iec_hs",
    "acute_gvhd": "gvhd",
    "treatment_related_secondary_malignancy": "secondary_malignancy",
    "autoimmune_disorder": "new_autoimmunity",
}
# The term of each ``ctcae_v5_labs`` parameter graded from a laboratory value (``labs.analytes``), where
# the parameter's name is not itself a term key.
LAB_PARAMETER_TERMS = {
    "wbc_decreased": "white_blood_cell_decreased",
    "alt_increased": "alanine_aminotransferase_increased",
    "ast_increased": "aspartate_aminotransferase_increased",
}


def term_of_lab_parameter(parameter: str | None) -> str:
    """The term key an adverse event graded from ``parameter`` is recorded under ("" when none)."""
    key = LAB_PARAMETER_TERMS.get(parameter or "", parameter or "")
    return key if key in BY_KEY else ""


# Terms counted as cytopenias in the safety summary.
CYTOPENIA_TERMS = (
    "neutrophil_count_decreased",
    "platelet_count_decreased",
    "anemia",
    "lymphocyte_count_decreased",
    "white_blood_cell_decreased",
    "febrile_neutropenia",
    "bone_marrow_hypocellular",
)


def term(key: str) -> Term | None:
    return BY_KEY.get(key)


def term_label(key: str, other: str = "") -> str:
    """The term as a reader sees it: "Other, specify" terms show what was specified."""
    found = BY_KEY.get(key)
    if found is None:
        return key
    if found.other_specify:
        return f"{found.soc} – {other or found.name}"
    return str(found.name)


def soc_of(key: str) -> str:
    found = BY_KEY.get(key)
    return str(found.soc) if found else ""


def search(query: str) -> list[Term]:
    """Terms whose name, SOC or key contains every word of ``query`` (in the active language or English)."""
    words = [w for w in query.lower().split() if w]
    matches = []
    for t in TERMS:
        haystack = f"{t.key.replace('_', ' ')} {t.name} {t.soc}".lower()
        if all(word in haystack for word in words):
            matches.append(t)
    return matches


def choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped by SOC, in the order above, for a select with optgroups."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for t in TERMS:
        groups.setdefault(str(t.soc), []).append((t.key, str(t.name)))
    return [("", "---------"), *groups.items()]

"""CAR-T safety records: adverse events with dated grades, the SAE report and its clock, DLT adjudications,
IEC-HS events, and the graded CRFs (CRS, ICANS, baseline ICE, acute GvHD).

Grades that a consensus scale defines are computed with ``edc.clinical.compute`` from the stored inputs
and stored with the rule version, because the regulator wants the grade as it was shown. Everything
else derived (an event's maximum grade, CRS and ICANS episodes, the SAE deadline and status, the DLT
window) is computed where it is read (``selectors``, ``episodes``).
"""

from datetime import timedelta

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crfs.models import CaseReportForm, crf_meta_constraints
from edc.integrity import RefuseWhenLocked
from edc.models import ClinicalRecord

from . import ctcae_terms

# Initial SAE report to the sponsor: due 24 h after the site became aware (ICH E2A; protocol).
SAE_INITIAL_REPORT_HOURS = 24
GRADE_CHOICES = [(g, str(g)) for g in range(1, 6)]


def _protect(name):
    return pgtrigger.Protect(name=f"{name}_no_delete", operation=pgtrigger.Delete)


def _user(verbose_name):
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=verbose_name,
    )


class Relationship(models.TextChoices):
    NOT_RELATED = "not_related", _("Not related")
    UNLIKELY = "unlikely", _("Unlikely")
    POSSIBLE = "possible", _("Possible")
    PROBABLE = "probable", _("Probable")
    DEFINITE = "definite", _("Definite")


# Possible, probable and definite count as related (the usual binary split for safety tables).
RELATED = (Relationship.POSSIBLE, Relationship.PROBABLE, Relationship.DEFINITE)


class ActionTaken(models.TextChoices):
    NONE = "none", _("None")
    LYMPHODEPLETION_REDUCED = "lymphodepletion_reduced", _("Lymphodepletion dose reduced")
    LYMPHODEPLETION_INTERRUPTED = "lymphodepletion_interrupted", _("Lymphodepletion interrupted")
    INFUSION_DELAYED = "infusion_delayed", _("CAR-T infusion delayed")
    INFUSION_INTERRUPTED = "infusion_interrupted", _("CAR-T infusion interrupted")
    INFUSION_NOT_GIVEN = "infusion_not_given", _("CAR-T infusion not given")
    NOT_APPLICABLE = "not_applicable", _("Not applicable")


class Outcome(models.TextChoices):
    RECOVERED = "recovered", _("Recovered / resolved")
    RECOVERING = "recovering", _("Recovering / resolving")
    NOT_RECOVERED = "not_recovered", _("Not recovered / not resolved")
    SEQUELAE = "sequelae", _("Recovered / resolved with sequelae")
    FATAL = "fatal", _("Fatal")
    UNKNOWN = "unknown", _("Unknown")


class AesiCategory(models.TextChoices):
    CRS = "crs", _("Cytokine release syndrome")
    ICANS = "icans", _("ICANS")
    IEC_HS = "iec_hs", _("IEC-HS")
    INFECTION = "infection", _("Infection grade ≥3")
    PROLONGED_CYTOPENIA = "prolonged_cytopenia", _("Prolonged cytopenia")
    GVHD = "gvhd", _("Graft-versus-host disease")
    SECONDARY_MALIGNANCY = "secondary_malignancy", _("Secondary malignancy")
    HYPOGAMMAGLOBULINAEMIA = "hypogammaglobulinaemia", _("Hypogammaglobulinaemia")
    SLE_FLARE = "sle_flare", _("SLE flare")
    NEW_AUTOIMMUNITY = "new_autoimmunity", _("New autoimmunity")
    PREGNANCY = "pregnancy", _("Pregnancy")


class ViralReactivation(models.TextChoices):
    CMV = "cmv", "CMV"
    EBV = "ebv", "EBV"
    HBV = "hbv", "HBV"
    HSV = "hsv", "HSV"
    VZV = "vzv", "VZV"
    OTHER = "other", _("Other virus")


SERIOUSNESS_FIELDS = (
    "serious_death",
    "serious_life_threatening",
    "serious_hospitalisation",
    "serious_disability",
    "serious_congenital_anomaly",
    "serious_important_medical_event",
)


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class AdverseEvent(ClinicalRecord):
    """One adverse event of one participant, from onset to resolution; its grades are dated entries."""

    participant = models.ForeignKey("trials.Participant", models.PROTECT, related_name="adverse_events")
    number = models.PositiveIntegerField(_("AE number"))
    term = models.CharField(_("CTCAE term"), max_length=60)
    term_other = models.CharField(_("other, specify"), max_length=200, blank=True)
    verbatim = models.CharField(_("verbatim (as reported)"), max_length=300)
    onset_date = models.DateField(_("onset date"))
    onset_time = models.TimeField(_("onset time"), null=True, blank=True)
    resolution_date = models.DateField(_("resolution date"), null=True, blank=True)
    resolution_time = models.TimeField(_("resolution time"), null=True, blank=True)
    serious_death = models.BooleanField(_("results in death"), default=False)
    serious_life_threatening = models.BooleanField(_("life-threatening"), default=False)
    serious_hospitalisation = models.BooleanField(_("requires or prolongs hospitalisation"), default=False)
    serious_disability = models.BooleanField(_("persistent or significant disability"), default=False)
    serious_congenital_anomaly = models.BooleanField(_("congenital anomaly / birth defect"), default=False)
    serious_important_medical_event = models.BooleanField(_("important medical event"), default=False)
    relationship_car_t = models.CharField(
        _("relationship to CAR-T"), max_length=12, choices=Relationship.choices
    )
    relationship_lymphodepletion = models.CharField(
        _("relationship to lymphodepletion"), max_length=12, choices=Relationship.choices
    )
    expected = models.BooleanField(_("expected (reference safety information)"), null=True, blank=True)
    action_taken = models.CharField(
        _("action taken"), max_length=30, choices=ActionTaken.choices, default=ActionTaken.NONE
    )
    treatment = models.TextField(_("treatment given"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    aesi_category = models.CharField(
        _("adverse event of special interest"), max_length=30, choices=AesiCategory.choices, blank=True
    )
    # Infections (clinical-rules.md 8.3)
    infection_pathogen = models.CharField(_("pathogen"), max_length=100, blank=True)
    infection_site = models.CharField(_("site of infection"), max_length=100, blank=True)
    viral_reactivation = models.CharField(
        _("viral reactivation"), max_length=10, choices=ViralReactivation.choices, blank=True
    )
    during_neutropenia = models.BooleanField(_("during neutropenia"), null=True, blank=True)
    # Secondary malignancy (clinical-rules.md 9)
    malignancy_biopsy_done = models.BooleanField(_("biopsy taken"), null=True, blank=True)
    car_transgene_tested = models.BooleanField(
        _("tumour tested for the CAR transgene"), null=True, blank=True
    )
    car_transgene_result = models.CharField(_("CAR transgene result"), max_length=200, blank=True)
    recorded_by = _user(_("recorded by"))

    class Meta:
        ordering = ["participant", "number"]
        verbose_name = _("adverse event")
        verbose_name_plural = _("adverse events")
        constraints = [models.UniqueConstraint(fields=["participant", "number"], name="ae_number_unique")]
        indexes = [models.Index(fields=["participant", "onset_date"], name="ae_participant_onset")]
        triggers = [_protect("adverse_event"), RefuseWhenLocked()]

    def __str__(self):
        return f"{self.participant} · AE {self.number} · {self.term_label}"

    @property
    def term_label(self) -> str:
        return ctcae_terms.term_label(self.term, self.term_other)

    @property
    def ctcae_term(self):
        return ctcae_terms.term(self.term)

    @property
    def soc(self) -> str:
        return ctcae_terms.soc_of(self.term)

    @property
    def serious(self) -> bool:
        return any(getattr(self, name) for name in SERIOUSNESS_FIELDS)

    @property
    def seriousness(self) -> list[str]:
        return [
            str(self._meta.get_field(name).verbose_name) for name in SERIOUSNESS_FIELDS if getattr(self, name)
        ]

    @property
    def related_to_car_t(self) -> bool:
        return self.relationship_car_t in RELATED

    @property
    def onset_study_day(self) -> int | None:
        return self.participant.study_day(self.onset_date)


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class AdverseEventGrade(ClinicalRecord):
    """The event's grade from ``grade_on``; the event's maximum grade is the highest live entry."""

    adverse_event = models.ForeignKey(AdverseEvent, models.PROTECT, related_name="grades")
    grade_on = models.DateField(_("date"))
    grade = models.PositiveSmallIntegerField(_("grade"), choices=GRADE_CHOICES)
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_by = _user(_("recorded by"))

    class Meta:
        ordering = ["grade_on", "id"]
        verbose_name = _("grade entry")
        constraints = [
            models.CheckConstraint(condition=models.Q(grade__gte=1, grade__lte=5), name="ae_grade_1_to_5")
        ]
        triggers = [_protect("adverse_event_grade"), RefuseWhenLocked(parent="adverse_event")]

    def __str__(self):
        return f"{self.adverse_event} · {self.grade_on:%Y-%m-%d} grade {self.grade}"


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class SaeReport(ClinicalRecord):
    """The serious adverse event report: its clock starts when the site became aware of the seriousness.

    The investigator signs it (re-entering the password); the signature submits it to the sponsor.
    """

    adverse_event = models.OneToOneField(AdverseEvent, models.PROTECT, related_name="sae_report")
    participant = models.ForeignKey("trials.Participant", models.PROTECT, related_name="sae_reports")
    awareness_at = models.DateTimeField(_("site aware of the serious event"))
    narrative = models.TextField(_("narrative"), blank=True)
    signed_by = _user(_("signed and submitted by"))
    signed_at = models.DateTimeField(_("signed and submitted"), null=True, blank=True)

    class Meta:
        verbose_name = _("SAE report")
        indexes = [
            models.Index(
                fields=["awareness_at"],
                condition=models.Q(signed_at__isnull=True, entered_in_error=False),
                name="sae_report_unsubmitted",
            )
        ]
        triggers = [_protect("sae_report"), RefuseWhenLocked()]

    def __str__(self):
        return f"SAE · {self.adverse_event}"

    @property
    def due_at(self):
        return self.awareness_at + timedelta(hours=SAE_INITIAL_REPORT_HOURS)


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class SaeFollowUp(ClinicalRecord):
    report = models.ForeignKey(SaeReport, models.PROTECT, related_name="follow_ups")
    number = models.PositiveSmallIntegerField(_("follow-up number"))
    information = models.TextField(_("new information"))
    reported_at = models.DateTimeField(_("reported"))
    reported_by = _user(_("reported by"))

    class Meta:
        ordering = ["report", "number"]
        verbose_name = _("SAE follow-up")
        constraints = [
            models.UniqueConstraint(fields=["report", "number"], name="sae_follow_up_number_unique")
        ]
        triggers = [_protect("sae_follow_up"), RefuseWhenLocked(parent="report")]

    def __str__(self):
        return f"{self.report} · follow-up {self.number}"


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class DltAdjudication(ClinicalRecord):
    """An investigator's decision whether a candidate event is a dose-limiting toxicity."""

    adverse_event = models.OneToOneField(AdverseEvent, models.PROTECT, related_name="dlt_adjudication")
    participant = models.ForeignKey("trials.Participant", models.PROTECT, related_name="dlt_adjudications")
    is_dlt = models.BooleanField(_("dose-limiting toxicity"))
    criterion = models.CharField(_("DLT criterion met"), max_length=300, blank=True)
    dlt_date = models.DateField(_("DLT date"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    adjudicated_by = _user(_("adjudicated by"))
    adjudicated_at = models.DateTimeField(_("adjudicated"))

    class Meta:
        verbose_name = _("DLT adjudication")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(is_dlt=False)
                | (~models.Q(criterion="") & models.Q(dlt_date__isnull=False)),
                name="dlt_needs_criterion_and_date",
            )
        ]
        triggers = [_protect("dlt_adjudication"), RefuseWhenLocked()]

    def __str__(self):
        return f"DLT {'yes' if self.is_dlt else 'no'} · {self.adverse_event}"


class IecHsFinding(models.TextChoices):
    """The findings that set the IEC-HS grade (``edc.clinical`` ``iec_hs``)."""

    DIRECTED_THERAPY = (
        "iec_hs_directed_therapy",
        _("IEC-HS-directed therapy (e.g. anakinra, corticosteroids)"),
    )
    HOSPITALISATION = "hospitalisation_or_prolongation", _("Hospitalisation or its prolongation")
    BLOOD_PRODUCTS = "blood_product_support", _("Blood-product support")
    ORGAN_DYSFUNCTION = "new_organ_dysfunction", _("New organ dysfunction")
    VASOPRESSORS = "vasopressors", _("Vasopressors")
    VENTILATION = "mechanical_ventilation", _("Mechanical ventilation")
    DIALYSIS = "dialysis", _("Dialysis")
    MAJOR_BLEEDING = "major_bleeding", _("Major bleeding")
    DEATH = "death", _("Death")


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class IecHsEvent(ClinicalRecord):
    """The IEC-HS event form of an adverse event: supporting values and the computed grade."""

    adverse_event = models.OneToOneField(AdverseEvent, models.PROTECT, related_name="iec_hs")
    participant = models.ForeignKey("trials.Participant", models.PROTECT, related_name="+")
    assessed_on = models.DateField(_("date"))
    ferritin_ug_l = models.DecimalField(
        _("ferritin (µg/L)"), max_digits=8, decimal_places=1, null=True, blank=True
    )
    ferritin_baseline_ug_l = models.DecimalField(
        _("ferritin at infusion (µg/L)"), max_digits=8, decimal_places=1, null=True, blank=True
    )
    fibrinogen_g_l = models.DecimalField(
        _("fibrinogen (g/L)"), max_digits=4, decimal_places=2, null=True, blank=True
    )
    triglycerides_mmol_l = models.DecimalField(
        _("triglycerides (mmol/L)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    ldh_u_l = models.PositiveIntegerField(_("LDH (U/L)"), null=True, blank=True)
    alt_u_l = models.PositiveIntegerField(_("ALT (U/L)"), null=True, blank=True)
    ast_u_l = models.PositiveIntegerField(_("AST (U/L)"), null=True, blank=True)
    bilirubin_umol_l = models.DecimalField(
        _("total bilirubin (µmol/L)"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    new_or_worsening_cytopenias = models.BooleanField(_("new or worsening cytopenias"), default=False)
    haemophagocytosis = models.BooleanField(_("haemophagocytosis"), null=True, blank=True)
    splenomegaly = models.BooleanField(_("new splenomegaly"), default=False)
    marrow_findings = models.TextField(_("bone marrow findings"), blank=True)
    treatment = models.TextField(_("treatment"), blank=True)
    findings = models.JSONField(_("findings that set the grade"), default=list, blank=True)
    iec_hs_grade = models.PositiveSmallIntegerField(_("IEC-HS grade"), editable=False)
    grade_rule_version = models.CharField(_("rule version"), max_length=40, editable=False)

    class Meta:
        verbose_name = _("IEC-HS event")
        triggers = [_protect("iec_hs_event"), RefuseWhenLocked()]

    def __str__(self):
        return f"IEC-HS · {self.adverse_event}"

    def grade_inputs(self) -> dict:
        return {"findings": list(self.findings)}


# Graded CRFs ---------------------------------------------------------------------------------------


class Hypotension(models.TextChoices):
    NONE = "none", _("None")
    FLUIDS_ONLY = "fluids_only", _("Treated with fluids only")
    VASOPRESSOR = "vasopressor", _("Vasopressor(s)")


class Vasopressor(models.TextChoices):
    NOREPINEPHRINE = "norepinephrine", _("Norepinephrine")
    EPINEPHRINE = "epinephrine", _("Epinephrine")
    PHENYLEPHRINE = "phenylephrine", _("Phenylephrine")
    DOPAMINE = "dopamine", _("Dopamine")
    METARAMINOL = "metaraminol", _("Metaraminol")
    ANGIOTENSIN_II = "angiotensin_ii", _("Angiotensin II")
    VASOPRESSIN = "vasopressin", _("Vasopressin")


class OxygenDevice(models.TextChoices):
    NONE = "none", _("None (room air)")
    BLOW_BY = "blow_by", _("Blow-by")
    NASAL_CANNULA = "nasal_cannula", _("Nasal cannula")
    HIGH_FLOW_NASAL_CANNULA = "high_flow_nasal_cannula", _("High-flow nasal cannula")
    FACEMASK = "facemask", _("Facemask")
    NON_REBREATHER = "non_rebreather", _("Non-rebreather mask")
    VENTURI_MASK = "venturi_mask", _("Venturi mask")
    CPAP = "cpap", "CPAP"
    BIPAP = "bipap", "BiPAP"
    MECHANICAL_VENTILATION = "mechanical_ventilation", _("Intubation and mechanical ventilation")


ASTCT_GRADE_CHOICES = [(g, str(g)) for g in range(0, 6)]


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class CrsAssessment(CaseReportForm):
    """Daily CRS assessment (ASTCT 2019): the day's worst values give the day's grade."""

    assessed_on = models.DateField(_("date"), null=True, blank=True)
    temperature_c = models.DecimalField(_("Tmax (°C)"), max_digits=3, decimal_places=1, null=True, blank=True)
    fever_masked = models.BooleanField(
        _("fever masked by antipyretic or anti-cytokine therapy (tocilizumab, corticosteroids)"),
        default=False,
    )
    hypotension = models.CharField(
        _("hypotension: worst support"), max_length=12, choices=Hypotension.choices, blank=True
    )
    vasopressors = models.JSONField(_("vasopressors"), default=list, blank=True)
    oxygen_device = models.CharField(
        _("oxygen: worst device"), max_length=30, choices=OxygenDevice.choices, blank=True
    )
    oxygen_flow_l_min = models.DecimalField(
        _("oxygen flow (L/min)"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    tocilizumab_given = models.BooleanField(_("tocilizumab given"), default=False)
    steroids_given = models.BooleanField(_("corticosteroids given"), default=False)
    crs_grade = models.PositiveSmallIntegerField(_("ASTCT CRS grade (computed)"), null=True, editable=False)
    grade_rule_version = models.CharField(_("rule version"), max_length=40, blank=True, editable=False)
    investigator_grade = models.PositiveSmallIntegerField(
        _("investigator's CRS grade"), choices=ASTCT_GRADE_CHOICES, null=True, blank=True
    )

    required_for_complete = ("assessed_on", "temperature_c", "hypotension", "oxygen_device")

    class Meta:
        verbose_name = _("CRS assessment")
        constraints = crf_meta_constraints("crsassessment")
        triggers = [_protect("crsassessment"), RefuseWhenLocked()]

    def grade_inputs(self) -> dict | None:
        if self.temperature_c is None or not self.hypotension or not self.oxygen_device:
            return None
        return {
            "temperature_c": self.temperature_c,
            "fever_masked_by_antipyretic_or_anticytokine": self.fever_masked,
            "hypotension": self.hypotension,
            "vasopressors": list(self.vasopressors or []),
            "oxygen_device": self.oxygen_device,
            "oxygen_flow_l_min": self.oxygen_flow_l_min,
        }

    def derive(self):
        from .grading import grade

        result = grade("astct_crs", self.grade_inputs(), FIELD_OF_CRS_INPUT)
        self.crs_grade = result and result["crs_grade"]
        self.grade_rule_version = result["rule_version"] if result else ""

    def derived_rows(self):
        return [(_("ASTCT CRS grade"), self.crs_grade, self.grade_rule_version)]


FIELD_OF_CRS_INPUT = {
    "temperature_c": "temperature_c",
    "fever_masked_by_antipyretic_or_anticytokine": "fever_masked",
    "hypotension": "hypotension",
    "vasopressors": "vasopressors",
    "oxygen_device": "oxygen_device",
    "oxygen_flow_l_min": "oxygen_flow_l_min",
}


class IceItems(models.Model):
    """The ICE tool's five tasks (ASTCT 2019) and the computed score."""

    orientation_correct = models.PositiveSmallIntegerField(
        _("orientation: year, month, city, hospital (0–4 correct)"), null=True, blank=True
    )
    naming_correct = models.PositiveSmallIntegerField(
        _("naming three objects (0–3 correct)"), null=True, blank=True
    )
    follows_commands = models.BooleanField(_("follows simple commands"), default=False)
    writes_sentence = models.BooleanField(_("writes a standard sentence"), default=False)
    counts_back_by_10 = models.BooleanField(_("counts backwards from 100 by 10"), default=False)
    ice_score = models.PositiveSmallIntegerField(_("ICE score (computed)"), null=True, editable=False)
    ice_rule_version = models.CharField(_("ICE rule version"), max_length=40, blank=True, editable=False)

    class Meta:
        abstract = True

    def ice_inputs(self) -> dict | None:
        if self.orientation_correct is None or self.naming_correct is None:
            return None
        return {
            "orientation_correct": self.orientation_correct,
            "naming_correct": self.naming_correct,
            "follows_commands": self.follows_commands,
            "writes_sentence": self.writes_sentence,
            "counts_back_by_10": self.counts_back_by_10,
        }

    def derive_ice(self):
        from .grading import grade

        result = grade("ice_score", self.ice_inputs(), {k: k for k in ICE_FIELDS})
        self.ice_score = result and result["ice_score"]
        self.ice_rule_version = result["rule_version"] if result else ""


ICE_FIELDS = (
    "orientation_correct",
    "naming_correct",
    "follows_commands",
    "writes_sentence",
    "counts_back_by_10",
)


class Consciousness(models.TextChoices):
    ALERT = "alert", _("Alert")
    SPONTANEOUSLY = "awakens_spontaneously", _("Awakens spontaneously")
    TO_VOICE = "awakens_to_voice", _("Awakens to voice")
    TO_TACTILE = "awakens_to_tactile", _("Awakens only to tactile stimulus")
    UNAROUSABLE = "unarousable_or_vigorous_stimuli", _("Unarousable, or needs vigorous or repeated stimuli")


class Seizure(models.TextChoices):
    NONE = "none", _("None")
    CLINICAL = "clinical_resolves_rapidly", _("Clinical seizure, resolves rapidly")
    EEG = (
        "eeg_nonconvulsive_resolves_with_intervention",
        _("Non-convulsive seizure on EEG, resolves with intervention"),
    )
    PROLONGED = (
        "prolonged_gt_5min_or_repetitive_without_return_to_baseline",
        _("Prolonged (>5 min) or repetitive without return to baseline"),
    )


class Motor(models.TextChoices):
    NONE = "none", _("None")
    DEEP_FOCAL = "deep_focal_weakness", _("Deep focal motor weakness (hemiparesis, paraparesis)")


class RaisedIcp(models.TextChoices):
    NONE = "none", _("None")
    FOCAL = "focal_edema", _("Focal or local oedema on imaging")
    DIFFUSE = "diffuse_edema", _("Diffuse oedema on imaging")
    POSTURING = "posturing", _("Decerebrate or decorticate posturing")
    CN6 = "cn6_palsy", _("Cranial nerve VI palsy")
    PAPILLEDEMA = "papilledema", _("Papilloedema")
    CUSHING = "cushings_triad", _("Cushing's triad")


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class IcansAssessment(IceItems, CaseReportForm):
    """ICANS assessment (ASTCT 2019, adults): ICE score and the other domains give the grade."""

    assessed_on = models.DateField(_("date"), null=True, blank=True)
    consciousness = models.CharField(
        _("level of consciousness"), max_length=40, choices=Consciousness.choices, blank=True
    )
    seizure = models.CharField(_("seizure"), max_length=70, choices=Seizure.choices, blank=True)
    motor = models.CharField(_("motor findings"), max_length=30, choices=Motor.choices, blank=True)
    icp_cerebral_edema = models.CharField(
        _("raised ICP / cerebral oedema"), max_length=20, choices=RaisedIcp.choices, blank=True
    )
    icans_grade = models.PositiveSmallIntegerField(
        _("ASTCT ICANS grade (computed)"), null=True, editable=False
    )
    grade_rule_version = models.CharField(_("rule version"), max_length=40, blank=True, editable=False)
    investigator_grade = models.PositiveSmallIntegerField(
        _("investigator's ICANS grade"), choices=ASTCT_GRADE_CHOICES, null=True, blank=True
    )

    required_for_complete = ("assessed_on", "consciousness", "seizure", "motor", "icp_cerebral_edema")

    class Meta:
        verbose_name = _("ICANS assessment")
        constraints = crf_meta_constraints("icansassessment")
        triggers = [_protect("icansassessment"), RefuseWhenLocked()]

    def __str__(self):
        return f"{self._meta.verbose_name} {self.assessed_on or ''}".strip()

    @property
    def unarousable(self) -> bool:
        return self.consciousness == Consciousness.UNAROUSABLE

    def missing_required(self):
        missing = super().missing_required()
        if not self.unarousable:
            missing += [
                name for name in ("orientation_correct", "naming_correct") if getattr(self, name) is None
            ]
        return missing

    def grade_inputs(self) -> dict | None:
        domains = (self.consciousness, self.seizure, self.motor, self.icp_cerebral_edema)
        if not all(domains) or (self.ice_score is None and not self.unarousable):
            return None
        return {
            # An unarousable patient may be untestable: ICE is then null (ASTCT; decision 11). Roused by
            # vigorous stimuli, the patient may complete part of the test, and that score counts.
            "ice_score": self.ice_score,
            "consciousness": self.consciousness,
            "seizure": self.seizure,
            "motor": self.motor,
            "icp_cerebral_edema": self.icp_cerebral_edema,
        }

    def derive(self):
        from .grading import grade

        if self.unarousable and self.ice_inputs() is None:
            self.ice_score, self.ice_rule_version = None, ""
        else:
            self.derive_ice()
        result = grade(
            "astct_icans_adult",
            self.grade_inputs(),
            {"ice_score": "orientation_correct", **{k: k for k in ("consciousness", "seizure", "motor")},
             "icp_cerebral_edema": "icp_cerebral_edema"},
        )  # fmt: skip
        self.icans_grade = result and result["icans_grade"]
        self.grade_rule_version = result["rule_version"] if result else ""

    def derived_rows(self):
        return [
            (_("ICE score"), self.ice_score, self.ice_rule_version),
            (_("ASTCT ICANS grade"), self.icans_grade, self.grade_rule_version),
        ]


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class BaselineIce(IceItems, CaseReportForm):
    """ICE before lymphodepletion: prior NPSLE, language or literacy may lower it (clinical-rules.md 7.2)."""

    assessed_on = models.DateField(_("date"), null=True, blank=True)
    language = models.CharField(_("language of the items"), max_length=40, blank=True)
    notes = models.TextField(_("notes (e.g. reasons for a low baseline)"), blank=True)

    required_for_complete = ("assessed_on", "orientation_correct", "naming_correct")

    class Meta:
        verbose_name = _("baseline ICE")
        constraints = crf_meta_constraints("baselineice")
        triggers = [_protect("baselineice"), RefuseWhenLocked()]

    def __str__(self):
        return f"{self._meta.verbose_name} {self.assessed_on or ''}".strip()

    def derive(self):
        self.derive_ice()

    def derived_rows(self):
        return [(_("ICE score"), self.ice_score, self.ice_rule_version)]


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class GvhdAssessment(CaseReportForm):
    """Acute GvHD organ staging and overall grade (MAGIC, Harris 2016), for the allogeneic product."""

    assessed_on = models.DateField(_("date"), null=True, blank=True)
    skin_rash_bsa_pct = models.DecimalField(
        _("active rash (% body surface area)"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    erythroderma_bullae = models.BooleanField(
        _("generalised erythroderma with bullae and desquamation"), default=False
    )
    total_bilirubin_mg_dl = models.DecimalField(
        _("total bilirubin (mg/dL)"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    persistent_nausea = models.BooleanField(_("persistent nausea, vomiting or anorexia"), default=False)
    stool_volume_ml_day = models.PositiveIntegerField(_("stool volume (mL/day)"), null=True, blank=True)
    stool_episodes_day = models.PositiveSmallIntegerField(_("stool episodes per day"), null=True, blank=True)
    severe_abdominal_pain = models.BooleanField(
        _("severe abdominal pain with or without ileus, or grossly bloody stool"), default=False
    )
    skin_stage = models.PositiveSmallIntegerField(_("skin stage"), null=True, editable=False)
    liver_stage = models.PositiveSmallIntegerField(_("liver stage"), null=True, editable=False)
    upper_gi_stage = models.PositiveSmallIntegerField(_("upper GI stage"), null=True, editable=False)
    lower_gi_stage = models.PositiveSmallIntegerField(_("lower GI stage"), null=True, editable=False)
    overall_grade = models.PositiveSmallIntegerField(_("overall grade (0–IV)"), null=True, editable=False)
    grade_rule_version = models.CharField(_("rule version"), max_length=40, blank=True, editable=False)

    required_for_complete = ("assessed_on", "skin_rash_bsa_pct", "total_bilirubin_mg_dl")

    class Meta:
        verbose_name = _("acute GvHD assessment")
        constraints = crf_meta_constraints("gvhdassessment")
        triggers = [_protect("gvhdassessment"), RefuseWhenLocked()]

    def missing_required(self):
        missing = super().missing_required()
        if self.stool_volume_ml_day is None and self.stool_episodes_day is None:
            missing.append("stool_volume_ml_day")
        return missing

    def grade_inputs(self) -> dict | None:
        if self.skin_rash_bsa_pct is None or self.total_bilirubin_mg_dl is None:
            return None
        if self.stool_volume_ml_day is None and self.stool_episodes_day is None:
            return None
        return {
            "skin_rash_bsa_pct": self.skin_rash_bsa_pct,
            "generalized_erythroderma_with_bullae_desquamation": self.erythroderma_bullae,
            "total_bilirubin_mg_dl": self.total_bilirubin_mg_dl,
            "persistent_nausea_vomiting_anorexia": self.persistent_nausea,
            "stool_volume_ml_day": self.stool_volume_ml_day,
            "stool_episodes_day": self.stool_episodes_day,
            "severe_abdominal_pain_ileus_or_gross_blood": self.severe_abdominal_pain,
        }

    def derive(self):
        from .grading import grade

        result = grade("magic_agvhd", self.grade_inputs(), FIELD_OF_GVHD_INPUT) or {}
        self.skin_stage = result.get("skin")
        self.liver_stage = result.get("liver")
        self.upper_gi_stage = result.get("upper_gi")
        self.lower_gi_stage = result.get("lower_gi")
        self.overall_grade = result.get("overall_grade")
        self.grade_rule_version = result.get("rule_version", "")

    def derived_rows(self):
        version = self.grade_rule_version
        grade = None if self.overall_grade is None else ("0", "I", "II", "III", "IV")[self.overall_grade]
        stages = (self.skin_stage, self.liver_stage, self.upper_gi_stage, self.lower_gi_stage)
        shown = "" if self.skin_stage is None else " / ".join(str(s) for s in stages)
        return [
            (_("Skin / liver / upper GI / lower GI stage"), shown, version),
            (_("MAGIC overall grade"), grade, version),
        ]


FIELD_OF_GVHD_INPUT = {
    "skin_rash_bsa_pct": "skin_rash_bsa_pct",
    "generalized_erythroderma_with_bullae_desquamation": "erythroderma_bullae",
    "total_bilirubin_mg_dl": "total_bilirubin_mg_dl",
    "persistent_nausea_vomiting_anorexia": "persistent_nausea",
    "stool_volume_ml_day": "stool_volume_ml_day",
    "stool_episodes_day": "stool_episodes_day",
    "severe_abdominal_pain_ileus_or_gross_blood": "severe_abdominal_pain",
}


class LabPromptAnswer(models.TextChoices):
    PENDING = "pending", _("Not answered yet")
    RECORDED = "recorded", _("Recorded as an adverse event")
    DECLINED = "declined", _("Not an adverse event")


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class LabAdverseEventPrompt(models.Model):
    """ "Record as adverse event?" for one laboratory result graded at or above the study's threshold.

    Created when the result is saved (``services.sync_lab_prompt``); the answer (an event recorded from
    the pre-filled form, or a refusal with its reason) is kept with who gave it and when.
    """

    lab_result = models.OneToOneField(
        "labs.LabResult", models.PROTECT, related_name="ae_prompt", verbose_name=_("laboratory result")
    )
    participant = models.ForeignKey("trials.Participant", models.PROTECT, related_name="lab_ae_prompts")
    grade = models.PositiveSmallIntegerField(_("CTCAE grade at the prompt"))
    answer = models.CharField(
        _("answer"), max_length=10, choices=LabPromptAnswer.choices, default=LabPromptAnswer.PENDING
    )
    adverse_event = models.ForeignKey(
        AdverseEvent,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="lab_prompts",
        verbose_name=_("adverse event"),
    )
    reason = models.CharField(_("reason it is not an adverse event"), max_length=300, blank=True)
    answered_by = _user(_("answered by"))
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("laboratory adverse-event prompt")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(answer="recorded", adverse_event__isnull=False)
                | (~models.Q(answer="recorded") & models.Q(adverse_event__isnull=True)),
                name="lab_prompt_event_iff_recorded",
            ),
            models.CheckConstraint(
                condition=~models.Q(answer="declined") | ~models.Q(reason=""),
                name="lab_prompt_declined_has_reason",
            ),
        ]
        triggers = [_protect("lab_ae_prompt")]

    def __str__(self):
        return f"{self.participant} · {self.lab_result} · {_('grade')} {self.grade}"

    @property
    def pending(self) -> bool:
        return self.answer == LabPromptAnswer.PENDING

"""The medication log: prior and concomitant medications, one entry per agent and regimen.

Entries belong to the participant and are attached to the visit at which they were recorded (a
repeating form). Glucocorticoids carry their prednisone-equivalent daily dose, derived on save with the
rule version; entries flagged as CRS/ICANS treatment or premedication stay out of the SLE maintenance
dose (clinical-rules.md section 5) — see ``medications.selectors.maintenance_prednisone_equivalent``.
"""

from decimal import Decimal

import pghistory
from django.db import models
from django.utils.translation import gettext_lazy as _

from crfs.models import CaseReportForm
from edc.clinical import CalculatorInputError, compute
from edc.integrity import RefuseWhenLocked
from edc.partial_dates import iso, precision_field


class MedicationClass(models.TextChoices):
    GLUCOCORTICOID = "glucocorticoid", _("Glucocorticoid")
    ANTIMALARIAL = "antimalarial", _("Antimalarial")
    IMMUNOSUPPRESSANT = "immunosuppressant", _("Immunosuppressant")
    BIOLOGIC = "biologic", _("Biologic")
    ANTI_INFECTIVE_PROPHYLAXIS = "anti_infective_prophylaxis", _("Anti-infective prophylaxis")
    IVIG = "ivig", _("IVIG")
    TOCILIZUMAB = "tocilizumab", _("Tocilizumab")
    OTHER = "other", _("Other")


class Glucocorticoid(models.TextChoices):
    """The drugs of the prednisone-equivalence table (clinical-rules.md section 5)."""

    PREDNISONE = "prednisone", _("prednisone")
    PREDNISOLONE = "prednisolone", _("prednisolone")
    METHYLPREDNISOLONE = "methylprednisolone", _("methylprednisolone")
    TRIAMCINOLONE = "triamcinolone", _("triamcinolone")
    HYDROCORTISONE = "hydrocortisone", _("hydrocortisone")
    CORTISONE = "cortisone", _("cortisone")
    DEXAMETHASONE = "dexamethasone", _("dexamethasone")
    BETAMETHASONE = "betamethasone", _("betamethasone")
    DEFLAZACORT = "deflazacort", _("deflazacort")


class DoseUnit(models.TextChoices):
    MG = "mg", "mg"
    G = "g", "g"
    UG = "ug", "µg"
    MG_KG = "mg/kg", "mg/kg"
    MG_M2 = "mg/m2", "mg/m²"
    G_KG = "g/kg", "g/kg"
    IU = "IU", "IU"
    ML = "mL", "mL"
    OTHER = "other", _("other")


class Frequency(models.TextChoices):
    QD = "qd", _("once daily")
    BID = "bid", _("twice daily")
    TID = "tid", _("three times daily")
    QID = "qid", _("four times daily")
    QOD = "qod", _("every other day")
    WEEKLY = "weekly", _("weekly")
    ONCE = "once", _("single dose")
    OTHER = "other", _("other")


class Route(models.TextChoices):
    ORAL = "oral", _("oral")
    IV = "iv", _("intravenous")
    SC = "sc", _("subcutaneous")
    IM = "im", _("intramuscular")
    TOPICAL = "topical", _("topical")
    INHALED = "inhaled", _("inhaled")
    INTRA_ARTICULAR = "intra_articular", _("intra-articular")
    OTHER = "other", _("other")


class Period(models.TextChoices):
    PRIOR = "prior", _("prior (stopped before consent)")
    CONCOMITANT = "concomitant", _("concomitant")


# Doses a day. Section 5: the daily average; an alternate-day regimen is the two-day total / 2.
DOSES_PER_DAY = {
    Frequency.QD: Decimal(1),
    Frequency.BID: Decimal(2),
    Frequency.TID: Decimal(3),
    Frequency.QID: Decimal(4),
    Frequency.QOD: Decimal(1) / 2,
    Frequency.WEEKLY: Decimal(1) / 7,
    Frequency.ONCE: Decimal(1),  # the dose of that one day
}
MG_PER_UNIT = {DoseUnit.MG: Decimal(1), DoseUnit.G: Decimal(1000), DoseUnit.UG: Decimal("0.001")}
# [PROPOSAL] Only systemic glucocorticoids count towards the prednisone-equivalent dose of DORIS and
# LLDAS; topical, inhaled and intra-articular ones do not.
NON_SYSTEMIC_ROUTES = (Route.TOPICAL, Route.INHALED, Route.INTRA_ARTICULAR)


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class Medication(CaseReportForm):
    agent = models.CharField(_("agent"), max_length=100, blank=True)
    drug_class = models.CharField(_("class"), max_length=30, choices=MedicationClass.choices, blank=True)
    glucocorticoid = models.CharField(
        _("glucocorticoid"),
        max_length=20,
        choices=Glucocorticoid.choices,
        blank=True,
        help_text=_("For glucocorticoids: the drug, for the prednisone-equivalent dose."),
    )
    dose = models.DecimalField(_("dose"), max_digits=10, decimal_places=3, null=True, blank=True)
    dose_unit = models.CharField(_("unit"), max_length=8, choices=DoseUnit.choices, blank=True)
    frequency = models.CharField(_("frequency"), max_length=8, choices=Frequency.choices, blank=True)
    route = models.CharField(_("route"), max_length=16, choices=Route.choices, blank=True)
    start_date = models.DateField(_("start date"), null=True, blank=True)
    start_date_precision = precision_field(_("start known to"))
    stop_date = models.DateField(_("stop date"), null=True, blank=True)
    ongoing = models.BooleanField(_("ongoing"), default=False)
    indication = models.CharField(_("indication"), max_length=200, blank=True)
    period = models.CharField(_("prior or concomitant"), max_length=12, choices=Period.choices, blank=True)
    for_crs_or_icans = models.BooleanField(
        _("given to treat CRS or ICANS"),
        default=False,
        help_text=_("Kept out of the SLE maintenance glucocorticoid dose."),
    )
    premedication = models.BooleanField(
        _("premedication (infusion)"),
        default=False,
        help_text=_("Kept out of the SLE maintenance glucocorticoid dose."),
    )
    prednisone_equivalent_mg_day = models.DecimalField(
        _("prednisone equivalent (mg/day)"),
        max_digits=9,
        decimal_places=2,
        null=True,
        blank=True,
        editable=False,
    )
    prednisone_rule_version = models.CharField(
        _("prednisone-equivalent rule version"), max_length=40, blank=True, editable=False
    )

    required_for_complete = ("agent", "drug_class", "period", "start_date")

    class Meta:
        verbose_name = _("medication")
        verbose_name_plural = _("medications")
        ordering = ["participant", "start_date", "pk"]
        indexes = [models.Index(fields=["participant", "drug_class"], name="medication_participant_class")]
        triggers = [CaseReportForm.protected("medication"), RefuseWhenLocked()]

    def __str__(self):
        return self.agent or str(_("medication"))

    @property
    def start_shown(self) -> str:
        """The start date to the precision it is known (``2019``, ``2019-03``, ``2019-03-15``)."""
        return iso(self.start_date, self.start_date_precision)

    @property
    def is_glucocorticoid(self) -> bool:
        return self.drug_class == MedicationClass.GLUCOCORTICOID

    def missing_required(self) -> list[str]:
        """Besides the basics: a stop date unless ongoing; for glucocorticoids, what the
        prednisone-equivalent dose needs."""
        missing = super().missing_required()
        if self.stop_date is None and not self.ongoing:
            missing.append("stop_date")
        if self.is_glucocorticoid:
            missing += [
                name
                for name in ("glucocorticoid", "dose", "dose_unit", "frequency", "route")
                if getattr(self, name) in (None, "")
            ]
        return missing

    def derived_rows(self):
        if not self.is_glucocorticoid:
            return []
        return [
            (
                _("prednisone equivalent (mg/day)"),
                self.prednisone_equivalent_mg_day,
                self.prednisone_rule_version,
            )
        ]

    def daily_dose_mg(self) -> Decimal | None:
        """Average daily dose in mg; None when the unit or frequency does not allow it (mg/kg, other)."""
        if self.dose is None or self.dose_unit not in MG_PER_UNIT or self.frequency not in DOSES_PER_DAY:
            return None
        return Decimal(self.dose) * MG_PER_UNIT[self.dose_unit] * DOSES_PER_DAY[self.frequency]

    def derive(self):
        self.prednisone_equivalent_mg_day, self.prednisone_rule_version = None, ""
        daily = self.daily_dose_mg()
        if not self.is_glucocorticoid or not self.glucocorticoid or daily is None:
            return
        if self.route in NON_SYSTEMIC_ROUTES:
            return
        try:
            result = compute("prednisone_equivalent", {"drug": self.glucocorticoid, "dose_mg_day": daily})
        except CalculatorInputError:
            return  # a negative dose: a hard check rejects the save
        self.prednisone_equivalent_mg_day = Decimal(str(result["prednisone_equivalent_mg_day"]))
        self.prednisone_rule_version = result["rule_version"]

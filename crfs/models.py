"""Case report forms: one typed model per CRF, each with a protected foreign key to its visit.

``CaseReportForm`` is the one abstract base: participant, visit, workflow status, and (from
``ClinicalRecord``) the version for optimistic locking and the entered-in-error retirement. Concrete
forms declare plain fields, ``required_for_complete`` and, where they derive values, ``derive()``.
"""

from typing import ClassVar

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from edc.models import ClinicalRecord


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

    class Meta:
        abstract = True

    def derive(self) -> None:
        """Compute derived fields from the entered ones (via ``edc.clinical.compute``)."""

    def missing_required(self) -> list[str]:
        return [name for name in self.required_for_complete if getattr(self, name) in (None, "")]

    @classmethod
    def protected(cls, name: str):
        """Database triggers every CRF carries: no hard delete."""
        return pgtrigger.Protect(name=f"{name}_no_delete", operation=pgtrigger.Delete)


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
        triggers = [CaseReportForm.protected("vitalsigns")]

    def derive(self):
        if self.weight_kg and self.height_cm:
            from decimal import ROUND_HALF_UP, Decimal

            metres = Decimal(self.height_cm) / 100
            self.bmi = (Decimal(self.weight_kg) / (metres * metres)).quantize(Decimal("0.1"), ROUND_HALF_UP)
        else:
            self.bmi = None

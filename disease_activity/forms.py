"""Entry forms of the disease-activity CRFs. The SLEDAI form is laid out as one table row per
descriptor (present / attributable / course / values) by ``disease_activity/sledai_entry.html``."""

from dataclasses import dataclass, field

from django import forms
from django.utils.translation import gettext_lazy as _

from crfs.forms import CRFForm
from edc.clinical.response import BILAG_SYSTEMS
from edc.clinical.sledai import DESCRIPTORS, KEYS

from .models import (
    DESCRIPTOR_HINTS,
    DESCRIPTOR_LABELS,
    SUPPORTING_FIELDS,
    BilagAssessment,
    Course,
    PhysicianGlobalAssessment,
    SledaiAssessment,
)

WEIGHTS = {d.key: d.weight for d in DESCRIPTORS}
DESCRIPTOR_COLUMNS = [f"{key}_{part}" for key in KEYS for part in ("present", "attributable", "course")]
SUPPORTING_COLUMNS = [name for key in KEYS for name in SUPPORTING_FIELDS.get(key, ())]


# Short labels shown inside the table's value cells (placeholder and tooltip); the full label stays the
# field's verbose name, used by the audit trail and the error messages.
SHORT_LABELS = {
    "arthritis_joints": _("joints"),
    "urine_rbc_hpf": _("RBC/HPF"),
    "proteinuria_value": _("value"),
    "proteinuria_previous_value": _("previous"),
    "urine_wbc_hpf": _("WBC/HPF"),
    "c3": "C3",
    "c3_lln": _("C3 LLN"),
    "c4": "C4",
    "c4_lln": _("C4 LLN"),
    "anti_dsdna": _("anti-dsDNA"),
    "anti_dsdna_uln": _("ULN"),
    "temperature_c": "°C",
    "platelets": "×10⁹/L",
    "wbc": "×10⁹/L",
}


class AttributionSelect(forms.NullBooleanSelect):
    """Yes / no, with an empty choice that means "not answered yet" (not "unknown")."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = (("unknown", "—"), ("true", _("yes")), ("false", _("no")))


@dataclass
class DescriptorRow:
    key: str
    label: object
    hint: object
    weight: int
    present: forms.BoundField
    attributable: forms.BoundField
    course: forms.BoundField
    supporting: list = field(default_factory=list)
    proposal: object = None  # disease_activity.selectors.Proposal
    queries: list = field(default_factory=list)

    @property
    def errors(self):
        return [
            e for bf in (self.present, self.attributable, self.course, *self.supporting) for e in bf.errors
        ]


class SledaiAssessmentForm(CRFForm):
    entry_template = "disease_activity/sledai_entry.html"
    live_checks = False  # the page has its own live totals (``disease_activity.views``)

    class Meta:
        model = SledaiAssessment
        fields = ["assessed_on", "look_back_days", *DESCRIPTOR_COLUMNS, *SUPPORTING_COLUMNS]
        widgets = {f"{key}_attributable": AttributionSelect for key in KEYS}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key in KEYS:
            self.fields[f"{key}_course"].choices = [("", "—"), *Course.choices]
        for name in DESCRIPTOR_COLUMNS + SUPPORTING_COLUMNS:
            widget = self.fields[name].widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select form-select-sm"
            else:
                css = "form-control form-control-sm"
            widget.attrs.setdefault("class", css)
            widget.attrs.setdefault("aria-label", str(self.fields[name].label))
            if name in SHORT_LABELS:
                widget.attrs.setdefault("placeholder", str(SHORT_LABELS[name]))
                widget.attrs.setdefault("title", str(self.fields[name].label))

    def descriptor_rows(self, proposals=None, queries=()) -> list[DescriptorRow]:
        """One row per descriptor in table order, with its proposal from the labs and its live queries."""
        proposals = proposals or {}
        rows = []
        for key in KEYS:
            names = {
                f"{key}_present",
                f"{key}_attributable",
                f"{key}_course",
                *SUPPORTING_FIELDS.get(key, ()),
            }
            rows.append(
                DescriptorRow(
                    key=key,
                    label=DESCRIPTOR_LABELS[key],
                    hint=DESCRIPTOR_HINTS[key],
                    weight=WEIGHTS[key],
                    present=self[f"{key}_present"],
                    attributable=self[f"{key}_attributable"],
                    course=self[f"{key}_course"],
                    supporting=[self[name] for name in SUPPORTING_FIELDS.get(key, ())],
                    proposal=proposals.get(key),
                    queries=[q for q in queries if q.field_name in names],
                )
            )
        return rows


class PhysicianGlobalAssessmentForm(CRFForm):
    class Meta:
        model = PhysicianGlobalAssessment
        fields = ["assessed_on", "vas_mm", "pga"]


class BilagAssessmentForm(CRFForm):
    class Meta:
        model = BilagAssessment
        fields = ["assessed_on", *BILAG_SYSTEMS]

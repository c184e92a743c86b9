"""Model forms for CRFs. Every field may be left empty in a draft; completeness is the service's job."""

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from trials.forms import DateInput

from .models import VitalSigns


class CRFForm(forms.ModelForm):
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    reason = forms.CharField(
        label=_("Reason for change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when changing a form already marked complete."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.required = False
            model_field = self._meta.model._meta.get_field(name) if name in self._meta.fields else None
            if isinstance(model_field, models.DateField) and not isinstance(
                model_field, models.DateTimeField
            ):
                field.widget = DateInput()
        if self.instance.pk and not self.is_bound:
            self.initial["expected_version"] = self.instance.version

    complete_requested = False  # set by the view from the button pressed

    def service_kwargs(self) -> dict:
        return {
            "data": self.service_data(),
            "complete": self.complete_requested,
            "reason": self.cleaned_data.get("reason") or "",
            "expected_version": self.cleaned_data.get("expected_version"),
        }

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("expected_version", None)
        data.pop("reason", None)
        return data


class VitalSignsForm(CRFForm):
    class Meta:
        model = VitalSigns
        fields = [
            "assessed_on",
            "temperature_c",
            "heart_rate",
            "systolic_bp",
            "diastolic_bp",
            "respiratory_rate",
            "spo2_pct",
            "weight_kg",
            "height_cm",
        ]

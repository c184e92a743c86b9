"""Forms of the safety pages. Each form's valid data are the keyword arguments of one service function
(``service_kwargs``), as ``edc.views.submit`` expects; times are entered in the site's time zone."""

import zoneinfo
from datetime import datetime

from django import forms
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.services import confirm_password
from crfs.forms import CRFForm
from trials.forms import DateInput

from . import ctcae_terms
from .models import (
    GRADE_CHOICES,
    AdverseEvent,
    BaselineIce,
    CrsAssessment,
    GvhdAssessment,
    IcansAssessment,
    IecHsEvent,
    IecHsFinding,
    Vasopressor,
)
from .services import AE_FIELDS, IEC_HS_FIELDS


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def site_datetime(value: datetime | None, tz_name: str) -> datetime | None:
    """A wall-clock time entered at the site, as an aware instant (the form parsed it as UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=None).replace(tzinfo=zoneinfo.ZoneInfo(tz_name))


class VersionedForm(forms.Form):
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class AdverseEventForm(forms.ModelForm):
    """Record (``grade`` present) or correct (``reason`` present) an adverse event."""

    term = forms.ChoiceField(label=_("CTCAE term"), choices=ctcae_terms.choices)
    grade = forms.TypedChoiceField(
        label=_("grade at onset"), coerce=int, choices=[("", "---------"), *GRADE_CHOICES]
    )
    awareness_at = forms.DateTimeField(
        label=_("site became aware of the serious event (site time)"),
        required=False,
        widget=DateTimeLocalInput(),
        help_text=_(
            "Starts the 24-hour clock of the initial SAE report. Required when the event is serious."
        ),
    )
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    reason = forms.CharField(
        label=_("Reason for change"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    class Meta:
        model = AdverseEvent
        fields = list(AE_FIELDS)

    def __init__(self, *args, site_tz: str, creating: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.site_tz, self.creating = site_tz, creating
        for name, field in self.fields.items():
            model_field = AdverseEvent._meta.get_field(name) if name in AE_FIELDS else None
            if isinstance(model_field, models.DateField):
                field.widget = DateInput()
            elif isinstance(model_field, models.TimeField):
                field.widget = TimeInput()
        for name in ("treatment",):
            self.fields[name].widget = forms.Textarea(attrs={"rows": 2})
        if creating:
            del self.fields["expected_version"], self.fields["reason"]
        else:
            del self.fields["grade"]
            self.initial["expected_version"] = self.instance.version
            report = getattr(self.instance, "sae_report", None)
            if report is not None and not report.entered_in_error and not self.is_bound:
                local = report.awareness_at.astimezone(zoneinfo.ZoneInfo(site_tz))
                self.initial["awareness_at"] = local.strftime("%Y-%m-%dT%H:%M")

    def service_kwargs(self) -> dict:
        data = {name: self.cleaned_data.get(name) for name in AE_FIELDS}
        kwargs = {
            "data": data,
            "awareness_at": site_datetime(self.cleaned_data.get("awareness_at"), self.site_tz),
        }
        if self.creating:
            return {**kwargs, "grade": self.cleaned_data["grade"]}
        return {
            **kwargs,
            "reason": self.cleaned_data.get("reason") or "",
            "expected_version": self.cleaned_data.get("expected_version"),
        }


class LabPromptDeclineForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is this result not an adverse event?"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For example: expected after lymphodepletion and already recorded as AE 3."),
    )

    def service_kwargs(self) -> dict:
        return {"reason": self.cleaned_data["reason"]}


class GradeForm(forms.Form):
    grade_on = forms.DateField(label=_("date"), widget=DateInput())
    grade = forms.TypedChoiceField(label=_("grade"), coerce=int, choices=GRADE_CHOICES)
    note = forms.CharField(label=_("note"), required=False, max_length=300)

    def service_kwargs(self) -> dict:
        return dict(self.cleaned_data)


class NarrativeForm(VersionedForm):
    narrative = forms.CharField(
        label=_("narrative"), widget=forms.Textarea(attrs={"rows": 6}), required=False
    )

    def service_kwargs(self) -> dict:
        return dict(self.cleaned_data)


class SignatureForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_(
            "By signing you confirm, as investigator, that this SAE report is accurate and submit it to the "
            "sponsor."
        ),
    )

    def confirm_outside_transaction(self, request):
        """The password re-entry, before the signing transaction (edc.views.submit): a wrong password
        is recorded as a failed login even though the signature is refused."""
        confirm_password(user=request.user, password=self.cleaned_data["password"], request=request)

    def service_kwargs(self) -> dict:
        return {"password": self.cleaned_data["password"]}


class FollowUpForm(forms.Form):
    information = forms.CharField(label=_("new information"), widget=forms.Textarea(attrs={"rows": 4}))

    def service_kwargs(self) -> dict:
        return dict(self.cleaned_data)


class DltAdjudicationForm(forms.Form):
    is_dlt = forms.TypedChoiceField(
        label=_("Is this event a dose-limiting toxicity?"),
        coerce=lambda value: value == "yes",
        choices=[("yes", _("Yes")), ("no", _("No"))],
        widget=forms.RadioSelect,
    )
    criterion = forms.ChoiceField(label=_("DLT criterion met"), required=False)
    dlt_date = forms.DateField(label=_("date the criterion was met"), required=False, widget=DateInput())
    comment = forms.CharField(label=_("comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    reason = forms.CharField(label=_("Reason for change"), required=False)

    def __init__(self, *args, criteria: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["criterion"].choices = [("", "---------")] + [(c, c) for c in criteria]

    def service_kwargs(self) -> dict:
        return dict(self.cleaned_data)


class IecHsForm(forms.ModelForm):
    findings = forms.MultipleChoiceField(
        label=_("findings that set the grade"),
        choices=IecHsFinding.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None of them: grade 1 (asymptomatic or mild, no IEC-HS-directed therapy)."),
    )
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    reason = forms.CharField(label=_("Reason for change"), required=False)

    class Meta:
        model = IecHsEvent
        fields = list(IEC_HS_FIELDS)
        widgets = {
            "assessed_on": DateInput(),
            "marrow_findings": forms.Textarea(attrs={"rows": 2}),
            "treatment": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["expected_version"] = self.instance.version

    def service_kwargs(self) -> dict:
        data = {name: self.cleaned_data.get(name) for name in IEC_HS_FIELDS}
        return {
            "data": data,
            "reason": self.cleaned_data.get("reason") or "",
            "expected_version": self.cleaned_data.get("expected_version"),
        }


class TermSearchForm(forms.Form):
    q = forms.CharField(label=_("Search the CTCAE terms"), required=False, max_length=80)


class SafetyFilterForm(forms.Form):
    dose_level = forms.ChoiceField(label=_("dose level"), required=False)
    site = forms.ChoiceField(label=_("site"), required=False)
    term = forms.ChoiceField(label=_("term"), required=False, choices=ctcae_terms.choices)
    min_grade = forms.TypedChoiceField(
        label=_("grade at least"), required=False, coerce=int, empty_value=None,
        choices=[("", "---------"), *GRADE_CHOICES],
    )  # fmt: skip

    def __init__(self, *args, levels, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dose_level"].choices = [("", _("all"))] + [(lv.code, str(lv)) for lv in levels]
        self.fields["site"].choices = [("", _("all"))] + [(s.code, str(s)) for s in sites]


# Graded CRFs (entered through crfs.views.form_entry) -----------------------------------------------------


class ScoredChoice(forms.TypedChoiceField):
    def __init__(self, maximum: int, **kwargs):
        choices = [("", "---------")] + [(i, str(i)) for i in range(maximum + 1)]
        super().__init__(coerce=int, empty_value=None, choices=choices, **kwargs)


class CrsAssessmentForm(CRFForm):
    vasopressors = forms.MultipleChoiceField(
        label=_("Vasopressors"),
        choices=Vasopressor.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Vasopressin alone counts as one vasopressor; it never makes 'multiple'."),
    )

    class Meta:
        model = CrsAssessment
        fields = [
            "assessed_on",
            "temperature_c",
            "fever_masked",
            "hypotension",
            "vasopressors",
            "oxygen_device",
            "oxygen_flow_l_min",
            "tocilizumab_given",
            "steroids_given",
            "investigator_grade",
        ]


ICE_FORM_FIELDS = [
    "orientation_correct",
    "naming_correct",
    "follows_commands",
    "writes_sentence",
    "counts_back_by_10",
]


class IceFields(CRFForm):
    orientation_correct = ScoredChoice(4, label=_("orientation: year, month, city, hospital (0–4 correct)"))
    naming_correct = ScoredChoice(3, label=_("naming three objects (0–3 correct)"))


class IcansAssessmentForm(IceFields):
    class Meta:
        model = IcansAssessment
        fields = [
            "assessed_on",
            *ICE_FORM_FIELDS,
            "consciousness",
            "seizure",
            "motor",
            "icp_cerebral_edema",
            "investigator_grade",
        ]


class BaselineIceForm(IceFields):
    class Meta:
        model = BaselineIce
        fields = ["assessed_on", *ICE_FORM_FIELDS, "language", "notes"]


class GvhdAssessmentForm(CRFForm):
    class Meta:
        model = GvhdAssessment
        fields = [
            "assessed_on",
            "skin_rash_bsa_pct",
            "erythroderma_bullae",
            "total_bilirubin_mg_dl",
            "persistent_nausea",
            "stool_volume_ml_day",
            "stool_episodes_day",
            "severe_abdominal_pain",
        ]


def now_local(tz_name: str) -> str:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(tz_name)).strftime("%Y-%m-%dT%H:%M")

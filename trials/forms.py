"""Forms for the participant workflows. Each maps its cleaned data to its service's keywords."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import DoseLevel, ParticipantStatus, Sex, Site


class DateInput(forms.DateInput):
    """A date typed and shown as ISO 8601 (YYYY-MM-DD) whatever the browser's locale: the native date
    picker shows dates in the browser's own format (11/06/2026, 2026/11/6), which pages promising ISO
    8601 must not; a text input with the pattern, as the partial-date fields do."""

    input_type = "text"

    def __init__(self, attrs=None, **kwargs):
        attrs = {
            "placeholder": "YYYY-MM-DD",
            "pattern": r"\d{4}-\d{2}-\d{2}",
            "inputmode": "numeric",
            "maxlength": "10",
            "autocomplete": "off",
            **(attrs or {}),
        }
        super().__init__(attrs=attrs, format="%Y-%m-%d", **kwargs)


class ServiceForm(forms.Form):
    """A form whose valid data are the keyword arguments of one service function."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, participant=None, **kwargs):
        self.participant = participant
        super().__init__(*args, **kwargs)
        if participant is not None and not self.is_bound:
            self.initial.setdefault("expected_version", participant.version)

    def service_kwargs(self) -> dict:
        return dict(self.cleaned_data)


class ScreeningForm(forms.Form):
    site = forms.ModelChoiceField(queryset=Site.objects.none(), label=_("Site"))
    initials = forms.CharField(
        label=_("Initials"), max_length=4, help_text=_("2 to 4 letters; never a name.")
    )
    year_of_birth = forms.IntegerField(label=_("Year of birth"), min_value=1900, max_value=2100)
    sex = forms.ChoiceField(label=_("Sex"), choices=Sex.choices)
    screening_date = forms.DateField(label=_("Screening date"), widget=DateInput())

    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        if sites is not None and len(sites) == 1:
            self.fields["site"].initial = sites[0]

    def service_kwargs(self):
        return dict(self.cleaned_data)


class ConsentForm(ServiceForm):
    consent_date = forms.DateField(label=_("Date of consent"), widget=DateInput())
    consent_version = forms.CharField(label=_("Consent form version"), max_length=40)
    reason = forms.CharField(
        label=_("Reason for change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when correcting consent already recorded."),
    )


class EligibilityForm(ServiceForm):
    met = forms.TypedChoiceField(
        label=_("Eligibility outcome"),
        coerce=lambda v: v == "yes",
        choices=[("yes", _("All criteria met")), ("no", _("Not eligible (screen failure)"))],
        widget=forms.RadioSelect,
    )
    assessed_on = forms.DateField(label=_("Assessed on"), widget=DateInput())
    screen_failure_reason = forms.CharField(
        label=_("Screen-failure reason"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    reason = forms.CharField(
        label=_("Reason for change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when correcting an eligibility decision already recorded."),
    )

    def __init__(self, *args, participant=None, **kwargs):
        super().__init__(*args, participant=participant, **kwargs)
        if participant is not None and not self.is_bound:
            from .eligibility import proposed_decision  # the checklist's proposal (crfs registers it)

            for key, value in proposed_decision(participant).items():
                self.initial.setdefault(key, value)


class EnrollmentForm(ServiceForm):
    enrollment_date = forms.DateField(label=_("Enrollment date"), widget=DateInput())
    dose_level = forms.ModelChoiceField(
        queryset=DoseLevel.objects.none(), label=_("Dose level"), required=False
    )
    planned_infusion_date = forms.DateField(
        label=_("Planned infusion date (Day 0)"), required=False, widget=DateInput()
    )

    def __init__(self, *args, participant=None, **kwargs):
        super().__init__(*args, participant=participant, **kwargs)
        self.fields["dose_level"].queryset = DoseLevel.objects.filter(study_id=participant.site.study_id)


class DoseLevelForm(ServiceForm):
    dose_level = forms.ModelChoiceField(queryset=DoseLevel.objects.none(), label=_("Dose level"))
    reason = forms.CharField(
        label=_("Reason for change"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, participant=None, **kwargs):
        super().__init__(*args, participant=participant, **kwargs)
        self.fields["dose_level"].queryset = DoseLevel.objects.filter(study_id=participant.site.study_id)


class PlannedInfusionForm(ServiceForm):
    planned_date = forms.DateField(label=_("Planned infusion date (Day 0)"), widget=DateInput())
    reason = forms.CharField(
        label=_("Reason for change"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class LymphodepletionForm(ServiceForm):
    start_date = forms.DateField(label=_("First day of lymphodepletion (Day −5)"), widget=DateInput())


class InfusionForm(ServiceForm):
    infusion_date = forms.DateField(label=_("Date of CAR-T infusion (Day 0)"), widget=DateInput())
    reason = forms.CharField(
        label=_("Reason for change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when correcting a recorded Day 0."),
    )


class FollowUpForm(ServiceForm):
    pass


class EndParticipationForm(ServiceForm):
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[
            (s.value, s.label)
            for s in (ParticipantStatus.COMPLETED, ParticipantStatus.WITHDRAWN, ParticipantStatus.DIED)
        ],
    )
    end_date = forms.DateField(label=_("Date"), widget=DateInput())
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class CorrectionForm(ServiceForm):
    initials = forms.CharField(label=_("Initials"), max_length=4)
    year_of_birth = forms.IntegerField(label=_("Year of birth"), min_value=1900, max_value=2100)
    sex = forms.ChoiceField(label=_("Sex"), choices=Sex.choices)
    reason = forms.CharField(label=_("Reason for change"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, participant=None, **kwargs):
        super().__init__(*args, participant=participant, **kwargs)
        if not self.is_bound:
            for key in ("initials", "year_of_birth", "sex"):
                self.initial.setdefault(key, getattr(participant, key))

    def service_kwargs(self):
        data = dict(self.cleaned_data)
        changes = {k: data.pop(k) for k in ("initials", "year_of_birth", "sex")}
        changes["initials"] = changes["initials"].strip().upper()
        return {**data, "changes": {k: v for k, v in changes.items() if getattr(self.participant, k) != v}}


class EnteredInErrorForm(ServiceForm):
    reason = forms.CharField(
        label=_("Why was this participant entered in error?"), widget=forms.Textarea(attrs={"rows": 2})
    )

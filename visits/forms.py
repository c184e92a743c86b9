from django import forms
from django.utils.translation import gettext_lazy as _

from trials.forms import DateInput


class VisitForm(forms.Form):
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, visit=None, **kwargs):
        self.visit = visit
        super().__init__(*args, **kwargs)
        if visit is not None and not self.is_bound:
            self.initial.setdefault("expected_version", visit.version)

    def service_kwargs(self):
        return dict(self.cleaned_data)


class VisitDateForm(VisitForm):
    visit_date = forms.DateField(label=_("Date of the visit"), widget=DateInput())
    reason = forms.CharField(
        label=_("Reason for change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when correcting a recorded visit date."),
    )


class VisitOutcomeForm(VisitForm):
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=[("missed", _("Missed")), ("not_applicable", _("Not applicable"))]
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class UnscheduledVisitForm(forms.Form):
    visit_date = forms.DateField(label=_("Date of the visit"), widget=DateInput())
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def service_kwargs(self):
        return dict(self.cleaned_data)

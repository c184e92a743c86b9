from django import forms
from django.utils.translation import gettext_lazy as _

from trials.forms import DateInput

from .models import QueryPriority, QueryType


class RaiseQueryForm(forms.Form):
    field_name = forms.ChoiceField(label=_("Field"))
    query_type = forms.ChoiceField(
        label=_("Type"),
        choices=[
            (QueryType.MANUAL, QueryType.MANUAL.label),
            (QueryType.REASON_FOR_CHANGE, QueryType.REASON_FOR_CHANGE.label),
        ],
        initial=QueryType.MANUAL,
    )
    priority = forms.ChoiceField(
        label=_("Priority"), choices=QueryPriority.choices, initial=QueryPriority.NORMAL
    )
    due_date = forms.DateField(label=_("Due date"), required=False, widget=DateInput())
    text = forms.CharField(label=_("Query"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, fields=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["field_name"].choices = list(fields)

    def service_kwargs(self) -> dict:
        return dict(self.cleaned_data)


class MessageForm(forms.Form):
    text = forms.CharField(label=_("Message"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def service_kwargs(self) -> dict:
        return {"text": self.cleaned_data["text"]}


class ReleaseForm(forms.Form):
    def service_kwargs(self) -> dict:
        return {}


class ReasonForm(forms.Form):
    """The reason of a lock or an unlock (required by the service, which says so)."""

    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def service_kwargs(self) -> dict:
        return {"reason": self.cleaned_data["reason"]}

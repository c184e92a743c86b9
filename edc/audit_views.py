"""The audit-trail viewer: data managers and auditors read and filter the whole study's trail."""

from django import forms
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from accounts.permissions import Action, require

from .audit_trail import AuditFilters, audit_page, kinds


class AuditFilterForm(forms.Form):
    user = forms.CharField(label=_("User name"), required=False, max_length=150)
    participant = forms.CharField(label=_("Participant (study ID)"), required=False, max_length=40)
    kind = forms.ChoiceField(label=_("Kind of record"), required=False)
    action = forms.CharField(
        label=_("Action"),
        required=False,
        max_length=60,
        help_text=_("e.g. query.close, login_failed, updated"),
    )
    date_from = forms.DateField(
        label=_("From (UTC date)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To (UTC date)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    text = forms.CharField(label=_("Text"), required=False, max_length=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("All")), *kinds()]
        for name, f in self.fields.items():
            f.widget.attrs["class"] = (
                "form-select form-select-sm" if name == "kind" else "form-control form-control-sm"
            )

    def filters(self) -> AuditFilters:
        if not self.is_valid():
            return AuditFilters()
        return AuditFilters(**self.cleaned_data)


def last_verification():
    from auditchain.models import Verification

    return Verification.objects.order_by("-started_at").first()


def audit_trail(request):
    require(request.user, Action.VIEW_AUDIT)
    form = AuditFilterForm(request.GET or None)
    try:
        number = int(request.GET.get("page", 1))
    except ValueError:
        number = 1
    page = audit_page(form.filters() if form.is_bound else AuditFilters(), page=number)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "edc/audit_trail.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "status": 400 if form.errors else 200,
            "chain": last_verification(),
        },
        status=400 if form.errors else 200,
    )

from django import forms
from django.utils.translation import gettext_lazy as _

from crfs.registry import FORMS
from trials.forms import DateInput

from .options import ExportOptions

FORMAT_CHOICES = [
    ("csv", _("CSV: wide and long file per form, with a data dictionary")),
    ("odm", _("CDISC ODM 1.3.2 XML with the audit trail")),
    ("sdtm", _("SDTM-style domains (CSV and SAS XPT) with define.xml")),
    (
        "adam",
        _(
            "ADaM datasets (CSV and SAS XPT) with define.xml: ADSL (one row per participant, "
            "populations, dose level), ADEFF (one row per parameter per visit) and ADAE (adverse events "
            "with CAR-T windows)"
        ),
    ),
    ("audit", _("The study's whole audit trail (CSV; identifiable exports only)")),
]
DATE_MODES = [
    ("shift", _("Shift dates by a random offset stored per participant")),
    ("study_day", _("Study days only (no dates)")),
]


def form_choices():
    return [*((code, spec.title) for code, spec in FORMS.items()), ("adverse_events", _("Adverse events"))]


class ExportForm(forms.Form):
    formats = forms.MultipleChoiceField(
        label=_("Formats"), choices=FORMAT_CHOICES, initial=["csv"], widget=forms.CheckboxSelectMultiple
    )
    sites = forms.ModelMultipleChoiceField(
        label=_("Sites"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every site you may export."),
    )
    form_codes = forms.MultipleChoiceField(
        label=_("Forms"),
        choices=(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_("None selected: every form."),
    )
    cutoff = forms.DateField(
        label=_("Data cut-off"),
        required=False,
        widget=DateInput(),
        help_text=_("Only records of visits on or before this date."),
    )
    locked_only = forms.BooleanField(label=_("Locked data only"), required=False)
    deidentify = forms.BooleanField(
        label=_("De-identify"),
        required=False,
        initial=True,
        help_text=_("No initials, age instead of year of birth, shifted dates or study days, no free text."),
    )
    date_mode = forms.ChoiceField(
        label=_("Dates in a de-identified export"), choices=DATE_MODES, initial="shift"
    )
    bom = forms.BooleanField(
        label=_("UTF-8 with byte-order mark"),
        required=False,
        initial=True,
        help_text=_("Lets Excel on Chinese Windows open the CSV files with the right characters."),
    )

    odm_pure = forms.BooleanField(
        label=_("Pure ODM 1.3.2 (without the vendor extension)"),
        required=False,
        help_text=_(
            "The ODM file without queries and source data verification, valid against the official "
            "ODM 1.3.2 schema as it is."
        ),
    )

    def __init__(self, *args, study, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.study = study
        self.fields["sites"].queryset = sites
        self.fields["form_codes"].choices = form_choices()

    def clean(self):
        data = super().clean()
        if not self.errors:
            data["options"] = ExportOptions(
                study_id=self.study.pk,
                formats=tuple(data["formats"]),
                site_ids=tuple(sorted(s.pk for s in data["sites"])) if data.get("sites") else None,
                form_codes=tuple(data["form_codes"]) if data.get("form_codes") else None,
                cutoff=data.get("cutoff"),
                locked_only=data.get("locked_only", False),
                deidentify=data.get("deidentify", False),
                date_mode=data.get("date_mode") or "shift",
                bom=data.get("bom", False),
                odm_pure=data.get("odm_pure", False),
            )
        return data

    def service_kwargs(self) -> dict:
        return {"options": self.cleaned_data["options"]}

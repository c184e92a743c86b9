"""The panel entry form: the panel's own fields and one row per analyte (value or result, unit, not done).

Collection times are typed in the site's time zone: the views activate it while the form is bound
and rendered, so Django reads and shows ``collected_at`` in site time and stores UTC.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from crfs.forms import CRFForm, RowForm, read_as_typed
from trials.forms import DateInput
from trials.models import Site

from .analytes import ANALYTES, analytes_of, unit_label
from .importing import MAX_BYTES
from .models import ImportFormat, LabImportMapping, LabPanel, OtherLabTest, RangeSex
from .selectors import default_unit
from .services import ResultEntry

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class ResultForm(forms.Form):
    """One analyte: a number with its unit and/or a categorical result, or "not done"."""

    not_done = forms.BooleanField(label=_("Not done"), required=False)

    def __init__(self, data=None, *, spec, stored=None, unit: str, prefix: str):
        self.spec = spec
        initial = {"unit": unit}
        if stored is not None:
            initial = {
                # normalize() alone turns 130 into 1.3E+2; the fixed-point text is what was entered.
                "value": f"{stored.value.normalize():f}" if stored.value is not None else None,
                "unit": stored.unit or unit,
                "result": stored.result,
                "not_done": stored.not_done,
            }
        super().__init__(data, prefix=prefix, initial=initial)
        if spec.quantitative:
            self.fields["value"] = forms.DecimalField(
                label=spec.label,
                required=False,
                max_digits=20,
                decimal_places=6,
                widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "size": 9}),
            )
            read_as_typed(self.fields["value"])
            self.fields["unit"] = forms.ChoiceField(
                label=_("Unit"), choices=spec.unit_choices(), required=False, initial=unit
            )
        if spec.results:
            self.fields["result"] = forms.ChoiceField(
                label=_("Result"), choices=[("", "—"), *spec.result_choices()], required=False
            )
        self.order_fields(["value", "unit", "result", "not_done"])

    def entry(self) -> ResultEntry:
        data = self.cleaned_data
        return ResultEntry(
            analyte=self.spec.code,
            value=data.get("value"),
            unit=data.get("unit") or self.initial.get("unit") or self.spec.standard_unit,
            result=data.get("result") or "",
            not_done=bool(data.get("not_done")),
        )


class ResultRow:
    """A row of the entry table: the analyte, its form and the stored result (if any)."""

    def __init__(self, spec, form, stored):
        self.spec, self.form, self.stored = spec, form, stored

    @property
    def code(self):
        return self.spec.code


class OtherLabTestForm(RowForm):
    """A row of the panel's "other tests" table: a test the panel's table does not list."""

    extra_rows = 0  # most panels have none: "Add a row" when the report has one

    class Meta:
        model = OtherLabTest
        fields = ["test", "value", "unit", "result", "lln", "uln", "not_done"]


class LabPanelForm(CRFForm):
    live_checks = False  # the rows have their own preview (``labs.views.preview``)
    row_forms = {"other_tests": (_("Other tests of this report"), OtherLabTestForm)}
    collected_at = forms.DateTimeField(
        label=_("Collected (date and time, site time)"),
        required=False,
        input_formats=DATETIME_FORMATS,
        widget=DateTimeInput(),
    )

    class Meta:
        model = LabPanel
        fields = ["collected_at", "laboratory", "source"]

    def __init__(self, data=None, *, instance=None, panel: str, units=None, results=()):
        super().__init__(data, instance=instance)
        self.panel = panel
        stored = {r.analyte: r for r in results}
        self.rows = [
            ResultRow(
                spec,
                ResultForm(
                    data,
                    spec=spec,
                    stored=stored.get(spec.code),
                    unit=default_unit(spec, units or {}),
                    prefix=f"r-{spec.code}",
                ),
                stored.get(spec.code),
            )
            for spec in analytes_of(panel)
        ]

    def row(self, code: str) -> ResultRow | None:
        return next((r for r in self.rows if r.code == code), None)

    def is_valid(self):
        valid = super().is_valid()
        invalid = [row for row in self.rows if not row.form.is_valid()]  # every row gets its errors
        if invalid and self.is_bound:
            self.add_error(None, _("Some results could not be read: correct the highlighted rows."))
        return valid and not invalid

    def service_kwargs(self) -> dict:
        return {**super().service_kwargs(), "results": [row.form.entry() for row in self.rows]}

    def check_problems(self) -> list:
        """The panel's and the readable results' problems, beside those of the unreadable input."""
        if self.checker is None:
            return []
        entries = [row.form.entry() for row in self.rows if not row.form.errors]
        problems = self.checker(self.readable_data(), entries)
        return [p for p in problems if p.row is not None or p.field not in self.errors]

    def read_only(self) -> None:
        super().read_only()
        for row in self.rows:
            for field in row.form.fields.values():
                field.disabled = True

    def add_problem(self, problem) -> None:
        row = self.row(problem.row) if problem.row else None
        if row is None:
            super().add_problem(problem)
            return
        field = problem.field if problem.field in row.form.fields else None
        row.form.add_error(field, problem.message)

    def error_summary(self) -> list[tuple[str, str, str]]:
        rows = super().error_summary()
        for row in self.rows:
            first = next(iter(row.form.fields))
            for name, messages in row.form.errors.items():
                anchor = row.form[name if name in row.form.fields else first].auto_id
                rows += [(anchor, str(row.spec.label), message) for message in messages]
        return rows

    def apply_merge(self, merge) -> None:
        """The conflict page: results only the colleague changed show their current value."""
        super().apply_merge(merge)
        data = self.data
        for change in merge.theirs:
            table, _sep, code = change.key.partition(":")
            if table != "results" or self.row(code) is None:
                continue
            entry, prefix = change.theirs.entry, f"r-{code}"
            data[f"{prefix}-value"] = "" if entry.value is None else format(entry.value.normalize(), "f")
            if entry.value is not None:
                data[f"{prefix}-unit"] = entry.unit
            data[f"{prefix}-result"] = entry.result
            if entry.not_done:
                data[f"{prefix}-not_done"] = "on"
            else:
                data.pop(f"{prefix}-not_done", None)
        for row in self.rows:
            row.form.data = data


class ReferenceRangeForm(forms.Form):
    """A new reference range version (the service validates unit, limits and age band)."""

    site = forms.ModelChoiceField(label=_("Site"), queryset=Site.objects.none())
    analyte = forms.ChoiceField(
        label=_("Test"), choices=[(a.code, a.label) for a in ANALYTES if a.quantitative]
    )
    sex = forms.ChoiceField(label=_("Sex"), choices=RangeSex.choices, required=False)
    age_min = forms.IntegerField(label=_("From age (years)"), min_value=0, max_value=150, initial=18)
    age_max = forms.IntegerField(label=_("To age (years)"), min_value=0, max_value=150, required=False)
    unit = forms.ChoiceField(
        label=_("Unit"),
        choices=[(u, unit_label(u)) for u in dict.fromkeys(u for a in ANALYTES for u in a.units)],
    )
    lln = forms.DecimalField(label=_("LLN"), max_digits=20, decimal_places=6, required=False)
    uln = forms.DecimalField(label=_("ULN"), max_digits=20, decimal_places=6, required=False)
    valid_from = forms.DateField(label=_("Valid from"), widget=DateInput())
    source = forms.CharField(label=_("Source"), max_length=200, required=False)
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, sites=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = Site.objects.filter(pk__in=[s.pk for s in sites])
        if len(sites) == 1:
            self.fields["site"].initial = sites[0]

    def service_kwargs(self) -> dict:
        return {**self.cleaned_data, "sex": self.cleaned_data.get("sex") or ""}


class LabImportForm(forms.Form):
    """Upload a laboratory file for its preview (nothing is written yet)."""

    site = forms.ModelChoiceField(label=_("Site"), queryset=Site.objects.none())
    format = forms.ChoiceField(label=_("Format"), choices=ImportFormat.choices)
    file = forms.FileField(label=_("File"))

    def __init__(self, *args, sites=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = Site.objects.filter(pk__in=[s.pk for s in sites])
        if len(sites) == 1:
            self.fields["site"].initial = sites[0]

    def service_kwargs(self) -> dict:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            from edc.errors import DomainError

            raise DomainError(_("The file is larger than 20 MB; split it."), field="file")
        return {
            "site": self.cleaned_data["site"],
            "file_format": self.cleaned_data["format"],
            "file_name": upload.name,
            "content": upload.read(),
        }


class LabImportMappingForm(forms.ModelForm):
    """The header names of the site laboratory's CSV export (saved once per site)."""

    delimiter = forms.ChoiceField(
        label=_("Delimiter"),
        choices=[(",", _("Comma")), (";", _("Semicolon")), ("\t", _("Tab")), ("|", _("Vertical bar"))],
    )

    class Meta:
        model = LabImportMapping
        fields = [*LabImportMapping.COLUMNS, "delimiter"]

    def service_kwargs(self) -> dict:
        return dict(self.cleaned_data)

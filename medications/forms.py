from django import forms
from django.utils.translation import gettext_lazy as _

from crfs.forms import CRFForm, RowForm, expand_partial_dates, row_errors

from .models import Medication

FIELDS = [
    "agent",
    "drug_class",
    "glucocorticoid",
    "dose",
    "dose_unit",
    "frequency",
    "route",
    "start_date",
    "stop_date",
    "ongoing",
    "indication",
    "period",
    "for_crs_or_icans",
    "premedication",
]


class MedicationForm(CRFForm):
    """One entry of the log on its own page (its history, queries and verification beside each field)."""

    entry_template = "medications/medication_entry.html"
    partial_dates = ("start_date",)

    class Meta:
        model = Medication
        fields = FIELDS


class MedicationRowForm(RowForm):
    """One entry as a row of the visit's medications table; its version travels with it."""

    extra_rows = 1
    partial_dates = ("start_date",)
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Medication
        fields = FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["expected_version"].initial = self.instance.version


class MedicationRowsForm(forms.Form):
    """The medications recorded at a visit as the rows of one table (``crfs/_rows.html``).

    Each row is an entry of the log saved through the one CRF service (``medications.services``); the
    reason for change applies to every changed or removed row.
    """

    PREFIX = "medications"
    live_checks = False
    reason = forms.CharField(
        label=_("Reason for change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when changing an entry already marked complete, and when removing an entry."),
    )

    def __init__(self, data=None, *, entries):
        super().__init__(data)
        formset_class = forms.modelformset_factory(
            Medication, form=MedicationRowForm, extra=MedicationRowForm.extra_rows, can_delete=True
        )
        bound = data if data is not None and f"{self.PREFIX}-TOTAL_FORMS" in data else None
        self.formset = formset_class(bound, queryset=entries, prefix=self.PREFIX)

    complete_requested = False  # set by the view from the button pressed
    # ``rows -> [Problem]``: the hard edit checks of the readable rows (``medications.services``).
    checker = None

    @property
    def tables(self):
        return [(_("Medications recorded at this visit"), self.formset)]

    def is_valid(self):
        valid = super().is_valid()
        if not self.formset.is_bound:
            self.add_error(
                None, _("The page is out of date or was altered: reload it and enter the data again.")
            )
            return False
        if not self.formset.is_valid():
            self.add_error(None, _("Check the rows of the table “%(table)s”.") % {"table": self.tables[0][0]})
            return False
        return valid

    def rows(self, *, readable_only: bool = False) -> list[dict]:
        """The submitted rows as the service takes them: {"key", "id", "remove", "expected_version",
        field: value}. ``key`` is the row's index in the table, so that a problem lands on its row; empty
        new rows are left out."""
        rows = []
        for index, form in enumerate(self.formset.forms):
            if readable_only and form.errors:
                continue
            cleaned = getattr(form, "cleaned_data", {})
            existing = cleaned.get("id")
            if existing is None and not form.has_changed():
                continue
            values = {k: v for k, v in cleaned.items() if k not in ("id", "DELETE", "expected_version")}
            rows.append(
                {
                    "key": str(index),
                    "id": existing.pk if existing else None,
                    "remove": bool(cleaned.get("DELETE")),
                    "expected_version": cleaned.get("expected_version"),
                    **expand_partial_dates(values, form.partial_dates),
                }
            )
        return rows

    def service_kwargs(self) -> dict:
        return {
            "rows": self.rows(),
            "complete": self.complete_requested,
            "reason": self.cleaned_data.get("reason") or "",
        }

    def check_problems(self) -> list:
        """The hard edit checks of the rows that could be read, beside the errors of those that could not."""
        if self.checker is None or not self.formset.is_bound:
            return []
        self.formset.is_valid()
        return self.checker(self.rows(readable_only=True))

    def add_problem(self, problem) -> None:
        if problem.field == "reason" or problem.row is None:
            field = "reason" if problem.field == "reason" else None
            if problem.message not in self.errors.get(field or "__all__", []):
                self.add_error(field, problem.message)
            return
        form = self.formset.forms[int(problem.row)]
        form.add_error(problem.field if problem.field in form.fields else None, problem.message)

    def error_summary(self) -> list[tuple[str, str, str]]:
        """[(field id to link to, label, message)] of every error on the page, in the page's order."""
        found = [("", "", message) for message in self.non_field_errors()]
        reason = self["reason"]
        found += [(reason.auto_id, str(reason.label), m) for m in self.errors.get("reason", [])]
        return found + row_errors(self.tables)

    def read_only(self) -> None:
        for form in self.formset.forms:
            for field in form.fields.values():
                field.disabled = True
        self.fields["reason"].widget = forms.HiddenInput()

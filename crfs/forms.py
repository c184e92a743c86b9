"""Model forms for CRFs. Every field may be left empty in a draft; completeness is the service's job."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from edc.errors import Problem
from edc.idempotency import FIELD
from edc.partial_dates import PartialDate, Precision
from trials.forms import DateInput

from .criteria import CRITERIA, MANUAL
from .models import (
    Death,
    Demographics,
    EligibilityChecklist,
    EndOfStudy,
    Hospitalisation,
    Infusion,
    Lymphodepletion,
    MedicalCondition,
    MedicalHistory,
    MissingReason,
    PhysicalExam,
    PriorTreatment,
    VitalSigns,
)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


# A number as a site types it: digits, an optional sign and decimal point. "1e", "1e5", "NaN" are not.
PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def read_as_typed(field) -> None:
    """A number field takes text: the browser sends what was typed and the server says what is wrong.

    An ``<input type="number">`` sends an empty value for "1e" (the browser cannot read it), which a
    draft would then save without a word; a text input with a numeric keyboard sends "1e", refused here.
    """
    if not isinstance(field, forms.IntegerField | forms.DecimalField | forms.FloatField):
        return
    whole = isinstance(field, forms.IntegerField) and not isinstance(field, forms.DecimalField)
    attrs = {k: v for k, v in field.widget.attrs.items() if k not in ("step", "min", "max")}
    field.widget = forms.TextInput(
        attrs={**attrs, "inputmode": "numeric" if whole else "decimal", "autocomplete": "off"}
    )
    parse = field.to_python

    def to_python(value):
        if isinstance(value, str) and value.strip() and not PLAIN_NUMBER.match(value.strip()):
            raise ValidationError(field.error_messages["invalid"], code="invalid")
        return parse(value)

    field.to_python = to_python


class PartialDateField(forms.Field):
    """A date known to the day, the month or the year: ``2019-03-15``, ``2019-03`` or ``2019``."""

    widget = forms.TextInput
    default_error_messages = {
        "invalid": _("Enter a date as YYYY-MM-DD, or YYYY-MM or YYYY when the day or month is not known.")
    }

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.widget.attrs.update({"placeholder": _("YYYY-MM-DD, YYYY-MM or YYYY"), "autocomplete": "off"})

    def prepare_value(self, value):
        return value.iso() if isinstance(value, PartialDate) else value

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, PartialDate):
            return value
        try:
            return PartialDate.parse(str(value))
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


def use_partial_dates(form) -> None:
    """Make the form's ``partial_dates`` fields take partial dates (their ``<name>_precision`` beside)."""
    for name in getattr(form, "partial_dates", ()):
        if name not in form.fields:
            continue
        old = form.fields[name]
        form.fields[name] = PartialDateField(label=old.label, required=old.required, help_text=old.help_text)
        form.fields[name].widget.attrs.update({k: v for k, v in old.widget.attrs.items() if k == "class"})
        if form.instance.pk and getattr(form.instance, name) is not None:
            precision = getattr(form.instance, f"{name}_precision", "") or Precision.DAY
            form.initial[name] = PartialDate(getattr(form.instance, name), precision)


def expand_partial_dates(values: dict, names) -> dict:
    """Cleaned values as the model stores them: a partial date as its first day and its precision."""
    values = dict(values)
    for name in names:
        if name in values:
            partial = values[name]
            values[name] = partial.date if partial is not None else None
            values[f"{name}_precision"] = partial.precision if partial is not None else Precision.DAY
    return values


class RowForm(forms.ModelForm):
    """One row of a child table; an empty extra row is ignored, a filled one needs its first field."""

    extra_rows = 2  # empty rows drawn under the stored ones ("Add a row" adds more)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name in ("id", "DELETE") or name not in self._meta.fields:
                continue
            model_field = self._meta.model._meta.get_field(name)
            field.required = name == self._meta.fields[0]
            read_as_typed(field)
            if isinstance(model_field, models.DateField):
                field.widget = DateInput()
            if isinstance(field.widget, forms.CheckboxInput):
                field.widget.attrs["class"] = "form-check-input"
            elif isinstance(field.widget, forms.Select):
                field.widget.attrs["class"] = "form-select form-select-sm row-select"
            else:
                field.widget.attrs["class"] = "form-control form-control-sm"
        use_partial_dates(self)


def row_errors(tables) -> list[tuple[str, str, str]]:
    """[(field id, "table · row number · field", message)] of every error of the rows of ``tables``.

    A row's own error (a lock, a conflict) links to the row's first field.
    """
    found = []
    for legend, formset in tables:
        for index, form in enumerate(formset.forms, start=1):
            visible = [f for f in form.visible_fields() if f.name != "DELETE"]
            for name, messages in form.errors.items():
                field = form[name] if name in form.fields else None
                anchor = field if field is not None else (visible[0] if visible else None)
                label = f"{legend} · {index} · {field.label}" if field is not None else f"{legend} · {index}"
                found += [(anchor.auto_id if anchor is not None else "", label, m) for m in messages]
    return found


class PriorTreatmentForm(RowForm):
    partial_dates = ("start_date",)

    class Meta:
        model = PriorTreatment
        fields = ["agent", "agent_other", "start_date", "stop_date", "dose", "reason_stopped"]


class MedicalConditionForm(RowForm):
    partial_dates = ("start_date",)

    class Meta:
        model = MedicalCondition
        fields = ["condition", "start_date", "ongoing", "end_date"]


class CRFForm(forms.ModelForm):
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    # The record's version the conflict page showed (``edc.merge``): saving then confirms the merge.
    seen_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    reason = forms.CharField(
        label=_("Reason for change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when changing a form already marked complete."),
    )

    # Optional grouping of the fields on the page: [(legend, [field names])]; the rest follow.
    fieldsets: list[tuple[object, list[str]]] = []
    criteria = None  # the eligibility checklist's criteria table
    # Child tables entered on the same page: {reverse relation name: (legend, row form class)}.
    row_forms: dict[str, tuple[object, type]] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.required = False
            field.label = capfirst(field.label)  # "Vasopressors" like the labels of model fields
            if not field.widget.is_hidden:
                read_as_typed(field)
            model_field = self._meta.model._meta.get_field(name) if name in self._meta.fields else None
            if isinstance(model_field, models.DateField) and not isinstance(
                model_field, models.DateTimeField
            ):
                field.widget = DateInput()
            elif isinstance(model_field, models.TimeField):
                field.widget = TimeInput()
        use_partial_dates(self)
        if self.instance.pk and not self.is_bound:
            self.initial["expected_version"] = self.instance.version
        self.formsets = {}
        for name, (_legend, row_form) in self.row_forms.items():
            model = row_form._meta.model
            queryset = (
                getattr(self.instance, name).filter(entered_in_error=False).order_by("pk")
                if self.instance.pk
                else model.objects.none()
            )
            formset_class = forms.modelformset_factory(
                model, form=row_form, extra=row_form.extra_rows, can_delete=True
            )
            data = self.data if self.is_bound and f"{name}-TOTAL_FORMS" in self.data else None
            self.formsets[name] = formset_class(data, queryset=queryset, prefix=name)

    complete_requested = False  # set by the view from the button pressed

    @property
    def grouped_fields(self):
        """[(legend, [bound fields])] for the page, the ungrouped visible fields last."""
        grouped, seen = [], set()
        for legend, names in self.fieldsets:
            fields = [self[n] for n in names if n in self.fields]
            seen.update(names)
            grouped.append((legend, fields))
        rest = [
            self[n]
            for n in self.fields
            if n not in seen and n not in ("expected_version", "reason") and not n.startswith(self.MISSING)
        ]
        rest = [f for f in rest if not f.is_hidden and f.name not in self.hidden_in_groups()]
        if rest:
            grouped.append(("", rest))
        return grouped

    def hidden_in_groups(self) -> set[str]:
        """Fields drawn elsewhere on the page (the criteria table of the eligibility checklist)."""
        return set()

    @property
    def tables(self):
        return [(self.row_forms[name][0], formset) for name, formset in self.formsets.items()]

    def is_valid(self):
        valid = super().is_valid()
        if any(self[name].is_hidden for name in self.errors if name in self.fields):
            self.add_error(
                None, _("The page is out of date or was altered: reload it and enter the data again.")
            )
        for name, formset in self.formsets.items():
            if formset.is_bound and not formset.is_valid():
                valid = False
                self.add_error(
                    None,
                    _("Check the rows of the table “%(table)s”.") % {"table": self.row_forms[name][0]},
                )
        return valid

    # ``(hard, soft)`` edit checks of the values read (``crfs.services.check_form``), set by the view.
    checker = None
    MISSING = "missing__"  # prefix of the "why is it missing" companion of a field

    def allow_missing(self, allowed: dict[str, list[str]], stored: dict[str, str]) -> None:
        """Give each field the protocol allows it a companion choice: not done, unknown, not applicable."""
        labels = dict(MissingReason.choices)
        for name, reasons in allowed.items():
            if name not in self.fields:
                continue
            self.fields[self.MISSING + name] = forms.ChoiceField(
                label=_("If missing, why"),
                choices=[("", "—"), *((r, labels[r]) for r in reasons if r in labels)],
                required=False,
                initial=stored.get(name, ""),
                widget=forms.Select(attrs={"class": "form-select form-select-sm missing-reason"}),
            )

    def missing_for(self, name: str):
        """The bound "why is it missing" companion of field ``name``, if the protocol offers one."""
        key = self.MISSING + name
        return self[key] if key in self.fields else None

    def _reasons(self, cleaned: dict) -> dict:
        reasons = {
            k.removeprefix(self.MISSING): v or "" for k, v in cleaned.items() if k.startswith(self.MISSING)
        }
        data = {k: v for k, v in cleaned.items() if not k.startswith(self.MISSING)}
        if reasons:
            data["missing"] = reasons
        return data

    def check_problems(self) -> list:
        """The hard edit checks of a submit whose other fields could not all be read (``edc.views.submit``).

        A field whose input could not be read keeps its own error: its stored value is not checked.
        """
        if self.checker is None:
            return []
        hard, _soft = self.checker(self.readable_data())
        return [Problem(check.message, field=check.field) for check in hard if check.field not in self.errors]

    def readable_data(self) -> dict:
        """The values that could be read, as ``service_data`` gives them; of a table, the rows that could
        be read (an unreadable stored row is checked as it is stored), so that the checks of the other
        rows show together with the unreadable ones."""
        cleaned = self._reasons(expand_partial_dates(getattr(self, "cleaned_data", {}), self.partial_dates))
        data = {
            k: v for k, v in cleaned.items() if k not in ("expected_version", "seen_version", "reason", FIELD)
        }
        for name, formset in self.formsets.items():
            if formset.is_bound:
                formset.is_valid()
                data[name] = self.table_rows(formset, readable_only=True)
        return data

    def read_only(self) -> None:
        """For a reader who may not enter data (monitor, auditor): values shown, nothing to type in."""
        forms_ = [self, *(row for formset in self.formsets.values() for row in formset.forms)]
        for form in forms_:
            for field in form.fields.values():
                field.disabled = True
        self.fields["reason"].widget = forms.HiddenInput()

    def add_problem(self, problem) -> None:
        self.add_error(problem.field if problem.field in self.fields else None, problem.message)

    def error_summary(self) -> list[tuple[str, str, str]]:
        """[(field id to link to, label, message)] of every error on the page, in the page's order."""
        rows = [("", "", message) for message in self.non_field_errors()]
        for name in self.fields:
            for message in self.errors.get(name, []):
                if not self[name].is_hidden:
                    rows.append((self[name].auto_id, str(self.fields[name].label or name), message))
        return rows + row_errors(self.tables)

    def service_kwargs(self) -> dict:
        return {
            "data": self.service_data(),
            "complete": self.complete_requested,
            "reason": self.cleaned_data.get("reason") or "",
            "expected_version": self.cleaned_data.get("expected_version"),
            "seen_version": self.cleaned_data.get("seen_version"),
            # the choices made on the conflict page for values both users changed
            "keep": {k[5:]: v for k, v in self.data.items() if k.startswith("keep-")},
        }

    def apply_merge(self, merge) -> None:
        """The conflict page: the colleague's changes go into the form, the user's own stay."""
        data = self.data.copy()
        data["seen_version"] = merge.version
        for change in merge.theirs:
            table, _sep, rest = change.key.partition(":")
            if not rest:
                if table in self.fields:
                    put(data, table, self.fields[table], change.theirs)
                continue
            pk, _sep, name = rest.partition(":")
            formset = self.formsets.get(table)
            if formset is None or name in ("*", "remove"):
                continue
            for index, form in enumerate(formset.forms):
                if str(data.get(f"{formset.prefix}-{index}-id")) == pk and name in form.fields:
                    put(data, f"{formset.prefix}-{index}-{name}", form.fields[name], change.theirs)
        self.data = data
        for formset in self.formsets.values():
            formset.data = data
            for form in formset.forms:
                form.data = data

    partial_dates: tuple[str, ...] = ()  # date fields that take a year or year-month (``PartialDateField``)

    def service_data(self) -> dict:
        data = self._reasons(expand_partial_dates(self.cleaned_data, self.partial_dates))
        data.pop("expected_version", None)
        data.pop("seen_version", None)
        data.pop("reason", None)
        for name, formset in self.formsets.items():
            if formset.is_bound:
                data[name] = self.table_rows(formset)
        return data

    @staticmethod
    def table_rows(formset, *, readable_only: bool = False) -> list[dict]:
        """The submitted rows as the service takes them: {"id", "remove", field: value}."""
        rows = []
        for form in formset.forms:
            if readable_only and (form.errors or not hasattr(form, "cleaned_data")):
                continue
            existing = form.cleaned_data.get("id")
            if existing is None and not form.has_changed():
                continue
            values = {k: v for k, v in form.cleaned_data.items() if k not in ("id", "DELETE")}
            values = expand_partial_dates(values, getattr(form, "partial_dates", ()))
            rows.append(
                {
                    "id": existing.pk if existing else None,
                    "remove": bool(form.cleaned_data.get("DELETE")),
                    **values,
                }
            )
        return rows


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


ELIGIBILITY_FIELDSETS = [
    (_("Assessment"), ["assessed_on", "age_at_consent"]),
    (
        _("Laboratory values evaluated"),
        [
            "labs_collected_on",
            "weight_kg",
            "creatinine",
            "creatinine_unit",
            "crcl_reduction_due_to_sle",
            "anc",
            "neutropenia_due_to_sle",
            "haemoglobin",
            "alt",
            "alt_uln",
            "ast",
            "ast_uln",
            "bilirubin",
            "bilirubin_uln",
            "liver_abnormality_due_to_sle",
            "inr",
            "pt",
            "pt_uln",
        ],
    ),
    (_("Disease activity"), ["selena_sledai", "bilag_a", "bilag_b"]),
    (_("Serology"), ["hbsag", "hbcab", "hbv_dna", "hcv_ab", "hcv_rna", "hiv_ab", "syphilis"]),
    (_("Pregnancy"), ["childbearing_potential", "pregnancy_test_on", "pregnancy_test_result"]),
]


class EligibilityChecklistForm(CRFForm):
    entry_template = "crfs/_grouped_entry.html"
    fieldsets = ELIGIBILITY_FIELDSETS

    class Meta:
        model = EligibilityChecklist
        fields = [name for _group, names in ELIGIBILITY_FIELDSETS for name in names] + [
            *[name for c in MANUAL for name in (c.key, f"{c.key}_source")]
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.hidden_in_groups():  # drawn in the criteria table, not by crispy
            self.fields[name].widget.attrs["class"] = "form-select form-select-sm"

    def hidden_in_groups(self):
        return {name for c in MANUAL for name in (c.key, f"{c.key}_source")}

    @property
    def criteria(self):
        """Every criterion in the registry's order: answer and source fields, or the computed item."""
        computed = self.instance.automatic_results if self.instance.pk else {}
        return [
            {
                "criterion": c,
                "answer": None if c.automatic else self[c.key],
                "source": None if c.automatic else self[f"{c.key}_source"],
                "computed": shown(computed.get(c.key)) if c.automatic else None,
            }
            for c in CRITERIA
        ]


def shown(item: dict | None) -> dict | None:
    """A stored automatic item with its detail in the reader's language."""
    from .eligibility import detail_text

    return None if item is None else {**item, "detail": detail_text(item)}


def names(fieldsets) -> list[str]:
    return [name for _legend, group in fieldsets for name in group]


DEMOGRAPHICS_FIELDSETS = [
    (
        _("Demographics"),
        ["assessed_on", "sex", "year_of_birth", "ethnicity", "ethnicity_other", "diagnosis_date"],
    ),
    (
        _("2019 EULAR/ACR classification criteria (domains ever met)"),
        [
            "eular_acr_ana",
            "domain_constitutional",
            "domain_haematological",
            "domain_neuropsychiatric",
            "domain_mucocutaneous",
            "domain_serosal",
            "domain_musculoskeletal",
            "domain_renal",
            "domain_antiphospholipid",
            "domain_complement",
            "domain_sle_antibodies",
        ],
    ),
    (
        _("Organ involvement ever"),
        [
            "organ_constitutional",
            "organ_mucocutaneous",
            "organ_neuropsychiatric",
            "organ_musculoskeletal",
            "organ_cardiorespiratory",
            "organ_gastrointestinal",
            "organ_ophthalmic",
            "organ_renal",
            "organ_haematological",
        ],
    ),
    (_("Lupus nephritis"), ["nephritis_class", "nephritis_biopsy_on"]),
]


class DemographicsForm(CRFForm):
    entry_template = "crfs/_grouped_entry.html"
    row_forms = {"prior_treatments": (_("Prior SLE treatments"), PriorTreatmentForm)}
    fieldsets = DEMOGRAPHICS_FIELDSETS

    class Meta:
        model = Demographics
        fields = names(DEMOGRAPHICS_FIELDSETS)


class MedicalHistoryForm(CRFForm):
    entry_template = "crfs/_grouped_entry.html"
    row_forms = {"conditions": (_("Conditions"), MedicalConditionForm)}

    class Meta:
        model = MedicalHistory
        fields = ["assessed_on", "any_condition"]


class PhysicalExamForm(CRFForm):
    class Meta:
        model = PhysicalExam
        fields = ["assessed_on", *[n for s in PhysicalExam.SYSTEMS for n in (s, f"{s}_findings")]]
        widgets = {f"{s}_findings": forms.Textarea(attrs={"rows": 1}) for s in PhysicalExam.SYSTEMS}


class LymphodepletionForm(CRFForm):
    class Meta:
        model = Lymphodepletion
        fields = [
            "assessed_on",
            "fludarabine_planned_mg_m2",
            "fludarabine_given_mg",
            "cyclophosphamide_planned_mg_m2",
            "cyclophosphamide_given_mg",
            "creatinine",
            "creatinine_unit",
            "fludarabine_renal_decision",
        ]


INFUSION_FIELDSETS = [
    (_("Infusion"), ["infusion_date", "infusion_start", "infusion_stop", "volume_ml"]),
    (
        _("Product and dose"),
        [
            "product_lot",
            "bag_id",
            "total_nucleated_cells",
            "viability_pct",
            "car_positive_pct",
            "dosing_weight_kg",
            "dosing_weight_on",
        ],
    ),
    (
        _("Premedication"),
        [
            "premedication_paracetamol",
            "premedication_antihistamine",
            "premedication_systemic_steroid",
            "premedication_other",
        ],
    ),
    (
        _("Vital signs before the infusion"),
        ["pre_temperature_c", "pre_heart_rate", "pre_systolic_bp", "pre_diastolic_bp", "pre_spo2_pct"],
    ),
    (
        _("Vital signs after the infusion"),
        ["post_temperature_c", "post_heart_rate", "post_systolic_bp", "post_diastolic_bp", "post_spo2_pct"],
    ),
    (_("Infusion reaction"), ["reaction", "reaction_description"]),
]


class InfusionForm(CRFForm):
    entry_template = "crfs/_grouped_entry.html"
    fieldsets = INFUSION_FIELDSETS

    class Meta:
        model = Infusion
        fields = names(INFUSION_FIELDSETS)
        widgets = {"reaction_description": forms.Textarea(attrs={"rows": 2})}


class HospitalisationForm(CRFForm):
    class Meta:
        model = Hospitalisation
        fields = [
            "admitted_on",
            "reason",
            "reason_other",
            "icu_admission",
            "icu_days",
            "still_in_hospital",
            "discharged_on",
            "discharge_destination",
            "within_2h_until_day_28",
        ]


class EndOfStudyForm(CRFForm):
    class Meta:
        model = EndOfStudy
        fields = ["end_date", "reason", "details", "last_contact_on"]
        widgets = {"details": forms.Textarea(attrs={"rows": 2})}


class DeathForm(CRFForm):
    class Meta:
        model = Death
        fields = [
            "death_date",
            "primary_cause",
            "cause_description",
            "relatedness",
            "autopsy",
            "information_source",
        ]
        widgets = {"cause_description": forms.Textarea(attrs={"rows": 2})}


def put(data, key: str, field, value) -> None:
    """Write ``value`` into form ``data`` as the browser would send it for ``field``."""
    if isinstance(field.widget, forms.CheckboxInput):
        if value:
            data[key] = "on"
        else:
            data.pop(key, None)
        return
    prepared = field.prepare_value(value)
    if isinstance(field, forms.TypedChoiceField | forms.ChoiceField) and not isinstance(
        field, forms.ModelChoiceField
    ):
        prepared = "" if value is None else value
    if hasattr(prepared, "isoformat"):
        prepared = (
            prepared.isoformat()[:16]
            if hasattr(prepared, "hour") and hasattr(prepared, "day")
            else (prepared.isoformat())
        )
    data[key] = "" if prepared is None else str(prepared)

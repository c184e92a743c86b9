"""Which model and form implement each form code that a protocol file names.

One explicit table, read in one screen; a code the protocol names but no module implements yet is
listed on the casebook page as "not available yet" rather than silently dropped.
"""

from dataclasses import dataclass
from functools import cached_property

from django.utils.module_loading import import_string


@dataclass(frozen=True)
class FormSpec:
    code: str
    title: object
    model_path: str
    form_path: str
    repeating: bool = False  # several per visit (e.g. one per lab panel)
    # ``function(*, user, form, reason)`` run in the save's transaction to move the participant's
    # status through trials.services (the infusion records Day 0, the death report the death).
    updates_participant: str | None = None
    # ``function(participant, visit) -> dict``: values found in the participant's other records,
    # offered by the form's "fill from this participant's data" button (nothing is saved).
    prefill: str | None = None
    # The field holding the day the form was done, which is the visit's date: a new form defaults to
    # the visit date, and the first form saved with a date records the visit's date. "" when the form
    # has none (medications); None: ``assessed_on`` when the model has it.
    date_field: str | None = None
    # ``function(visit) -> url`` of the page where the form is entered next at a visit, when that is
    # not the generic form page (the laboratory panel still missing).
    entry_url: str | None = None
    # Reverse relations whose records carry queries of their own that count on the form's casebook
    # cell (the results of a laboratory panel).
    query_children: tuple[str, ...] = ()

    @cached_property
    def model(self):
        from django.apps import apps

        return apps.get_model(self.model_path)

    @cached_property
    def form_class(self):
        return import_string(self.form_path)

    @cached_property
    def visit_date_field(self) -> str:
        """The name of the form's date field that is the visit's date, or ""."""
        if self.date_field is not None:
            return self.date_field
        names = {f.name for f in self.model._meta.concrete_fields}
        return "assessed_on" if "assessed_on" in names else ""


# Modules whose ``SPECS`` list declares forms; each app that adds CRFs adds its module here.
SPEC_MODULES = [
    "crfs.specs",
    "labs.specs",
    "disease_activity.specs",
    "medications.specs",
    "adverse_events.specs",
]


def _load() -> dict[str, FormSpec]:
    forms: dict[str, FormSpec] = {}
    for module in SPEC_MODULES:
        for spec in import_string(f"{module}.SPECS"):
            if spec.code in forms:
                raise RuntimeError(f"form code {spec.code!r} declared twice")
            forms[spec.code] = spec
    return forms


FORMS: dict[str, FormSpec] = _load()


def spec_for(code: str) -> FormSpec | None:
    return FORMS.get(code)

"""Forms implemented in this app (see crfs.registry)."""

from django.utils.translation import gettext_lazy as _

from crfs.registry import FormSpec

SPECS = [
    FormSpec(
        "medications",
        _("Prior and concomitant medications"),
        "medications.Medication",
        "medications.forms.MedicationForm",
        repeating=True,
    ),
]

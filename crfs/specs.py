"""Forms implemented in this app (see crfs.registry)."""

from django.utils.translation import gettext_lazy as _

from .registry import FormSpec

SPECS = [
    FormSpec("vital_signs", _("Vital signs"), "crfs.VitalSigns", "crfs.forms.VitalSignsForm"),
]

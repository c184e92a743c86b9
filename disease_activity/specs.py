"""Forms implemented in this app (see crfs.registry)."""

from django.utils.translation import gettext_lazy as _

from crfs.registry import FormSpec

SPECS = [
    FormSpec(
        "sledai",
        _("SLEDAI-2K / SELENA-SLEDAI"),
        "disease_activity.SledaiAssessment",
        "disease_activity.forms.SledaiAssessmentForm",
        prefill="disease_activity.selectors.supporting_values_from_data",
    ),
    FormSpec(
        "pga",
        _("Physician global assessment"),
        "disease_activity.PhysicianGlobalAssessment",
        "disease_activity.forms.PhysicianGlobalAssessmentForm",
    ),
    FormSpec(
        "bilag",
        _("BILAG-2004"),
        "disease_activity.BilagAssessment",
        "disease_activity.forms.BilagAssessmentForm",
    ),
]

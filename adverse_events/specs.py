"""The safety CRFs the protocol names at visits (see crfs.registry); adverse events, SAE reports, DLT
adjudications and IEC-HS events are participant-level records with their own pages (adverse_events.urls)."""

from django.utils.translation import gettext_lazy as _

from crfs.registry import FormSpec

M, F = "adverse_events.", "adverse_events.forms."

SPECS = [
    FormSpec("crs", _("CRS assessment (ASTCT)"), M + "CrsAssessment", F + "CrsAssessmentForm"),
    FormSpec(
        "icans",
        _("ICANS assessment (ICE, ASTCT)"),
        M + "IcansAssessment",
        F + "IcansAssessmentForm",
    ),
    FormSpec("ice", _("Baseline ICE"), M + "BaselineIce", F + "BaselineIceForm"),
    FormSpec("gvhd", _("Acute GvHD (MAGIC)"), M + "GvhdAssessment", F + "GvhdAssessmentForm"),
]

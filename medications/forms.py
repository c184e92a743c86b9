from crfs.forms import CRFForm

from .models import Medication


class MedicationForm(CRFForm):
    entry_template = "medications/medication_entry.html"
    partial_dates = ("start_date",)

    class Meta:
        model = Medication
        fields = [
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

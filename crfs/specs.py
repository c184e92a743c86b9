"""Forms implemented in this app (see crfs.registry)."""

from django.utils.translation import gettext_lazy as _

from .registry import FormSpec

SPECS = [
    FormSpec("vital_signs", _("Vital signs"), "crfs.VitalSigns", "crfs.forms.VitalSignsForm"),
    FormSpec(
        "eligibility",
        _("Eligibility checklist"),
        "crfs.EligibilityChecklist",
        "crfs.forms.EligibilityChecklistForm",
        prefill="crfs.eligibility.values_from_participant_data",
    ),
    FormSpec(
        "demographics", _("Demographics and SLE history"), "crfs.Demographics", "crfs.forms.DemographicsForm"
    ),
    FormSpec("medical_history", _("Medical history"), "crfs.MedicalHistory", "crfs.forms.MedicalHistoryForm"),
    FormSpec("physical_exam", _("Physical examination"), "crfs.PhysicalExam", "crfs.forms.PhysicalExamForm"),
    FormSpec(
        "lymphodepletion",
        _("Lymphodepletion"),
        "crfs.Lymphodepletion",
        "crfs.forms.LymphodepletionForm",
        updates_participant="crfs.participant_updates.lymphodepletion_given",
        prefill="crfs.dosing.lymphodepletion_prefill",
    ),
    FormSpec(
        "infusion",
        _("CAR-T infusion"),
        "crfs.Infusion",
        "crfs.forms.InfusionForm",
        updates_participant="crfs.participant_updates.infusion_given",
        prefill="crfs.dosing.infusion_prefill",
        date_field="infusion_date",
    ),
    FormSpec(
        "hospitalisation",
        _("Hospitalisation and discharge"),
        "crfs.Hospitalisation",
        "crfs.forms.HospitalisationForm",
        date_field="",  # admission and discharge are not the visit's date
    ),
    FormSpec(
        "end_of_study",
        _("End of study"),
        "crfs.EndOfStudy",
        "crfs.forms.EndOfStudyForm",
        updates_participant="crfs.participant_updates.study_ended",
        date_field="",
    ),
    FormSpec(
        "death",
        _("Death"),
        "crfs.Death",
        "crfs.forms.DeathForm",
        updates_participant="crfs.participant_updates.death_recorded",
        date_field="",
    ),
]

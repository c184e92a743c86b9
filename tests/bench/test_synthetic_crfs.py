"""``efficacy.synthetic``: case report forms of the synthetic participants, as the services store them."""

from collections import Counter

import pytest

from adverse_events.models import AdverseEvent, AdverseEventGrade, CrsAssessment
from crfs.models import (
    Demographics,
    EligibilityChecklist,
    Infusion,
    Lymphodepletion,
    MissingValue,
    VitalSigns,
)
from disease_activity.models import SledaiAssessment
from efficacy.synthetic import free_text_fields, seed_synthetic_crfs
from labs.models import LabResult
from medications.models import Medication
from trials.models import Participant
from trials.synthetic import seed_synthetic


@pytest.fixture
def seeded(study, settings):
    settings.DEMO_MODE = True
    seed_synthetic(participants=24, sites=2, seed=11)
    return seed_synthetic_crfs(study=study, seed=11)


def _fingerprint():
    return (
        list(VitalSigns.objects.order_by("pk").values_list("participant_id", "assessed_on", "temperature_c")),
        list(LabResult.objects.order_by("pk").values_list("analyte", "value", "ctcae_grade", "flag")),
        list(AdverseEvent.objects.order_by("pk").values_list("participant_id", "term", "onset_date")),
    )


def test_every_consented_participant_gets_forms_derived_by_the_models_rules(seeded):
    screened = Participant.objects.filter(consent_date__isnull=False, visits__code="SCR").count()
    assert screened == Demographics.objects.count() > 10
    assert VitalSigns.objects.filter(bmi__isnull=False).exists()  # derived by VitalSigns.derive
    assert not SledaiAssessment.objects.filter(sledai_2k__isnull=True).exists()
    infused = Participant.objects.filter(infusion_date__isnull=False)
    assert Infusion.objects.count() == infused.count()
    assert not Infusion.objects.filter(dose_per_kg__isnull=True).exists()  # from the stored vital signs
    assert not Lymphodepletion.objects.filter(bsa_m2__isnull=True).exists()
    outcomes = Counter(EligibilityChecklist.objects.values_list("outcome", flat=True))
    failed = Participant.objects.filter(eligibility_met=False).count()
    assert sum(n for outcome, n in outcomes.items() if outcome != "eligible") == failed


def test_the_safety_data_hold_graded_cytopenias_crs_and_dated_grade_entries(seeded):
    assert LabResult.objects.filter(analyte="anc", ctcae_grade__gte=3).exists()
    assert LabResult.objects.filter(not_done=True).exists()
    assert CrsAssessment.objects.filter(crs_grade__gte=1).exists()
    assert AdverseEvent.objects.filter(term="cytokine_release_syndrome").exists()
    assert AdverseEventGrade.objects.count() >= AdverseEvent.objects.count()
    assert Medication.objects.filter(glucocorticoid="prednisone").exists()
    assert Medication.objects.filter(start_date_precision="month").exists()  # partial dates
    assert MissingValue.objects.exists()


def test_every_row_is_in_the_audit_trail(seeded):
    assert VitalSigns.pgh_event_model.objects.count() == VitalSigns.objects.count()
    assert LabResult.pgh_event_model.objects.count() == LabResult.objects.count()
    context = VitalSigns.pgh_event_model.objects.first().pgh_context.metadata
    assert context["action"] == "seed_synthetic"


def test_the_same_seed_gives_the_same_data(study, settings, django_db_blocker):
    from django.db import transaction

    settings.DEMO_MODE = True
    seed_synthetic(participants=8, sites=2, seed=4)
    prints = []
    for _ in range(2):
        with transaction.atomic():
            seed_synthetic_crfs(study=study, seed=4)
            prints.append(_fingerprint())
            transaction.set_rollback(True)
    assert prints[0] == prints[1] and prints[0][1]


def test_plant_fills_every_free_text_field_it_is_given(study, settings):
    settings.DEMO_MODE = True
    seed_synthetic(participants=10, sites=2, seed=2)
    planted = set()

    def plant(participant_id, label, name):
        planted.add(label)
        return "PLANTED"

    seed_synthetic_crfs(study=study, seed=2, plant=plant)
    assert {"adverse_events.AdverseEvent", "crfs.PhysicalExam", "labs.LabPanel"} <= planted
    for name in (f.name for f in free_text_fields(AdverseEvent)):
        assert not AdverseEvent.objects.exclude(**{name: "PLANTED"}).exists(), name

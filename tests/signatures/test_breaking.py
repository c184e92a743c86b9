"""A change to signed data breaks the signature, with what changed, who changed it and why."""

from datetime import timedelta
from decimal import Decimal

from django.urls import reverse

from crfs.registry import FORMS
from crfs.services import mark_form_entered_in_error, save_form
from signatures.models import Signature, SignatureStatus
from tests.signatures.conftest import VITALS
from visits.services import record_visit


def edit_weight(user, vitals, weight, reason="transcription error"):
    data = {"assessed_on": vitals.assessed_on, **VITALS, "weight_kg": Decimal(weight)}
    return save_form(
        user=user,
        spec=FORMS["vital_signs"],
        visit=vitals.visit,
        instance=vitals,
        data=data,
        complete=True,
        reason=reason,
        expected_version=vitals.version,
    )


def test_editing_a_signed_value_breaks_the_signature(signed_visit, coordinator, vitals):
    edit_weight(coordinator, vitals, "71.5")
    signed_visit.refresh_from_db()
    assert signed_visit.status == SignatureStatus.BROKEN
    assert signed_visit.broken_by == coordinator and signed_visit.broken_at is not None
    assert signed_visit.broken_reason == (
        f"Weight (kg) changed at {vitals.visit.name} by coordinator: transcription error"
    )


def test_the_form_page_shows_the_broken_signature_and_why(client, signed_visit, coordinator, vitals):
    edit_weight(coordinator, vitals, "71.5")
    client.force_login(coordinator)
    page = client.get(reverse("form_entry", args=[vitals.visit_id, "vital_signs"])).content.decode()
    assert "Signature broken by change on" in page
    assert "Weight (kg) changed at" in page and "transcription error" in page


def test_the_form_page_shows_the_manifestation_of_a_valid_signature(
    client, signed_visit, coordinator, vitals
):
    client.force_login(coordinator)
    page = client.get(reverse("form_entry", args=[vitals.visit_id, "vital_signs"])).content.decode()
    assert signed_visit.manifestation in page


def test_saving_without_a_change_keeps_the_signature(signed_visit, coordinator, vitals):
    edit_weight(coordinator, vitals, "70.0", reason="")
    signed_visit.refresh_from_db()
    assert signed_visit.status == SignatureStatus.VALID


def test_a_form_entered_in_error_breaks_the_signature(signed_visit, coordinator, vitals):
    mark_form_entered_in_error(
        user=coordinator, spec=FORMS["vital_signs"], instance=vitals, reason="wrong participant"
    )
    signed_visit.refresh_from_db()
    assert signed_visit.status == SignatureStatus.BROKEN
    assert (
        "entered in error" in signed_visit.broken_reason and "wrong participant" in signed_visit.broken_reason
    )


def test_a_form_added_to_a_signed_visit_breaks_its_signature(signed_visit, coordinator, vitals):
    save_form(user=coordinator, spec=FORMS["physical_exam"], visit=vitals.visit, data={})
    signed_visit.refresh_from_db()
    assert signed_visit.status == SignatureStatus.BROKEN


def test_correcting_the_visit_date_breaks_the_signature(signed_visit, coordinator, visit):
    record_visit(
        user=coordinator, visit=visit, visit_date=visit.visit_date - timedelta(days=1), reason="wrong date"
    )
    signed_visit.refresh_from_db()
    assert signed_visit.status == SignatureStatus.BROKEN and "Visit date" in signed_visit.broken_reason


def test_a_change_at_another_visit_leaves_the_signature_alone(signed_visit, coordinator, participant):
    baseline_vitals = save_form(
        user=coordinator, spec=FORMS["vital_signs"], visit=participant.visits.get(code="BL"), data={}
    )
    assert baseline_vitals.pk
    signed_visit.refresh_from_db()
    assert signed_visit.status == SignatureStatus.VALID


def test_a_broken_visit_can_be_signed_again(signed_visit, coordinator, investigator, vitals, signing_request):
    from signatures import services
    from tests.conftest import PASSWORD

    edit_weight(coordinator, vitals, "71.5")
    again = services.sign_visit(
        user=investigator, visit=vitals.visit, password=PASSWORD, request=signing_request
    )
    assert again.valid and Signature.objects.count() == 2

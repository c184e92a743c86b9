"""Signing and breaking are workflow actions in the audit trail, attributed to their user."""

from pghistory.models import Events

from signatures.models import Signature
from tests.signatures.test_breaking import edit_weight


def events_of(signature):
    return list(Events.objects.tracks(Signature.objects.filter(pk=signature.pk)).order_by("pgh_created_at"))


def test_signing_is_recorded_with_the_signer_and_the_meaning(signed_visit, investigator):
    (signed,) = events_of(signed_visit)
    assert signed.pgh_label == "signed"
    assert signed.pgh_context["action"] == "sign_visit"
    assert signed.pgh_context["user"] == investigator.pk
    assert signed.pgh_context["reason"] == "I approve the data of this visit"


def test_breaking_is_recorded_with_the_user_and_the_reason_of_the_change(signed_visit, coordinator, vitals):
    edit_weight(coordinator, vitals, "71.5", reason="scale recalibrated")
    signed, broken = events_of(signed_visit)
    assert broken.pgh_label == "broken"
    assert broken.pgh_context["user"] == coordinator.pk
    assert broken.pgh_context["action"] == "save_vital_signs"
    assert broken.pgh_context["reason"] == "scale recalibrated"
    assert broken.pgh_diff["status"] == ["valid", "broken"]

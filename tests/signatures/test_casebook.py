"""The investigator signs the whole casebook; a change to an adverse event breaks that signature."""

from datetime import timedelta

import pytest
from django.urls import reverse

from adverse_events import services as safety
from edc.errors import DomainError
from signatures import services
from signatures.models import Scope, SignatureStatus
from signatures.selectors import verify
from tests.adverse_events.factories import ae_data
from tests.conftest import PASSWORD, today_at
from tests.signatures.conftest import only_unscheduled_visits


def record_ae(user, participant, **overrides):
    onset = today_at(participant.site) - timedelta(days=2)
    data = ae_data(participant, onset=onset, **overrides)
    return safety.record_adverse_event(user=user, participant=participant, data=data, grade=1)


@pytest.fixture
def event(coordinator, casebook_participant):
    return record_ae(coordinator, casebook_participant)


@pytest.fixture
def signed_casebook(investigator, casebook_participant, event, signing_request):
    return services.sign_casebook(
        user=investigator, participant=casebook_participant, password=PASSWORD, request=signing_request
    )


def test_the_investigator_signs_the_casebook(signed_casebook, casebook_participant):
    assert signed_casebook.scope == Scope.CASEBOOK and signed_casebook.visit is None
    assert signed_casebook.manifestation.endswith("I approve the data in this casebook")
    assert ["adverse_events.AdverseEvent", signed_casebook.records[0][1]] in signed_casebook.records
    assert verify(signed_casebook)


def test_a_change_to_an_adverse_event_breaks_the_casebook_signature(signed_casebook, coordinator, event):
    safety.update_adverse_event(
        user=coordinator,
        event=event,
        data={"outcome": "recovered", "resolution_date": event.onset_date + timedelta(days=1)},
        reason="resolved",
    )
    signed_casebook.refresh_from_db()
    assert signed_casebook.status == SignatureStatus.BROKEN
    assert signed_casebook.broken_reason.startswith(
        "Outcome, resolution date of adverse event 1 changed by coordinator"
    )
    assert signed_casebook.broken_reason.endswith(": resolved")


def test_a_new_grade_breaks_the_casebook_signature(signed_casebook, coordinator, event):
    safety.add_grade(user=coordinator, event=event, grade_on=event.onset_date + timedelta(days=1), grade=2)
    signed_casebook.refresh_from_db()
    assert signed_casebook.status == SignatureStatus.BROKEN


def test_a_new_adverse_event_breaks_the_casebook_signature(
    signed_casebook, coordinator, casebook_participant
):
    record_ae(coordinator, casebook_participant, term="headache")
    signed_casebook.refresh_from_db()
    assert signed_casebook.status == SignatureStatus.BROKEN


def test_a_form_change_breaks_both_the_visit_and_the_casebook_signatures(
    signed_casebook, investigator, coordinator, visit, vitals, signing_request
):
    from tests.signatures.test_breaking import edit_weight

    visit_signature = services.sign_visit(
        user=investigator, visit=visit, password=PASSWORD, request=signing_request
    )
    edit_weight(coordinator, vitals, "72.0")
    for signature in (visit_signature, signed_casebook):
        signature.refresh_from_db()
        assert signature.status == SignatureStatus.BROKEN


def test_a_casebook_with_an_incomplete_visit_is_refused(
    investigator, coordinator, participant, signing_request
):
    with pytest.raises(DomainError) as error:  # the screening visit is far from complete
        services.sign_casebook(
            user=investigator, participant=participant, password=PASSWORD, request=signing_request
        )
    assert "Screening: Vital signs not started" in error.value.message


def test_an_overdue_visit_blocks_the_casebook(investigator, casebook_participant, signing_request):
    baseline = casebook_participant.visits.get(code="BL")
    type(baseline).objects.filter(pk=baseline.pk).update(not_applicable=False)  # window closed, no outcome
    with pytest.raises(DomainError, match="Baseline: overdue"):
        services.sign_casebook(
            user=investigator, participant=casebook_participant, password=PASSWORD, request=signing_request
        )


def test_a_casebook_with_no_visit_done_is_refused(investigator, participant, signing_request):
    only_unscheduled_visits(participant)
    with pytest.raises(DomainError, match="no visit has taken place"):
        services.sign_casebook(
            user=investigator, participant=participant, password=PASSWORD, request=signing_request
        )


def test_the_casebook_page_shows_the_manifestation_and_broken_signatures(
    client, signed_casebook, coordinator, event
):
    client.force_login(coordinator)
    url = reverse("casebook", args=[signed_casebook.participant_id])
    assert signed_casebook.manifestation in client.get(url).content.decode()
    safety.add_grade(user=coordinator, event=event, grade_on=event.onset_date + timedelta(days=1), grade=2)
    page = client.get(url).content.decode()
    assert "Signature broken by change on" in page and "Grade of adverse event 1 changed by" in page


def test_the_participant_page_offers_the_investigator_to_sign(
    client, investigator, casebook_participant, visit
):
    client.force_login(investigator)
    page = client.get(reverse("participant_detail", args=[casebook_participant.pk])).content.decode()
    assert reverse("sign_casebook", args=[casebook_participant.pk]) in page
    assert reverse("sign_visit", args=[visit.pk]) in page


def test_the_participant_page_offers_no_signing_to_the_coordinator(client, coordinator, casebook_participant):
    client.force_login(coordinator)
    page = client.get(reverse("participant_detail", args=[casebook_participant.pk])).content.decode()
    assert "Sign casebook" not in page and "Sign visit" not in page


def test_the_safety_page_shows_the_casebook_signature(client, signed_casebook, coordinator):
    client.force_login(coordinator)
    page = client.get(reverse("participant_safety", args=[signed_casebook.participant_id])).content.decode()
    assert signed_casebook.manifestation in page


def test_the_casebook_signing_page_lists_what_is_signed(client, investigator, casebook_participant, event):
    client.force_login(investigator)
    page = client.get(reverse("sign_casebook", args=[casebook_participant.pk])).content.decode()
    assert "Unscheduled visit 1" in page and "Vital signs" in page and "1 adverse event" in page
    assert "I approve the data in this casebook" in page and 'name="password"' in page


def test_marking_a_pending_visit_missed_leaves_the_casebook_signature_valid(
    signed_casebook, coordinator, casebook_participant
):
    from visits.services import mark_visit

    month_3 = casebook_participant.visits.get(code="M3")
    type(month_3).objects.filter(pk=month_3.pk).update(not_applicable=False)
    mark_visit(user=coordinator, visit=month_3, outcome="missed", reason="travelling")
    signed_casebook.refresh_from_db()
    assert signed_casebook.valid and verify(signed_casebook)


def test_a_new_unscheduled_visit_breaks_the_casebook_signature(
    signed_casebook, coordinator, casebook_participant
):
    from visits.services import add_unscheduled_visit

    add_unscheduled_visit(
        user=coordinator,
        participant=casebook_participant,
        visit_date=today_at(casebook_participant.site),
        reason="flare",
    )
    signed_casebook.refresh_from_db()
    assert signed_casebook.status == SignatureStatus.BROKEN and signed_casebook.broken_reason.endswith(
        ": flare"
    )

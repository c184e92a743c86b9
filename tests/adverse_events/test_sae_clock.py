"""The SAE clock: recorded at awareness time T, the initial report is due at T + 24 h; the sponsor's
safety contacts are notified at once and again before the deadline, never twice for the same step."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core import mail
from django.urls import reverse

from accounts.models import ReminderDelivery, Role
from adverse_events import services
from adverse_events.models import SaeReport
from adverse_events.selectors import sae_status
from edc.errors import DomainError
from notifications import services as reminders
from notifications.models import Reminder
from tests.adverse_events.factories import infused, record_ae
from tests.conftest import PASSWORD
from tests.notifications.factories import prefer

T = datetime(2027, 3, 10, 6, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def clock():
    with time_machine.travel(T, tick=False) as traveller:
        yield traveller


@pytest.fixture
def contacts(clock, make_user, site_cd, investigator, coordinator, data_manager, sponsor_admin):
    """Who hears of a YC SAE: the sponsor admin, the data manager and YC's investigator."""
    make_user(Role.INVESTIGATOR, site_cd)  # another site's investigator: not told
    return {sponsor_admin.pk, data_manager.pk, investigator.pk}


@pytest.fixture
def sae(clock, coordinator, site_yc):
    patient = infused(coordinator, site_yc, days_ago=3)
    return record_ae(
        coordinator, patient, term="cytokine_release_syndrome", grade=3, serious_hospitalisation=True,
        awareness_at=T,
    )  # fmt: skip


def decided(kind):
    return set(Reminder.objects.filter(kind=kind).values_list("recipient_id", flat=True))


def scan_at(instant) -> int:
    """How many SAE reminders a scan at ``instant`` decides (visit reminders aside)."""
    sae_reminders = Reminder.objects.filter(kind__startswith="sae_")
    before = sae_reminders.count()
    with time_machine.travel(instant, tick=False):
        reminders.scan_reminders(now=instant)
    return sae_reminders.count() - before


def test_an_sae_recorded_at_awareness_t_is_due_at_t_plus_24_hours(sae):
    report = sae.sae_report
    assert report.awareness_at == T and report.due_at == T + 24 * HOUR
    assert sae_status(report, T + 24 * HOUR) == "due"
    assert sae_status(report, T + 24 * HOUR + timedelta(seconds=1)) == "overdue"


def test_a_serious_event_needs_the_time_the_site_became_aware(clock, coordinator, site_yc):
    patient = infused(coordinator, site_yc, days_ago=3)
    with pytest.raises(DomainError) as error:
        record_ae(coordinator, patient, serious_life_threatening=True)
    assert error.value.field == "awareness_at"
    with pytest.raises(DomainError) as error:
        record_ae(coordinator, patient, serious_life_threatening=True, awareness_at=T + HOUR)
    assert error.value.field == "awareness_at"


def test_the_contacts_are_notified_once_at_creation_and_once_before_the_deadline(contacts, sae):
    assert scan_at(T) == len(contacts)
    assert decided("sae_reported") == contacts
    assert scan_at(T + timedelta(minutes=1)) == 0  # the beat firing twice decides nothing new
    assert scan_at(T + 15 * HOUR) == 0
    assert scan_at(T + 16 * HOUR) == len(contacts)
    assert decided("sae_report_due_soon") == contacts
    assert scan_at(T + 17 * HOUR) == 0
    assert scan_at(T + 23 * HOUR) == 0


def test_each_step_is_emailed_exactly_once(contacts, sae):
    scan_at(T)
    scan_at(T + 16 * HOUR)
    for user_id in contacts:
        reminders.send_due_reminders(recipient_id=user_id, now=T + 16 * HOUR)
        reminders.send_due_reminders(recipient_id=user_id, now=T + 16 * HOUR)  # a redelivered task
    subjects = [message.subject for message in mail.outbox if message.subject.startswith("[UDCAR-SLE] SAE")]
    assert len(subjects) == 2 * len(contacts)
    assert sum("initial report due" in s for s in subjects) == len(contacts)
    assert sum("not submitted" in s for s in subjects) == len(contacts)


def test_sae_reminders_go_out_at_once_even_to_digest_readers(contacts, sae, sponsor_admin):
    prefer(sponsor_admin, ReminderDelivery.DIGEST, digest_hour=8)
    scan_at(T)  # 14:30 in Shanghai: long after the digest hour, long before the next
    assert reminders.send_due_reminders(recipient_id=sponsor_admin.pk, now=T) == 1
    assert "AE 1" in mail.outbox[0].subject


def test_a_submitted_report_is_not_chased(contacts, sae, investigator, rf):
    services.update_sae_narrative(user=investigator, report=sae.sae_report, narrative="Grade 3 CRS on day 1.")
    request = rf.post("/")
    request.user = investigator
    services.sign_sae_report(user=investigator, report=sae.sae_report, password=PASSWORD, request=request)
    scan_at(T)
    assert scan_at(T + 16 * HOUR) == 0
    assert scan_at(T + 25 * HOUR) == 0
    assert not decided("sae_report_overdue")


def test_an_unsubmitted_report_is_overdue_once_and_red_for_every_role_that_sees_it(
    client, contacts, sae, coordinator, monitor, auditor, data_manager, coordinator_cd
):
    scan_at(T)
    assert scan_at(T + 24 * HOUR + HOUR) == len(contacts)
    assert decided("sae_report_overdue") == contacts
    assert scan_at(T + 26 * HOUR) == 0
    with time_machine.travel(T + 25 * HOUR, tick=False):
        for user in (coordinator, monitor, auditor, data_manager):
            client.force_login(user)
            for url in (reverse("safety_home"), reverse("participant_safety", args=[sae.participant_id])):
                body = client.get(url).content.decode()
                assert "table-danger sae-overdue" in body and "Overdue" in body, (user, url)
        client.force_login(coordinator_cd)
        assert "sae-overdue" not in client.get(reverse("safety_home")).content.decode()


def test_a_corrected_awareness_time_moves_the_deadline(contacts, sae, coordinator):
    from tests.adverse_events.factories import ae_data

    later = T + 2 * HOUR
    with time_machine.travel(T + 3 * HOUR, tick=False):
        event = services.update_adverse_event(
            user=coordinator, event=sae, reason="Aware later than entered", awareness_at=later,
            data=ae_data(sae.participant, term="cytokine_release_syndrome", serious_hospitalisation=True),
        )  # fmt: skip
    assert event.sae_report.due_at == later + 24 * HOUR


def test_an_event_no_longer_serious_stops_the_clock(contacts, sae, coordinator):
    from tests.adverse_events.factories import ae_data

    services.update_adverse_event(
        user=coordinator, event=sae, reason="Not hospitalised after all",
        data=ae_data(sae.participant, term="cytokine_release_syndrome", serious_hospitalisation=False),
    )  # fmt: skip
    sae.sae_report.refresh_from_db()
    assert sae.sae_report.entered_in_error
    assert scan_at(T) == 0


def test_recording_a_serious_event_asks_for_a_scan_once_committed(
    clock, coordinator, site_yc, enqueued, django_capture_on_commit_callbacks
):
    patient = infused(coordinator, site_yc, days_ago=3)
    with django_capture_on_commit_callbacks(execute=True):
        record_ae(coordinator, patient, serious_hospitalisation=True, awareness_at=T)
    assert ("scan", ()) in enqueued


def test_the_investigator_signs_after_re_entering_the_password_and_failures_count(client, sae, investigator):
    services.update_sae_narrative(user=investigator, report=sae.sae_report, narrative="Narrative.")
    client.force_login(investigator)
    url = reverse("sae_sign", args=[sae.pk])
    response = client.post(url, {"password": "not-my-password"})
    assert response.status_code == 400 and "not correct" in response.content.decode()
    assert AccessAttempt.objects.get(username=investigator.username).failures_since_start == 1
    sae.sae_report.refresh_from_db()
    assert sae.sae_report.signed_at is None
    assert client.post(url, {"password": PASSWORD}).status_code == 302
    sae.sae_report.refresh_from_db()
    assert sae.sae_report.signed_by == investigator and sae.sae_report.signed_at == T


def test_only_an_investigator_signs(client, sae, coordinator, investigator):
    # a report ready to sign, so that only the role can stop the signature
    services.update_sae_narrative(user=investigator, report=sae.sae_report, narrative="Grade 3 CRS on day 1.")
    report = SaeReport.objects.get(pk=sae.sae_report.pk)
    client.force_login(coordinator)
    assert client.post(reverse("sae_sign", args=[sae.pk]), {"password": PASSWORD}).status_code == 403
    after = SaeReport.objects.get(pk=report.pk)
    assert (after.signed_at, after.signed_by_id, after.version) == (None, None, report.version)


def test_the_report_needs_a_narrative_before_signing(sae, investigator, rf):
    request = rf.post("/")
    with pytest.raises(DomainError) as error:
        services.sign_sae_report(user=investigator, report=sae.sae_report, password=PASSWORD, request=request)
    assert error.value.field == "narrative"

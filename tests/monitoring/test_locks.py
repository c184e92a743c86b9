"""Locks: a data manager locks a form, a visit, a participant or the study; locked data refuse changes in
the services and at the database; unlocking needs a reason; both are audited."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from pghistory.models import Events

from crfs.models import VitalSigns
from crfs.registry import FORMS
from crfs.services import mark_form_entered_in_error, save_form
from edc.errors import LOCKED_SQLSTATE, DomainError, LockedError
from edc.integrity import TRIGGER_NAME
from edc.models import ClinicalRecord
from monitoring.locks import lock, refuse_if_locked, unlock
from monitoring.models import Lock, LockScope
from tests.conftest import make_participant, today_at
from trials import services as trial_services


def change_heart_rate(user, form, value, reason="correction"):
    return save_form(
        user=user,
        spec=FORMS["vital_signs"],
        visit=form.visit,
        instance=form,
        data={"heart_rate": value},
        reason=reason,
        expected_version=form.version,
    )


def test_a_locked_form_refuses_a_change_with_who_locked_it_when_and_why(data_manager, coordinator, vitals):
    lock(user=data_manager, scope=LockScope.FORM, target=vitals, reason="Interim analysis cut")
    with pytest.raises(LockedError) as refused:
        change_heart_rate(coordinator, vitals, 80)
    message = str(refused.value)
    assert "This form is locked by datamanager on" in message and "Interim analysis cut" in message
    vitals.refresh_from_db()
    assert vitals.heart_rate == 72


def test_a_form_lock_leaves_the_other_forms_of_the_visit_open(data_manager, coordinator, participant, vitals):
    lock(user=data_manager, scope=LockScope.FORM, target=vitals, reason="checked")
    exam = save_form(user=coordinator, spec=FORMS["physical_exam"], visit=vitals.visit, data={})
    assert exam.pk


def test_a_visit_lock_refuses_new_forms_at_that_visit_and_changes_to_the_visit(
    data_manager, coordinator, participant, vitals
):
    lock(user=data_manager, scope=LockScope.VISIT, target=vitals.visit, reason="visit reviewed")
    with pytest.raises(LockedError, match="This visit is locked"):
        save_form(user=coordinator, spec=FORMS["physical_exam"], visit=vitals.visit, data={})
    with pytest.raises(LockedError, match="This visit is locked"):
        change_heart_rate(coordinator, vitals, 80)
    other_visit = participant.visits.get(code="SCR")
    save_form(user=coordinator, spec=FORMS["vital_signs"], visit=other_visit, data={"heart_rate": 70})


def test_a_participant_lock_refuses_their_forms_and_their_participant_record(
    data_manager, coordinator, participant, vitals
):
    lock(user=data_manager, scope=LockScope.PARTICIPANT, target=participant, reason="casebook frozen")
    with pytest.raises(LockedError, match="This participant's data is locked"):
        change_heart_rate(coordinator, vitals, 80)
    with pytest.raises(DomainError, match="locked"):
        trial_services.record_planned_infusion(
            user=coordinator,
            participant=participant,
            planned_date=today_at(participant.site) + timedelta(days=3),
        )


def test_a_study_lock_refuses_changes_at_every_site_and_new_participants(
    data_manager, study, coordinator, coordinator_cd, site_yc, vitals, other_vitals
):
    lock(
        user=data_manager, scope=LockScope.STUDY, target=study, reason="Database lock for the final analysis"
    )
    for user, form in ((coordinator, vitals), (coordinator_cd, other_vitals)):
        with pytest.raises(LockedError, match="The study database is locked"):
            change_heart_rate(user, form, 99)
    with pytest.raises(DomainError, match="locked"):
        make_participant(coordinator, site_yc, stage="screening", initials="NW")


def test_entering_a_locked_form_in_error_is_refused(data_manager, coordinator, vitals):
    lock(user=data_manager, scope=LockScope.FORM, target=vitals, reason="checked")
    with pytest.raises(LockedError, match="This form is locked"):
        mark_form_entered_in_error(
            user=coordinator, spec=FORMS["vital_signs"], instance=vitals, reason="wrong participant"
        )


def locked_at_the_database(call):
    with pytest.raises(DatabaseError) as refused, transaction.atomic():
        call()
    return refused.value.__cause__.sqlstate == LOCKED_SQLSTATE


def test_the_database_refuses_a_raw_orm_save_or_update_of_a_locked_form(data_manager, vitals):
    lock(user=data_manager, scope=LockScope.FORM, target=vitals, reason="checked")
    vitals.heart_rate = 120
    assert locked_at_the_database(vitals.save)
    assert locked_at_the_database(lambda: VitalSigns.objects.filter(pk=vitals.pk).update(heart_rate=130))
    assert VitalSigns.objects.get(pk=vitals.pk).heart_rate == 72


def test_the_database_refuses_a_row_of_a_locked_forms_table(data_manager, coordinator, participant):
    from crfs.models import Demographics, PriorTreatment

    demographics = Demographics.objects.get(participant=participant)
    lock(user=data_manager, scope=LockScope.FORM, target=demographics, reason="checked")
    row = PriorTreatment.objects.filter(form=demographics).first()
    row.dose = "changed"
    assert locked_at_the_database(row.save)


def test_the_database_refuses_a_new_form_at_a_locked_visit_even_without_the_service(
    data_manager, participant
):
    visit = participant.visits.get(code="BL")
    lock(user=data_manager, scope=LockScope.VISIT, target=visit, reason="reviewed")
    assert locked_at_the_database(lambda: VitalSigns.objects.create(participant=participant, visit=visit))


def test_a_write_that_skips_the_service_check_still_becomes_the_lock_message(
    data_manager, coordinator, vitals
):
    from edc.audit import audited

    lock(user=data_manager, scope=LockScope.FORM, target=vitals, reason="checked by DM")
    with pytest.raises(LockedError, match="checked by DM"), audited(user=coordinator, action="raw"):
        VitalSigns.objects.filter(pk=vitals.pk).update(heart_rate=1)


def test_unlocking_needs_a_reason_and_reopens_the_data(data_manager, coordinator, vitals):
    held = lock(user=data_manager, scope=LockScope.FORM, target=vitals, reason="checked")
    with pytest.raises(DomainError, match="Say why"):
        unlock(user=data_manager, lock=held, reason="  ")
    unlock(user=data_manager, lock=held, reason="Site found a transcription error")
    assert change_heart_rate(coordinator, vitals, 75).heart_rate == 75


def test_locking_and_unlocking_are_in_the_audit_trail_with_who_and_why(data_manager, vitals):
    held = lock(user=data_manager, scope=LockScope.FORM, target=vitals, reason="checked")
    unlock(user=data_manager, lock=held, reason="Site correction")
    events = list(Events.objects.tracks(held).order_by("pgh_created_at", "pgh_id"))
    assert [e.pgh_label for e in events] == ["locked", "updated"]
    assert events[0].pgh_context["username"] == "datamanager"
    assert events[0].pgh_context["action"] == "lock.form" and events[0].pgh_context["reason"] == "checked"
    assert events[1].pgh_context["action"] == "unlock.form"
    assert events[1].pgh_context["reason"] == "Site correction"
    assert events[1].pgh_diff["unlock_reason"] == ["", "Site correction"]


def test_only_a_data_manager_locks_and_unlocks(monitor, coordinator, data_manager, vitals):
    for user in (monitor, coordinator):
        with pytest.raises(PermissionDenied, match="does not allow"):
            lock(user=user, scope=LockScope.FORM, target=vitals, reason="x")
    held = lock(user=data_manager, scope=LockScope.FORM, target=vitals, reason="x")
    with pytest.raises(PermissionDenied, match="does not allow"):
        unlock(user=monitor, lock=held, reason="y")


def test_a_lock_needs_a_reason_and_is_not_taken_twice(data_manager, vitals):
    with pytest.raises(DomainError, match="Say why"):
        lock(user=data_manager, scope=LockScope.FORM, target=vitals, reason="")
    lock(user=data_manager, scope=LockScope.FORM, target=vitals, reason="x")
    with pytest.raises(DomainError, match="already locked"):
        lock(user=data_manager, scope=LockScope.FORM, target=vitals, reason="again")


def test_a_lock_is_never_deleted(data_manager, vitals):
    held = lock(user=data_manager, scope=LockScope.FORM, target=vitals, reason="x")
    with pytest.raises(DatabaseError, match="Cannot delete"), transaction.atomic():
        Lock.objects.filter(pk=held.pk).delete()


def test_refuse_if_locked_passes_unlocked_data(data_manager, vitals):
    assert refuse_if_locked(vitals) is None
    lock(user=data_manager, scope=LockScope.FORM, target=vitals, reason="checked")
    with pytest.raises(LockedError, match="This form is locked by datamanager"):
        refuse_if_locked(vitals)


def clinical_tables():
    models = [m for m in apps.get_models() if issubclass(m, ClinicalRecord)]
    return sorted({m._meta.db_table for m in models} | {apps.get_model("labs", "LabResult")._meta.db_table})


@pytest.mark.django_db
def test_every_clinical_table_carries_the_lock_trigger():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname LIKE %s AND NOT t.tgisinternal",
            [f"pgtrigger_{TRIGGER_NAME}_%"],
        )
        guarded = {row[0] for row in cursor.fetchall()}
    tables = clinical_tables()
    assert len(tables) > 25
    assert [t for t in tables if t not in guarded] == []


# Pages ----------------------------------------------------------------------------------------------


def test_the_form_page_shows_the_lock_and_a_locked_form_answers_with_its_message_not_a_500(
    client, data_manager, coordinator, vitals
):
    lock(user=data_manager, scope=LockScope.FORM, target=vitals, reason="Monitoring visit closed")
    client.force_login(coordinator)
    url = reverse("form_entry_instance", args=[vitals.visit_id, "vital_signs", vitals.pk])
    assert "Monitoring visit closed" in client.get(url).content.decode()
    response = client.post(url, {"heart_rate": 90, "expected_version": vitals.version, "reason": "x"})
    assert response.status_code == 400
    assert "This form is locked by datamanager" in response.content.decode()


def test_a_data_manager_locks_and_unlocks_a_form_from_its_page(client, data_manager, vitals):
    client.force_login(data_manager)
    url = reverse("lock_new", args=["vital_signs", vitals.pk])
    response = client.post(url, {"reason": "Reviewed"})
    assert response.status_code == 302
    held = Lock.objects.get(object_id=vitals.pk, unlocked_at=None)
    response = client.post(reverse("lock_unlock", args=[held.pk]), {"reason": ""})
    assert response.status_code == 400
    response = client.post(reverse("lock_unlock", args=[held.pk]), {"reason": "Correction requested"})
    assert response.status_code == 302
    held.refresh_from_db()
    assert held.unlock_reason == "Correction requested"


def test_a_data_manager_locks_the_study_from_the_locks_page(client, data_manager, study):
    client.force_login(data_manager)
    response = client.post(reverse("lock_new", args=["study", study.pk]), {"reason": "Final database lock"})
    assert response.status_code == 302
    page = client.get(reverse("lock_list")).content.decode()
    assert "Final database lock" in page


def test_a_monitor_cannot_lock(client, monitor, vitals):
    client.force_login(monitor)
    assert (
        client.post(reverse("lock_new", args=["vital_signs", vitals.pk]), {"reason": "x"}).status_code == 403
    )
    assert not Lock.objects.exists()
    refuse_if_locked(vitals)  # nothing covers the form: this does not raise


def test_the_locks_page_lists_active_locks_of_the_users_sites_only(
    client, data_manager, monitor, vitals, other_vitals
):
    lock(user=data_manager, scope=LockScope.FORM, target=vitals, reason="yc form reviewed")
    lock(user=data_manager, scope=LockScope.FORM, target=other_vitals, reason="cd form reviewed")
    client.force_login(monitor)
    page = client.get(reverse("lock_list")).content.decode()
    assert "yc form reviewed" in page and "cd form reviewed" not in page


def test_the_participant_page_shows_the_locks_and_offers_locking_to_data_managers_only(
    client, data_manager, coordinator, participant
):
    visit = participant.visits.get(code="BL")
    client.force_login(data_manager)
    url = reverse("participant_detail", args=[participant.pk])
    assert reverse("lock_new", args=["visit", visit.pk]) in client.get(url).content.decode()
    response = client.post(reverse("lock_new", args=["visit", visit.pk]), {"reason": "Visit monitored"})
    assert response.status_code == 302 and response.url == url
    body = client.get(url).content.decode()
    assert f'data-visit-lock="{visit.pk}"' in body
    client.force_login(coordinator)
    body = client.get(url).content.decode()
    assert f'data-visit-lock="{visit.pk}"' in body and "/monitoring/locks/new/" not in body


def test_a_participant_lock_shows_a_banner_on_their_page(client, data_manager, coordinator, participant):
    lock(user=data_manager, scope=LockScope.PARTICIPANT, target=participant, reason="Casebook complete")
    client.force_login(coordinator)
    body = client.get(reverse("participant_detail", args=[participant.pk])).content.decode()
    assert "Casebook complete" in body and 'data-lock="participant"' in body

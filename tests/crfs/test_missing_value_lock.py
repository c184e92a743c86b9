"""Why a field is empty is part of its form: a lock on the form refuses a change of its reasons in the
service (with the lock's message) and in the database (the table's own lock trigger), on every path."""

from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from crfs import missing
from crfs.models import MissingValue
from crfs.registry import FORMS
from crfs.services import save_form
from edc.errors import LOCKED_SQLSTATE, LockedError
from monitoring.locks import lock, refuse_if_locked, unlock
from monitoring.models import LockScope


@pytest.fixture
def vitals(coordinator, baseline):
    """Vital signs with the weight not done."""
    return save_form(
        user=coordinator,
        spec=FORMS["vital_signs"],
        visit=baseline,
        data={"heart_rate": 72, "temperature_c": Decimal("36.8"), "missing": {"weight_kg": "not_done"}},
    )


@pytest.fixture
def other_vitals(coordinator_cd, other_site_participant):
    visit = other_site_participant.visits.get(code="BL")
    return save_form(user=coordinator_cd, spec=FORMS["vital_signs"], visit=visit, data={"heart_rate": 70})


def refused_by_the_database(sql, params) -> bool:
    with pytest.raises(DatabaseError) as refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return refused.value.__cause__.sqlstate == LOCKED_SQLSTATE


def reason_update(row):
    return "UPDATE crfs_missingvalue SET reason = 'unknown' WHERE id = %s", [row.pk]


def test_a_raw_sql_update_of_a_locked_forms_reason_is_refused_by_the_database(data_manager, vitals):
    row = MissingValue.objects.get()
    lock(user=data_manager, scope=LockScope.FORM, target=vitals, reason="Interim analysis cut")
    assert refused_by_the_database(*reason_update(row))
    row.refresh_from_db()
    assert row.reason == "not_done"


def test_a_raw_sql_insert_of_a_reason_on_a_locked_visit_is_refused(data_manager, vitals):
    row = MissingValue.objects.get()
    lock(user=data_manager, scope=LockScope.VISIT, target=vitals.visit, reason="visit reviewed")
    assert refused_by_the_database(
        "INSERT INTO crfs_missingvalue (content_type_id, object_id, field_name, reason) "
        "VALUES (%s, %s, 'height_cm', 'not_done')",
        [row.content_type_id, row.object_id],
    )
    assert MissingValue.objects.count() == 1


def test_the_trigger_lets_unlocked_reasons_change(data_manager, vitals, other_vitals):
    lock(user=data_manager, scope=LockScope.FORM, target=other_vitals, reason="the other site's form")
    row = MissingValue.objects.get()
    with connection.cursor() as cursor:
        cursor.execute(*reason_update(row))
    row.refresh_from_db()
    assert row.reason == "unknown"


def test_unlocking_opens_the_reasons_again(data_manager, vitals):
    held = lock(user=data_manager, scope=LockScope.PARTICIPANT, target=vitals.participant, reason="review")
    row = MissingValue.objects.get()
    assert refused_by_the_database(*reason_update(row))
    unlock(user=data_manager, lock=held, reason="correction requested")
    with connection.cursor() as cursor:
        cursor.execute(*reason_update(row))


def test_the_service_refuses_a_reason_on_a_locked_form_with_the_locks_message(
    data_manager, coordinator, vitals
):
    lock(user=data_manager, scope=LockScope.FORM, target=vitals, reason="Interim analysis cut")
    with pytest.raises(LockedError, match="This form is locked by datamanager on .*Interim analysis cut"):
        missing.save_reasons(vitals, {"weight_kg": ""})
    with pytest.raises(LockedError, match="This form is locked by datamanager"):
        save_form(
            user=coordinator,
            spec=FORMS["vital_signs"],
            visit=vitals.visit,
            instance=vitals,
            data={"missing": {"weight_kg": "", "height_cm": "not_done"}},
            reason="the height was not measured",
            expected_version=vitals.version,
        )
    assert [(r.field_name, r.reason) for r in MissingValue.objects.all()] == [("weight_kg", "not_done")]


def test_a_reason_row_is_covered_by_its_forms_locks(data_manager, vitals):
    lock(user=data_manager, scope=LockScope.FORM, target=vitals, reason="checked")
    with pytest.raises(LockedError, match="This form is locked"):
        refuse_if_locked(MissingValue.objects.get())

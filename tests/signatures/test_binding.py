"""A signature is bound to the content it signed: copied to another record, or with the data changed
behind the application's back, it no longer verifies; the database refuses to edit or delete it."""

import pytest
from django.db import connection, transaction
from django.db.utils import ProgrammingError

from signatures.models import Signature
from signatures.selectors import verify
from tests.signatures.conftest import ready_visit


def test_a_fresh_signature_verifies(signed_visit):
    assert verify(signed_visit)


def copy(signature, **changes):
    fields = {
        f.attname: getattr(signature, f.attname)
        for f in Signature._meta.concrete_fields
        if f.attname not in ("id", "visit_id", "participant_id")
    }
    values = {"visit_id": signature.visit_id, "participant_id": signature.participant_id, **fields, **changes}
    return Signature.objects.create(**values)


def test_a_signature_copied_to_another_visit_of_the_same_data_does_not_verify(
    signed_visit, coordinator, participant
):
    other = ready_visit(coordinator, participant, days_ago=2)  # identical forms at another visit
    assert not verify(copy(signed_visit, visit_id=other.pk))


def test_a_signature_copied_to_another_participant_does_not_verify(signed_visit, other_site_participant):
    visit = other_site_participant.visits.get(code="SCR")
    assert not verify(copy(signed_visit, participant_id=other_site_participant.pk, visit_id=visit.pk))


def test_a_value_changed_with_raw_sql_makes_the_signature_fail(signed_visit, vitals):
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {vitals._meta.db_table} SET weight_kg = 99.0 WHERE id = %s", [vitals.pk])
    assert not verify(signed_visit)


def test_bookkeeping_columns_are_not_signed(signed_visit, vitals):
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {vitals._meta.db_table} SET updated_at = now(), version = version + 1 WHERE id = %s",
            [vitals.pk],
        )
    assert verify(signed_visit)


def test_the_database_refuses_to_edit_a_signature(signed_visit):
    with pytest.raises(ProgrammingError, match="pgtrigger"), transaction.atomic():
        Signature.objects.filter(pk=signed_visit.pk).update(printed_name="Someone else")


def test_the_database_refuses_to_move_a_signature_while_breaking_it(signed_visit, coordinator):
    from django.utils import timezone

    with pytest.raises(ProgrammingError, match="pgtrigger"), transaction.atomic():
        Signature.objects.filter(pk=signed_visit.pk).update(
            status="broken", broken_at=timezone.now(), broken_reason="x", content_hash="0" * 64
        )


def test_the_database_refuses_to_delete_a_signature(signed_visit):
    with pytest.raises(ProgrammingError, match="pgtrigger"), transaction.atomic():
        Signature.objects.filter(pk=signed_visit.pk).delete()

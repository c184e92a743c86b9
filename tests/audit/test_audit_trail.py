from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.utils import ProgrammingError as InternalError
from django.urls import reverse
from pghistory.models import Events

from edc.errors import DomainError
from tests.conftest import make_participant
from trials import services
from trials.models import Participant
from visits.services import record_visit


def events_for(obj):
    return list(Events.objects.tracks(obj).order_by("pgh_created_at", "pgh_id"))


def test_every_change_records_who_when_old_new_and_why(coordinator, site_yc):
    p = make_participant(coordinator, site_yc, stage="screening", initials="AB")
    services.correct_participant(
        user=coordinator, participant=p, changes={"initials": "AC"}, reason="Transcription error"
    )
    last = events_for(p)[-1]
    assert last.pgh_diff["initials"] == ["AB", "AC"]
    assert last.pgh_context["username"] == coordinator.username
    assert last.pgh_context["user"] == coordinator.pk
    assert last.pgh_context["reason"] == "Transcription error"
    assert last.pgh_created_at is not None


def test_a_correction_without_a_reason_is_refused_and_nothing_changes(coordinator, site_yc):
    p = make_participant(coordinator, site_yc, stage="screening", initials="AB")
    count = len(events_for(p))
    with pytest.raises(DomainError, match="reason for change is required"):
        services.correct_participant(user=coordinator, participant=p, changes={"initials": "AC"}, reason="")
    p.refresh_from_db()
    assert p.initials == "AB" and len(events_for(p)) == count


def test_bulk_updates_outside_the_services_are_still_captured(coordinator, participant):
    Participant.objects.filter(pk=participant.pk).update(initials="QQ")
    assert events_for(participant)[-1].pgh_diff["initials"] == ["AB", "QQ"]


@pytest.mark.parametrize("table", ["trials_participantevent", "visits_visitevent"])
@pytest.mark.parametrize("statement", ["UPDATE {table} SET pgh_label = 'tampered'", "DELETE FROM {table}"])
def test_audit_tables_refuse_update_and_delete_at_the_database(participant, table, statement):
    with (
        pytest.raises(InternalError, match="Cannot update or delete rows"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement.format(table=table))


@pytest.mark.parametrize(
    "table", ["trials_participant", "visits_visit", "trials_site", "trials_protocolversion"]
)
def test_clinical_records_cannot_be_hard_deleted_even_with_raw_sql(participant, table):
    with pytest.raises(InternalError, match="Cannot"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")


def test_entered_in_error_retires_the_record_with_its_reason(coordinator, site_yc):
    p = make_participant(coordinator, site_yc, stage="screening")
    p = services.mark_entered_in_error(user=coordinator, participant=p, reason="Duplicate registration")
    assert Participant.objects.filter(pk=p.pk).exists()
    assert p.entered_in_error and p.entered_in_error_reason == "Duplicate registration"


def test_history_page_shows_field_old_new_who_and_why(client, coordinator, participant):
    visit = participant.visits.get(code="BL")
    visit = record_visit(user=coordinator, visit=visit, visit_date=participant.enrollment_date)
    record_visit(
        user=coordinator,
        visit=visit,
        visit_date=participant.enrollment_date + timedelta(days=1),
        reason="Wrong day entered",
    )
    client.force_login(coordinator)
    page = client.get(reverse("participant_history", args=[participant.pk])).content.decode()
    assert "Wrong day entered" in page
    assert coordinator.username in page
    assert "visit date" in page.lower()
    visit_page = client.get(reverse("visit_history", args=[visit.pk])).content.decode()
    assert str(participant.enrollment_date) in visit_page and "Wrong day entered" in visit_page


def test_membership_changes_are_audited(coordinator):
    membership = coordinator.memberships.get()
    assert events_for(membership)

"""Least privilege: the web, worker and beat connect as an app role that is not superuser, not owner,
cannot truncate, only reads and appends to the audit tables, and cannot switch a protective trigger
off, whatever session settings it sends. The application still works as that role."""

import psycopg
import pytest
from django.db import connection
from pghistory.models import Events

from crfs.models import VitalSigns
from crfs.registry import FORMS
from crfs.services import save_form
from monitoring.locks import lock
from monitoring.models import LockScope
from trials.models import Participant


def triggers_of(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relname = %s AND NOT t.tgisinternal",
            [table],
        )
        return [row[0] for row in cursor.fetchall()]


def ignore_all(cur, table: str) -> None:
    names = ",".join(triggers_of(table))
    cur.execute(f"SET LOCAL pgtrigger.ignore = '{{{names}}}'")


def test_the_app_role_is_neither_superuser_nor_owner_of_anything(app_role, app_connect, participant):
    with app_connect() as conn:
        row = conn.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles "
            "WHERE rolname = current_user"
        ).fetchone()
        owned = conn.execute(
            "SELECT count(*) FROM pg_class "
            "WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
        ).fetchone()[0]
        db_owner = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        ).fetchone()[0]
    assert row == (False, False, False, False)
    assert owned == 0
    assert db_owner != app_role


def test_the_app_role_cannot_truncate_an_event_table(app_connect, participant):
    table = Participant.pgh_event_model._meta.db_table if hasattr(Participant, "pgh_event_model") else None
    table = table or "trials_participantevent"
    with (
        app_connect() as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"),
    ):
        conn.execute(f'TRUNCATE "{table}"')


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE trials_participantevent SET initials = 'XX'",
        "DELETE FROM trials_participantevent",
        'UPDATE pghistory_context SET metadata = \'{"username": "someone else"}\'',
        "DELETE FROM pghistory_context",
    ],
)
def test_the_app_role_cannot_rewrite_or_remove_events_or_their_context(app_connect, participant, statement):
    with (
        app_connect() as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"),
    ):
        ignore_all(conn, statement.split()[1] if statement.startswith("UPDATE") else statement.split()[2])
        conn.execute(statement)


def test_the_context_function_cannot_rewrite_an_earlier_context_either(app_connect, participant):
    """``_pgh_attach_context()`` runs as the owner; an old context id in the session settings is refused."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id::text, metadata::text FROM pghistory_context ORDER BY created_at LIMIT 1")
        context_id, metadata = cursor.fetchone()
    with app_connect() as conn, pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        conn.execute("SELECT set_config('pghistory.context_id', %s, true)", [context_id])
        conn.execute("SELECT set_config('pghistory.context_metadata', '{\"username\": \"forger\"}', true)")
        conn.execute("SELECT _pgh_attach_context()")
    with connection.cursor() as cursor:
        cursor.execute("SELECT metadata::text FROM pghistory_context WHERE id = %s", [context_id])
        assert cursor.fetchone()[0] == metadata


def test_pgtrigger_ignore_does_not_let_the_app_role_change_a_locked_record(app_connect, data_manager, vitals):
    lock(user=data_manager, scope=LockScope.FORM, target=vitals, reason="Interim analysis cut")
    table = VitalSigns._meta.db_table
    with app_connect() as conn, pytest.raises(psycopg.DatabaseError, match="Interim analysis cut"):
        ignore_all(conn, table)
        conn.execute(f'UPDATE "{table}" SET heart_rate = 99 WHERE id = %s', [vitals.pk])
    vitals.refresh_from_db()
    assert vitals.heart_rate == 72


def test_pgtrigger_ignore_does_not_let_the_app_role_change_a_record_without_history(app_connect, vitals):
    table = VitalSigns._meta.db_table
    before = Events.objects.tracks(vitals).count()
    with app_connect() as conn:
        ignore_all(conn, table)
        conn.execute(f'UPDATE "{table}" SET heart_rate = 99 WHERE id = %s', [vitals.pk])
        conn.commit()
    assert Events.objects.tracks(vitals).count() == before + 1


def test_pgtrigger_ignore_does_not_let_the_app_role_delete_a_participant(app_connect, participant):
    with (
        app_connect() as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"),
    ):
        ignore_all(conn, "trials_participant")
        conn.execute("DELETE FROM trials_participant WHERE id = %s", [participant.pk])
    assert Participant.objects.filter(pk=participant.pk).exists()


def test_the_no_delete_trigger_holds_for_the_app_role_even_where_it_may_delete(app_connect, participant):
    """Privileges aside, the trigger layer itself ignores ``pgtrigger.ignore`` for the app role."""
    with connection.cursor() as cursor:
        cursor.execute(f'GRANT DELETE ON trials_participant TO "{connection.settings_dict["NAME"]}_app"')
    try:
        with app_connect() as conn, pytest.raises(psycopg.errors.RaiseException, match="Cannot delete rows"):
            ignore_all(conn, "trials_participant")
            conn.execute("DELETE FROM trials_participant WHERE id = %s", [participant.pk])
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                f'REVOKE DELETE ON trials_participant FROM "{connection.settings_dict["NAME"]}_app"'
            )


def test_the_app_role_cannot_switch_every_trigger_off(app_connect, participant):
    with (
        app_connect() as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="session_replication_role"),
    ):
        conn.execute("SET session_replication_role = replica")


def test_the_owner_may_still_use_pgtrigger_ignore(participant):
    """Superusers and the migrating owner keep pgtrigger's switch (they could drop the trigger anyway)."""
    from django.db import transaction

    with transaction.atomic(), connection.cursor() as cursor:
        ignore_all(cursor, "trials_participant")
        cursor.execute("UPDATE trials_participant SET initials = 'QQ' WHERE id = %s", [participant.pk])
        cursor.execute("SELECT count(*) FROM trials_participantevent WHERE pgh_obj_id = %s", [participant.pk])
        events = cursor.fetchone()[0]
        transaction.set_rollback(True)
    assert events == Events.objects.tracks(participant).count()


def test_a_form_saved_through_the_services_as_the_app_role_is_stored_and_audited(
    coordinator, participant, as_app_role
):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == as_app_role
    form = save_form(
        user=coordinator,
        spec=FORMS["vital_signs"],
        visit=participant.visits.get(code="BL"),
        data={"heart_rate": 64},
    )
    form = save_form(
        user=coordinator,
        spec=FORMS["vital_signs"],
        visit=form.visit,
        instance=form,
        data={"heart_rate": 66},
        reason="transcription error",
        expected_version=form.version,
    )
    events = list(Events.objects.tracks(form).order_by("pgh_created_at"))
    assert [e.pgh_data["heart_rate"] for e in events] == [64, 66]
    assert events[-1].pgh_context["reason"] == "transcription error"

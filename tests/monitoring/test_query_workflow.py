"""Manual queries: monitor raises → site answers → the opener's role closes or re-opens; never deleted."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from edc.errors import DomainError
from monitoring.models import Query, QueryAction, QueryMessage, QueryStatus, QueryType
from monitoring.selectors import queries_for
from monitoring.services import answer_query, close_query, open_query, release_query, reopen_query


def raise_on(user, record, **kwargs):
    return open_query(
        user=user, record=record, field_name="heart_rate", text="Check the source value", **kwargs
    )


def test_monitor_raises_coordinator_answers_monitor_closes_and_reopens(monitor, coordinator, vitals):
    query = raise_on(monitor, vitals, priority="high")
    assert query.status == QueryStatus.OPEN and query.released_at is not None
    assert query.opened_by_role == "monitor" and query.priority == "high"
    query = answer_query(user=coordinator, query=query, text="Source says 72, correct.")
    assert query.status == QueryStatus.ANSWERED
    query = close_query(user=monitor, query=query, text="Agreed")
    assert query.status == QueryStatus.CLOSED and query.closed_by == monitor and query.resolution == "Agreed"
    query = reopen_query(user=monitor, query=query, text="Please check the second reading too")
    assert query.status == QueryStatus.OPEN and query.closed_at is None
    actions = list(QueryMessage.objects.filter(query=query).values_list("action", flat=True))
    assert actions == [
        QueryAction.RAISED,
        QueryAction.ANSWERED,
        QueryAction.CLOSED,
        QueryAction.REOPENED,
    ]


def test_participant_and_visit_fields_can_be_queried(monitor, participant):
    q1 = open_query(user=monitor, record=participant, field_name="initials", text="Initials?")
    q2 = open_query(
        user=monitor, record=participant.visits.get(code="BL"), field_name="visit_date", text="Date?"
    )
    assert {q1.participant_id, q2.participant_id} == {participant.pk}


def test_a_reason_for_change_query_can_be_raised(data_manager, vitals):
    query = raise_on(data_manager, vitals, query_type=QueryType.REASON_FOR_CHANGE)
    assert query.query_type == QueryType.REASON_FOR_CHANGE and query.opened_by_role == "data_manager"


def test_an_unknown_field_or_empty_text_is_refused(monitor, vitals):
    with pytest.raises(DomainError, match="no field"):
        open_query(user=monitor, record=vitals, field_name="nope", text="x")
    with pytest.raises(DomainError) as error:
        open_query(user=monitor, record=vitals, field_name="heart_rate", text="  ")
    assert error.value.field == "text"


def test_site_staff_cannot_raise_queries(coordinator, investigator, vitals):
    from django.core.exceptions import PermissionDenied

    for user in (coordinator, investigator):
        with pytest.raises(PermissionDenied, match="does not allow"):
            raise_on(user, vitals)


def test_coordinator_cannot_close(monitor, coordinator, vitals):
    from django.core.exceptions import PermissionDenied

    query = answer_query(user=coordinator, query=raise_on(monitor, vitals), text="Done")
    with pytest.raises(PermissionDenied, match="does not allow"):
        close_query(user=coordinator, query=query)
    assert Query.objects.get(pk=query.pk).status == QueryStatus.ANSWERED


def test_monitor_cannot_answer(monitor, vitals):
    from django.core.exceptions import PermissionDenied

    query = raise_on(monitor, vitals)
    with pytest.raises(PermissionDenied, match="does not allow"):
        answer_query(user=monitor, query=query, text="I answer myself")
    assert Query.objects.get(pk=query.pk).status == QueryStatus.OPEN


def test_only_the_openers_role_closes(monitor, data_manager, coordinator, vitals):
    query = raise_on(monitor, vitals)
    with pytest.raises(DomainError, match="Monitor"):
        close_query(user=data_manager, query=query)
    dm_query = raise_on(data_manager, vitals)
    with pytest.raises(DomainError, match="Data manager"):
        close_query(user=monitor, query=dm_query)
    assert close_query(user=data_manager, query=dm_query).status == QueryStatus.CLOSED


def test_illegal_transitions_are_refused_with_a_message(monitor, coordinator, vitals):
    query = raise_on(monitor, vitals)
    with pytest.raises(DomainError, match="closed query can be re-opened"):
        reopen_query(user=monitor, query=query, text="again")
    with pytest.raises(DomainError, match="draft"):
        release_query(user=monitor, query=query)
    answer_query(user=coordinator, query=query, text="Done")
    with pytest.raises(DomainError, match="open query can be answered"):
        answer_query(user=coordinator, query=query, text="Again")
    close_query(user=monitor, query=query)
    with pytest.raises(DomainError, match="open or answered"):
        close_query(user=monitor, query=query)
    with pytest.raises(DomainError) as error:
        reopen_query(user=monitor, query=query, text="")
    assert error.value.field == "text"


def test_pre_review_keeps_a_monitors_query_a_draft_until_a_data_manager_releases_it(
    monitor, coordinator, data_manager, vitals, study
):
    study.settings["query_pre_review"] = True
    study.save()
    query = raise_on(monitor, vitals)
    assert query.status == QueryStatus.DRAFT and query.released_at is None
    assert not queries_for(coordinator).filter(pk=query.pk).exists()
    assert queries_for(monitor).filter(pk=query.pk).exists()
    with pytest.raises(DomainError, match="Draft"):
        answer_query(user=coordinator, query=query, text="Too early")
    with pytest.raises(DomainError, match="data manager"):
        release_query(user=monitor, query=query)
    query = release_query(user=data_manager, query=query)
    assert query.status == QueryStatus.OPEN and query.released_by == data_manager
    assert queries_for(coordinator).filter(pk=query.pk).exists()
    # A data manager's own queries go straight to the site.
    assert raise_on(data_manager, vitals).status == QueryStatus.OPEN


def test_without_pre_review_a_monitors_query_reaches_the_site_directly(monitor, coordinator, vitals):
    query = raise_on(monitor, vitals)
    assert queries_for(coordinator).filter(pk=query.pk, status=QueryStatus.OPEN).exists()


def test_a_draft_is_not_on_the_sites_form_page(client, monitor, coordinator, vitals, study):
    study.settings["query_pre_review"] = True
    study.save()
    raise_on(monitor, vitals)
    client.force_login(coordinator)
    url = reverse("form_entry_instance", args=[vitals.visit_id, "vital_signs", vitals.pk])
    assert "Check the source value" not in client.get(url).content.decode()


def test_queries_and_messages_cannot_be_deleted_even_with_raw_sql(monitor, vitals):
    query = raise_on(monitor, vitals)
    for table in (Query._meta.db_table, QueryMessage._meta.db_table):
        with (
            pytest.raises(DatabaseError, match="(?i)protect|cannot"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
    with pytest.raises(DatabaseError, match="Cannot update"), transaction.atomic():
        QueryMessage.objects.filter(query=query).update(text="rewritten")
    assert Query.objects.filter(pk=query.pk).exists()


def test_every_transition_is_in_the_audit_trail(monitor, coordinator, vitals):
    import pghistory.models

    query = raise_on(monitor, vitals)
    answer_query(user=coordinator, query=query, text="ok")
    close_query(user=monitor, query=query)
    events = pghistory.models.Events.objects.tracks(Query.objects.get(pk=query.pk)).order_by("pgh_created_at")
    assert [e.pgh_context["action"] for e in events] == ["query.open", "query.answer", "query.close"]


def test_automatic_queries_still_close_themselves_and_cannot_be_reopened(monitor, coordinator, vitals):
    from crfs.registry import FORMS
    from monitoring.services import sync_automatic_queries

    class Check:
        id, field, message = "hr_high", "heart_rate", "Heart rate high?"

    sync_automatic_queries(record=vitals, participant=vitals.participant, firing=[Check], quiet=[])
    query = Query.objects.get(query_type=QueryType.AUTOMATIC)
    answer_query(user=coordinator, query=query, text="Corrected")
    sync_automatic_queries(record=vitals, participant=vitals.participant, firing=[], quiet=[Check])
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED
    with pytest.raises(DomainError, match="automatic"):
        reopen_query(user=monitor, query=query, text="again")
    assert FORMS["vital_signs"]

"""Query ageing: the site and the opener hear of an open query at 7 days, data managers at 14."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from monitoring.reminders import QUERY_AGEING, QUERY_ESCALATION
from monitoring.services import answer_query, open_query


def due_ids(kind, study, instant):
    with time_machine.travel(instant, tick=False):
        return {q.pk for q in kind.find_due(study, timezone.now())}


def raised(monitor, vitals, at):
    with time_machine.travel(at, tick=False):
        return open_query(user=monitor, record=vitals, field_name="heart_rate", text="Check it")


def test_ageing_is_due_at_7_days_to_site_staff_and_the_opener(
    monitor, coordinator, investigator, vitals, study
):
    t0 = timezone.now()
    query = raised(monitor, vitals, t0)
    assert query.pk not in due_ids(QUERY_AGEING, study, t0 + timedelta(days=7) - timedelta(minutes=1))
    assert query.pk in due_ids(QUERY_AGEING, study, t0 + timedelta(days=7))
    due = QUERY_AGEING.describe(QUERY_AGEING.find_due(study, t0 + timedelta(days=7)).get())
    assert due.object_key == f"query_ageing:{query.pk}"
    assert {user_id for _d, user_id in QUERY_AGEING.recipients([due])} == {
        coordinator.pk,
        investigator.pk,
        monitor.pk,
    }
    assert "Check it" in QUERY_AGEING.subject_for(due.context) or "heart_rate" in QUERY_AGEING.subject_for(
        due.context
    )


def test_an_answered_query_no_longer_ages_at_the_site(monitor, coordinator, vitals, study):
    t0 = timezone.now()
    query = raised(monitor, vitals, t0)
    answer_query(user=coordinator, query=query, text="Done")
    assert query.pk not in due_ids(QUERY_AGEING, study, t0 + timedelta(days=8))


def test_escalation_is_due_at_14_days_to_data_managers(monitor, coordinator, data_manager, vitals, study):
    t0 = timezone.now()
    query = raised(monitor, vitals, t0)
    answer_query(user=coordinator, query=query, text="Done")  # answered but not closed still escalates
    assert query.pk not in due_ids(QUERY_ESCALATION, study, t0 + timedelta(days=13, hours=23))
    assert query.pk in due_ids(QUERY_ESCALATION, study, t0 + timedelta(days=14))
    due = QUERY_ESCALATION.describe(QUERY_ESCALATION.find_due(study, t0 + timedelta(days=14)).get())
    assert [user_id for _d, user_id in QUERY_ESCALATION.recipients([due])] == [data_manager.pk]


def test_a_draft_does_not_age(monitor, vitals, study):
    study.settings["query_pre_review"] = True
    study.save()
    t0 = timezone.now()
    query = raised(monitor, vitals, t0)
    assert query.pk not in due_ids(QUERY_AGEING, study, t0 + timedelta(days=30))
    assert query.pk not in due_ids(QUERY_ESCALATION, study, t0 + timedelta(days=30))


def test_the_email_templates_render(monitor, vitals, study):
    from django.template.loader import render_to_string

    t0 = timezone.now()
    raised(monitor, vitals, t0)
    for kind in (QUERY_AGEING, QUERY_ESCALATION):
        due = kind.describe(kind.find_due(study, t0 + timedelta(days=20)).get())
        body = render_to_string(kind.template, {**due.context, "link": "https://edc.example/x"})
        assert "Check it" in body and "https://edc.example/x" in body

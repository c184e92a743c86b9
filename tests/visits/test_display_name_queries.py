"""Lists of visits in Simplified Chinese name each visit from its protocol definition: the selectors
that list visits read the definitions with the visits (one query), not one query per row."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from monitoring.locks import lock
from monitoring.models import LockScope
from monitoring.selectors import locks_for
from monitoring.worklists import visits_of_kind
from tests.conftest import make_participant, today_at
from trials.selectors import schedule_for, visits_due


@pytest.fixture
def participants(coordinator, site_yc):
    today = today_at(site_yc)
    return [
        make_participant(
            coordinator,
            site_yc,
            screened=today - timedelta(days=40 + i),
            infused=today - timedelta(days=3 + i),
            initials=initials,
        )
        for i, initials in enumerate(("AA", "BB", "CC"))
    ]


def names_in_chinese(rows, visit=lambda row: row) -> tuple[list[str], int]:
    """The Chinese names of the visits of ``rows`` and the queries it took to list them."""
    with translation.override("zh-hans"), CaptureQueriesContext(connection) as queries:
        names = [visit(row).display_name for row in rows]
    return names, len(queries)


def test_the_participant_schedule_reads_visit_names_in_one_query(participants):
    names, queries = names_in_chinese(schedule_for(participants[0]))
    assert len(names) > 5 and queries == 1
    assert "筛选期" in names


def test_the_visits_due_worklist_reads_visit_names_in_one_query(coordinator, participants):
    rows = visits_due(coordinator, days=400, now=timezone.now())
    names, queries = names_in_chinese(rows)
    assert len(names) >= 3 and queries == 1
    assert any(not name.isascii() for name in names)  # the protocol's Chinese names


def test_the_monitors_visit_worklist_reads_visit_names_in_one_query(monitor, participants):
    names, queries = names_in_chinese(visits_of_kind(monitor, "upcoming"))
    assert len(names) >= 3 and queries == 1


def test_the_lock_list_reads_visit_names_in_one_query(data_manager, participants):
    for p in participants:
        lock(user=data_manager, scope=LockScope.VISIT, target=p.visits.get(code="D7"), reason="reviewed")
    names, queries = names_in_chinese(locks_for(data_manager), visit=lambda held: held.visit)
    assert len(names) == 3 and queries == 1

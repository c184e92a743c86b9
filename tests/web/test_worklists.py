"""The home page shows each role its work, as counts per site that link to the lists behind them, and
costs the same number of queries whatever the size of the study."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from monitoring.models import Query, QueryStatus
from monitoring.worklists import worklists
from tests.adverse_events.factories import infused, record_ae
from tests.conftest import make_participant, today_at
from tests.web.test_query_counts import clone_participants
from trials.selectors import visits_due
from visits.services import record_visit

T = datetime(2027, 5, 12, 4, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def make_query(participant, *, status=QueryStatus.OPEN, role=Role.MONITOR, opened_at=None, closed_after=None):
    query = Query.objects.create(
        participant=participant,
        content_type=ContentType.objects.get_for_model(participant),
        object_id=participant.pk,
        field_name="initials",
        query_type="manual",
        status=status,
        text="Please check the initials.",
        opened_by_role=role,
    )
    changes = {"opened_at": opened_at} if opened_at else {}
    if closed_after is not None:
        changes["closed_at"] = (opened_at or query.opened_at) + closed_after
    if changes:
        Query.objects.filter(pk=query.pk).update(**changes)
    return query


def table(user, key, index=0, *, now=None):
    """``{row label: [cell values]}`` of one table of the user's worklist section ``key``."""
    section = next(s for s in worklists(user, now=now) if s.key == key)
    return {
        getattr(label, "code", str(label)): [c.value for c in cells]
        for label, cells in section.tables[index].rows
    }


def facts(user, key, *, now=None):
    section = next(s for s in worklists(user, now=now) if s.key == key)
    return {str(label): cell.value for label, cell in section.facts}


def rows_on(client, url) -> int:
    return client.get(url).content.decode().count("<tr><td>")


# Coordinators ------------------------------------------------------------------------------------------


def test_coordinator_counts_open_and_answered_queries_of_their_site_only(
    coordinator, participant, other_site_participant
):
    make_query(participant)
    make_query(participant)
    make_query(participant, status=QueryStatus.ANSWERED)
    make_query(participant, status=QueryStatus.DRAFT)  # not released: the site does not see it
    make_query(participant, status=QueryStatus.CLOSED)
    make_query(other_site_participant)
    rows = table(coordinator, "site")
    assert list(rows) == ["YC"]
    assert rows["YC"][:2] == [2, 1]


def test_each_count_links_to_a_list_with_as_many_rows(
    client, coordinator, participant, other_site_participant
):
    make_query(participant)
    make_query(participant)
    make_query(other_site_participant)
    client.force_login(coordinator)
    section = next(s for s in worklists(coordinator) if s.key == "site")
    open_queries = section.tables[0].rows[0][1][0]
    assert open_queries.value == 2
    assert rows_on(client, open_queries.url) == 2


def test_coordinator_visit_counts_are_those_of_the_visits_due_list(client, coordinator, site_yc, site_cd):
    today = today_at(site_yc)
    make_participant(coordinator, site_yc, screened=today - 30 * DAY, infused=today - 14 * DAY)
    make_participant(coordinator, site_yc, screened=today - 90 * DAY, infused=today - 70 * DAY)
    due = list(visits_due(coordinator))
    expected = {status: sum(v.status == status for v in due) for status in ("open", "overdue", "upcoming")}
    assert sum(expected.values()) > 0
    assert table(coordinator, "site")["YC"][2:5] == [
        expected["open"],
        expected["overdue"],
        expected["upcoming"],
    ]
    client.force_login(coordinator)
    for kind in ("open", "overdue", "upcoming"):
        url = reverse("visit_worklist") + f"?kind={kind}&site=YC"
        assert rows_on(client, url) == expected[kind]


def test_a_visit_done_five_days_ago_without_its_forms_counts_as_forms_missing(
    client, coordinator, coordinator_cd, site_yc, site_cd
):
    today = today_at(site_yc)
    p = make_participant(coordinator, site_yc, screened=today - 20 * DAY, planned=today + 3 * DAY)
    other = make_participant(coordinator_cd, site_cd, screened=today - 20 * DAY, planned=today + 3 * DAY)
    before = table(coordinator, "site")["YC"][5]  # the screening visit's forms are not all entered either
    record_visit(user=coordinator, visit=p.visits.get(code="BL"), visit_date=today - 5 * DAY)
    record_visit(user=coordinator_cd, visit=other.visits.get(code="BL"), visit_date=today - 6 * DAY)
    assert table(coordinator, "site")["YC"][5] == before + 1
    client.force_login(coordinator)
    page = client.get(reverse("visit_worklist") + "?kind=forms_missing&site=YC")
    assert rows_on(client, page.wsgi_request.get_full_path()) == before + 1
    text = page.content.decode()
    assert "Vital signs" in text and str(p) in text and str(other) not in text


def test_a_visit_done_yesterday_does_not_count_as_forms_missing_yet(coordinator, site_yc):
    today = today_at(site_yc)
    p = make_participant(coordinator, site_yc, screened=today - 20 * DAY, planned=today + 3 * DAY)
    before = table(coordinator, "site")["YC"][5]
    record_visit(user=coordinator, visit=p.visits.get(code="BL"), visit_date=today - DAY)
    assert table(coordinator, "site")["YC"][5] == before


def test_coordinator_sees_sae_reports_due_then_overdue(coordinator, site_yc):
    with time_machine.travel(T, tick=False):
        patient = infused(coordinator, site_yc, days_ago=3)
        record_ae(
            coordinator, patient, term="cytokine_release_syndrome", grade=3, serious_hospitalisation=True,
            awareness_at=T,
        )  # fmt: skip
    assert table(coordinator, "site", now=T + 23 * timedelta(hours=1))["YC"][6:] == [1, 0]
    assert table(coordinator, "site", now=T + 25 * timedelta(hours=1))["YC"][6:] == [0, 1]


# Investigators ---------------------------------------------------------------------------------------


def test_investigator_sees_the_sae_reports_awaiting_their_signature(investigator, coordinator, site_yc):
    patient = infused(coordinator, site_yc, days_ago=3)
    record_ae(
        coordinator, patient, term="cytokine_release_syndrome", grade=3, serious_hospitalisation=True,
        awareness_at=timezone.now() - timedelta(hours=2),
    )  # fmt: skip
    assert table(investigator, "signatures")["YC"][0] == 1


# Monitors --------------------------------------------------------------------------------------------


def test_monitor_counts_answered_queries_their_role_raised_at_their_sites(
    monitor, participant, other_site_participant
):
    make_query(participant, status=QueryStatus.ANSWERED)
    make_query(participant, status=QueryStatus.ANSWERED)
    make_query(participant, status=QueryStatus.ANSWERED, role=Role.DATA_MANAGER)  # the data manager closes it
    make_query(participant)
    make_query(other_site_participant, status=QueryStatus.ANSWERED)
    rows = table(monitor, "monitoring")
    assert list(rows) == ["YC"]
    assert rows["YC"][:2] == [2, 1]


def test_the_answered_link_lists_only_the_monitors_answered_queries(client, monitor, participant):
    make_query(participant, status=QueryStatus.ANSWERED)
    make_query(participant, status=QueryStatus.ANSWERED, role=Role.DATA_MANAGER)
    client.force_login(monitor)
    url = reverse("query_list") + "?status=answered&site=YC&raised_by=monitor"
    assert rows_on(client, url) == 1


# Data managers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "bucket"),
    [
        (timedelta(days=7, hours=23), 0),
        (timedelta(days=8), 1),
        (timedelta(days=14, hours=23), 1),
        (timedelta(days=15), 2),
        (timedelta(days=30, hours=23), 2),
        (timedelta(days=31), 3),
    ],
)
def test_query_ageing_buckets_are_whole_days_since_opening(data_manager, participant, age, bucket):
    with time_machine.travel(T - age, tick=False):
        make_query(participant)
    with time_machine.travel(T, tick=False):
        ageing = table(data_manager, "data_management")["YC"][:4]
    assert ageing == [int(i == bucket) for i in range(4)]


def test_query_ageing_by_form_and_by_site_counts_live_queries_only(
    data_manager, participant, other_site_participant
):
    make_query(participant)
    make_query(participant, status=QueryStatus.ANSWERED)
    make_query(participant, status=QueryStatus.CLOSED)
    make_query(other_site_participant, status=QueryStatus.DRAFT)
    by_site = table(data_manager, "data_management")
    assert by_site["YC"][:5] == [2, 0, 0, 0, 0] and by_site["CD"][:5] == [1, 0, 0, 0, 1]
    assert table(data_manager, "data_management", 1)["Participant"][:4] == [3, 0, 0, 0]


def test_median_time_to_close_is_over_closed_queries(data_manager, participant, other_site_participant):
    start = T - 40 * DAY
    for days in (1, 2, 10):
        make_query(participant, status=QueryStatus.CLOSED, opened_at=start, closed_after=days * DAY)
    make_query(other_site_participant, status=QueryStatus.CLOSED, opened_at=start, closed_after=4 * DAY)
    make_query(participant, opened_at=start)  # still open: not in the median
    assert facts(data_manager, "data_management")["Median time to close"] == "3.0 days"
    assert table(data_manager, "data_management")["YC"][-1] == "2.0 days"


def test_site_roles_get_no_data_management_section_and_data_managers_no_site_section(
    coordinator, data_manager
):
    assert [s.key for s in worklists(coordinator)] == ["site"]
    assert [s.key for s in worklists(data_manager)] == ["data_management"]


def test_the_home_page_shows_the_sections_of_the_users_roles(client, data_manager, participant):
    make_query(participant)
    client.force_login(data_manager)
    page = client.get(reverse("home")).content.decode()
    assert 'data-worklist="data_management"' in page and 'data-worklist="site"' not in page


# Constant number of queries ------------------------------------------------------------------------------


def home_queries(client, user) -> int:
    client.force_login(user)
    client.get(reverse("home"))  # the session's first request stores its language
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("home")).status_code == 200
    return len(captured)


@pytest.mark.parametrize("role", ["coordinator", "investigator", "monitor", "data_manager"])
def test_home_runs_the_same_queries_for_2_and_12_participants_and_queries(client, request, site_yc, role):
    user = request.getfixturevalue(role)
    coordinator = request.getfixturevalue("coordinator")
    today = today_at(site_yc)
    template = make_participant(coordinator, site_yc, screened=today - 30 * DAY, infused=today - 14 * DAY)
    clone_participants(template, 1)
    for p in template.site.participants.all():
        make_query(p)
        make_query(p, status=QueryStatus.ANSWERED)
    small = home_queries(client, user)
    clone_participants(template, 10, start=1)
    for p in template.site.participants.all()[:10]:
        make_query(p, status=QueryStatus.CLOSED, closed_after=DAY)
        make_query(p, status=QueryStatus.DRAFT)
    assert home_queries(client, user) == small


def test_monitor_sees_the_complete_forms_left_to_verify_at_their_sites(
    monitor, participant, other_site_participant
):
    from crfs.models import FormStatus
    from crfs.registry import FORMS

    model = FORMS["vital_signs"].model

    def complete(p, code):
        model.objects.bulk_create(
            [model(participant=p, visit=p.visits.get(code=code), status=FormStatus.COMPLETE)]
        )

    before = table(monitor, "monitoring")["YC"][3]
    complete(participant, "BL")
    complete(other_site_participant, "BL")
    assert table(monitor, "monitoring")["YC"][3] == before + 1


def test_data_manager_sees_active_locks_by_scope(data_manager, participant):
    from monitoring.locks import lock
    from monitoring.models import LockScope

    assert facts(data_manager, "data_management")[f"Active locks: {LockScope.PARTICIPANT.label}"] == 0
    lock(user=data_manager, scope=LockScope.PARTICIPANT, target=participant, reason="Cleaned")
    assert facts(data_manager, "data_management")[f"Active locks: {LockScope.PARTICIPANT.label}"] == 1


@pytest.mark.parametrize(
    "kind", ["open", "overdue", "upcoming", "forms_missing", "to_sign", "casebooks_to_sign"]
)
def test_the_lists_behind_the_counts_never_show_another_sites_visits(
    client, coordinator, coordinator_cd, site_cd, kind
):
    today = today_at(site_cd)
    other = make_participant(coordinator_cd, site_cd, screened=today - 90 * DAY, infused=today - 70 * DAY)
    client.force_login(coordinator)
    page = client.get(reverse("visit_worklist"), {"kind": kind, "site": "CD"})
    assert page.status_code == 200 and str(other) not in page.content.decode()


def test_an_unknown_list_is_not_found(client, coordinator):
    client.force_login(coordinator)
    assert client.get(reverse("visit_worklist"), {"kind": "everything"}).status_code == 404


def test_each_missing_form_links_to_the_exact_form_to_enter(client, coordinator, site_yc):
    today = today_at(site_yc)
    p = make_participant(coordinator, site_yc, screened=today - 20 * DAY, planned=today + 3 * DAY)
    baseline = p.visits.get(code="BL")
    record_visit(user=coordinator, visit=baseline, visit_date=today - 5 * DAY)
    client.force_login(coordinator)
    text = client.get(reverse("visit_worklist") + "?kind=forms_missing&site=YC").content.decode()
    assert f'<a href="{reverse("form_entry", args=[baseline.pk, "vital_signs"])}" data-missing-form>' in text

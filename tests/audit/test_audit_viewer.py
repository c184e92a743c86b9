"""Data managers and auditors read the whole study's audit trail in one filtered, paginated list: changes
to records (old → new), workflow actions, logins and failed logins, permission changes."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Role
from accounts.services import create_user, grant_membership
from edc.audit_trail import AuditFilters, audit_page
from monitoring import services as queries
from tests.conftest import PASSWORD
from trials import services


def trail(client, **params):
    response = client.get(reverse("audit_trail"), params)
    assert response.status_code == 200
    return response.context["page"].rows


@pytest.mark.parametrize("role", ["coordinator", "monitor", "investigator", "sponsor_admin"])
def test_site_roles_and_the_sponsor_admin_may_not_read_the_audit_trail(client, request, role):
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("audit_trail")).status_code == 403


@pytest.mark.parametrize("role", ["data_manager", "auditor"])
def test_data_managers_and_auditors_read_the_audit_trail(client, request, participant, role):
    client.force_login(request.getfixturevalue(role))
    response = client.get(reverse("audit_trail"))
    assert response.status_code == 200
    assert response.context["page"].rows


def test_a_correction_shows_who_old_new_and_why(client, data_manager, coordinator, participant):
    services.correct_participant(
        user=coordinator, participant=participant, changes={"initials": "AC"}, reason="Transcription error"
    )
    client.force_login(data_manager)
    row = trail(client, kind="trials.Participant")[0]
    assert row.user == "coordinator" and row.reason == "Transcription error"
    assert ("initials", "AB", "AC") in row.changes
    assert row.participant == participant.study_id


def test_query_actions_appear_with_their_action_and_user(client, data_manager, monitor, participant):
    query = queries.open_query(user=monitor, record=participant, field_name="initials", text="Check initials")
    queries.close_query(user=monitor, query=query, text="Source checked")
    client.force_login(data_manager)
    rows = trail(client, action="query.")
    assert {row.action for row in rows} == {"query.open", "query.close"}
    assert {row.user for row in rows} == {"monitor"}
    closed = next(r for r in rows if r.action == "query.close" and r.kind == "Query" and r.event == "updated")
    assert ("status", "open", "closed") in closed.changes


def test_a_failed_login_appears_in_the_trail(client, data_manager, coordinator):
    client.post(reverse("login"), {"username": "coordinator", "password": "wrong-password"})
    client.force_login(data_manager)
    rows = trail(client, kind="access", user="coordinator")
    assert [(row.user, row.action) for row in rows] == [("coordinator", "login_failed")]
    assert trail(client, action="login_failed")[0].user == "coordinator"


def test_a_membership_granted_by_the_services_appears_with_who_granted_it(
    client, data_manager, sponsor_admin, study, site_yc
):
    newcomer = create_user(username="newcomer", password=PASSWORD)
    grant_membership(by=sponsor_admin, user=newcomer, study=study, role=Role.COORDINATOR, site=site_yc)
    client.force_login(data_manager)
    row = trail(client, kind="accounts.Membership", user="sponsoradmin")[0]
    assert row.action == "grant_membership" and row.event == "granted"
    assert ("role", None, "coordinator") in row.changes


def test_a_membership_deactivated_in_the_admin_appears_with_the_admins_user(
    client, data_manager, coordinator
):
    admin = create_user(username="root", password=PASSWORD, is_staff=True)
    admin.is_superuser = True
    admin.save()
    membership = Membership.objects.get(user=coordinator)
    client.force_login(admin)
    url = reverse("admin:accounts_membership_change", args=[membership.pk])
    response = client.post(
        url,
        {
            "user": coordinator.pk,
            "study": membership.study_id,
            "site": membership.site_id,
            "role": membership.role,
            "active": "",
        },
    )
    assert response.status_code == 302
    client.force_login(data_manager)
    row = trail(client, kind="accounts.Membership", user="root")[0]
    assert ("active", True, False) in row.changes
    assert "/admin/" in row.url


def test_filters_by_participant_date_and_text(
    client, data_manager, coordinator, participant, other_site_participant
):
    client.force_login(data_manager)
    mine = trail(client, participant=participant.study_id)
    assert mine and {row.participant for row in mine} == {participant.study_id}
    tomorrow = (timezone.now() + timedelta(days=1)).date()
    assert trail(client, date_from=tomorrow.isoformat()) == []
    assert trail(client, date_to=tomorrow.isoformat())
    assert {row.participant for row in trail(client, text="ZZ", kind="trials.Participant")} == {
        other_site_participant.study_id
    }


def test_a_date_range_keeps_only_the_events_of_those_days(client, data_manager, participant):
    client.force_login(data_manager)
    today = timezone.now().date()
    assert trail(client, date_to=(today - timedelta(days=1)).isoformat()) == []
    rows = trail(client, date_from=today.isoformat(), date_to=today.isoformat())
    assert rows and all(row.at.date() == today for row in rows)


def test_pages_follow_each_other_without_overlap(coordinator, participant):
    first = audit_page(AuditFilters(), page=1, size=3)
    second = audit_page(AuditFilters(), page=2, size=3)
    assert first.has_next and len(first.rows) == 3
    assert first.rows[-1].at >= second.rows[0].at
    keys = {(r.kind, r.record, r.at, r.event) for r in first.rows}
    assert not keys & {(r.kind, r.record, r.at, r.event) for r in second.rows}


def test_a_page_reads_a_bounded_number_of_queries_whatever_the_trail_holds(
    client, data_manager, coordinator, participant
):
    client.force_login(data_manager)
    client.get(reverse("audit_trail"))

    def count():
        with CaptureQueriesContext(connection) as captured:
            client.get(reverse("audit_trail"), {"kind": "trials.Participant"})
        return len(captured)

    small = count()
    for letter in "CDEFGHJKLM":
        services.correct_participant(
            user=coordinator, participant=participant, changes={"initials": f"A{letter}"}, reason="typo"
        )
    assert count() == small

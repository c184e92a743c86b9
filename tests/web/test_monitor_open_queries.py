"""The monitor's "open, with the site" count includes automatic queries (issue 16, item 7)."""

from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from accounts.models import Role
from monitoring.models import Query, QueryStatus
from tests.web.test_worklists import make_query, rows_on, table


def automatic_query(participant):
    return Query.objects.create(
        participant=participant,
        content_type=ContentType.objects.get_for_model(participant),
        object_id=participant.pk,
        field_name="year_of_birth",
        query_type="automatic",
        check_id="TEST-CHECK",
        status=QueryStatus.OPEN,
        text="Outside the expected range.",
        opened_by_role="",
    )


def test_open_with_the_site_counts_automatic_and_data_manager_queries_and_links_to_them(
    client, monitor, participant, other_site_participant
):
    make_query(participant)
    make_query(participant, role=Role.DATA_MANAGER)
    automatic_query(participant)
    make_query(participant, status=QueryStatus.ANSWERED, role=Role.DATA_MANAGER)
    make_query(other_site_participant)
    rows = table(monitor, "monitoring")
    assert rows["YC"][1] == 3
    client.force_login(monitor)
    assert rows_on(client, reverse("query_list") + "?status=open&site=YC") == 3

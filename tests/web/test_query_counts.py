"""Pages run a fixed number of queries whatever the number of participants or visits."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import make_participant, today_at
from trials.models import Participant
from visits.models import Visit


def clone_participants(template: Participant, n: int, start: int = 0):
    """Copy an enrolled participant with its visits n times (fast, bypassing the services)."""
    visits = list(template.visits.all())
    clones = []
    for i in range(start, start + n):
        p = Participant.objects.get(pk=template.pk)
        p.pk = None
        p.screening_number = f"YC-X{i:04d}"
        p.study_id = f"YC-{100 + i:04d}"
        clones.append(p)
    clones = Participant.objects.bulk_create(clones)
    copies = []
    for p in clones:
        for v in visits:
            v2 = Visit(
                **{f.attname: getattr(v, f.attname) for f in Visit._meta.concrete_fields if f.attname != "id"}
            )
            v2.participant_id = p.pk
            copies.append(v2)
    Visit.objects.bulk_create(copies, batch_size=2000)


def queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


@pytest.mark.parametrize("url_name", ["participant_list", "home"])
def test_list_pages_run_the_same_queries_for_5_and_500_participants(client, coordinator, site_yc, url_name):
    today = today_at(site_yc)
    template = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=30), infused=today - timedelta(days=14)
    )
    clone_participants(template, 4)
    client.force_login(coordinator)
    client.get(reverse(url_name))  # the first request of a session also stores the session's language
    small = queries(client, reverse(url_name))
    clone_participants(template, 495, start=4)
    assert Participant.objects.count() == 500
    assert queries(client, reverse(url_name)) == small


def test_participant_page_runs_the_same_queries_with_more_visits(
    client, coordinator, site_yc, django_assert_max_num_queries
):
    from visits.services import add_unscheduled_visit

    today = today_at(site_yc)
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=30), infused=today - timedelta(days=14)
    )
    client.force_login(coordinator)
    client.get(reverse("participant_detail", args=[p.pk]))
    small = queries(client, reverse("participant_detail", args=[p.pk]))
    for i in range(10):
        add_unscheduled_visit(
            user=coordinator, participant=p, visit_date=today - timedelta(days=i), reason="flare"
        )
    with django_assert_max_num_queries(small):
        client.get(reverse("participant_detail", args=[p.pk]))

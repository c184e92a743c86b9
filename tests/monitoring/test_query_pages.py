"""The query pages: raise from a CRF field, answer and close over HTTP, site isolation, badge counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from monitoring.models import Query, QueryStatus
from monitoring.services import open_query


def raise_on(user, record, field="heart_rate"):
    return open_query(user=user, record=record, field_name=field, text="Check the source value")


def test_a_monitor_sees_a_raise_query_link_per_field_and_raises_one(client, monitor, vitals):
    client.force_login(monitor)
    page = client.get(reverse("form_entry_instance", args=[vitals.visit_id, "vital_signs", vitals.pk]))
    url = reverse("query_raise", args=["vital_signs", vitals.pk])
    assert f"{url}?field=heart_rate" in page.content.decode()
    assert client.get(f"{url}?field=heart_rate").status_code == 200
    response = client.post(
        url, {"field_name": "heart_rate", "query_type": "manual", "priority": "high", "text": "HR 72?"}
    )
    assert response.status_code == 302
    assert Query.objects.get().status == QueryStatus.OPEN


def test_site_staff_see_the_badge_but_no_raise_link(client, monitor, coordinator, vitals):
    raise_on(monitor, vitals)
    client.force_login(coordinator)
    body = client.get(
        reverse("form_entry_instance", args=[vitals.visit_id, "vital_signs", vitals.pk])
    ).content.decode()
    assert 'data-field="heart_rate"' in body and "live queries" in body
    assert reverse("query_raise", args=["vital_signs", vitals.pk]) not in body
    assert client.get(reverse("query_raise", args=["vital_signs", vitals.pk])).status_code == 403


def test_answer_and_close_over_http(client, monitor, coordinator, vitals):
    query = raise_on(monitor, vitals)
    client.force_login(coordinator)
    assert client.post(reverse("query_close", args=[query.pk])).status_code == 403
    assert client.post(reverse("query_answer", args=[query.pk]), {"text": "Correct"}).status_code == 302
    client.force_login(monitor)
    detail = client.get(reverse("query_detail", args=[query.pk])).content.decode()
    assert reverse("query_close", args=[query.pk]) in detail
    assert client.post(reverse("query_answer", args=[query.pk]), {"text": "x"}).status_code == 403
    assert client.post(reverse("query_close", args=[query.pk]), {"text": "OK"}).status_code == 302
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED
    # An illegal transition is a clear 400, not a 500.
    response = client.post(reverse("query_close", args=[query.pk]), {"text": "again"})
    assert response.status_code == 400 and "open or answered" in response.content.decode()


def test_a_monitor_still_cannot_edit_clinical_values(client, monitor, vitals):
    client.force_login(monitor)
    url = reverse("form_entry_instance", args=[vitals.visit_id, "vital_signs", vitals.pk])
    assert client.post(url, {"heart_rate": 99}).status_code == 403


@pytest.mark.parametrize(
    "name", ["query_detail", "query_answer", "query_close", "query_reopen", "query_release"]
)
def test_another_sites_query_is_404(client, coordinator, make_user, site_cd, other_vitals, name):
    from accounts.models import Role

    query = raise_on(make_user(Role.MONITOR, site_cd), other_vitals)
    client.force_login(coordinator)
    method = client.get if name == "query_detail" else client.post
    assert method(reverse(name, args=[query.pk])).status_code == 404
    assert client.get(reverse("participant_queries", args=[query.participant_id])).status_code == 404
    assert client.get(reverse("query_raise", args=["vital_signs", other_vitals.pk])).status_code == 404
    assert str(query.text) not in client.get(reverse("query_list")).content.decode()


def test_a_draft_is_404_for_the_site(client, monitor, coordinator, vitals, study):
    study.settings["query_pre_review"] = True
    study.save()
    query = raise_on(monitor, vitals)
    client.force_login(coordinator)
    assert client.get(reverse("query_detail", args=[query.pk])).status_code == 404
    client.force_login(monitor)
    assert client.get(reverse("query_detail", args=[query.pk])).status_code == 200


def test_badges_on_casebook_and_participant_page_in_a_constant_number_of_queries(
    client, monitor, coordinator, participant, vitals
):
    client.force_login(coordinator)
    casebook = reverse("casebook", args=[participant.pk])
    detail = reverse("participant_detail", args=[participant.pk])

    def count(url):
        client.get(url)  # warm caches (content types, sessions)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        return len(ctx), response.content.decode()

    before = {url: count(url)[0] for url in (casebook, detail)}
    raise_on(monitor, vitals)
    raise_on(monitor, vitals, field="temperature_c")
    raise_on(monitor, participant, field="initials")
    for url in (casebook, detail):
        n, body = count(url)
        assert n == before[url], url
    assert 'title="live queries">2<' in count(casebook)[1]
    assert 'title="live queries">3<' in count(detail)[1]


def test_counts_per_participant_and_record_in_one_query(
    monitor, coordinator, participant, vitals, django_assert_num_queries, django_assert_max_num_queries
):
    from monitoring import selectors

    for _ in range(3):
        raise_on(monitor, vitals)
    with django_assert_max_num_queries(2):  # the user's memberships (once per request), then the counts
        counts = selectors.live_counts_by_participant(coordinator, [participant.pk])
    assert counts == {participant.pk: 3}
    with django_assert_num_queries(1):
        by_record = selectors.live_counts_by_record(coordinator, participant)
    assert sum(by_record.values()) == 3

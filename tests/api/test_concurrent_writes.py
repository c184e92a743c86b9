"""Two API clients that read the same query and answer it at the same moment: the row lock taken before
the ``If-Match`` comparison lets exactly one through; the other gets 412 and writes nothing."""

import threading
import time

import pytest
from django.db import connections
from django.urls import reverse

from monitoring.models import QueryAction, QueryStatus
from monitoring.services import open_query


@pytest.mark.django_db(transaction=True)
def test_two_clients_answering_one_etag_at_once_get_one_200_and_one_412(
    token_client, coordinator, make_user, site_yc, monitor, vitals, monkeypatch
):
    from accounts.models import Role
    from api import services

    # Hold each answer a moment inside its transaction, so that the two requests surely overlap.
    answer_query = services.query_services.answer_query

    def slow_answer(**kwargs):
        time.sleep(0.5)
        return answer_query(**kwargs)

    monkeypatch.setattr(services.query_services, "answer_query", slow_answer)

    query = open_query(user=monitor, record=vitals, field_name="heart_rate", text="Check the source value")
    investigator = make_user(Role.INVESTIGATOR, site_yc, username="investigator")
    clients = [token_client(coordinator), token_client(investigator)]
    url = reverse("api_query_answer", args=[query.pk])
    etag = clients[0].get(reverse("api_query", args=[query.pk]))["ETag"]
    start = threading.Barrier(len(clients))
    statuses: dict[int, int] = {}

    def answer(index: int) -> None:
        try:
            start.wait(timeout=10)
            response = clients[index].post(url, {"text": f"Answer {index}"}, HTTP_IF_MATCH=etag)
            statuses[index] = response.status_code
        finally:
            connections.close_all()

    threads = [threading.Thread(target=answer, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(statuses.values()) == [200, 412]
    query.refresh_from_db()
    answers = list(query.messages.filter(action=QueryAction.ANSWERED).values_list("text", flat=True))
    winner = next(i for i, status in statuses.items() if status == 200)
    assert query.status == QueryStatus.ANSWERED and answers == [f"Answer {winner}"]

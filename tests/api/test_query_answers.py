"""The API's write: a query's answer, through the same workflow as the page, guarded by ``If-Match``."""

from django.urls import reverse

from api.models import TokenScope
from monitoring.models import Query, QueryAction, QueryStatus
from monitoring.services import answer_query, close_query, open_query, reopen_query


def raise_query(monitor, vitals):
    return open_query(user=monitor, record=vitals, field_name="heart_rate", text="Check the source value")


def read(client, query):
    response = client.get(reverse("api_query", args=[query.pk]))
    assert response.status_code == 200
    return response


def answer(client, query, etag, text="Source says 72."):
    return client.post(reverse("api_query_answer", args=[query.pk]), {"text": text}, HTTP_IF_MATCH=etag)


def test_the_site_answers_a_query_with_the_etag_it_read(token_client, coordinator, monitor, vitals):
    from monitoring.models import QueryEvent

    query = raise_query(monitor, vitals)
    client = token_client(coordinator)
    etag = read(client, query)["ETag"]
    assert read(client, query).json()["etag"] == etag
    response = answer(client, query, etag)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (
        body["status"] == QueryStatus.ANSWERED
        and response["ETag"] != etag
        and body["etag"] == response["ETag"]
    )
    assert [(m["action"], m["author"], m["author_role"]) for m in body["messages"]] == [
        (QueryAction.RAISED, monitor.username, "monitor"),
        (QueryAction.ANSWERED, coordinator.username, "coordinator"),
    ]
    event = QueryEvent.objects.filter(pgh_obj_id=query.pk).latest("pgh_id")
    assert event.pgh_context.metadata["action"] == "query.answer"
    assert event.pgh_context.metadata["username"] == coordinator.username
    assert event.pgh_context.metadata["url"] == reverse("api_query_answer", args=[query.pk])


def test_a_stale_if_match_is_refused_with_412_and_changes_nothing(token_client, coordinator, monitor, vitals):
    query = raise_query(monitor, vitals)
    client = token_client(coordinator)
    stale = read(client, query)["ETag"]
    # Meanwhile the query moves on and comes back open: answering it is allowed, but not blindly.
    answer_query(user=coordinator, query=query, text="First answer")
    close_query(user=monitor, query=query)
    reopen_query(user=monitor, query=query, text="Check the second reading too")
    response = answer(client, query, stale, text="Answer to what I saw an hour ago")
    assert response.status_code == 412
    assert response["ETag"] == read(client, query)["ETag"] != stale
    query.refresh_from_db()
    assert query.status == QueryStatus.OPEN
    assert not query.messages.filter(text__startswith="Answer to what").exists()
    assert answer(client, query, response["ETag"]).status_code == 200


def test_a_write_without_if_match_is_refused_with_428(token_client, coordinator, monitor, vitals):
    query = raise_query(monitor, vitals)
    response = token_client(coordinator).post(reverse("api_query_answer", args=[query.pk]), {"text": "x"})
    assert response.status_code == 428
    assert Query.objects.get(pk=query.pk).status == QueryStatus.OPEN


def test_a_wildcard_if_match_is_no_way_round_the_check(token_client, coordinator, monitor, vitals):
    query = raise_query(monitor, vitals)
    assert answer(token_client(coordinator), query, "*").status_code == 412


def test_a_read_only_token_cannot_write(token_client, coordinator, monitor, vitals):
    query = raise_query(monitor, vitals)
    client = token_client(coordinator, scope=TokenScope.READ)
    response = answer(client, query, read(client, query)["ETag"])
    assert response.status_code == 403 and "read-only" in response.json()["detail"]
    assert Query.objects.get(pk=query.pk).status == QueryStatus.OPEN


def test_the_workflow_refusals_come_back_with_their_message(token_client, coordinator, monitor, vitals):
    query = raise_query(monitor, vitals)
    client = token_client(coordinator)
    response = answer(client, query, read(client, query)["ETag"], text="  ")
    assert response.status_code == 400 and response.json() == {"detail": "Write an answer.", "field": "text"}
    answered = answer(client, query, read(client, query)["ETag"])
    again = answer(client, query, answered["ETag"])
    assert again.status_code == 400 and "Only an open query can be answered" in again.json()["detail"]


def test_a_monitor_cannot_answer_even_with_a_read_write_token(token_client, monitor, vitals):
    query = raise_query(monitor, vitals)
    client = token_client(monitor)
    assert answer(client, query, read(client, query)["ETag"]).status_code == 403

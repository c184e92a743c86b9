"""Reading for incremental sync: pages, ``updated_since``, ETags with ``If-None-Match``, the computed
state the pages show (visit status, lab results of a panel, child rows), audit trails, rate limits."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from crfs.registry import FORMS
from crfs.services import save_form
from labs.services import ResultEntry, save_panel
from monitoring.services import answer_query, open_query
from tests.conftest import make_participant


def change_heart_rate(user, vitals, value, reason=""):
    return save_form(
        user=user,
        spec=FORMS["vital_signs"],
        visit=vitals.visit,
        instance=vitals,
        data={"heart_rate": value},
        reason=reason,
    )


def test_lists_come_in_pages(token_client, coordinator, site_yc):
    for initials in ("AA", "BB", "CC"):
        make_participant(coordinator, site_yc, stage="screening", initials=initials)
    client = token_client(coordinator)
    first = client.get(reverse("api_participants"), {"page_size": 2}).json()
    assert first["count"] == 3 and len(first["results"]) == 2 and first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None
    assert {r["id"] for r in first["results"] + second["results"]} == {
        p.pk for p in site_yc.participants.all()
    }


@pytest.mark.django_db(transaction=True)  # each workflow commits: the audit events get their own times
def test_updated_since_returns_only_what_changed_after_it(token_client, coordinator, monitor, vitals):
    client = token_client(coordinator)
    query = open_query(user=monitor, record=vitals, field_name="heart_rate", text="Check it")
    other = open_query(user=monitor, record=vitals, field_name="temperature_c", text="And this")
    time.sleep(0.05)
    since = timezone.now()
    time.sleep(0.05)
    change_heart_rate(coordinator, vitals, 74)
    answer_query(user=coordinator, query=query, text="Corrected")
    after = {"updated_since": since.isoformat()}
    forms = client.get(reverse("api_form_vital_signs"), after).json()["results"]
    assert [(f["id"], f["heart_rate"]) for f in forms] == [(vitals.pk, 74)]
    queries = client.get(reverse("api_queries"), after).json()["results"]
    assert [q["id"] for q in queries] == [query.pk]  # changed: its audit trail says so
    everything = client.get(reverse("api_queries")).json()["results"]
    assert {q["id"] for q in everything} == {query.pk, other.pk}
    assert client.get(reverse("api_visits"), after).json()["count"] == 0
    assert client.get(reverse("api_queries"), {"updated_since": "yesterday"}).status_code == 400
    assert client.get(reverse("api_queries"), {"updated_since": "2026-01-01T00:00:00"}).status_code == 400


def test_a_record_carries_its_version_as_etag_and_answers_304_when_unchanged(
    token_client, coordinator, vitals
):
    client = token_client(coordinator)
    url = reverse("api_form_vital_signs_record", args=[vitals.pk])
    first = client.get(url)
    assert first["ETag"] == f'"crfs.vitalsigns.{vitals.pk}.v{vitals.version}"' == first.json()["etag"]
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    change_heart_rate(coordinator, vitals, 80)
    changed = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert (
        changed.status_code == 200 and changed["ETag"] != first["ETag"] and changed.json()["heart_rate"] == 80
    )


def test_visits_carry_their_computed_status(token_client, coordinator, participant):
    from trials.selectors import schedule_for

    expected = {v.pk: v.status for v in schedule_for(participant)}
    rows = token_client(coordinator).get(
        reverse("api_visits"), {"participant": participant.pk, "page_size": 100}
    )
    assert {r["id"]: r["status"] for r in rows.json()["results"]} == expected
    assert {"done", "upcoming"} <= set(expected.values())


def test_a_panel_comes_with_its_results_and_the_lab_results_list_filters(
    token_client, coordinator, participant
):
    visit = participant.visits.get(code="BL")
    panel = save_panel(
        user=coordinator,
        visit=visit,
        panel="haematology",
        data={
            "collected_at": timezone.now() - timedelta(hours=1),
            "laboratory": "Site lab",
            "source": "local",
        },
        results=[ResultEntry("hb", Decimal("121"), "g/L"), ResultEntry("wbc", Decimal("5.2"), "10^9/L")],
    )
    client = token_client(coordinator)
    body = client.get(reverse("api_form_labs_record", args=[panel.pk])).json()
    assert {r["analyte"]: Decimal(r["value"]) for r in body["results"] if r["value"]} == {
        "hb": Decimal("121"),
        "wbc": Decimal("5.2"),
    }
    hb = client.get(reverse("api_lab_results"), {"analyte": "hb"}).json()["results"]
    assert [(r["panel"], r["participant"], r["visit"], r["standard_unit"]) for r in hb] == [
        (panel.pk, participant.pk, visit.pk, "g/L")
    ]


def test_a_records_audit_trail_says_who_changed_what_and_why(token_client, coordinator, vitals):
    change_heart_rate(coordinator, vitals, 90, reason="Transcription error")
    rows = (
        token_client(coordinator).get(reverse("api_form_vital_signs_record_history", args=[vitals.pk])).json()
    )
    last = rows[-1]
    assert last["user"] == coordinator.username and last["reason"] == "Transcription error"
    assert {"field": "heart rate (/min)", "old": 72, "new": 90} in last["changes"]


@override_settings(API_RATE="3/minute")
def test_each_token_has_its_own_rate_limit(token_client, coordinator):
    cache.clear()
    first, second = token_client(coordinator), token_client(coordinator)
    statuses = [first.get(reverse("api_sites")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert second.get(reverse("api_sites")).status_code == 200

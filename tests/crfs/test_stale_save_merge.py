"""Two tabs on the same complete form: a stale save is merged, never reverts a colleague's change.

The version the user opened comes from the audit trail (``edc.merge``); fields only the colleague
changed keep their value, fields only I changed apply, fields both changed are shown side by side and
the user chooses; the conflict page pre-fills the merged values and saving it confirms.
"""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from crfs.models import VitalSigns
from crfs.registry import FORMS
from crfs.services import save_form
from tests.conftest import make_participant, today_at
from tests.pageforms import form_data, post_forms

VS = FORMS["vital_signs"]


@pytest.fixture
def baseline(coordinator, site_yc):
    today = today_at(site_yc)
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=10), planned=today + timedelta(days=5)
    )
    return p.visits.get(code="BL")


@pytest.fixture
def vitals(coordinator, baseline):
    data = {
        "assessed_on": baseline.target_date,
        "temperature_c": Decimal("36.8"),
        "heart_rate": 72,
        "systolic_bp": 120,
        "diastolic_bp": 80,
        "respiratory_rate": 18,
        "spo2_pct": 97,
        "weight_kg": Decimal("60.0"),
        "height_cm": Decimal("165.0"),
    }
    return save_form(user=coordinator, spec=VS, visit=baseline, data=data, complete=True)


def tab(user, url):
    client = Client()
    client.force_login(user)
    return client, form_data(client, url)


def page_form(response) -> dict:
    forms = post_forms(response.content.decode())
    fields = max(forms, key=lambda f: len(f["fields"]))["fields"]
    return {k: ("" if v is None else v) for k, v in fields.items()}


@pytest.fixture
def url(baseline):
    return reverse("form_entry", args=[baseline.pk, "vital_signs"])


def test_the_second_tab_keeps_the_colleagues_change_and_adds_its_own(coordinator, investigator, vitals, url):
    first, page1 = tab(coordinator, url)
    second, page2 = tab(investigator, url)
    saved = first.post(url, {**page1, "respiratory_rate": "20", "reason": "Recount", "complete": "1"})
    assert saved.status_code == 302
    stale = second.post(url, {**page2, "spo2_pct": "95", "reason": "Probe moved", "complete": "1"})
    assert stale.status_code == 409
    body = stale.content.decode()
    merged = page_form(stale)
    assert merged["respiratory_rate"] == "20" and merged["spo2_pct"] == "95"
    assert "Changed by your colleague (kept)" in body and 'data-key="respiratory_rate"' in body
    vitals.refresh_from_db()
    assert (vitals.respiratory_rate, vitals.spo2_pct) == (20, 97)  # nothing saved by the conflict page

    confirmed = second.post(url, {**merged, "complete": "1"})
    assert confirmed.status_code == 302
    vitals.refresh_from_db()
    assert (vitals.respiratory_rate, vitals.spo2_pct) == (20, 95)
    last = vitals.events.order_by("-pgh_id").first()
    assert last.respiratory_rate == 20 and last.spo2_pct == 95
    assert last.pgh_context.metadata["reason"] == "Probe moved"
    assert not vitals.events.filter(pgh_id__gt=saved_event_id(vitals, 20), respiratory_rate=18).exists()


def saved_event_id(record, rr):
    return record.events.filter(respiratory_rate=rr).order_by("pgh_id").first().pgh_id


def test_a_stale_page_sent_as_it_is_cannot_revert_a_field_it_did_not_change(
    coordinator, investigator, vitals, url
):
    """Even a client that skips the conflict page (and claims to have seen the current version)."""
    first, page1 = tab(coordinator, url)
    second, page2 = tab(investigator, url)
    assert first.post(url, {**page1, "respiratory_rate": "20", "reason": "Recount"}).status_code == 302
    vitals.refresh_from_db()
    forged = {**page2, "spo2_pct": "95", "reason": "Probe moved", "seen_version": str(vitals.version)}
    assert second.post(url, forged).status_code == 302
    vitals.refresh_from_db()
    assert (vitals.respiratory_rate, vitals.spo2_pct) == (20, 95)


@pytest.mark.parametrize(("choice", "expected"), [("mine", 22), ("theirs", 20)])
def test_a_value_both_changed_is_shown_side_by_side_and_the_choice_is_saved_with_the_reason(
    coordinator, investigator, vitals, url, choice, expected
):
    first, page1 = tab(coordinator, url)
    second, page2 = tab(investigator, url)
    assert first.post(url, {**page1, "respiratory_rate": "20", "reason": "Recount"}).status_code == 302
    stale = second.post(url, {**page2, "respiratory_rate": "22", "spo2_pct": "95", "reason": "Own count"})
    assert stale.status_code == 409
    body = stale.content.decode()
    assert (
        'name="keep-respiratory_rate" value="theirs"' in body
        and 'name="keep-respiratory_rate" value="mine"' in body
    )
    merged = page_form(stale)
    undecided = second.post(url, merged)
    assert undecided.status_code == 409  # no choice made: nothing saved, asked again
    vitals.refresh_from_db()
    assert vitals.respiratory_rate == 20 and vitals.spo2_pct == 97
    assert second.post(url, {**merged, "keep-respiratory_rate": choice}).status_code == 302
    vitals.refresh_from_db()
    assert (vitals.respiratory_rate, vitals.spo2_pct) == (expected, 95)
    assert vitals.events.order_by("-pgh_id").first().pgh_context.metadata["reason"] == "Own count"


def test_a_change_made_while_the_conflict_page_was_open_is_merged_again(
    coordinator, investigator, vitals, url
):
    first, page1 = tab(coordinator, url)
    second, page2 = tab(investigator, url)
    assert first.post(url, {**page1, "respiratory_rate": "20", "reason": "Recount"}).status_code == 302
    merged = page_form(second.post(url, {**page2, "spo2_pct": "95", "reason": "Probe moved"}))
    again = form_data(first, url)
    assert first.post(url, {**again, "heart_rate": "90", "reason": "Recheck"}).status_code == 302
    second_round = second.post(url, merged)
    assert second_round.status_code == 409
    assert page_form(second_round)["heart_rate"] == "90"
    vitals.refresh_from_db()
    assert (vitals.respiratory_rate, vitals.heart_rate, vitals.spo2_pct) == (20, 90, 97)


@pytest.mark.django_db(transaction=True)
def test_two_users_creating_the_same_form_at_once_get_one_form_and_a_conflict_page(
    coordinator, investigator, baseline, url, monkeypatch
):
    import crfs.services

    pages = {}
    for name, user in (("a", coordinator), ("b", investigator)):
        client = Client()
        client.force_login(user)
        pages[name] = (client, form_data(client, url))
    barrier = threading.Barrier(2)
    original = crfs.services._check_storable

    def both_past_the_existence_check(obj):  # both requests checked "no form yet" before either inserts
        barrier.wait(timeout=10)
        return original(obj)

    monkeypatch.setattr(crfs.services, "_check_storable", both_past_the_existence_check)
    answers = {}

    def send(name, values):
        client, page = pages[name]
        try:
            answers[name] = client.post(url, {**page, **values, "draft": "1"})
        finally:
            connection.close()

    threads = [
        threading.Thread(target=send, args=("a", {"heart_rate": "70", "respiratory_rate": "16"})),
        threading.Thread(target=send, args=("b", {"heart_rate": "75", "spo2_pct": "99"})),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(r.status_code for r in answers.values()) == [302, 409]
    assert VitalSigns.objects.filter(visit=baseline).count() == 1
    loser = next(name for name, r in answers.items() if r.status_code == 409)
    kept = page_form(answers[loser])
    body = answers[loser].content.decode()
    assert "Someone else" in body
    mine = {"a": {"heart_rate": "70", "respiratory_rate": "16"}, "b": {"heart_rate": "75", "spo2_pct": "99"}}[
        loser
    ]
    theirs = {"a": {"respiratory_rate": "16"}, "b": {"spo2_pct": "99"}}["b" if loser == "a" else "a"]
    assert all(kept[k] == v for k, v in mine.items())  # the second user's input is kept
    assert all(kept[k] == v for k, v in theirs.items())  # merged with what the first one entered
    assert 'name="keep-heart_rate"' in body  # both entered a heart rate: the user chooses

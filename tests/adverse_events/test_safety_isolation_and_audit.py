"""Every safety URL keeps another site's records out of reach, and every safety record is audited."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.utils import ProgrammingError as InternalError
from django.urls import reverse
from pghistory.models import Events

from accounts.models import Role
from adverse_events import services
from tests.adverse_events.factories import DAY, infused, record_ae, save_crf
from tests.conftest import make_participant

EVENT_URLS = [
    "adverse_event_detail",
    "adverse_event_grade",
    "adverse_event_history",
    "sae_narrative",
    "sae_sign",
    "sae_follow_up",
    "dlt_adjudicate",
    "iec_hs",
]


@pytest.fixture
def other_site_sae(coordinator_cd, make_user, site_cd):
    patient = infused(coordinator_cd, site_cd, days_ago=30, initials="ZZ")
    from django.utils import timezone

    event = record_ae(coordinator_cd, patient, term="iec_hs", grade=3, serious_hospitalisation=True,
                      awareness_at=timezone.now())  # fmt: skip
    return event


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.INVESTIGATOR, Role.MONITOR])
def test_another_sites_events_answer_404_to_every_site_role(client, make_user, site_yc, other_site_sae, role):
    client.force_login(make_user(role, site_yc))
    patient = other_site_sae.participant
    urls = [reverse(name, args=[other_site_sae.pk]) for name in EVENT_URLS]
    urls += [
        reverse("participant_safety", args=[patient.pk]),
        reverse("adverse_event_create", args=[patient.pk]),
    ]
    for url in urls:
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 404, (role, url, response.status_code)
    for url in (reverse("safety_home"), reverse("safety_summary"), reverse("dose_level_review")):
        body = client.get(url).content.decode()
        assert patient.study_id not in body and patient.screening_number not in body, url


@pytest.mark.parametrize("role", [Role.DATA_MANAGER, Role.SPONSOR_ADMIN, Role.AUDITOR])
def test_study_wide_roles_see_every_sites_events_but_cannot_change_them(
    client, make_user, other_site_sae, role
):
    client.force_login(make_user(role))
    url = reverse("adverse_event_detail", args=[other_site_sae.pk])
    assert client.get(url).status_code == 200
    assert other_site_sae.participant.study_id in client.get(reverse("safety_home")).content.decode()
    assert client.post(url, {"reason": "x"}).status_code == 403


def test_every_safety_record_keeps_who_what_and_why(coordinator, investigator, site_yc):
    from django.utils import timezone

    patient = infused(coordinator, site_yc, days_ago=30)
    event = record_ae(coordinator, patient, term="iec_hs", grade=2, serious_hospitalisation=True,
                      awareness_at=timezone.now())  # fmt: skip
    services.add_grade(user=coordinator, event=event, grade_on=event.onset_date + DAY, grade=3, note="worse")
    report = services.update_sae_narrative(user=coordinator, report=event.sae_report, narrative="Narrative")
    data = {"assessed_on": event.onset_date, "ferritin_ug_l": Decimal("12000")}
    iec = services.record_iec_hs(
        user=coordinator, event=event, data={**data, "findings": ["iec_hs_directed_therapy"]}
    )
    adjudication = services.adjudicate_dlt(user=investigator, event=event, is_dlt=False)
    crs = save_crf(coordinator, patient, "crs", "D1", {"temperature_c": Decimal("38.2")})
    for record, action in [
        (event, "record_adverse_event"),
        (event.grades.order_by("pk").last(), "add_adverse_event_grade"),
        (report, "update_sae_narrative"),
        (iec, "record_iec_hs"),
        (adjudication, "adjudicate_dlt"),
        (crs, "save_crs"),
    ]:
        contexts = [e.pgh_context for e in Events.objects.tracks(record).order_by("pgh_id")]
        assert action in {c["action"] for c in contexts}, record
        assert {c["username"] for c in contexts} <= {coordinator.username, investigator.username}
    assert iec.iec_hs_grade == 2 and iec.grade_rule_version == "iec_hs/1"


@pytest.mark.parametrize(
    "table",
    ["adverse_events_adverseevent", "adverse_events_adverseeventgrade", "adverse_events_saereport"],
)
def test_safety_records_cannot_be_hard_deleted(coordinator, site_yc, table):
    from django.utils import timezone

    patient = infused(coordinator, site_yc, days_ago=30)
    record_ae(coordinator, patient, serious_hospitalisation=True, awareness_at=timezone.now())
    with pytest.raises(InternalError, match="Cannot"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")


def test_an_event_entered_in_error_leaves_the_listings_and_stops_its_sae_clock(coordinator, site_yc):
    from django.utils import timezone

    from adverse_events import selectors

    patient = infused(coordinator, site_yc, days_ago=30)
    event = record_ae(coordinator, patient, serious_hospitalisation=True, awareness_at=timezone.now())
    services.mark_adverse_event_entered_in_error(user=coordinator, event=event, reason="Duplicate")
    assert selectors.sae_reports_for(coordinator) == []
    assert selectors.safety_summary(coordinator).listing == []


def test_a_participant_page_links_to_the_safety_page(client, coordinator, site_yc):
    patient = make_participant(coordinator, site_yc)
    client.force_login(coordinator)
    body = client.get(reverse("participant_detail", args=[patient.pk])).content.decode()
    assert reverse("participant_safety", args=[patient.pk]) in body


def test_every_event_page_opens_for_the_sites_investigator(client, coordinator, investigator, site_yc):
    from django.utils import timezone

    patient = infused(coordinator, site_yc, days_ago=30)
    event = record_ae(coordinator, patient, term="iec_hs", grade=3, serious_hospitalisation=True,
                      awareness_at=timezone.now())  # fmt: skip
    client.force_login(investigator)
    for name in EVENT_URLS:
        response = client.get(reverse(name, args=[event.pk]))
        assert response.status_code == 200, name
    page = client.get(reverse("adverse_event_detail", args=[event.pk])).content.decode()
    assert "Sign and submit" in page and "IEC-HS event form" in page and "Adjudicate" in page

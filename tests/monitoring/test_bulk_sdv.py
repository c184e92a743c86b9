"""Monitors verify the critical fields of a whole visit, or of one form across participants, in one
action; each field is still verified (and audited) on its own row."""

from datetime import timedelta

import pytest
from django.urls import reverse
from pghistory.models import Events

from crfs.registry import FORMS
from crfs.services import save_form
from monitoring.models import SourceVerification
from tests.adverse_events.test_graded_forms import crs, icans
from tests.conftest import make_participant, today_at

CRS = crs(None)
ICANS = icans(None)


def infused_with_d7(coordinator, site_yc):
    today = today_at(site_yc)
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=40), infused=today - timedelta(days=10)
    )
    visit = p.visits.get(code="D7")
    for code, data in (("crs", CRS), ("icans", ICANS)):
        save_form(
            user=coordinator,
            spec=FORMS[code],
            visit=visit,
            data={**data, "assessed_on": visit.target_date},
            complete=True,
        )
    return visit


def critical(study, code):
    return study.settings["critical_fields"][code]


@pytest.fixture
def d7(coordinator, site_yc):
    return infused_with_d7(coordinator, site_yc)


def test_a_monitor_verifies_every_critical_field_of_a_visit_in_one_action(client, monitor, d7, study):
    client.force_login(monitor)
    page = client.get(reverse("casebook", args=[d7.participant_id])).content.decode()
    assert f'data-verify-visit="{d7.pk}"' in page
    response = client.post(reverse("sdv_verify_visit", args=[d7.pk]))
    assert response.status_code == 302
    fields = set(SourceVerification.objects.values_list("field_name", flat=True))
    assert fields == set(critical(study, "crs")) | set(critical(study, "icans"))
    expected = len(critical(study, "crs")) + len(critical(study, "icans"))
    assert SourceVerification.objects.count() == expected
    assert Events.objects.filter(pgh_label="verified").count() >= expected  # each field audited


def test_a_coordinator_cannot_verify_a_visit(client, coordinator, d7):
    client.force_login(coordinator)
    client.post(reverse("sdv_verify_visit", args=[d7.pk]))
    assert not SourceVerification.objects.exists()


def test_a_monitor_verifies_one_form_across_participants_in_one_action(
    client, monitor, coordinator, site_yc, d7, study
):
    other = infused_with_d7(coordinator, site_yc)
    client.force_login(monitor)
    url = reverse("sdv_verify_across", args=["crs"])
    page = client.get(url).content.decode()
    crs_forms = list(FORMS["crs"].model.objects.filter(visit__in=[d7, other]))
    for form in crs_forms:
        assert f'value="{form.pk}"' in page
    response = client.post(url, {"form": [str(f.pk) for f in crs_forms]})
    assert response.status_code == 302
    per_form = {
        f.pk: set(SourceVerification.objects.filter(object_id=f.pk).values_list("field_name", flat=True))
        for f in crs_forms
    }
    assert all(fields == set(critical(study, "crs")) for fields in per_form.values())
    assert "Nothing to verify" in client.get(url).content.decode()

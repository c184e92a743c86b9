"""The study summary is cached under a fingerprint of its data: a form change is seen at once."""

from decimal import Decimal
from unittest import mock

from django.urls import reverse

from efficacy import dashboard
from tests.efficacy.conftest import Writer


def summary_calls(client):
    with mock.patch.object(dashboard, "compute_summary", wraps=dashboard.compute_summary) as spy:
        body = client.get(reverse("efficacy_study")).content.decode()
    return spy.call_count, body


def test_an_unchanged_study_is_served_from_the_cache(client, data_manager, hand_participant):
    client.force_login(data_manager)
    assert summary_calls(client)[0] == 1
    assert summary_calls(client)[0] == 0


def test_a_form_change_invalidates_the_cached_summary(client, data_manager, coordinator, hand_participant):
    client.force_login(data_manager)
    calls, body = summary_calls(client)
    assert calls == 1 and "3/3 (100 %)" not in body
    # Month 9's draft PGA completed: the visit becomes evaluable (SRI-4 responder, like M3 and M6).
    w = Writer(coordinator, hand_participant)
    from crfs.registry import FORMS
    from crfs.services import save_form
    from disease_activity.models import PhysicianGlobalAssessment

    draft = PhysicianGlobalAssessment.objects.get(visit=w.visit("M9"))
    save_form(
        user=coordinator,
        spec=FORMS["pga"],
        visit=w.visit("M9"),
        instance=draft,
        data={"assessed_on": w.day(270), "pga": Decimal("0.1")},
        complete=True,
    )
    calls, body = summary_calls(client)
    assert calls == 1
    row = body.split('id="endpoint-sri_4"', 1)[1].split("</table>", 1)[0]
    assert row.count("1/1 (100 %)") >= 4  # D28, M3, M6 and now M9, overall


def test_the_data_version_changes_with_any_save_and_not_otherwise(coordinator, hand_participant):
    before = dashboard.data_version()
    assert dashboard.data_version() == before
    w = Writer(coordinator, hand_participant)
    from tests.efficacy.conftest import glucocorticoid

    w.medication(glucocorticoid("prednisone", "2.5", w.day(200), w.day(201)))
    assert dashboard.data_version() != before

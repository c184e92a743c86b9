"""Missing data said properly: where the protocol allows it, a field the site cannot fill takes "not
done", "unknown" or "not applicable" instead of a silent blank, and then counts as answered."""

import copy

import pytest
from django.urls import reverse

from crfs.missing import reasons_of
from crfs.models import FormStatus, VitalSigns
from tests.conftest import _protocol_content
from trials.protocol import ProtocolError, parse


def vitals(visit, **overrides):
    data = {
        "assessed_on": visit.target_date.isoformat(),
        "temperature_c": "36.8",
        "heart_rate": "72",
        "systolic_bp": "118",
        "diastolic_bp": "76",
        "weight_kg": "70.0",
    }
    return {**data, **overrides}


def vs_url(visit):
    return reverse("form_entry", args=[visit.pk, "vital_signs"])


def test_the_protocol_offers_a_reason_beside_the_fields_it_names(client, coordinator, baseline):
    client.force_login(coordinator)
    page = client.get(vs_url(baseline)).content.decode()
    assert 'name="missing__weight_kg"' in page and "If missing, why" in page
    options = page.split('name="missing__weight_kg"')[1].split("</select>")[0]
    assert '"not_done"' in options and '"unknown"' not in options
    assert 'name="missing__assessed_on"' not in page  # the date of the assessment is always known


def test_a_field_not_done_counts_as_answered_when_marking_complete(client, coordinator, baseline):
    client.force_login(coordinator)
    response = client.post(
        vs_url(baseline), vitals(baseline, weight_kg="", missing__weight_kg="not_done", complete="1")
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    form = VitalSigns.objects.get()
    assert form.status == FormStatus.COMPLETE and form.weight_kg is None
    assert reasons_of(form) == {"weight_kg": "not_done"}
    page = client.get(reverse("form_entry_instance", args=[baseline.pk, "vital_signs", form.pk])).content
    assert '<option value="not_done" selected>' in page.decode()


def test_a_blank_without_a_reason_still_blocks_completion(client, coordinator, baseline):
    client.force_login(coordinator)
    response = client.post(vs_url(baseline), vitals(baseline, weight_kg="", complete="1"))
    assert response.status_code == 400 and not VitalSigns.objects.exists()


def test_a_value_and_a_reason_together_are_refused(client, coordinator, baseline):
    client.force_login(coordinator)
    response = client.post(vs_url(baseline), vitals(baseline, missing__weight_kg="not_done", draft="1"))
    assert response.status_code == 400 and not VitalSigns.objects.exists()
    assert "Give a value or say why it is missing, not both." in response.content.decode()


def test_a_reason_the_protocol_does_not_allow_is_refused(client, coordinator, baseline):
    client.force_login(coordinator)
    response = client.post(vs_url(baseline), vitals(baseline, weight_kg="", missing__weight_kg="unknown"))
    assert response.status_code == 400 and not VitalSigns.objects.exists()


def test_a_withdrawn_reason_is_kept_in_the_trail_as_withdrawn(client, coordinator, baseline):
    from crfs.models import MissingValue

    client.force_login(coordinator)
    client.post(vs_url(baseline), vitals(baseline, weight_kg="", missing__weight_kg="not_done", draft="1"))
    form = VitalSigns.objects.get()
    url = reverse("form_entry_instance", args=[baseline.pk, "vital_signs", form.pk])
    response = client.post(url, vitals(baseline, weight_kg="70.5", expected_version=form.version, draft="1"))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert reasons_of(form) == {} and MissingValue.objects.get().reason == ""


def test_the_protocol_file_refuses_an_unknown_reason():
    content = copy.deepcopy(_protocol_content())
    import yaml

    from tests.conftest import PROTOCOL

    raw = yaml.safe_load(PROTOCOL.read_text(encoding="utf-8"))
    raw["settings"]["missing_data"]["vital_signs"]["weight_kg"] = ["forgotten"]
    with pytest.raises(ProtocolError, match=r"missing_data\.vital_signs\.weight_kg\[0\]"):
        parse(yaml.safe_dump(raw, allow_unicode=True), "test.yaml")
    assert content["settings"]["missing_data"]["vital_signs"]["weight_kg"] == ["not_done"]

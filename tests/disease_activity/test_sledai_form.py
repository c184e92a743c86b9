from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from crfs.models import FormStatus
from disease_activity.models import Course, SledaiAssessment
from edc.clinical import compute
from edc.clinical.sledai import DESCRIPTORS, KEYS
from edc.errors import DomainError


def scored(**descriptors):
    """Form data marking each descriptor present, attributable (True/False) and new."""
    data = {}
    for key, attributable in descriptors.items():
        data |= {f"{key}_present": True, f"{key}_attributable": attributable, f"{key}_course": Course.NEW}
    return data


def test_every_sledai_descriptor_has_present_attributable_and_course_columns():
    names = {f.name for f in SledaiAssessment._meta.get_fields()}
    assert len(KEYS) == 24
    for key in KEYS:
        assert {f"{key}_present", f"{key}_attributable", f"{key}_course"} <= names


def test_totals_equal_compute_on_the_stored_descriptors_present_and_attributable(save, baseline):
    data = scored(seizure=True, arthritis=True, rash=True, low_complement=True, fever=False)
    obj = save("sledai", baseline, assessed_on=baseline.target_date, arthritis_joints=3, **data)
    obj.refresh_from_db()
    stored = [key for key in KEYS if obj.is_scored(key)]
    expected = compute("sledai_2k_total", {"present": stored})
    assert stored == ["seizure", "arthritis", "rash", "low_complement"]
    assert (
        (obj.sledai_2k, obj.clinical_sledai)
        == (expected["sledai_2k"], expected["clinical_sledai"])
        == (16, 14)
    )


def test_a_descriptor_present_but_not_attributable_to_sle_does_not_score(save, baseline):
    obj = save("sledai", baseline, assessed_on=baseline.target_date, **scored(vasculitis=False))
    assert obj.vasculitis_present and obj.sledai_2k == 0 and obj.selena_sledai == 0


def test_a_descriptor_present_with_attribution_unanswered_does_not_score(save, baseline):
    obj = save("sledai", baseline, assessed_on=baseline.target_date, cva_present=True)
    assert obj.sledai_2k == 0


def test_all_24_descriptors_present_and_attributable_score_105(save, baseline):
    obj = save("sledai", baseline, assessed_on=baseline.target_date, **scored(**dict.fromkeys(KEYS, True)))
    assert obj.sledai_2k == sum(d.weight for d in DESCRIPTORS) == 105 and obj.clinical_sledai == 101


def test_rule_versions_are_stored_with_the_totals(save, baseline):
    obj = save("sledai", baseline, assessed_on=baseline.target_date, **scored(pleurisy=True))
    obj.refresh_from_db()
    assert obj.sledai_rule_version == compute("sledai_2k_total", {"present": []})["rule_version"]
    assert obj.selena_rule_version == compute("selena_sledai_total", {"present": []})["rule_version"]


def test_look_back_defaults_to_the_protocol_setting(save, baseline):
    study = baseline.participant.site.study
    study.settings["sledai_lookback_days"] = 28
    study.save(update_fields=["settings"])
    obj = save("sledai", baseline, assessed_on=baseline.target_date)
    assert obj.look_back_days == 28


def test_an_entered_look_back_is_kept(save, baseline):
    obj = save("sledai", baseline, assessed_on=baseline.target_date, look_back_days=30)
    assert obj.look_back_days == 30 and obj.sledai_2k == 0


def test_selena_sledai_does_not_score_persistent_proteinuria_but_sledai_2k_does(save, baseline):
    data = scored(proteinuria=True) | {
        "proteinuria_course": Course.PERSISTENT,
        "proteinuria_value": Decimal("1.2"),
    }
    obj = save("sledai", baseline, assessed_on=baseline.target_date, **data)
    assert (obj.sledai_2k, obj.selena_sledai) == (4, 0)


def test_selena_sledai_scores_proteinuria_that_worsened_by_more_than_half_a_gram(save, baseline):
    data = scored(proteinuria=True) | {
        "proteinuria_course": Course.WORSENED,
        "proteinuria_value": Decimal("1500"),
        "proteinuria_unit": "mg/24h",
        "proteinuria_previous_value": Decimal("800"),
    }
    obj = save("sledai", baseline, assessed_on=baseline.target_date, **data)
    assert (obj.sledai_2k, obj.selena_sledai) == (4, 4)


def test_selena_sledai_waits_for_the_course_in_a_draft(save, baseline):
    obj = save(
        "sledai",
        baseline,
        assessed_on=baseline.target_date,
        proteinuria_present=True,
        proteinuria_attributable=True,
    )
    assert obj.status == FormStatus.IN_PROGRESS
    assert obj.sledai_2k == 4 and obj.selena_sledai is None and obj.selena_rule_version == ""


def test_marking_complete_requires_attribution_and_course_of_each_present_descriptor(save, baseline):
    with pytest.raises(DomainError, match="Rash: attributable to SLE.*Rash: course"):
        save("sledai", baseline, assessed_on=baseline.target_date, rash_present=True, complete=True)
    obj = save("sledai", baseline, assessed_on=baseline.target_date, complete=True, **scored(rash=True))
    assert obj.status == FormStatus.COMPLETE and obj.selena_sledai == 2


def test_marking_complete_requires_both_proteinuria_values_when_it_worsened(save, baseline):
    data = scored(proteinuria=True) | {
        "proteinuria_course": Course.WORSENED,
        "proteinuria_value": Decimal("2"),
    }
    with pytest.raises(DomainError, match="previous value"):
        save("sledai", baseline, assessed_on=baseline.target_date, complete=True, **data)


def test_a_second_sledai_form_at_the_same_visit_is_refused(save, baseline):
    save("sledai", baseline, assessed_on=baseline.target_date)
    with pytest.raises(DomainError, match="already exists"):
        save("sledai", baseline, assessed_on=baseline.target_date)


def test_a_change_after_complete_needs_a_reason_and_the_history_shows_old_and_new(
    client, save, coordinator, baseline
):
    obj = save("sledai", baseline, assessed_on=baseline.target_date, complete=True, **scored(fever=True))
    changed = scored(fever=False)
    with pytest.raises(DomainError) as error:
        save("sledai", baseline, obj, assessed_on=baseline.target_date, **changed)
    assert error.value.field == "reason"
    obj = save(
        "sledai", baseline, obj, assessed_on=baseline.target_date, reason="Fever was an infection", **changed
    )
    assert obj.sledai_2k == 0
    client.force_login(coordinator)
    body = client.get(reverse("form_history", args=["sledai", obj.pk])).content.decode()
    assert "Fever was an infection" in body
    assert "Fever: attributable to SLE" in body and "True" in body and "False" in body
    assert "SLEDAI-2K" in body


def test_the_entry_page_lays_out_the_24_descriptors_as_a_table(client, coordinator, baseline):
    client.force_login(coordinator)
    body = client.get(reverse("form_entry", args=[baseline.pk, "sledai"])).content.decode()
    assert body.count('<tr id="sledai-') == 24
    assert 'name="thrombocytopenia_attributable"' in body and 'name="platelets"' in body
    assert reverse("sledai_totals", args=[baseline.pk]) in body


def test_saving_through_the_page_stores_the_form_and_shows_its_totals(client, coordinator, baseline):
    client.force_login(coordinator)
    url = reverse("form_entry", args=[baseline.pk, "sledai"])
    post = {
        "assessed_on": baseline.target_date.isoformat(),
        "arthritis_present": "on",
        "arthritis_attributable": "true",
        "arthritis_course": "new",
        "arthritis_joints": "4",
        "rash_present": "on",
        "rash_attributable": "false",
        "rash_course": "persistent",
        "complete": "1",
    }
    response = client.post(url, post)
    assert response.status_code == 302
    obj = SledaiAssessment.objects.get(visit=baseline)
    assert obj.status == FormStatus.COMPLETE and obj.sledai_2k == 4 and obj.rash_attributable is False
    body = client.get(url).content.decode()
    assert "<td>4</td>" in body and obj.sledai_rule_version in body


def test_the_totals_partial_computes_the_values_on_screen_without_saving(client, coordinator, baseline):
    client.force_login(coordinator)
    response = client.post(
        reverse("sledai_totals", args=[baseline.pk]),
        {
            "seizure_present": "on",
            "seizure_attributable": "true",
            "low_complement_present": "on",
            "low_complement_attributable": "true",
            "fever_present": "on",
            "fever_attributable": "false",
        },
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-total="sledai_2k">10<' in body and 'data-total="clinical_sledai">8<' in body
    assert not SledaiAssessment.objects.exists()


def test_the_totals_partial_ignores_invalid_input_instead_of_failing(client, coordinator, baseline):
    client.force_login(coordinator)
    response = client.post(
        reverse("sledai_totals", args=[baseline.pk]),
        {
            "look_back_days": "NaN",
            "platelets": "1e999",
            "pyuria_present": "on",
            "pyuria_attributable": "true",
        },
    )
    assert response.status_code == 200 and 'data-total="sledai_2k">4<' in response.content.decode()


def test_site_staff_cannot_open_another_sites_sledai_form(save, coordinator_cd, baseline):
    obj = save("sledai", baseline, assessed_on=baseline.target_date)
    other = Client()
    other.force_login(coordinator_cd)
    assert other.get(reverse("form_entry", args=[baseline.pk, "sledai"])).status_code == 404
    assert other.get(reverse("form_entry_instance", args=[baseline.pk, "sledai", obj.pk])).status_code == 404
    assert other.get(reverse("form_history", args=["sledai", obj.pk])).status_code == 404
    assert other.post(reverse("sledai_totals", args=[baseline.pk]), {}).status_code == 404


def test_the_casebook_links_the_disease_activity_and_medication_forms_of_day_28(client, coordinator, day28):
    client.force_login(coordinator)
    body = client.get(reverse("casebook", args=[day28.participant_id])).content.decode()
    for code in ("sledai", "pga", "bilag", "medications"):
        assert reverse("form_entry", args=[day28.pk, code]) in body


def test_an_assessment_date_outside_the_visit_window_is_queried(save, baseline):
    from monitoring.models import Query

    save("sledai", baseline, assessed_on=baseline.window_start - timedelta(days=1))
    assert Query.objects.get().check_id == "VISIT-WINDOW"

"""Every edit check of the SLEDAI, PGA and BILAG forms, firing and not firing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from disease_activity.models import Course
from edc.errors import DomainError
from monitoring.models import Query, QueryStatus
from tests.conftest import make_participant, today_at


def scored(key, attributable=True, **values):
    return {
        f"{key}_present": True,
        f"{key}_attributable": attributable,
        f"{key}_course": Course.NEW,
        **values,
    }


def live_queries():
    return set(Query.objects.exclude(status=QueryStatus.CLOSED).values_list("field_name", "check_id"))


@pytest.fixture
def month3(coordinator, site_yc):
    """The Month 3 visit of a participant infused 90 days ago."""
    today = today_at(site_yc)
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=110), infused=today - timedelta(days=90)
    )
    return p.visits.get(code="M3")


# SLEDAI: fever and cytopenias scored soon after lymphodepletion or CAR-T (decision 7)


@pytest.mark.parametrize(
    "key, value",
    [
        ("fever", {"temperature_c": Decimal("38.6")}),
        ("leukopenia", {"wbc": Decimal("2.1")}),
        ("thrombocytopenia", {"platelets": Decimal("60")}),
    ],
)
def test_fever_or_cytopenia_scored_within_30_days_of_infusion_opens_a_query(save, day28, key, value):
    save("sledai", day28, assessed_on=day28.target_date, **scored(key, **value))
    check = f"SLEDAI-{key.upper()}-AFTER-CAR-T"
    assert (f"{key}_attributable", check) in live_queries()


def test_the_car_t_query_closes_when_the_fever_is_attributed_to_crs(save, day28):
    obj = save("sledai", day28, assessed_on=day28.target_date, **scored("fever", temperature_c=Decimal("39")))
    query = Query.objects.get(check_id="SLEDAI-FEVER-AFTER-CAR-T")
    save(
        "sledai",
        day28,
        obj,
        assessed_on=day28.target_date,
        **scored("fever", False, temperature_c=Decimal("39")),
    )
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED and "automatically" in query.resolution


def test_fever_not_attributed_to_sle_after_infusion_opens_no_query(save, day28):
    save(
        "sledai", day28, assessed_on=day28.target_date, **scored("fever", False, temperature_c=Decimal("39"))
    )
    assert not Query.objects.filter(check_id="SLEDAI-FEVER-AFTER-CAR-T").exists()


def test_fever_scored_three_months_after_infusion_opens_no_car_t_query(save, month3):
    save("sledai", month3, assessed_on=month3.target_date, **scored("fever", temperature_c=Decimal("38.5")))
    assert not Query.objects.filter(check_id="SLEDAI-FEVER-AFTER-CAR-T").exists()


def test_fever_scored_within_30_days_of_lymphodepletion_alone_opens_a_query(save, month3):
    participant = month3.participant
    participant.lymphodepletion_start_date = month3.target_date - timedelta(days=20)
    participant.save(update_fields=["lymphodepletion_start_date"])
    save("sledai", month3, assessed_on=month3.target_date, **scored("fever", temperature_c=Decimal("38.5")))
    assert Query.objects.filter(check_id="SLEDAI-FEVER-AFTER-CAR-T").exists()


# SLEDAI: a lab-driven descriptor scored without a lab in the look-back window


def haematology(coordinator, visit, platelets, *, collected_at=None):
    from labs.services import ResultEntry, save_panel

    return save_panel(
        user=coordinator,
        visit=visit,
        panel="haematology",
        data={"collected_at": collected_at or timezone.now() - timedelta(hours=1)},
        results=[ResultEntry("platelets", Decimal(platelets), "10^9/L")],
    )


def test_thrombocytopenia_scored_without_a_platelet_count_opens_a_query_that_closes_once_the_lab_is_entered(
    save, coordinator, baseline
):
    data = scored("thrombocytopenia", platelets=Decimal("80"))
    obj = save("sledai", baseline, assessed_on=baseline.target_date, **data)
    query = Query.objects.get(check_id="SLEDAI-THROMBOCYTOPENIA-NO-LAB")
    assert query.field_name == "thrombocytopenia_present"
    haematology(coordinator, baseline, "80")
    save("sledai", baseline, obj, assessed_on=baseline.target_date, **data)
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED


def test_a_platelet_count_older_than_the_look_back_does_not_support_thrombocytopenia(
    save, coordinator, baseline
):
    haematology(coordinator, baseline, "80", collected_at=timezone.now() - timedelta(days=5))
    save(
        "sledai",
        baseline,
        assessed_on=baseline.target_date,
        look_back_days=3,
        **scored("thrombocytopenia", platelets=Decimal("80")),
    )
    assert Query.objects.filter(check_id="SLEDAI-THROMBOCYTOPENIA-NO-LAB").exists()


def test_without_the_labs_app_the_value_on_the_form_supports_a_lab_driven_descriptor(
    save, baseline, monkeypatch
):
    monkeypatch.setattr("disease_activity.selectors.labs_installed", lambda: False)
    obj = save("sledai", baseline, assessed_on=baseline.target_date, **scored("low_complement"))
    assert ("low_complement_present", "SLEDAI-LOW-COMPLEMENT-NO-LAB") in live_queries()
    values = {"c3": Decimal("0.5"), "c3_lln": Decimal("0.9")}
    save("sledai", baseline, obj, assessed_on=baseline.target_date, **scored("low_complement", **values))
    assert not live_queries()


def test_a_clinical_descriptor_needs_no_lab(save, baseline):
    save("sledai", baseline, assessed_on=baseline.target_date, **scored("pleurisy"))
    assert not Query.objects.exists()


# SLEDAI: a value recorded that does not meet the descriptor's definition


def test_thrombocytopenia_with_a_normal_platelet_count_opens_a_query_on_the_count(
    save, coordinator, baseline
):
    haematology(coordinator, baseline, "150")
    obj = save(
        "sledai",
        baseline,
        assessed_on=baseline.target_date,
        **scored("thrombocytopenia", platelets=Decimal("150")),
    )
    assert ("platelets", "SLEDAI-THROMBOCYTOPENIA-DEFINITION") in live_queries()
    save(
        "sledai",
        baseline,
        obj,
        assessed_on=baseline.target_date,
        **scored("thrombocytopenia", platelets=Decimal("99")),
    )
    assert ("platelets", "SLEDAI-THROMBOCYTOPENIA-DEFINITION") not in live_queries()


def test_arthritis_in_one_joint_is_queried_and_in_two_joints_is_not(save, baseline):
    obj = save(
        "sledai", baseline, assessed_on=baseline.target_date, **scored("arthritis", arthritis_joints=1)
    )
    assert ("arthritis_joints", "SLEDAI-ARTHRITIS-DEFINITION") in live_queries()
    save("sledai", baseline, obj, assessed_on=baseline.target_date, **scored("arthritis", arthritis_joints=2))
    assert not live_queries()


def test_low_complement_with_c3_at_its_lower_limit_is_queried(save, baseline):
    values = {"c3": Decimal("0.90"), "c3_lln": Decimal("0.90"), "complement_unit": "g/L"}
    save("sledai", baseline, assessed_on=baseline.target_date, **scored("low_complement", False, **values))
    assert ("c3", "SLEDAI-LOW-COMPLEMENT-DEFINITION") in live_queries()


# SLEDAI: impossible values (hard)


@pytest.mark.parametrize(
    "field, bad, good",
    [
        ("look_back_days", 0, 30),
        ("look_back_days", 31, 1),
        ("temperature_c", Decimal("46"), Decimal("45")),
        ("platelets", Decimal("5001"), Decimal("0")),
        ("wbc", Decimal("501"), Decimal("0.1")),
        ("arthritis_joints", 71, 70),
        ("c3", Decimal("-0.1"), Decimal("0")),
        ("proteinuria_value", Decimal("-1"), Decimal("0.2")),
    ],
)
def test_an_impossible_sledai_value_is_refused_on_its_field_and_a_possible_one_saves(
    save, baseline, field, bad, good
):
    with pytest.raises(DomainError) as error:
        save("sledai", baseline, assessed_on=baseline.target_date, **{field: bad})
    assert error.value.field == field
    assert getattr(save("sledai", baseline, assessed_on=baseline.target_date, **{field: good}), field) == good


def test_a_sledai_dated_in_the_future_is_refused(save, baseline):
    with pytest.raises(DomainError) as error:
        save("sledai", baseline, assessed_on=today_at(baseline.participant.site) + timedelta(days=1))
    assert error.value.field == "assessed_on"


def test_a_sledai_dated_before_consent_is_refused(save, baseline):
    with pytest.raises(DomainError) as error:
        save("sledai", baseline, assessed_on=baseline.participant.consent_date - timedelta(days=1))
    assert error.value.field == "assessed_on"


# PGA


@pytest.mark.parametrize("pga", [Decimal("3.1"), Decimal("-0.1")])
def test_a_pga_outside_0_to_3_is_refused(save, baseline, pga):
    with pytest.raises(DomainError) as error:
        save("pga", baseline, assessed_on=baseline.target_date, pga=pga)
    assert error.value.field == "pga"


@pytest.mark.parametrize("pga", [Decimal("0"), Decimal("3.0")])
def test_a_pga_at_either_end_of_the_scale_saves(save, baseline, pga):
    assert save("pga", baseline, assessed_on=baseline.target_date, pga=pga).pga == pga


def test_a_mark_beyond_the_100_mm_line_is_refused(save, baseline):
    with pytest.raises(DomainError) as error:
        save("pga", baseline, assessed_on=baseline.target_date, vas_mm=Decimal("100.5"))
    assert error.value.field == "vas_mm"


def test_a_pga_in_the_future_is_refused(save, baseline):
    with pytest.raises(DomainError) as error:
        save(
            "pga",
            baseline,
            assessed_on=today_at(baseline.participant.site) + timedelta(days=1),
            pga=Decimal("1"),
        )
    assert error.value.field == "assessed_on"


# BILAG-2004


def test_a_bilag_grade_other_than_a_to_e_is_refused(save, baseline):
    with pytest.raises(DomainError) as error:
        save("bilag", baseline, assessed_on=baseline.target_date, renal="F")
    assert error.value.field == "renal"


def test_a_bilag_grade_a_to_e_saves(save, baseline):
    assert save("bilag", baseline, assessed_on=baseline.target_date, renal="A").renal == "A"


def test_a_bilag_grade_other_than_a_to_e_from_the_page_is_a_400_with_a_message(client, coordinator, baseline):
    client.force_login(coordinator)
    response = client.post(
        reverse("form_entry", args=[baseline.pk, "bilag"]),
        {"assessed_on": baseline.target_date.isoformat(), "renal": "Z", "draft": "1"},
    )
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()

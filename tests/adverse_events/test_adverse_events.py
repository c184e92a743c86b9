"""Adverse events: CTCAE terms with their grades, dated grade entries, the derived maximum grade."""

from datetime import timedelta

import pytest
from django.urls import reverse

from adverse_events import ctcae_terms, selectors, services
from adverse_events.models import AdverseEvent, AdverseEventGrade
from edc.errors import DomainError
from tests.adverse_events.factories import DAY, ae_data, infused, record_ae


@pytest.fixture
def patient(coordinator, site_yc):
    return infused(coordinator, site_yc, days_ago=20)


def test_every_term_has_a_soc_and_at_least_one_grade_and_grade_5_is_death_where_it_exists():
    for term in ctcae_terms.TERMS:
        assert term.soc and term.allowed_grades, term.key
        assert term.allowed_grades == sorted(term.allowed_grades)


def test_the_terms_car_t_and_lupus_trials_report_most_are_shipped():
    for key in [
        "cytokine_release_syndrome",
        "icans",
        "neutrophil_count_decreased",
        "febrile_neutropenia",
        "lung_infection",
        "sepsis",
        "iec_hs",
        "acute_gvhd",
        "autoimmune_disorder",
        "immune_other",
    ]:
        assert ctcae_terms.term(key) is not None, key  # fmt: skip


def test_search_finds_terms_by_any_word_of_the_name_or_the_soc():
    assert [t.key for t in ctcae_terms.search("neutrophil")] == ["neutrophil_count_decreased"]
    assert {t.key for t in ctcae_terms.search("infections other")} == {"infection_other"}
    assert len(ctcae_terms.search("cardiac")) >= 6


def test_an_event_is_numbered_per_participant_and_starts_with_its_grade_at_onset(coordinator, patient):
    first = record_ae(coordinator, patient, term="fever", grade=2)
    second = record_ae(coordinator, patient, term="headache", grade=1)
    assert (first.number, second.number) == (1, 2)
    assert list(first.grades.values_list("grade_on", "grade")) == [(first.onset_date, 2)]


def test_the_maximum_grade_is_derived_from_the_dated_grade_entries(coordinator, patient):
    event = record_ae(
        coordinator, patient, term="neutrophil_count_decreased", grade=2, onset=patient.infusion_date
    )
    services.add_grade(user=coordinator, event=event, grade_on=event.onset_date + 2 * DAY, grade=4)
    services.add_grade(user=coordinator, event=event, grade_on=event.onset_date + 5 * DAY, grade=1)
    event = selectors.adverse_events_for(coordinator).get(pk=event.pk)
    assert event.max_grade == 4
    assert list(event.grades.values_list("grade", flat=True)) == [2, 4, 1]


def test_a_grade_the_term_does_not_have_is_refused(coordinator, patient):
    with pytest.raises(DomainError) as error:
        record_ae(coordinator, patient, term="sepsis", grade=2)
    assert error.value.field == "grade"
    # a later grade is checked too (fever has a grade 5, death, so a term without grade 4 is used)
    event = record_ae(coordinator, patient, term="fatigue", grade=1)
    with pytest.raises(DomainError, match="Fatigue has no grade 4"):
        services.add_grade(user=coordinator, event=event, grade_on=event.onset_date, grade=4)


def test_other_specify_needs_the_specified_term_and_shows_it(coordinator, patient):
    with pytest.raises(DomainError) as error:
        record_ae(coordinator, patient, term="immune_other")
    assert error.value.field == "term_other"
    event = record_ae(coordinator, patient, term="immune_other", term_other="Hypogammaglobulinaemia")
    assert "Hypogammaglobulinaemia" in event.term_label and "Immune system disorders" in event.term_label


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"onset_date": "future"}, "onset_date"),
        ({"onset_date": "before_consent"}, "onset_date"),
        ({"resolution_date": "before_onset"}, "resolution_date"),
        ({"relationship_car_t": ""}, "relationship_car_t"),
        ({"outcome": "fatal"}, "serious_death"),
    ],
)
def test_impossible_events_are_refused_with_the_field_at_fault(coordinator, patient, changes, field):
    data = ae_data(patient)
    today = patient.infusion_date + 20 * DAY
    values = {
        "future": today + 2 * DAY,
        "before_consent": patient.consent_date - DAY,
        "before_onset": data["onset_date"] - DAY,
    }
    data |= {k: values.get(v, v) for k, v in changes.items()}
    with pytest.raises(DomainError) as error:
        services.record_adverse_event(user=coordinator, participant=patient, data=data, grade=1)
    assert error.value.field == field
    assert not AdverseEvent.objects.exists()


def test_the_aesi_category_follows_the_term(coordinator, patient):
    assert record_ae(coordinator, patient, term="cytokine_release_syndrome").aesi_category == "crs"
    flare = record_ae(
        coordinator, patient, term="immune_other", term_other="Flare", aesi_category="sle_flare"
    )
    assert flare.aesi_category == "sle_flare"


def test_a_correction_needs_a_reason_and_a_current_version(coordinator, patient):
    event = record_ae(coordinator, patient)
    data = ae_data(patient, resolution_date=patient.infusion_date + 3 * DAY, outcome="recovered")
    with pytest.raises(DomainError) as error:
        services.update_adverse_event(user=coordinator, event=event, data=data, reason="")
    assert error.value.field == "reason"
    event = services.update_adverse_event(
        user=coordinator, event=event, data=data, reason="Resolved", expected_version=event.version
    )
    assert event.resolution_date == patient.infusion_date + 3 * DAY
    with pytest.raises(DomainError, match="changed by someone else"):
        services.update_adverse_event(
            user=coordinator, event=event, data=data, reason="x", expected_version=1
        )


def test_roles_that_never_enter_data_cannot_record_events(make_user, monitor, patient):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied, match="does not allow"):
        record_ae(monitor, patient)


def test_the_event_form_records_an_event_with_its_grade(client, coordinator, patient):
    client.force_login(coordinator)
    url = reverse("adverse_event_create", args=[patient.pk])
    assert "Cytokine release syndrome" in client.get(url).content.decode()
    data = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in ae_data(patient).items()}
    response = client.post(url, {**data, "grade": "2"})
    assert response.status_code == 302, response.content.decode()[:3000]
    event = AdverseEvent.objects.get()
    assert AdverseEventGrade.objects.get(adverse_event=event).grade == 2
    page = client.get(reverse("participant_safety", args=[patient.pk])).content.decode()
    assert "Fever" in page


def test_the_term_definitions_partial_shows_each_grade_of_the_chosen_term(client, coordinator):
    client.force_login(coordinator)
    body = client.get(reverse("ctcae_term_definitions"), {"term": "sepsis"}).content.decode()
    assert "Grade 4" in body and "Grade 2" not in body


def test_the_term_page_is_searchable(client, coordinator):
    client.force_login(coordinator)
    body = client.get(reverse("ctcae_terms"), {"q": "platelet"}).content.decode()
    assert "Platelet count decreased" in body and "Sepsis" not in body


def test_grade_changes_are_dated_within_the_event(coordinator, patient):
    event = record_ae(
        coordinator, patient, resolution_date=patient.infusion_date + 3 * DAY, outcome="recovered"
    )
    with pytest.raises(DomainError) as error:
        services.add_grade(
            user=coordinator, event=event, grade_on=event.onset_date + timedelta(days=10), grade=2
        )
    assert error.value.field == "grade_on"

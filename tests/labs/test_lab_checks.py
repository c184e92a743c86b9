"""Every laboratory edit check, firing and not firing; soft checks open and close queries on the result."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.contenttypes.models import ContentType

from edc.errors import DomainError
from labs.models import LabPanel, LabResult
from monitoring.models import Query, QueryStatus
from tests.labs.conftest import entry, result, save


def local_noon(visit, days_ago):
    site = visit.participant.site
    day = datetime.now(ZoneInfo(site.timezone)).date() - timedelta(days=days_ago)
    return datetime.combine(day, time(12), tzinfo=ZoneInfo(site.timezone))


def test_a_collection_time_in_the_future_is_refused(coordinator, baseline):
    from django.utils import timezone

    with pytest.raises(DomainError) as error:
        save(
            coordinator, baseline, [entry("hb", 120, "g/L")], collected_at=timezone.now() + timedelta(hours=2)
        )
    assert error.value.field == "collected_at"
    assert not LabPanel.objects.exists()


def test_a_collection_time_an_hour_ago_is_accepted(coordinator, baseline):
    save(coordinator, baseline, [entry("hb", 120, "g/L")])
    assert LabPanel.objects.count() == 1


def test_a_collection_before_consent_is_refused(coordinator, baseline):
    consent_days_ago = (baseline.target_date - baseline.participant.consent_date).days
    with pytest.raises(DomainError) as error:
        save(
            coordinator,
            baseline,
            [entry("hb", 120, "g/L")],
            collected_at=local_noon(baseline, consent_days_ago + 1),
        )
    assert error.value.field == "collected_at"


def test_a_collection_on_the_consent_day_is_accepted_with_a_window_query(coordinator, baseline):
    consent_days_ago = (baseline.target_date - baseline.participant.consent_date).days
    panel = save(
        coordinator, baseline, [entry("hb", 120, "g/L")], collected_at=local_noon(baseline, consent_days_ago)
    )
    query = Query.objects.get()
    assert (query.object_id, query.field_name, query.check_id) == (
        panel.pk,
        "collected_at",
        "LAB-VISIT-WINDOW",
    )


def test_the_window_query_closes_when_the_collection_time_is_corrected(coordinator, baseline):
    panel = save(coordinator, baseline, [entry("hb", 120, "g/L")], collected_at=local_noon(baseline, 5))
    save(coordinator, baseline, [], instance=panel, collected_at=local_noon(baseline, 1))
    assert Query.objects.get().status == QueryStatus.CLOSED


def test_a_negative_value_is_refused_on_its_row(coordinator, baseline):
    with pytest.raises(DomainError) as error:
        save(coordinator, baseline, [entry("anc", 2, "10^9/L"), entry("hb", -1, "g/L")])
    assert [(p.row, p.field) for p in error.value.problems] == [("hb", "value")]
    assert not LabResult.objects.exists() and not LabPanel.objects.exists()


def test_zero_is_not_negative(coordinator, baseline):
    panel = save(coordinator, baseline, [entry("wbc", 0, "10^9/L")])
    assert result(panel, "wbc").value == 0


@pytest.mark.parametrize(
    ("code", "value", "unit", "panel"),
    [
        ("platelets", 6000, "10^9/L", "haematology"),
        ("sodium", 50, "mmol/L", "chemistry"),
        ("hb", 30, "g/dL", "haematology"),
    ],
)
def test_an_impossible_magnitude_is_refused(coordinator, baseline, code, value, unit, panel):
    with pytest.raises(DomainError) as error:
        save(coordinator, baseline, [entry(code, value, unit)], panel=panel)
    assert [p.row for p in error.value.problems] == [code]


@pytest.mark.parametrize(
    ("code", "value", "unit", "panel"),
    [
        ("platelets", 6000, "cells/uL", "haematology"),
        ("sodium", 120, "mmol/L", "chemistry"),
        ("hb", 30, "g/L", "haematology"),
    ],
)
def test_a_possible_value_is_accepted(coordinator, baseline, code, value, unit, panel):
    saved = save(coordinator, baseline, [entry(code, value, unit)], panel=panel)
    row = result(saved, code)
    assert (row.value, row.unit) == (value, unit)


def live_queries(row):
    return Query.objects.filter(
        content_type=ContentType.objects.get_for_model(LabResult), object_id=row.pk, status=QueryStatus.OPEN
    )


def test_a_value_above_three_times_the_uln_opens_a_query_on_the_result(coordinator, baseline):
    panel = save(coordinator, baseline, [entry("alt", 121, "U/L")], panel="chemistry")  # women: ULN 40
    alt = result(panel, "alt")
    query = live_queries(alt).get()
    assert (query.field_name, query.check_id, query.participant_id) == (
        "value",
        "LAB-FAR-ABOVE",
        panel.participant_id,
    )


def test_a_value_at_three_times_the_uln_opens_no_query(coordinator, baseline):
    panel = save(coordinator, baseline, [entry("alt", 120, "U/L")], panel="chemistry")
    assert result(panel, "alt").flag == "H" and not Query.objects.exists()


def test_a_value_below_half_the_lln_opens_a_query_in_any_unit(coordinator, baseline):
    panel = save(coordinator, baseline, [entry("hb", "5.7", "g/dL")])  # LLN 11.5 g/dL: half is 5.75
    assert live_queries(result(panel, "hb")).get().check_id == "LAB-FAR-BELOW"


def test_a_value_at_half_the_lln_opens_no_query(coordinator, baseline):
    save(coordinator, baseline, [entry("hb", "57.5", "g/L")])
    assert not Query.objects.exists()


def test_the_result_query_closes_itself_when_the_value_is_corrected(coordinator, baseline):
    panel = save(coordinator, baseline, [entry("alt", 400, "U/L")], panel="chemistry")
    alt = result(panel, "alt")
    save(
        coordinator,
        baseline,
        [entry("alt", 410, "U/L")],
        panel="chemistry",
        instance=panel,
        collected_at=panel.collected_at,
    )
    assert Query.objects.count() == 1
    save(
        coordinator,
        baseline,
        [entry("alt", 41, "U/L")],
        panel="chemistry",
        instance=panel,
        collected_at=panel.collected_at,
    )
    assert not live_queries(alt).exists() and Query.objects.get().status == QueryStatus.CLOSED


def test_b_cell_aplasia_is_flagged_but_not_queried(coordinator, baseline):
    panel = save(coordinator, baseline, [entry("cd19", 0, "cells/uL")], panel="lymphocyte_subsets")
    assert result(panel, "cd19").flag == "L" and not Query.objects.exists()

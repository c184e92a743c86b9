"""History and medication start dates known to the year or the month only: entered as ``2019`` or
``2019-03``, stored with their precision, shown and exported as ISO 8601 partial dates."""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from crfs.models import MedicalCondition
from edc.partial_dates import PartialDate, Precision, iso
from medications.models import Medication
from tests.conftest import make_participant, today_at


def prior_medication(today, start):
    """The visit's medications page (a table of rows) with one new row."""
    row = {
        "agent": "Hydroxychloroquine",
        "drug_class": "antimalarial",
        "start_date": start,
        "stop_date": (today - timedelta(days=60)).isoformat(),
        "indication": "SLE",
        "period": "prior",
    }
    return {
        "medications-TOTAL_FORMS": "1",
        "medications-INITIAL_FORMS": "0",
        **{f"medications-0-{name}": value for name, value in row.items()},
        "draft": "1",
    }


@pytest.mark.parametrize(
    ("typed", "stored", "precision"),
    [
        ("2019", date(2019, 1, 1), Precision.YEAR),
        ("2019-03", date(2019, 3, 1), Precision.MONTH),
        ("2019-03-15", date(2019, 3, 15), Precision.DAY),
    ],
)
def test_a_medication_start_is_saved_to_the_precision_typed(
    client, coordinator, baseline, site_yc, typed, stored, precision
):
    client.force_login(coordinator)
    url = reverse("form_entry", args=[baseline.pk, "medications"])
    response = client.post(url, prior_medication(today_at(site_yc), typed))
    assert response.status_code == 302, response.content.decode()[:2000]
    medication = Medication.objects.get()
    assert (medication.start_date, medication.start_date_precision) == (stored, precision)
    page = client.get(reverse("form_entry_instance", args=[baseline.pk, "medications", medication.pk]))
    body = page.content.decode()
    assert f"<td>{typed}</td>" in body and f'value="{typed}"' in body


@pytest.mark.parametrize("typed", ["2019-13", "19", "March 2019", "2019-02-30"])
def test_a_start_date_that_is_no_date_is_a_field_error(client, coordinator, baseline, site_yc, typed):
    client.force_login(coordinator)
    url = reverse("form_entry", args=[baseline.pk, "medications"])
    response = client.post(url, prior_medication(today_at(site_yc), typed))
    assert response.status_code == 400 and not Medication.objects.exists()
    assert "YYYY-MM-DD" in response.content.decode()


def test_a_medical_history_condition_takes_a_year_alone(client, coordinator, site_yc):
    today = today_at(site_yc)
    p = make_participant(coordinator, site_yc, stage="consented", screened=today - timedelta(days=5))
    visit = p.visits.get(code="SCR")
    client.force_login(coordinator)
    response = client.post(
        reverse("form_entry", args=[visit.pk, "medical_history"]),
        {
            "assessed_on": visit.visit_date.isoformat(),
            "any_condition": "yes",
            "conditions-TOTAL_FORMS": "1",
            "conditions-INITIAL_FORMS": "0",
            "conditions-0-condition": "Hypertension",
            "conditions-0-start_date": "2015",
            "conditions-0-ongoing": "on",
            "draft": "1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    condition = MedicalCondition.objects.get()
    assert (condition.start_date, condition.start_date_precision) == (date(2015, 1, 1), Precision.YEAR)


def test_partial_dates_read_and_write_iso_8601():
    parsed = PartialDate.parse("2019-3")
    assert (parsed.date, parsed.precision, parsed.iso()) == (date(2019, 3, 1), Precision.MONTH, "2019-03")
    assert iso(date(2019, 3, 1), Precision.MONTH) == "2019-03" and iso(date(2019, 1, 1), "year") == "2019"
    with pytest.raises(ValueError, match="month must be in 1..12"):
        PartialDate.parse("2019-00")


def test_the_csv_export_writes_partial_dates_as_iso_8601(
    client, sponsor_admin, study, coordinator, baseline, site_yc
):
    from tests.exports.factories import read_zip, rows, run

    client.force_login(coordinator)
    client.post(
        reverse("form_entry", args=[baseline.pk, "medications"]),
        prior_medication(today_at(site_yc), "2019-03"),
    )
    job = run(sponsor_admin, study, formats=("csv",))
    files = {name.removeprefix("csv/"): content for name, content in read_zip(job).items()}
    (medication,) = rows(files["medications_wide.csv"])
    assert medication["start_date"] == "2019-03"
    dictionary = rows(files["data_dictionary.csv"])
    types = {r["type"] for r in dictionary if r["variable"] == "start_date" and r["file"] == "medications"}
    assert types == {"partial_date"}

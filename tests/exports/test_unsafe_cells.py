"""Every CSV the export writes is safe to open in a spreadsheet and reads as data (issue 17): a value
that begins like a formula is neutralised in every CSV of a full export, numbers stay numbers, time
stamps are ISO 8601, decimals carry no padding, files start with a BOM unless asked not to."""

import csv
import io
import re
from decimal import Decimal

import pgtrigger
import pytest

from exports.csvfile import FORMULA_START
from labs.models import LabResult
from tests.exports.factories import read_zip, run
from tests.exports.test_deidentified_leaks import every_record, plant

ALL_FORMATS = ("csv", "odm", "sdtm", "adam", "audit")
ISO_INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def formula(index: int, field) -> str:
    """A value starting with each formula character in turn, short enough for the field."""
    start = FORMULA_START[index % len(FORMULA_START)]
    return (start + f"F{index}+1")[: field.max_length or 50]


@pytest.fixture
def full_export(study, coordinator, coordinator_cd, monitor, investigator, sponsor_admin, site_yc, site_cd):
    every_record(
        coordinator=coordinator,
        coordinator_cd=coordinator_cd,
        monitor=monitor,
        investigator=investigator,
        site_yc=site_yc,
        site_cd=site_cd,
    )
    planted = plant(formula)
    with pgtrigger.ignore():
        LabResult.objects.filter(analyte="wbc").update(value=Decimal("-1.500000"), lln=Decimal("0.500000"))
    files = read_zip(run(sponsor_admin, study, formats=ALL_FORMATS))
    return planted, files


def csv_files(files) -> dict[str, list[list[str]]]:
    return {
        name: list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
        for name, content in files.items()
        if name.endswith(".csv")
    }


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_no_cell_of_any_csv_starts_like_a_formula_and_negative_numbers_stay_numbers(full_export):
    planted, files = full_export
    tables = csv_files(files)
    assert {name.split("/")[0] for name in tables} == {"csv", "sdtm", "adam", "audit"}
    for name, rows in tables.items():
        for row in rows:
            for value in row:
                if value.startswith("-"):
                    assert is_number(value), (name, value)  # a number, written as one
                else:
                    assert not value.startswith(FORMULA_START), (name, value)
    everything = "\n".join(
        content.decode("utf-8-sig") for name, content in files.items() if name.endswith(".csv")
    )
    neutralised = [text for text in planted.values() if "'" + text in everything]
    assert len(neutralised) > 20  # the planted values are in the files, quoted


def test_numbers_are_written_as_numbers_without_padding(full_export):
    _planted, files = full_export
    results = list(csv.DictReader(io.StringIO(files["csv/labs.results_wide.csv"].decode("utf-8-sig"))))
    wbc = next(r for r in results if r["analyte"] == "wbc")
    assert (wbc["value"], wbc["lln"]) == ("-1.5", "0.5")
    text = {name: c.decode("utf-8-sig") for name, c in files.items() if name.endswith((".csv", ".xml"))}
    assert [name for name, content in text.items() if "0.500000" in content] == []


def test_reference_ranges_are_written_as_their_text(full_export):
    _planted, files = full_export
    results = list(csv.DictReader(io.StringIO(files["csv/labs.results_wide.csv"].decode("utf-8-sig"))))
    ranges = {r["reference_range"] for r in results if r["reference_range"]}
    assert ranges and all(re.match(r"^[\d.]*–[\d.]* \S+", text) for text in ranges), ranges


def test_time_stamps_are_iso_8601(full_export):
    _planted, files = full_export
    trail = list(csv.DictReader(io.StringIO(files["audit/audit_trail.csv"].decode("utf-8-sig"))))
    assert trail and all(ISO_INSTANT.match(r["at_utc"]) for r in trail)
    panels = list(csv.DictReader(io.StringIO(files["csv/labs_wide.csv"].decode("utf-8-sig"))))
    assert panels and all(ISO_INSTANT.match(r["collected_at"]) for r in panels if r["collected_at"])


def test_every_csv_file_has_unique_columns_and_starts_with_a_bom(full_export):
    _planted, files = full_export
    for name, content in files.items():
        if name.endswith(".csv"):
            assert content.startswith(b"\xef\xbb\xbf"), name
            header = next(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
            assert len(header) == len(set(header)), name


def test_the_dictionary_describes_the_key_and_label_columns(full_export):
    _planted, files = full_export
    dictionary = list(csv.DictReader(io.StringIO(files["csv/data_dictionary.csv"].decode("utf-8-sig"))))
    described = {(d["file"], d["variable"]) for d in dictionary}
    for name, content in files.items():
        if name.startswith("csv/") and name.endswith("_wide.csv"):
            table = name.removeprefix("csv/").removesuffix("_wide.csv")
            header = next(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
            assert {(table, column) for column in header} <= described, table
    roles = {d["role"] for d in dictionary}
    assert roles == {"key", "data", "label", "missing_reason"}


def test_an_export_without_bom_has_none(sponsor_admin, study, coordinator, site_yc):
    from tests.exports.factories import infused_participant

    infused_participant(coordinator, site_yc)
    files = read_zip(run(sponsor_admin, study, formats=("csv", "audit"), bom=False))
    assert all(not c.startswith(b"\xef\xbb\xbf") for name, c in files.items() if name.endswith(".csv"))

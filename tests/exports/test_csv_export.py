"""CSV files: the long file re-pivoted equals the wide one; coded values carry labels; a dictionary."""

from collections import defaultdict

import pytest
from django.db.models.query import QuerySet

from exports import csv_export
from exports.options import ExportOptions
from tests.exports.factories import infused_participant, read_zip, rows, run


@pytest.fixture
def files(sponsor_admin, study, coordinator, coordinator_cd, site_yc, site_cd):
    infused_participant(coordinator, site_yc)
    infused_participant(coordinator_cd, site_cd, initials="ZZ")
    job = run(sponsor_admin, study, formats=("csv",))
    return {name.removeprefix("csv/"): content for name, content in read_zip(job).items()}


def repivot(long_rows, columns):
    by_record = defaultdict(dict)
    for row in long_rows:
        by_record[row["record_id"]][row["variable"]] = row["value"]
    return {record: [values.get(c, "") for c in columns] for record, values in by_record.items()}


def test_long_files_repivoted_equal_the_wide_files(files):
    tables = [name.removesuffix("_wide.csv") for name in files if name.endswith("_wide.csv")]
    assert len(tables) > 10
    checked = 0
    for table in tables:
        wide = rows(files[f"{table}_wide.csv"])
        long = rows(files[f"{table}_long.csv"])
        columns = [
            c
            for c in (wide[0].keys() if wide else [])
            if c not in csv_export.WIDE_KEYS and not c.endswith("_label")
        ]
        expected = {r["record_id"]: [r[c] for c in columns] for r in wide if any(r[c] for c in columns)}
        assert repivot(long, columns) == expected, table
        checked += bool(wide)
    assert checked >= 4


def test_coded_values_carry_their_labels(files):
    demographics = rows(files["demographics_wide.csv"])
    assert {(r["ethnicity"], r["ethnicity_label"]) for r in demographics} == {("han", "Han Chinese")}
    long = rows(files["demographics_long.csv"])
    assert {r["label"] for r in long if r["variable"] == "ethnicity"} == {"Han Chinese"}


def test_wide_rows_carry_study_id_site_visit_and_study_day(files):
    vitals = rows(files["vital_signs_wide.csv"])
    assert {r["site"] for r in vitals} == {"YC", "CD"}
    assert {r["visit"] for r in vitals} == {"D1"}
    assert all(r["study_id"] for r in vitals)
    assert {r["study_day"] for r in vitals} <= {"0", "1", "2"}


def test_dictionary_describes_every_variable_with_type_unit_codes_and_rule_version(files):
    dictionary = rows(files["data_dictionary.csv"])
    by_key = {(d["file"], d["variable"]): d for d in dictionary}
    for name, content in files.items():
        if name.endswith("_wide.csv"):
            table = name.removesuffix("_wide.csv")
            header = rows(content)[0].keys() if rows(content) else []
            for column in header:
                if column not in csv_export.WIDE_KEYS and not column.endswith("_label"):
                    assert (table, column) in by_key, (table, column)
    weight = by_key[("vital_signs", "weight_kg")]
    assert (weight["type"], weight["unit"]) == ("decimal", "kg")
    assert by_key[("vital_signs", "bmi")]["derived"] == "yes"
    assert "han=Han Chinese" in by_key[("demographics", "ethnicity")]["code_list"]
    derived_with_rule = [d for d in dictionary if d["derived"] and d["rule_version"]]
    assert any(d["rule_version"] == "grade_rule_version" for d in derived_with_rule)


def test_csv_writer_streams_from_server_side_cursors(
    study, sponsor_admin, coordinator, site_yc, tmp_path, monkeypatch
):
    infused_participant(coordinator, site_yc)

    def loads_whole_table(self):
        raise AssertionError("a queryset was loaded whole instead of streamed")

    monkeypatch.setattr(QuerySet, "_fetch_all", loads_whole_table)
    counts = csv_export.write_csv(
        study=study, options=ExportOptions(study_id=study.pk, deidentify=True), directory=tmp_path
    )
    assert counts["vital_signs_wide.csv"] == 1

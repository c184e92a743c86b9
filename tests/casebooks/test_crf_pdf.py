"""Blank and annotated CRFs: every form the protocol schedules, and SDTM annotations that name only
variables the SDTM export writes (from the same mapping, so they cannot drift)."""

import re

import pandas as pd
import pytest
from pypdf import PdfReader

from casebooks import render
from crfs.registry import FORMS
from exports import sdtm, sdtm_annotations
from exports.options import ExportOptions


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _read(content: bytes) -> PdfReader:
    import io

    return PdfReader(io.BytesIO(content))


def _annotated_fields(code):
    return sdtm_annotations.annotations(code).items()


def test_the_blank_crf_has_every_form_the_protocol_schedules_one_bookmark_each(study):
    scheduled = [code for code, _visits in render.scheduled_forms(study)]
    assert set(scheduled) >= {"eligibility", "vital_signs", "labs", "sledai", "crs", "end_of_study", "death"}
    reader = _read(render.crf_pdf(study))
    text = _squash("".join(page.extract_text() for page in reader.pages))
    titles = [str(FORMS[code].title) for code in scheduled]
    assert [entry["/Title"] for entry in reader.outline] == titles
    assert all(_squash(title) in text for title in titles)
    assert "VS.VSORRES" not in text


def test_the_schedule_of_the_crf_is_the_protocols(study):
    visits = dict(render.scheduled_forms(study))
    assert visits["infusion"] == ["D0"]
    assert visits["end_of_study"][0] == "M24"
    assert "SCR" in visits["eligibility"] and "D28" in visits["crs"]


def test_every_annotated_field_is_a_field_of_its_form():
    for code, spec in FORMS.items():
        model = spec.model
        for key, _annotations in _annotated_fields(code):
            if "." in key:
                relation, name = key.split(".")
                model_of_rows = model._meta.get_field(relation).related_model
                assert name in {f.name for f in model_of_rows._meta.concrete_fields}, (code, key)
            else:
                assert key in {f.name for f in model._meta.concrete_fields}, (code, key)


def test_the_annotated_crf_labels_fields_with_their_sdtm_variable(study):
    text = _squash(
        "".join(page.extract_text() for page in _read(render.crf_pdf(study, annotated=True)).pages)
    )
    for _key, annotations in _annotated_fields("vital_signs"):
        for annotation in annotations:
            assert _squash(annotation.label) in text
    assert "VS.VSORRES" in text and "LB.LBORRES" in text and "NOTSUBMITTED" in text


@pytest.fixture
def sdtm_files(seeded_demo, tmp_path):
    from tests.exports.test_odm_export import seed_demo_study

    study, _p = seed_demo_study()
    counts = sdtm.write_sdtm(
        study=study, options=ExportOptions(study_id=study.pk, formats=("sdtm",)), directory=tmp_path
    )
    return {
        name[:-4]: pd.read_csv(tmp_path / name, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        for name in counts
        if name.endswith(".csv") and name != "define.csv"
    }


def _annotations():
    for code in FORMS:
        for key, annotations in _annotated_fields(code):
            for annotation in annotations:
                yield code, key, annotation
    for panel, _title in __import__("labs.analytes", fromlist=["Panel"]).Panel.choices:
        for _analyte, annotation in sdtm_annotations.lab_results(panel):
            yield "labs", "results.value", annotation


def _entered(code, key) -> bool:
    """Whether some live record of form ``code`` holds a value in field ``key`` ("relation.field")."""
    model = FORMS[code].model
    records = model.objects.filter(entered_in_error=False)
    if "." in key:
        relation, key = key.split(".")
        rows = model._meta.get_field(relation).related_model.objects
        link = model._meta.get_field(relation).field.name
        records = rows.filter(**{f"{link}__entered_in_error": False})
    return any(value not in (None, "", False) for value in records.values_list(key, flat=True))


def test_every_annotation_names_a_variable_that_the_sdtm_export_writes(sdtm_files):
    checked = []
    for code, key, annotation in _annotations():
        domain = sdtm.DOMAINS[annotation.domain]
        assert annotation.variable in {v.name for v in domain.variables}, (code, key, annotation)
        frame = sdtm_files.get(annotation.domain)
        if frame is None:
            continue  # no row of this domain in the demo data: the dataset is not shipped
        assert annotation.variable in frame.columns, (code, key, annotation)
        rows = frame
        if annotation.where:
            column, value = (part.strip() for part in annotation.where.split("="))
            rows = frame[frame[column] == value]
        if "LBSTAT" in rows.columns and annotation.variable != "LBSTAT":
            rows = rows[rows["LBSTAT"] != "NOT DONE"]  # a result not done has no value, by design
        if len(rows) and _entered(code, key):
            # Where the demo has such a value entered, the export writes it in the annotated variable.
            assert (rows[annotation.variable] != "").any(), (code, key, annotation)
            checked.append(annotation.label)
    assert "VS.VSORRES when VSTESTCD = TEMP" in checked and "FA.FAORRES when FATESTCD = TMAX" in checked
    assert (
        "CM.CMTRT when CMCAT = PRIOR SLE TREATMENT" in checked and "RS.RSORRES when RSTESTCD = PGA" in checked
    )
    assert len(set(checked)) >= 30

"""Why a value is missing ("not done", "unknown", "not applicable") and dates known to the year or month
reach every export: CSV columns described in the data dictionary, ODM null items with the vendor reason,
SDTM --STAT/--REASND and ISO 8601 partial --STDTC; hostile text beside them cannot break the CSVs."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pandas as pd
import pytest
from django.db import connection
from django.urls import reverse
from lxml import etree

from crfs.models import MedicalCondition, MissingValue, VitalSigns
from crfs.registry import FORMS
from crfs.services import save_form
from exports import odm, sdtm
from exports.csvfile import FORMULA_START
from exports.options import ExportOptions
from medications.models import Medication
from tests.conftest import make_participant, today_at
from tests.exports.factories import read_zip, rows, run

NS = {"odm": odm.ODM_NS, "edc": odm.EDC_NS}
HOSTILE = [
    "=cmd|' /C calc'!A0",
    "<script>alert(1)</script>",
    'He said "fine", then left',
    "two\nlines",
    "系统性红斑狼疮",
]


@pytest.fixture
def recorded(client, study, coordinator, site_yc):
    """An infused participant: Day 1 vital signs with the weight not done and the ethnicity unknown; a
    medication started in March 2019 and history conditions known to the year, named with hostile text."""
    today = today_at(site_yc)
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=40), infused=today - timedelta(days=10)
    )
    day1 = p.visits.get(code="D1")
    save_form(
        user=coordinator,
        spec=FORMS["vital_signs"],
        visit=day1,
        data={
            "assessed_on": p.infusion_date + timedelta(days=1),
            "heart_rate": 80,
            "missing": {"weight_kg": "not_done", "height_cm": "not_done"},
        },
    )
    client.force_login(coordinator)
    baseline = p.visits.get(code="BL")
    response = client.post(
        reverse("medication_rows", args=[baseline.pk]),
        {
            "medications-TOTAL_FORMS": "1",
            "medications-INITIAL_FORMS": "0",
            "medications-0-agent": "Hydroxychloroquine",
            "medications-0-drug_class": "antimalarial",
            "medications-0-start_date": "2019-03",
            "medications-0-stop_date": (p.consent_date - timedelta(days=20)).isoformat(),
            "medications-0-period": "prior",
            "draft": "1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    screening = p.visits.get(code="SCR")
    form = {
        "assessed_on": screening.visit_date.isoformat(),
        "any_condition": "yes",
        "conditions-TOTAL_FORMS": str(len(HOSTILE)),
        "conditions-INITIAL_FORMS": "0",
        "draft": "1",
    }
    for i, name in enumerate(HOSTILE):
        form |= {f"conditions-{i}-condition": name, f"conditions-{i}-start_date": "2015"}
        form[f"conditions-{i}-ongoing"] = "on"
    response = client.post(reverse("form_entry", args=[screening.pk, "medical_history"]), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert MedicalCondition.objects.filter(start_date_precision="year").count() == len(HOSTILE)
    assert Medication.objects.get().start_date_precision == "month"
    demographics = FORMS["demographics"].model.objects.get(participant=p)
    save_form(
        user=coordinator,
        spec=FORMS["demographics"],
        visit=demographics.visit,
        instance=demographics,
        data={"ethnicity": "", "missing": {"ethnicity": "unknown"}},
        reason="asked again: the participant does not know",
        expected_version=demographics.version,
    )
    return p


def csv_bundle(user, study, **options):
    job = run(user, study, formats=("csv",), **options)
    return {name.removeprefix("csv/"): content for name, content in read_zip(job).items()}


# --- CSV -------------------------------------------------------------------------------------------


def test_the_csv_bundle_says_why_a_field_is_empty_beside_it(recorded, sponsor_admin, study):
    files = csv_bundle(sponsor_admin, study)
    (vitals,) = rows(files["vital_signs_wide.csv"])
    reason = (vitals["weight_kg_missing_reason"], vitals["weight_kg_missing_reason_label"])
    assert (vitals["weight_kg"], *reason) == ("", "not_done", "Not done")
    assert (vitals["heart_rate"], vitals["heart_rate_missing_reason"]) == ("80", "")
    header = list(rows(files["vital_signs_wide.csv"])[0])
    assert header.index("weight_kg_missing_reason") == header.index("weight_kg") + 1
    long = rows(files["vital_signs_long.csv"])
    assert [(r["value"], r["label"]) for r in long if r["variable"] == "weight_kg_missing_reason"] == [
        ("not_done", "Not done")
    ]
    dictionary = {(d["file"], d["variable"]): d for d in rows(files["data_dictionary.csv"])}
    entry = dictionary[("vital_signs", "weight_kg_missing_reason")]
    assert entry["role"] == "missing_reason" and entry["type"] == "coded"
    assert entry["code_list"] == "not_done=Not done; unknown=Unknown; not_applicable=Not applicable"
    assert "weight (kg)" in entry["label"]
    (demographics,) = rows(files["demographics_wide.csv"])
    assert demographics["ethnicity_missing_reason"] == "unknown"


def test_a_reason_withdrawn_leaves_the_column_empty(recorded, coordinator, sponsor_admin, study):
    form = VitalSigns.objects.get()
    save_form(
        user=coordinator,
        spec=FORMS["vital_signs"],
        visit=form.visit,
        instance=form,
        data={"weight_kg": Decimal("61.5"), "missing": {"weight_kg": ""}},
        expected_version=form.version,
    )
    (vitals,) = rows(csv_bundle(sponsor_admin, study)["vital_signs_wide.csv"])
    assert (vitals["weight_kg"], vitals["weight_kg_missing_reason"]) == ("61.5", "")


def test_the_csv_bundle_writes_partial_dates_to_their_precision(recorded, sponsor_admin, study):
    files = csv_bundle(sponsor_admin, study)
    conditions = rows(files["medical_history.conditions_wide.csv"])
    assert {c["start_date"] for c in conditions} == {"2015"}
    (medication,) = rows(files["medications_wide.csv"])
    assert medication["start_date"] == "2019-03"


def test_a_partial_date_has_no_study_day_in_a_study_day_export(recorded, sponsor_admin, study):
    files = csv_bundle(sponsor_admin, study, deidentify=True, date_mode="study_day")
    (medication,) = rows(files["medications_wide.csv"])
    assert medication["start_date_study_day"] == ""  # March 2019 has no day to count from
    assert medication["stop_date_study_day"].lstrip("-").isdigit()


def test_hostile_text_beside_reasons_and_partial_dates_cannot_break_or_poison_the_csvs(
    recorded, sponsor_admin, study
):
    # A reason and a precision written past the application (their columns are coded, not free text).
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE crfs_missingvalue SET reason = %s WHERE field_name = 'height_cm'", ["=cmd|'/C calc'!A"]
        )
        cursor.execute(
            "UPDATE crfs_medicalcondition SET start_date_precision = %s WHERE condition = %s",
            ["=1+1", HOSTILE[1]],
        )
    job = run(sponsor_admin, study, formats=("csv", "sdtm"))
    files = {name: content for name, content in read_zip(job).items() if name.endswith(".csv")}
    for name, content in files.items():
        table = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
        assert {len(row) for row in table} == {len(table[0])}, name  # no row broken into others
        for row in table:
            for cell in row:
                assert cell.startswith("-") or not cell.startswith(FORMULA_START), (name, cell)
    conditions = rows(files["csv/medical_history.conditions_wide.csv"])
    assert sorted(c["condition"] for c in conditions) == sorted(
        ["'" + HOSTILE[0], *HOSTILE[1:]]
    )  # quoted against formulas, every other character kept (the newline and the Chinese too)
    by_name = {c["condition"]: c for c in conditions}
    assert by_name[HOSTILE[1]]["start_date"] == "2015-01-01"  # an unknown precision: the full date
    assert by_name[HOSTILE[1]]["start_date_precision"] == "'=1+1"
    (vitals,) = rows(files["csv/vital_signs_wide.csv"])
    assert vitals["height_cm_missing_reason"] == "'=cmd|'/C calc'!A"
    assert vitals["height_cm_missing_reason_label"] == ""  # not a reason the application knows
    mh = rows(files["sdtm/MH.csv"])
    assert {r["MHSTDTC"] for r in mh if r["MHCAT"] == "GENERAL MEDICAL HISTORY"} == {"2015", "2015-01-01"}


# --- ODM -------------------------------------------------------------------------------------------


def odm_document(study, tmp_path, **options):
    path = tmp_path / "odm.xml"
    options = ExportOptions(study_id=study.pk, formats=("odm",), **options)
    odm.write_odm(study=study, options=options, path=path)
    return etree.parse(str(path))


def test_odm_writes_an_explained_empty_field_as_a_null_item_with_the_reason(recorded, study, tmp_path):
    document = odm_document(study, tmp_path)
    weight = document.find(".//odm:ItemData[@ItemOID='IT.VITAL_SIGNS.WEIGHT_KG']", NS)
    assert weight.get("IsNull") == "Yes" and weight.get("Value") is None
    assert weight.get(f"{{{odm.EDC_NS}}}MissingReason") == "not_done"
    assert document.find(".//odm:ItemData[@ItemOID='IT.VITAL_SIGNS.RESPIRATORY_RATE']", NS) is None
    assert odm.extension_schema(tmp_path).validate(document), odm.extension_schema(tmp_path).error_log
    plain = odm.without_extensions(document)
    assert odm.odm_schema().validate(plain), odm.odm_schema().error_log
    stripped = plain.find(".//odm:ItemData[@ItemOID='IT.VITAL_SIGNS.WEIGHT_KG']", NS)
    assert dict(stripped.attrib) == {"ItemOID": "IT.VITAL_SIGNS.WEIGHT_KG", "IsNull": "Yes"}


def test_odm_writes_partial_dates_to_their_precision(recorded, study, tmp_path):
    document = odm_document(study, tmp_path)
    medication = document.find(".//odm:ItemData[@ItemOID='IT.MEDICATIONS.START_DATE']", NS)
    assert medication.get("Value") == "2019-03"
    starts = document.findall(".//odm:ItemData[@ItemOID='IT.MEDICAL_HISTORY.CONDITIONS.START_DATE']", NS)
    assert {item.get("Value") for item in starts} == {"2015"}
    definition = document.find(".//odm:ItemDef[@OID='IT.MEDICATIONS.START_DATE']", NS)
    assert definition.get("DataType") == "partialDate"


def test_odm_gives_a_partial_date_no_study_day(recorded, study, tmp_path):
    document = odm_document(study, tmp_path, deidentify=True, date_mode="study_day")
    assert document.find(".//odm:ItemData[@ItemOID='IT.MEDICATIONS.START_DATE']", NS) is None
    stop = document.find(".//odm:ItemData[@ItemOID='IT.MEDICATIONS.STOP_DATE']", NS)
    assert int(stop.get("Value")) < 0


# --- SDTM ------------------------------------------------------------------------------------------


def sdtm_domain(study, tmp_path, name):
    options = ExportOptions(study_id=study.pk, formats=("sdtm",))
    sdtm.write_sdtm(study=study, options=options, directory=tmp_path)
    path = tmp_path / f"{name.upper()}.csv"
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def test_sdtm_vs_records_a_measurement_not_done_with_stat_and_reason(recorded, study, tmp_path):
    vs = sdtm_domain(study, tmp_path, "vs").set_index("VSTESTCD")
    weight = vs.loc["WEIGHT"]
    assert (weight["VSSTAT"], weight["VSREASND"], weight["VSORRES"], weight["VSORRESU"]) == (
        "NOT DONE",
        "NOT RECORDED ON THE CRF",
        "",
        "",
    )
    heart = vs.loc["HR"]
    assert (heart["VSSTAT"], heart["VSREASND"], heart["VSORRES"]) == ("", "", "80")
    assert "RESP" not in vs.index  # left empty without a reason: no record


def test_sdtm_dm_says_an_unknown_ethnicity_is_unknown(recorded, study, tmp_path):
    (dm,) = sdtm_domain(study, tmp_path, "dm").to_dict("records")
    assert (dm["ETHNIC"], dm["RACE"]) == ("UNKNOWN", "UNKNOWN")


def test_sdtm_start_dates_are_iso_8601_partial_dates_without_a_study_day(recorded, study, tmp_path):
    cm = sdtm_domain(study, tmp_path, "cm").to_dict("records")
    (medication,) = [r for r in cm if r["CMCAT"] == "PRIOR"]
    assert (medication["CMSTDTC"], medication["CMSTDY"]) == ("2019-03", "")
    mh = pd.read_csv(tmp_path / "MH.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    general = mh[mh["MHCAT"] == "GENERAL MEDICAL HISTORY"]
    assert set(general["MHSTDTC"]) == {"2015"} and len(general) == len(HOSTILE)
    assert not MissingValue.objects.filter(reason="").exists()


def test_the_shipped_extension_schema_allows_exactly_the_reasons_the_crf_offers():
    from crfs.models import MissingReason

    schema = etree.parse(str(odm.SCHEMA_DIR / odm.EXTENSION_XSD_FILE))
    xs = {"xs": "http://www.w3.org/2001/XMLSchema"}
    values = schema.xpath("//xs:attribute[@name='MissingReason']//xs:enumeration/@value", namespaces=xs)
    assert sorted(values) == sorted(MissingReason.values)


def test_pure_odm_keeps_the_null_item_without_the_vendor_reason(recorded, study, tmp_path):
    document = odm_document(study, tmp_path, odm_pure=True)
    weight = document.find(".//odm:ItemData[@ItemOID='IT.VITAL_SIGNS.WEIGHT_KG']", NS)
    assert dict(weight.attrib) == {"ItemOID": "IT.VITAL_SIGNS.WEIGHT_KG", "IsNull": "Yes"}
    assert odm.odm_schema().validate(document), odm.odm_schema().error_log

"""The ADaM export (issue 17): ADSL one record per participant with its populations and treatments,
ADEFF as a Basic Data Structure (one record per parameter per visit, ABLFL, BASE, CHG, numeric
analysis dates with DATE9., study days without day 0), ADAE with TRTEMFL and the CAR-T windows, a
Define-XML 2.1 for ADaM that names every dataset and variable, and de-identification that shifts
every date as the SDTM files do."""

# ruff: noqa: F811 - the efficacy tests' hand participant is imported as a fixture

import csv
import io
import re
import zipfile
from datetime import date, timedelta
from pathlib import Path

import odmlib
import pyreadstat
import pytest
from django.urls import reverse
from lxml import etree

from exports import adam, deid
from exports.options import ExportOptions
from tests.adverse_events.factories import record_ae
from tests.conftest import make_participant
from tests.efficacy.conftest import empty_cache, hand_participant  # noqa: F401 - fixtures
from tests.exports.factories import read_zip, run
from trials import services as trial_services

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}
DATE_VARIABLES = {
    "ADSL": ("ENRLDT", "LDSTDT", "TRTSDT", "TRTEDT", "EOSDT"),
    "ADEFF": ("ADT",),
    "ADAE": ("TRTSDT", "ASTDT", "AENDT"),
}
SAS_EPOCH = date(1960, 1, 1)


def write(study, directory: Path, **options) -> dict[str, int]:
    return adam.write_adam(
        study=study,
        options=ExportOptions(study_id=study.pk, formats=("adam",), **options),
        directory=directory,
    )


def table(directory: Path, name: str) -> list[dict]:
    with (directory / f"{name}.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def xpt(directory: Path, name: str):
    """The transport file read back with pyreadstat: dates formatted DATE9. come back as dates."""
    return pyreadstat.read_xport(str(directory / f"{name}.xpt"))


def by_subject(rows, usubjid):
    return [r for r in rows if r["USUBJID"] == usubjid]


@pytest.fixture
def three(coordinator, site_yc, hand_participant):
    """A screen failure, a participant enrolled but not infused, and the infused hand participant."""
    failed = make_participant(coordinator, site_yc, stage="consented", initials="SF")
    failed = trial_services.record_eligibility(
        user=coordinator,
        participant=failed,
        met=False,
        assessed_on=failed.consent_date,
        screen_failure_reason="SELENA-SLEDAI below 6",
    )
    enrolled = make_participant(coordinator, site_yc, stage="enrolled", initials="EN")
    return failed, enrolled, hand_participant


@pytest.fixture
def exported(three, tmp_path):
    study = three[2].site.study
    counts = write(study, tmp_path)
    return tmp_path, counts, three


def usubjid(p) -> str:
    return f"UDCAR-SLE-{p.screening_number}"


# --- ADSL -------------------------------------------------------------------------------------------


def test_adsl_has_one_record_per_participant_with_the_population_flags(exported):
    directory, _counts, (failed, enrolled, infused) = exported
    adsl = {r["USUBJID"]: r for r in table(directory, "ADSL")}
    assert len(table(directory, "ADSL")) == len(adsl) == 3
    flags = {key: (r["ENRLFL"], r["SAFFL"], r["EFFFL"]) for key, r in adsl.items()}
    assert flags == {
        usubjid(failed): ("N", "N", "N"),
        usubjid(enrolled): ("Y", "N", "N"),
        usubjid(infused): ("Y", "Y", "Y"),
    }


def test_an_infused_participant_without_efficacy_assessments_is_safety_but_not_efficacy(
    coordinator, site_yc, tmp_path
):
    from tests.exports.factories import infused_participant

    p = infused_participant(coordinator, site_yc)
    write(p.site.study, tmp_path)
    (row,) = table(tmp_path, "ADSL")
    assert (row["SAFFL"], row["EFFFL"]) == ("Y", "N")


def test_trt01p_is_the_dose_level_assigned_and_trt01a_the_one_infused(exported):
    directory, _counts, (failed, enrolled, infused) = exported
    adsl = {r["USUBJID"]: r for r in table(directory, "ADSL")}
    level = infused.dose_level
    assert (adsl[usubjid(infused)]["TRT01P"], adsl[usubjid(infused)]["TRT01A"]) == (level.label, level.label)
    assert (adsl[usubjid(infused)]["TRT01PN"], adsl[usubjid(infused)]["TRT01AN"]) == ("1", "1")
    assert (adsl[usubjid(enrolled)]["TRT01P"], adsl[usubjid(enrolled)]["TRT01A"]) == (level.label, "")
    assert adsl[usubjid(enrolled)]["TRT01AN"] == ""
    assert (adsl[usubjid(failed)]["TRT01P"], adsl[usubjid(failed)]["TRT01PN"]) == ("", "")


def test_adsl_carries_the_treatment_dates_and_baseline_values(exported):
    directory, _counts, (_failed, _enrolled, infused) = exported
    row = next(r for r in table(directory, "ADSL") if r["USUBJID"] == usubjid(infused))
    assert date.fromisoformat(row["TRTSDT"]) == infused.infusion_date == date.fromisoformat(row["TRTEDT"])
    assert date.fromisoformat(row["LDSTDT"]) == infused.lymphodepletion_start_date
    # Baseline (clinical-rules.md decision 8): the day -5 assessment, SLEDAI-2K 14, clinical 10, PGA 2.0.
    assert (row["BSLEDAI"], row["BCSLEDAI"], row["BPGA"], row["BPREDEQ"]) == ("14", "10", "2", "10")
    assert row["BBILAG"] == "DBDBDDDBD"


def test_adsl_identifiers_and_demographics_are_those_of_sdtm_dm(three, tmp_path):
    from exports import sdtm

    study = three[0].site.study
    for deidentify in (False, True):
        options = ExportOptions(study_id=study.pk, formats=("sdtm", "adam"), deidentify=deidentify)
        sdtm.write_sdtm(study=study, options=options, directory=tmp_path / f"sdtm{deidentify}")
        adam.write_adam(study=study, options=options, directory=tmp_path / f"adam{deidentify}")
        dm = {r["USUBJID"]: r for r in table(tmp_path / f"sdtm{deidentify}", "DM")}
        adsl = {r["USUBJID"]: r for r in table(tmp_path / f"adam{deidentify}", "ADSL")}
        assert set(adsl) == set(dm)
        for key, row in adsl.items():
            for name in ("STUDYID", "SUBJID", "SITEID", "AGE", "SEX", "RACE", "ETHNIC", "ARM", "ACTARM"):
                assert row[name] == dm[key][name], (key, name)


# --- ADEFF ------------------------------------------------------------------------------------------


def test_adeff_has_one_record_per_parameter_per_visit(exported):
    directory, _counts, (_failed, _enrolled, infused) = exported
    rows = by_subject(table(directory, "ADEFF"), usubjid(infused))
    keys = [(r["PARAMCD"], r["AVISIT"]) for r in rows]
    assert len(keys) == len(set(keys))
    follow_up = ["Day 28", "Month 3", "Month 6", "Month 9"]
    for param in adam.PARAMS:
        visits = [r["AVISIT"] for r in rows if r["PARAMCD"] == param.code]
        assert visits == (["Baseline"] if param.baseline else []) + follow_up, param.code
    assert {r["PARAM"] for r in rows} == {p.name for p in adam.PARAMS}


def test_ady_is_never_0_and_counts_from_trtsdt_without_day_0(exported):
    directory, _counts, (_failed, _enrolled, infused) = exported
    frame, _meta = xpt(directory, "ADEFF")
    assert len(frame) and not (frame["ADY"] == 0).any()
    trtsdt = infused.infusion_date
    for adt, ady in zip(frame["ADT"], frame["ADY"], strict=True):
        days = (adt - trtsdt).days
        assert ady == (days + 1 if days >= 0 else days)
    rows = by_subject(table(directory, "ADEFF"), usubjid(infused))
    assert {r["AVISIT"]: r["ADY"] for r in rows if r["PARAMCD"] == "SLEDAI2K"} == {
        "Baseline": "-5", "Day 28": "29", "Month 3": "91", "Month 6": "181", "Month 9": "271",
    }  # fmt: skip


def test_ablfl_marks_exactly_one_baseline_record_per_parameter_and_participant(exported):
    directory, _counts, _three = exported
    rows = table(directory, "ADEFF")
    flagged = [(r["USUBJID"], r["PARAMCD"]) for r in rows if r["ABLFL"] == "Y"]
    assert len(flagged) == len(set(flagged))
    expected = {(r["USUBJID"], p.code) for r in rows for p in adam.PARAMS if p.baseline}
    assert set(flagged) == expected
    assert all(r["ABLFL"] in ("Y", "") for r in rows)


def test_base_and_chg_follow_the_baseline_record(exported):
    directory, _counts, (_failed, _enrolled, infused) = exported
    rows = by_subject(table(directory, "ADEFF"), usubjid(infused))
    sledai = {r["AVISIT"]: r for r in rows if r["PARAMCD"] == "SLEDAI2K"}
    assert {visit: (r["AVAL"], r["BASE"], r["CHG"]) for visit, r in sledai.items()} == {
        "Baseline": ("14", "14", ""), "Day 28": ("4", "14", "-10"), "Month 3": ("2", "14", "-12"),
        "Month 6": ("0", "14", "-14"), "Month 9": ("0", "14", "-14"),
    }  # fmt: skip
    pga = {r["AVISIT"]: r["CHG"] for r in rows if r["PARAMCD"] == "PGA"}
    assert (pga["Day 28"], pga["Month 9"]) == ("-1.6", "")  # Month 9's PGA is a draft: not evaluable
    for row in rows:
        if row["CHG"]:
            assert float(row["CHG"]) == pytest.approx(float(row["AVAL"]) - float(row["BASE"]))


def test_responses_are_y_or_n_with_aval_1_or_0_and_not_evaluable_visits_keep_their_record(exported):
    directory, _counts, (_failed, _enrolled, infused) = exported
    rows = by_subject(table(directory, "ADEFF"), usubjid(infused))
    value = {(r["PARAMCD"], r["AVISIT"]): (r["AVALC"], r["AVAL"]) for r in rows}
    assert value[("SRI4", "Month 3")] == ("Y", "1")
    assert value[("DFDORISA", "Month 3")] == ("N", "0")
    assert value[("DFDORISA", "Month 6")] == ("Y", "1")
    assert value[("DFDORIS", "Month 6")] == ("N", "0")
    assert value[("LLDASRUN", "Month 6")] == ("", "90")
    m9 = next(r for r in rows if (r["PARAMCD"], r["AVISIT"]) == ("LLDAS", "Month 9"))
    assert (m9["AVAL"], m9["AVALC"]) == ("", "") and "PGA form not complete" in m9["NEREAS"]
    assert all(r["RULEVER"] for r in rows if r["PARAMCD"] in ("SRI4", "DORIS", "LLDAS") and r["AVALC"])


def test_adt_is_a_numeric_sas_date_with_the_date9_format(exported):
    directory, _counts, _three = exported
    raw, meta = pyreadstat.read_xport(str(directory / "ADEFF.xpt"), disable_datetime_conversion=True)
    assert meta.original_variable_types["ADT"] == "DATE9"
    assert meta.readstat_variable_types["ADT"] == "double"
    frame, _meta = xpt(directory, "ADEFF")
    csv_dates = [date.fromisoformat(r["ADT"]) for r in table(directory, "ADEFF")]
    assert list(frame["ADT"]) == csv_dates
    assert [SAS_EPOCH + timedelta(days=int(n)) for n in raw["ADT"]] == csv_dates
    for name, variables in DATE_VARIABLES.items():
        if (directory / f"{name}.xpt").exists():
            _frame, meta = xpt(directory, name)
            assert all(meta.original_variable_types[v] == "DATE9" for v in variables), name


def test_every_dataset_has_sas_names_labels_and_ascii_values(exported):
    directory, counts, _three = exported
    for name in [n[:-4] for n in counts if n.endswith(".xpt")]:
        frame, meta = xpt(directory, name)
        assert meta.table_name == name and len(meta.file_label) <= 40
        for column, label in zip(meta.column_names, meta.column_labels, strict=True):
            assert re.fullmatch(r"[A-Z][A-Z0-9]{0,7}", column) and len(label) <= 40, (name, column)
        for column in frame.columns:
            for value in frame[column]:
                assert not isinstance(value, str) or value.isascii(), (name, column, value)


# --- ADAE -------------------------------------------------------------------------------------------


@pytest.fixture
def events(coordinator, hand_participant):
    """Adverse events of the hand participant at protocol days -3 (after lymphodepletion), 0, 29, 45."""
    day0 = hand_participant.infusion_date
    made = {}
    onsets = ((-3, "nausea", "unlikely"), (0, "fever", "possible"), (29, "anemia", "probable"),
              (45, "fatigue", "not_related"))  # fmt: skip
    for day, term, related in onsets:
        made[day] = record_ae(
            coordinator, hand_participant, term=term, onset=day0 + timedelta(days=day), related=related
        )
    return made


def test_adae_flags_treatment_emergent_events_from_the_infusion_on(events, hand_participant, tmp_path):
    write(hand_participant.site.study, tmp_path)
    rows = {int(r["AESPID"]): r for r in table(tmp_path, "ADAE")}
    by_day = {day: rows[event.number] for day, event in events.items()}
    assert {day: r["TRTEMFL"] for day, r in by_day.items()} == {-3: "", 0: "Y", 29: "Y", 45: "Y"}
    assert {day: r["ASTDY"] for day, r in by_day.items()} == {-3: "-3", 0: "1", 29: "30", 45: "46"}
    assert all(r["SAFFL"] == "Y" and r["TRTA"] == hand_participant.dose_level.label for r in rows.values())
    assert {day: r["CTRELFL"] for day, r in by_day.items()} == {-3: "", 0: "Y", 29: "Y", 45: ""}
    assert [r["AESEQ"] for r in rows.values()] == ["1", "2", "3", "4"]


def test_adae_flags_the_car_t_windows(events, hand_participant, tmp_path):
    write(hand_participant.site.study, tmp_path)
    rows = {int(r["AESPID"]): r for r in table(tmp_path, "ADAE")}
    by_day = {day: rows[event.number] for day, event in events.items()}
    windows = ("DLTWFL", "CRSIWFL", "EICAHTFL", "LICAHTFL", "M3WFL")
    assert {day: tuple(r[w] for w in windows) for day, r in by_day.items()} == {
        -3: ("", "", "", "", ""),
        0: ("Y", "Y", "Y", "", "Y"),
        29: ("", "", "Y", "", "Y"),  # after the DLT and CRS/ICANS windows (Day 0-28)
        45: ("", "", "", "Y", "Y"),
    }


def test_the_windows_come_from_the_protocol(study):
    assert {w.flag: (w.first, w.last) for w in adam.windows(study)} == {
        "DLTWFL": (0, 28), "CRSIWFL": (0, 28), "EICAHTFL": (0, 30), "LICAHTFL": (31, None), "M3WFL": (0, 90),
    }  # fmt: skip
    study.settings = {**study.settings, "dlt": {"window_days": [0, 21]}}
    assert next(w for w in adam.windows(study) if w.flag == "DLTWFL").last == 21


# --- The export bundle and its define --------------------------------------------------------------


def test_the_adam_define_is_valid_define_2_1_and_names_every_dataset_and_variable_in_the_zip(
    events,
    sponsor_admin,
    hand_participant,
    tmp_path,
):
    job = run(sponsor_admin, hand_participant.site.study, formats=("adam",))
    files = read_zip(job)
    datasets = {name[5:-4] for name in files if name.startswith("adam/") and name.endswith(".xpt")}
    assert datasets == {"ADSL", "ADEFF", "ADAE"}
    schema_path = Path(odmlib.__file__).parent / "schemas" / "define" / "2.1" / "define2-1-0.xsd"
    schema = etree.XMLSchema(etree.parse(str(schema_path)))
    document = etree.fromstring(files["adam/define.xml"]).getroottree()
    assert schema.validate(document), schema.error_log
    standard = document.find(".//def:Standard[@Type='IG']", NS)
    assert (standard.get("Name"), standard.get("Version")) == ("ADaMIG", "1.3")
    groups = document.findall(".//odm:ItemGroupDef", NS)
    assert {g.get("Name") for g in groups} == datasets
    items = {i.get("OID"): i for i in document.findall(".//odm:ItemDef", NS)}
    methods = {m.get("OID"): m for m in document.findall(".//odm:MethodDef", NS)}
    for group in groups:
        name = group.get("Name")
        assert group.get("Purpose") == "Analysis"
        header = next(csv.reader(io.StringIO(files[f"adam/{name}.csv"].decode("utf-8-sig"))))
        refs = group.findall("odm:ItemRef", NS)
        assert [items[ref.get("ItemOID")].get("Name") for ref in refs] == header, name
        _frame, meta = pyreadstat.read_xport(str(_extract(files, f"adam/{name}.xpt", tmp_path)))
        assert meta.column_names == header
        for ref in refs:
            item = items[ref.get("ItemOID")]
            if item.get("Name") in DATE_VARIABLES[name]:
                assert item.get(f"{{{NS['def']}}}DisplayFormat") == "DATE9."
            if ref.get("MethodOID"):
                assert ref.get("MethodOID") in methods
    dlt = methods["MT.ADAE.DLTWFL"].findtext(".//odm:TranslatedText", namespaces=NS)
    assert "Day 0 to Day 28" in dlt and "ASTDY 1 to 29" in dlt
    decodes = {
        item.get("CodedValue")
        for item in document.findall(".//odm:CodeList[@OID='CL.ADEFF.PARAMCD']/odm:CodeListItem", NS)
    }
    assert decodes == {p.code for p in adam.PARAMS}


def test_the_adam_define_describes_aval_and_avalc_per_parameter_as_the_data_hold_them(exported):
    """Value-level metadata: per PARAMCD, AVAL's type (integer scores, flags and runs; decimals for PGA
    and PREDEQ) and AVALC's (Y/N from CT, BILAG's grades), each with its where clause and method; the
    ADEFF records agree with what it says."""
    directory, _counts, _three = exported
    document = etree.parse(str(directory / "define.xml"))
    schema_path = Path(odmlib.__file__).parent / "schemas" / "define" / "2.1" / "define2-1-0.xsd"
    schema = etree.XMLSchema(etree.parse(str(schema_path)))
    assert schema.validate(document), schema.error_log
    items = {i.get("OID"): i for i in document.findall(".//odm:ItemDef", NS)}
    clauses = {c.get("OID"): c for c in document.findall(".//def:WhereClauseDef", NS)}
    methods = {m.get("OID") for m in document.findall(".//odm:MethodDef", NS)}
    described = {}
    for name in ("AVAL", "AVALC"):
        parent = items[f"IT.ADEFF.{name}"]
        assert parent.find("def:ValueListRef", NS).get("ValueListOID") == f"VL.ADEFF.{name}"
        value_list = document.find(f".//def:ValueListDef[@OID='VL.ADEFF.{name}']", NS)
        for ref in value_list.findall("odm:ItemRef", NS):
            check = clauses[ref.find("def:WhereClauseRef", NS).get("WhereClauseOID")].find(
                "odm:RangeCheck", NS
            )
            assert (
                check.get(f"{{{NS['def']}}}ItemOID") == "IT.ADEFF.PARAMCD" and check.get("Comparator") == "EQ"
            )
            assert ref.get("MethodOID") in methods
            item = items[ref.get("ItemOID")]
            assert item.get("Name") == name
            codelist = item.find("odm:CodeListRef", NS)
            described[(name, check.findtext("odm:CheckValue", namespaces=NS))] = (
                item.get("DataType"),
                codelist.get("CodeListOID") if codelist is not None else None,
            )
    flags = {p.code for p in adam.PARAMS if p.kind == "flag"}
    assert {code for name, code in described if name == "AVAL"} == {p.code for p in adam.PARAMS} - {"BILAG"}
    assert {code for name, code in described if name == "AVALC"} == flags | {"BILAG"}
    assert described[("AVAL", "PGA")][0] == described[("AVAL", "PREDEQ")][0] == "float"
    assert described[("AVAL", "SLEDAI2K")][0] == described[("AVAL", "SRI4")][0] == "integer"
    assert all(described[("AVALC", code)] == ("text", "CL.NY") for code in flags)
    assert document.find(".//odm:CodeList[@OID='CL.NY']", NS) is not None
    rows = table(directory, "ADEFF")
    assert {r["PARAMCD"] for r in rows} >= {"SLEDAI2K", "SRI4", "BILAG"}
    for row in rows:
        data_type = described.get(("AVAL", row["PARAMCD"]), ("none", None))[0]
        if row["AVAL"]:
            assert data_type in ("integer", "float"), row
            assert data_type == "float" or float(row["AVAL"]).is_integer(), row
        if row["AVALC"]:
            assert ("AVALC", row["PARAMCD"]) in described, row
            if row["PARAMCD"] in flags:
                assert row["AVALC"] in ("Y", "N"), row


def _extract(files, name, directory: Path) -> Path:
    path = directory / name.replace("/", "_")
    path.write_bytes(files[name])
    return path


def test_the_export_page_says_what_the_adam_zip_holds(client, sponsor_admin):
    client.force_login(sponsor_admin)
    page = client.get(reverse("export_list")).content.decode()
    for text in ("ADSL", "ADEFF", "ADAE", "define.xml"):
        assert text in page


def test_the_job_zip_holds_the_adam_datasets_with_their_rows(sponsor_admin, hand_participant):
    job = run(sponsor_admin, hand_participant.site.study, formats=("adam",))
    with zipfile.ZipFile(job.zip_path) as archive:
        names = set(archive.namelist())
    assert {"adam/ADSL.xpt", "adam/ADEFF.xpt", "adam/define.xml", "adam/define.csv"} <= names
    counts = {f["name"]: f["rows"] for f in job.files}
    assert counts["adam/ADSL.csv"] == counts["adam/ADSL.xpt"] == 1
    assert counts["adam/ADEFF.csv"] == 6 + 15 * 4  # 6 parameters with a baseline; 15 at 4 visits
    assert "adam/ADAE.csv" not in names  # no adverse event: no empty dataset is shipped


# --- De-identification -----------------------------------------------------------------------------


def _dates(directory: Path) -> dict[tuple[str, str], list]:
    """Every date of every dataset's transport file, by (dataset, variable), in row order."""
    found = {}
    for name, variables in DATE_VARIABLES.items():
        frame, _meta = xpt(directory, name)
        for variable in variables:
            found[(name, variable)] = list(frame[variable])
    return found


def test_a_deidentified_adam_export_shifts_every_date_by_the_participants_offset(
    events,
    hand_participant,
    tmp_path,
):
    study = hand_participant.site.study
    write(study, tmp_path / "real")
    write(study, tmp_path / "shifted", deidentify=True)
    offset = timedelta(days=deid.offset_for(hand_participant.pk))
    assert offset.days < 0
    real, shifted = _dates(tmp_path / "real"), _dates(tmp_path / "shifted")
    compared = 0
    for key, values in real.items():
        for before, after in zip(values, shifted[key], strict=True):
            if isinstance(before, date):
                assert after == before + offset, key
                compared += 1
            else:
                assert not isinstance(after, date), key
    assert compared > 40
    # The CSV files hold the same shifted dates, and the study days are kept.
    for name, variables in DATE_VARIABLES.items():
        before, after = table(tmp_path / "real", name), table(tmp_path / "shifted", name)
        for old, new in zip(before, after, strict=True):
            for variable in variables:
                if old[variable]:
                    assert date.fromisoformat(new[variable]) == date.fromisoformat(old[variable]) + offset
        for variable in ("ADY", "ASTDY", "AENDY"):
            if variable in before[0]:
                assert [r[variable] for r in before] == [r[variable] for r in after]


def test_a_deidentified_adam_export_keys_participants_as_sdtm_and_holds_no_reasons(three, tmp_path):
    failed, _enrolled, infused = three
    write(infused.site.study, tmp_path, deidentify=True)
    from exports.deid import pseudonym_of

    keys = {r["USUBJID"] for r in table(tmp_path, "ADSL")}
    assert pseudonym_of(failed).startswith("NOT-ENROLLED-") and str(failed.pk) not in pseudonym_of(failed)
    assert keys == {f"UDCAR-SLE-{pseudonym_of(failed)}", *(f"UDCAR-SLE-{p.study_id}" for p in three[1:])}
    header = next(csv.reader((tmp_path / "ADEFF.csv").open(encoding="utf-8-sig")))
    assert "NEREAS" not in header  # a reason may quote a date or a medication's name
    text = "".join(p.read_text(encoding="utf-8-sig") for p in tmp_path.iterdir() if p.suffix == ".csv")
    assert failed.screening_number not in text and infused.screening_number not in text


def test_a_deidentified_sdtm_rs_gives_no_derived_reason_which_may_quote_dates_or_medications(three, tmp_path):
    from exports import sdtm

    study = three[2].site.study
    for deidentify, directory in ((False, tmp_path / "real"), (True, tmp_path / "deid")):
        options = ExportOptions(study_id=study.pk, formats=("sdtm",), deidentify=deidentify)
        sdtm.write_sdtm(study=study, options=options, directory=directory)
    real = [r for r in table(tmp_path / "real", "RS") if r["RSSTAT"] == "NOT DONE"]
    deidentified = [r for r in table(tmp_path / "deid", "RS") if r["RSSTAT"] == "NOT DONE"]
    assert any("PGA form not complete" in r["RSREASND"] for r in real)
    assert len(deidentified) == len(real) and {r["RSREASND"] for r in deidentified} == {"NOT EVALUABLE"}


def test_a_study_day_adam_export_has_no_dates_but_the_study_days(events, hand_participant, tmp_path):
    write(hand_participant.site.study, tmp_path, deidentify=True, date_mode="study_day")
    for (name, variable), values in _dates(tmp_path).items():
        assert not any(isinstance(v, date) for v in values), (name, variable)
    assert all(r["ADY"] for r in table(tmp_path, "ADEFF"))
    assert {r["ASTDY"] for r in table(tmp_path, "ADAE")} == {"-3", "1", "30", "46"}

"""SDTMIG 3.4 conformance of the SDTM export, checked on the exported demo study plus 200 synthetic
participants: required variables, CDISC CT membership, no study day 0, ASCII only, keys unique, no
empty dataset, EPOCH agreeing with the trial design, TS parameters, USUBJID stable from screening."""

import csv
from datetime import timedelta

import pandas as pd
import pyreadstat
import pytest

from exports import sdtm, trial_design
from exports.options import ExportOptions
from tests.conftest import make_participant, today_at

# Required (Req) variables of each domain, SDTMIG 3.4 (the ones this study's domains must carry).
REQUIRED = {
    "DM": {"STUDYID", "DOMAIN", "USUBJID", "SUBJID", "SITEID", "SEX", "COUNTRY", "RFSTDTC", "RFXSTDTC",
           "ARMCD", "ARM", "ACTARMCD", "ACTARM", "ARMNRS", "AGE", "AGEU", "RACE", "ETHNIC"},
    "DS": {"STUDYID", "DOMAIN", "USUBJID", "DSSEQ", "DSTERM", "DSDECOD", "DSCAT", "EPOCH", "DSSTDTC"},
    "SV": {"STUDYID", "DOMAIN", "USUBJID", "VISITNUM", "VISIT", "SVSTDTC"},
    "AE": {"STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM", "AEDECOD", "EPOCH", "AESTDTC"},
    "CM": {"STUDYID", "DOMAIN", "USUBJID", "CMSEQ", "CMTRT", "EPOCH"},
    "EX": {"STUDYID", "DOMAIN", "USUBJID", "EXSEQ", "EXTRT", "EXSTDTC", "EPOCH"},
    "LB": {"STUDYID", "DOMAIN", "USUBJID", "LBSEQ", "LBTESTCD", "LBTEST", "EPOCH", "LBDTC", "LBDY"},
    "VS": {"STUDYID", "DOMAIN", "USUBJID", "VSSEQ", "VSTESTCD", "VSTEST", "EPOCH", "VSDTC", "VSDY"},
    "TE": {"STUDYID", "DOMAIN", "ETCD", "ELEMENT", "TESTRL"},
    "TA": {"STUDYID", "DOMAIN", "ARMCD", "ARM", "TAETORD", "ETCD", "EPOCH"},
    "TV": {"STUDYID", "DOMAIN", "VISITNUM", "VISIT"},
    "TI": {"STUDYID", "DOMAIN", "IETESTCD", "IETEST", "IECAT"},
    "TS": {"STUDYID", "DOMAIN", "TSSEQ", "TSPARMCD", "TSPARM", "TSVAL"},
    "SUPPDM": {"STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL", "QORIG"},
}  # fmt: skip
# Variable -> CT codelist (exports/ct/sdtm-ct.yaml) for the variables the export fills from CT.
CODED = {
    "SEX": "SEX", "AGEU": "AGEU", "RACE": "RACE", "ETHNIC": "ETHNIC", "ARMNRS": "ARMNULRS", "EPOCH": "EPOCH",
    "DSCAT": "DSCAT", "AESER": "NY", "DTHFL": "NY", "TSPARMCD": "TSPARMCD", "TSVALNF": "TSNF",
    "AESCONG": "NY", "AESDISAB": "NY", "AESDTH": "NY", "AESHOSP": "NY", "AESLIFE": "NY", "AESMIE": "NY",
    "AEOUT": "OUT", "AEACN": "ACN", "EXROUTE": "ROUTE", "EXDOSFRM": "FRM",
}  # fmt: skip
TS_CODED = {
    "TBLIND": "TBLIND", "TCNTRL": "TCNTRL", "TINDTP": "TINDTP", "TPHASE": "TPHASE", "TTYPE": "TTYPE",
    "INTMODEL": "INTMODEL", "INTTYPE": "INTTYPE", "STYPE": "STYPE", "SEXPOP": "SEXPOP", "RANDOM": "NY",
    "ADDON": "NY", "HLTSUBJI": "NY", "EXTTIND": "NY", "PDSTIND": "NY", "PDPSTIND": "NY", "RDIND": "NY",
    "ADAPT": "NY",
}  # fmt: skip
# Trial summary parameters FDA's technical conformance guide expects in every study's TS.
TS_REQUIRED = {
    "ADDON", "AGEMAX", "AGEMIN", "LENGTH", "PLANSUB", "RANDOM", "SEXPOP", "STOPRULE", "TBLIND", "TCNTRL",
    "TDIGRP", "TINDTP", "TITLE", "TPHASE", "TTYPE", "ACTSUB", "ADAPT", "DCUTDTC", "DCUTDESC", "EXTTIND",
    "FCNTRY", "HLTSUBJI", "INDIC", "INTMODEL", "INTTYPE", "NARMS", "OBJPRIM", "PDPSTIND", "PDSTIND",
    "REGID", "RDIND", "SDTIGVER", "SDTMVER", "SSTDTC", "SPONSOR", "STYPE", "TRT",
}  # fmt: skip
KEYS = {
    "DM": ("USUBJID",), "SV": ("USUBJID", "VISITNUM"), "TE": ("ETCD",), "TA": ("ARMCD", "TAETORD"),
    "TV": ("VISITNUM", "ARMCD"), "TI": ("IETESTCD",), "TS": ("TSPARMCD", "TSSEQ"),
    "SUPPDM": ("USUBJID", "QNAM"),
}  # fmt: skip


@pytest.fixture
def exported(seeded_demo, tmp_path, settings):
    """The demo study with a casebook, plus 200 synthetic participants, exported as SDTM."""
    from tests.exports.test_odm_export import seed_demo_study
    from trials.synthetic import seed_synthetic

    settings.DEMO_MODE = True
    study, _p = seed_demo_study()
    seed_synthetic(participants=200, append=True, seed=17)
    counts = sdtm.write_sdtm(
        study=study, options=ExportOptions(study_id=study.pk, formats=("sdtm",)), directory=tmp_path
    )
    frames = {
        name[:-4]: pd.read_csv(tmp_path / name, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        for name in counts
        if name.endswith(".csv") and name not in sdtm.LISTING_FILES
    }
    return tmp_path, counts, frames


def test_every_domain_carries_its_required_variables_and_no_dataset_is_empty(exported):
    directory, counts, frames = exported
    assert set(REQUIRED) <= set(frames), sorted(frames)
    for domain, required in REQUIRED.items():
        assert required <= set(frames[domain].columns), (domain, required - set(frames[domain].columns))
    for name, rows in counts.items():
        if name != "define.csv":
            assert rows > 0, name
    for path in directory.glob("*.xpt"):
        assert counts[path.name] > 0
    shipped = {p.stem for p in directory.glob("*.xpt")}
    assert shipped == set(frames)
    assert "BRTHYR" not in frames["DM"].columns


def test_coded_values_are_terms_of_their_cdisc_codelist(exported):
    _directory, _counts, frames = exported
    codelists = {
        name: set(c["terms"]) for name, c in trial_design.controlled_terminology()["codelists"].items()
    }
    checked = 0
    for domain, frame in frames.items():
        for variable, codelist in CODED.items():
            if variable in frame.columns:
                values = set(frame[variable]) - {""}
                assert values <= codelists[codelist], (domain, variable, values - codelists[codelist])
                checked += len(values)
    ts = frames["TS"]
    for parameter, codelist in TS_CODED.items():
        values = set(ts.loc[parameter == ts.TSPARMCD, "TSVAL"])
        assert values and values <= codelists[codelist], (parameter, values)
    assert checked > 10
    assert set(frames["DM"]["COUNTRY"]) == {"CHN"}


def test_study_days_are_never_0_and_day_1_is_the_infusion(exported):
    _directory, _counts, frames = exported
    seen = 0
    for domain, frame in frames.items():
        for column in [c for c in frame.columns if c.endswith("DY")]:
            values = [int(float(v)) for v in frame[column] if v != ""]
            assert 0 not in values, (domain, column)
            seen += len(values)
    assert seen > 100
    dm = frames["DM"].set_index("USUBJID")
    ex = frames["EX"]
    infusions = ex[(ex.EXCAT == "CAR-T") & (ex.EXSTDTC != "")]
    assert len(infusions) > 0
    for _i, row in infusions.iterrows():
        assert row.EXSTDY == "1" and dm.loc[row.USUBJID, "RFSTDTC"] == row.EXSTDTC[:10]
    tv = frames["TV"].set_index("VISIT")
    assert tv.loc["Infusion (Day 0)", "VISITDY"] == "1" and tv.loc["Screening", "VISITDY"] == "-17"


def test_every_character_value_in_the_transport_files_is_ascii(exported):
    directory, _counts, _frames = exported
    for path in directory.glob("*.xpt"):
        frame, meta = pyreadstat.read_xport(str(path))
        assert all(label.isascii() for label in meta.column_labels), path.name
        for column in frame.select_dtypes(include=["object", "str"]):
            bad = [v for v in frame[column].dropna() if not str(v).isascii()]
            assert not bad, (path.name, column, bad[:3])


def test_ascii_rule_keeps_units_readable():
    assert sdtm.char("10⁹/L") == "10^9/L"
    assert sdtm.char("kg/m²") == "kg/m2"
    assert sdtm.char("≥ 1.5 × ULN, −2") == ">= 1.5 * ULN, -2"
    assert sdtm.char("盐城") == "YanCheng"
    assert sdtm.char("µmol/L") == "umol/L"


def test_keys_are_unique_and_sequence_numbers_count_per_subject(exported):
    _directory, _counts, frames = exported
    for domain, key in KEYS.items():
        frame = frames[domain]
        assert not frame.duplicated(list(key)).any(), domain
    for domain, frame in frames.items():
        seq = f"{domain}SEQ"
        if seq in frame.columns and "USUBJID" in frame.columns:
            assert not frame.duplicated(["USUBJID", seq]).any(), domain


def test_epochs_agree_with_the_trial_design_and_the_dates(exported):
    _directory, _counts, frames = exported
    arms = frames["TA"]
    assert set(arms.EPOCH) == {"SCREENING", "TREATMENT", "FOLLOW-UP"}
    assert set(arms.ETCD) == set(frames["TE"].ETCD)
    assert set(arms.ARMCD) >= set(frames["DM"].ARMCD) - {""}
    dm = frames["DM"].set_index("USUBJID")
    vs = frames["VS"]
    assert len(vs) > 0
    for _i, row in vs.iterrows():
        start = dm.loc[row.USUBJID, "RFSTDTC"]
        if not start or not row.VSDTC:
            continue
        expected = "FOLLOW-UP" if row.VSDTC[:10] > start else None
        if expected:
            assert expected == row.EPOCH, (row.USUBJID, row.VSDTC, row.EPOCH)
    for domain in ("DS", "AE", "CM", "EX", "LB", "VS", "FA"):
        if domain in frames:
            assert "EPOCH" in frames[domain].columns, domain


def test_trial_summary_holds_the_required_parameters(exported):
    _directory, _counts, frames = exported
    ts = frames["TS"]
    assert set(ts.TSPARMCD) >= TS_REQUIRED, TS_REQUIRED - set(ts.TSPARMCD)
    values = dict(zip(ts.TSPARMCD, ts.TSVAL, strict=False))
    assert values["REGID"] == "NCT07274059" and values["FCNTRY"] == "CHN"
    assert (
        int(values["ACTSUB"])
        == (frames["DM"].ARMNRS != "SCREEN FAILURE").sum() - (frames["DM"].ARMNRS == "NOT ASSIGNED").sum()
    )
    assert all(v or nf for v, nf in zip(ts.TSVAL, ts.TSVALNF, strict=True))
    criteria = frames["TI"]
    assert set(frames.get("IE", pd.DataFrame(columns=["IETESTCD"])).IETESTCD) <= set(criteria.IETESTCD)


def test_arm_variables_follow_sdtmig_for_screen_failures_and_the_untreated(exported):
    _directory, _counts, frames = exported
    dm = frames["DM"]
    treated = dm[dm.RFXSTDTC != ""]
    assert len(treated) and (treated.ACTARMCD == treated.ARMCD).all() and (treated.ARMNRS == "").all()
    untreated = dm[dm.RFXSTDTC == ""]
    assert len(untreated) and (untreated.ACTARMCD == "").all()
    assert set(untreated.ARMNRS) <= {"SCREEN FAILURE", "NOT ASSIGNED", "ASSIGNED, NOT TREATED"}
    assert (dm[dm.ARMNRS.isin(["SCREEN FAILURE", "NOT ASSIGNED"])].ARMCD == "").all()


def test_usubjid_is_assigned_at_screening_and_kept_through_enrollment(coordinator, site_yc, study, tmp_path):
    today = today_at(site_yc)
    screened = make_participant(coordinator, site_yc, screened=today - timedelta(days=3), stage="screening")
    options = ExportOptions(study_id=study.pk, formats=("sdtm",))
    sdtm.write_sdtm(study=study, options=options, directory=tmp_path / "before")
    with (tmp_path / "before" / "DM.csv").open(encoding="utf-8-sig") as handle:
        before = {r["USUBJID"] for r in csv.DictReader(handle)}
    from trials.models import Participant

    Participant.objects.filter(pk=screened.pk).update(study_id="YC-901", enrollment_date=today)
    sdtm.write_sdtm(study=study, options=options, directory=tmp_path / "after")
    with (tmp_path / "after" / "DM.csv").open(encoding="utf-8-sig") as handle:
        after = {r["USUBJID"]: r for r in csv.DictReader(handle)}
    assert before == set(after)
    assert after[f"UDCAR-SLE-{screened.screening_number}"]["SUBJID"] == "YC-901"


def test_define_xml_is_valid_define_2_1_and_names_every_dataset_and_variable(exported):
    from pathlib import Path

    import odmlib
    from lxml import etree

    directory, counts, frames = exported
    schema_path = Path(odmlib.__file__).parent / "schemas" / "define" / "2.1" / "define2-1-0.xsd"
    schema = etree.XMLSchema(etree.parse(str(schema_path)))
    document = etree.parse(str(directory / "define.xml"))
    assert schema.validate(document), schema.error_log
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}
    groups = document.findall(".//odm:ItemGroupDef", ns)
    assert {g.get("Name") for g in groups} == set(frames)
    items = {i.get("OID"): i.get("Name") for i in document.findall(".//odm:ItemDef", ns)}
    for group in groups:
        names = [items[ref.get("ItemOID")] for ref in group.findall("odm:ItemRef", ns)]
        assert names == list(frames[group.get("Name")].columns), group.get("Name")
        leaf = group.find("def:leaf", ns)
        assert (directory / leaf.get("{http://www.w3.org/1999/xlink}href")).exists()
    assert counts["define.xml"] == len(items)


def test_dates_and_times_are_the_sites_local_clock_without_an_offset(exported):
    _directory, _counts, frames = exported
    for domain, frame in frames.items():
        for column in [c for c in frame.columns if c.endswith("DTC")]:
            assert not any("+" in v or v.endswith("Z") for v in frame[column]), (domain, column)
    lb = frames["LB"]
    timed = [v for v in lb.LBDTC if "T" in v]
    assert timed, "no lab collection time"


def test_lab_and_exposure_and_ae_carry_the_standard_variables(exported):
    _directory, _counts, frames = exported
    lb = frames["LB"]
    ranged = lb[(lb.LBORNRLO != "") & (lb.LBORRESU == lb.LBSTRESU)]
    assert len(ranged) and (ranged.LBSTNRLO.astype(float) == ranged.LBORNRLO.astype(float)).all()
    assert (lb[lb.LBSTAT == "NOT DONE"].LBREASND != "").all()
    ex = frames["EX"]
    assert set(ex.EXROUTE) == {"INTRAVENOUS"} and "SUSPENSION" in set(ex.EXDOSFRM)
    ae = frames["AE"]
    assert len(ae) and set(ae.AEOUT) <= set(sdtm.AE_OUTCOME.values()) | {""}
    serious = ae[ae.AESER == "Y"]
    assert serious[list(sdtm.SERIOUSNESS)].isin(["Y", "N"]).all().all()
    assert (ae[ae.AESER == "N"][list(sdtm.SERIOUSNESS)] == "").all().all()
    sv = frames["SV"]
    assert (sv[sv.SVSTDTC != ""].SVENDTC != "").all()


def test_disposition_terms_come_from_the_codelist_their_category_selects(exported):
    _directory, _counts, frames = exported
    ct = trial_design.controlled_terminology()
    protmlst = set(ct["codelists"]["PROTMLST"]["terms"])
    ncomplt = set(ct["codelists"]["NCOMPLT"]["terms"]) | set(ct["extended"]["NCOMPLT"])
    ds = frames["DS"]
    milestones = ds[ds.DSCAT == "PROTOCOL MILESTONE"]
    dispositions = ds[ds.DSCAT == "DISPOSITION EVENT"]
    assert len(milestones) and len(dispositions) and len(milestones) + len(dispositions) == len(ds)
    assert set(milestones.DSDECOD) <= protmlst, set(milestones.DSDECOD) - protmlst
    assert set(dispositions.DSDECOD) <= ncomplt, set(dispositions.DSDECOD) - ncomplt

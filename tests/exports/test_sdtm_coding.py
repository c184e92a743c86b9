"""SDTM AE coding from the MedDRA codes CTCAE v5.0 publishes, the uncoded-terms listing (export and
page), seriousness flags, OUT/ACN and DS terms from CDISC CT, and RELREC between CRS/ICANS adverse
events and their daily findings."""

import csv
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from adverse_events import coding, ctcae_terms
from adverse_events.models import ActionTaken, Outcome
from crfs.models import EndOfStudyReason
from exports import define_xml, sdtm, trial_design
from exports.options import ExportOptions
from tests.adverse_events.factories import infused, record_ae, save_crf

# Read from NCI's CTCAE_v5.0.xlsx ("CTCAE v5.0 Clean Copy"), independently of the shipped table.
KNOWN = {
    "fever": ("Fever", 10016558, "General disorders and administration site conditions", 10018065),
    "anemia": ("Anemia", 10002272, "Blood and lymphatic system disorders", 10005329),
    "cytokine_release_syndrome": ("Cytokine release syndrome", 10052015, "Immune system disorders", 10021428),
    "neutrophil_count_decreased": ("Neutrophil count decreased", 10029366, "Investigations", 10022891),
}


def export(study, directory, **options):
    return sdtm.write_sdtm(
        study=study,
        options=ExportOptions(study_id=study.pk, formats=("sdtm",), **options),
        directory=directory,
    )


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


@pytest.fixture
def patient(coordinator, site_yc):
    return infused(coordinator, site_yc, days_ago=20)


@pytest.fixture
def events(coordinator, patient):
    """Coded terms, an "Other, specify" term the site wrote, and ICANS (not a CTCAE v5.0 term)."""
    made = {key: record_ae(coordinator, patient, term=key) for key in KNOWN}
    made["other"] = record_ae(
        coordinator, patient, term="infection_other", term_other="Nocardia abscess", verbatim="nocardia"
    )
    made["icans"] = record_ae(coordinator, patient, term="icans", verbatim="confused, ICE 7")
    return made


def test_the_shipped_table_names_its_source_and_versions_and_holds_nci_codes():
    header = [line for line in coding.TABLE.read_text(encoding="utf-8").splitlines() if line.startswith("#")]
    text = "\n".join(header)
    assert "CTCAE_v5.0.xlsx" in text and "Version 5.0" in text and "MedDRA version: 20.1" in text
    table = coding.table()
    assert len(table) == 837
    for llt, llt_code, soc, soc_code in KNOWN.values():
        assert table[llt.lower()] == coding.Coding(llt, str(llt_code), soc, str(soc_code))


def test_every_ctcae_term_of_the_edc_is_coded_and_only_terms_outside_ctcae_are_not():
    uncoded = {t.key for t in ctcae_terms.TERMS if coding.coding_of(t.key) is None}
    other_specify = {t.key for t in ctcae_terms.TERMS if t.other_specify}
    assert uncoded - other_specify == {"icans", "iec_hs", "acute_gvhd"}
    for t in ctcae_terms.TERMS:
        found = coding.coding_of(t.key)
        if found is not None:
            assert found.soc == str(t.soc), t.key  # CTCAE's SOC agrees with the EDC's grouping


def test_coded_ae_terms_carry_the_llt_and_soc_codes_ctcae_publishes(study, events, tmp_path):
    export(study, tmp_path)
    ae = read(tmp_path / "AE.csv").set_index("AESPID")
    for key, (llt, llt_code, soc, soc_code) in KNOWN.items():
        row = ae.loc[str(events[key].number)]
        assert (llt, llt, soc, soc) == (row.AELLT, row.AEDECOD, row.AEBODSYS, row.AESOC), key
        assert (int(float(row.AELLTCD)), int(float(row.AEBDSYCD)), int(float(row.AESOCCD))) == (
            llt_code,
            soc_code,
            soc_code,
        ), key
    table = coding.table()
    for _number, row in ae[ae.AELLT != ""].iterrows():
        assert table[row.AELLT.lower()].llt_code == str(int(float(row.AELLTCD)))


def test_a_site_term_outside_ctcae_is_left_uncoded_and_listed(study, events, tmp_path):
    counts = export(study, tmp_path)
    ae = read(tmp_path / "AE.csv").set_index("AESPID")
    coded = ["AELLT", "AELLTCD", "AEDECOD", "AEBODSYS", "AEBDSYCD", "AESOC", "AESOCCD"]
    for key in ("other", "icans"):
        row = ae.loc[str(events[key].number)]
        assert (row[coded] == "").all(), (key, row[coded].to_dict())
    listed = read(tmp_path / sdtm.UNCODED_FILE)
    assert counts[sdtm.UNCODED_FILE] == len(listed) == 2
    by_number = listed.set_index("AESPID")
    other = by_number.loc[str(events["other"].number)]
    assert other.CTCAE_ENTRY == "Infections and infestations - Other, specify"
    assert other.SPECIFIED == "Nocardia abscess" and other.AETERM == "nocardia"
    assert "Other, specify" in other.REASON
    icans = by_number.loc[str(events["icans"].number)]
    assert (
        icans.CTCAE_ENTRY.startswith("Immune effector cell-associated neurotoxicity")
        and "ASTCT" in icans.REASON
    )
    assert set(listed.USUBJID) == set(ae.USUBJID)


def test_the_deidentified_uncoded_listing_holds_no_free_text(study, events, tmp_path):
    export(study, tmp_path, deidentify=True)
    text = (tmp_path / sdtm.UNCODED_FILE).read_text(encoding="utf-8-sig")
    assert "Nocardia" not in text and "nocardia" not in text and "ICE 7" not in text
    assert len(read(tmp_path / sdtm.UNCODED_FILE)) == 2


def test_uncoded_terms_page_lists_only_the_users_sites_uncoded_events(
    client, study, events, coordinator, coordinator_cd, site_cd
):
    other_site = infused(coordinator_cd, site_cd, days_ago=15)
    theirs = record_ae(coordinator_cd, other_site, term="skin_other", term_other="Odd rash", verbatim="odd")
    client.force_login(coordinator)
    page = client.get(reverse("uncoded_terms")).content.decode()
    assert "nocardia" in page and "confused, ICE 7" in page
    assert "Odd rash" not in page and reverse("adverse_event_detail", args=[theirs.pk]) not in page
    assert reverse("adverse_event_detail", args=[events["fever"].pk]) not in page  # coded: not listed
    client.force_login(coordinator_cd)
    assert "Odd rash" in client.get(reverse("uncoded_terms")).content.decode()


def test_seriousness_criteria_become_the_ae_seriousness_flags(study, coordinator, patient, tmp_path):
    serious = record_ae(
        coordinator,
        patient,
        grade=3,
        awareness_at=timezone.now(),
        term="lung_infection",
        serious_hospitalisation=True,
        serious_life_threatening=True,
    )
    mild = record_ae(coordinator, patient, term="nausea")
    export(study, tmp_path)
    ae = read(tmp_path / "AE.csv").set_index("AESPID")
    row = ae.loc[str(serious.number)]
    assert row.AESER == "Y"
    assert row[list(sdtm.SERIOUSNESS)].to_dict() == {
        "AESCONG": "N", "AESDISAB": "N", "AESDTH": "N", "AESHOSP": "Y", "AESLIFE": "Y", "AESMIE": "N",
    }  # fmt: skip
    row = ae.loc[str(mild.number)]
    assert row.AESER == "N" and (row[list(sdtm.SERIOUSNESS)] == "").all()


def test_outcome_and_action_taken_map_every_choice_to_their_cdisc_codelists():
    ct = trial_design.controlled_terminology()["codelists"]
    assert (ct["OUT"]["code"], ct["ACN"]["code"]) == ("C66768", "C66767")
    assert (
        ct["OUT"]["terms"]["RECOVERED/RESOLVED"] == "C49498"
        and ct["ACN"]["terms"]["DRUG WITHDRAWN"] == "C49502"
    )
    assert set(sdtm.AE_OUTCOME) == set(Outcome.values)
    assert set(sdtm.AE_OUTCOME.values()) <= set(ct["OUT"]["terms"])
    assert set(sdtm.AE_ACTION) == set(ActionTaken.values)
    assert set(sdtm.AE_ACTION.values()) <= set(ct["ACN"]["terms"])


def test_exported_outcome_and_action_are_out_and_acn_terms(study, coordinator, patient, tmp_path):
    record_ae(coordinator, patient, term="fever", outcome="sequelae", action_taken="infusion_interrupted")
    export(study, tmp_path)
    ae = read(tmp_path / "AE.csv")
    assert list(ae.AEOUT) == ["RECOVERED/RESOLVED WITH SEQUELAE"] and list(ae.AEACN) == ["DRUG INTERRUPTED"]


def test_every_end_of_study_reason_has_a_disposition_term_from_ncomplt():
    ct = trial_design.controlled_terminology()
    allowed = set(ct["codelists"]["NCOMPLT"]["terms"]) | set(ct["extended"]["NCOMPLT"])
    assert set(sdtm.END_OF_STUDY_DECOD) == set(EndOfStudyReason.values)
    assert set(sdtm.END_OF_STUDY_DECOD.values()) <= allowed
    assert ct["codelists"]["NCOMPLT"]["extensible"] is True  # OTHER may only extend an extensible list


def test_ds_decodes_milestones_and_dispositions_from_their_codelists(study, coordinator, patient, tmp_path):
    save_crf(
        coordinator,
        patient,
        "end_of_study",
        "M24",
        {"end_date": patient.infusion_date + timedelta(days=5), "reason": "withdrew_consent"},
    )
    export(study, tmp_path)
    ds = read(tmp_path / "DS.csv")
    assert list(zip(ds.DSCAT, ds.DSDECOD, strict=True)) == [
        ("PROTOCOL MILESTONE", "INFORMED CONSENT OBTAINED"),
        ("PROTOCOL MILESTONE", "ENTERED INTO TRIAL"),
        ("DISPOSITION EVENT", "WITHDRAWAL OF CONSENT"),
    ]


@pytest.fixture
def crs_course(study, coordinator, patient):
    """A CRS event from Day 1 to Day 2 with assessments on Days 1, 2 and 4 (Day 4 after it resolved)."""
    day0 = patient.infusion_date
    event = record_ae(
        coordinator,
        patient,
        term="cytokine_release_syndrome",
        onset=day0 + timedelta(days=1),
        resolution_date=day0 + timedelta(days=2),
        outcome="recovered",
    )
    forms = [
        save_crf(
            coordinator,
            patient,
            "crs",
            f"D{day}",
            {
                "assessed_on": day0 + timedelta(days=day),
                "temperature_c": Decimal("38.4"),
                "hypotension": "none",
            },
        )
        for day in (1, 2, 4)
    ]
    return event, forms


def test_relrec_relates_a_crs_event_to_the_findings_of_its_days(study, crs_course, tmp_path):
    event, forms = crs_course
    export(study, tmp_path)
    relrec, ae, fa = (read(tmp_path / f"{name}.csv") for name in ("RELREC", "AE", "FA"))
    assert set(relrec.RELID) == {f"AE{event.number}-CRS"}
    ae_keys = relrec[relrec.RDOMAIN == "AE"]
    assert list(zip(ae_keys.IDVAR, ae_keys.IDVARVAL, strict=True)) == [("AESPID", str(event.number))]
    fa_keys = relrec[relrec.RDOMAIN == "FA"]
    assert set(fa_keys.IDVAR) == {"FAGRPID"}
    assert set(fa_keys.IDVARVAL) == {f"CRS-{forms[0].pk}", f"CRS-{forms[1].pk}"}  # not Day 4
    # Every key points to an existing record of the same subject.
    for _i, key in relrec.iterrows():
        domain = ae if key.RDOMAIN == "AE" else fa
        matches = domain[(domain.USUBJID == key.USUBJID) & (domain[key.IDVAR] == key.IDVARVAL)]
        assert len(matches) >= 1, key.to_dict()


def test_define_xml_names_relrec_the_coding_variables_and_meddra(study, crs_course, events, tmp_path):
    import odmlib

    export(study, tmp_path)
    schema_path = Path(odmlib.__file__).parent / "schemas" / "define" / "2.1" / "define2-1-0.xsd"
    document = etree.parse(str(tmp_path / "define.xml"))
    schema = etree.XMLSchema(etree.parse(str(schema_path)))
    assert schema.validate(document), schema.error_log
    ns = {"odm": define_xml.ODM_NS, "def": define_xml.DEF_NS}
    groups = {g.get("Name") for g in document.findall(".//odm:ItemGroupDef", ns)}
    assert "RELREC" in groups
    items = {i.get("OID"): i for i in document.findall(".//odm:ItemDef", ns)}
    for name in ("AELLT", "AELLTCD", "AEDECOD", "AEBODSYS", "AEBDSYCD", "AESOC", "AESOCCD"):
        ref = items[f"IT.AE.{name}"].find("odm:CodeListRef", ns)
        codelist = document.find(f".//odm:CodeList[@OID='{ref.get('CodeListOID')}']", ns)
        external = codelist.find("odm:ExternalCodeList", ns)
        assert (external.get("Dictionary"), external.get("Version")) == ("MedDRA", "20.1"), name
    for name in ("FAGRPID", "RELID", "IDVARVAL"):
        assert any(i.get("Name") == name for i in items.values()), name
    dsdecod = document.find(".//odm:CodeList[@OID='CL.DSDECOD']", ns)
    coded = {e.get("CodedValue"): e for e in dsdecod.findall("odm:EnumeratedItem", ns)}
    assert coded["ENTERED INTO TRIAL"].find("odm:Alias", ns).get("Name") == "C161417"
    assert coded["OTHER"].get(f"{{{define_xml.DEF_NS}}}ExtendedValue") == "Yes"


def test_uncoded_listing_is_not_a_dataset_of_the_define(study, events, tmp_path):
    export(study, tmp_path)
    document = etree.parse(str(tmp_path / "define.xml"))
    names = {g.get("Name") for g in document.iter(f"{{{define_xml.ODM_NS}}}ItemGroupDef")}
    assert "uncoded_terms" not in names and (tmp_path / sdtm.UNCODED_FILE).exists()
    with (tmp_path / sdtm.UNCODED_FILE).open(encoding="utf-8-sig") as handle:
        assert next(csv.reader(handle)) == list(sdtm.UNCODED_COLUMNS)


def test_no_uncoded_listing_is_shipped_when_every_term_is_coded(study, coordinator, patient, tmp_path):
    record_ae(coordinator, patient, term="fever")
    counts = export(study, tmp_path)
    assert sdtm.UNCODED_FILE not in counts and not (tmp_path / sdtm.UNCODED_FILE).exists()

"""SDTM domains: XPT equals CSV, SAS naming limits, SDTMIG study days (no day 0), de-identification."""

import csv
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from crfs.registry import FORMS
from crfs.services import save_form
from exports import sdtm
from exports.csvfile import FORMULA_START
from exports.options import ExportOptions
from tests.conftest import make_participant, today_at


@pytest.fixture
def infused(coordinator, site_yc):
    today = today_at(site_yc)
    p = make_participant(
        coordinator,
        site_yc,
        screened=today - timedelta(days=40),
        infused=today - timedelta(days=10),
        initials="QX",
    )
    save_form(
        user=coordinator,
        spec=FORMS["vital_signs"],
        visit=p.visits.get(code="D1"),
        data={
            "assessed_on": p.infusion_date + timedelta(days=1),
            "weight_kg": Decimal("61.5"),
            "heart_rate": 80,
        },
    )
    return p


def export(study, directory, **options):
    return sdtm.write_sdtm(
        study=study,
        options=ExportOptions(study_id=study.pk, formats=("sdtm",), **options),
        directory=directory,
    )


def read_csv(path):
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def unguarded(values):
    """CSV character values without the CSV writer's formula guard (the XPT file has none)."""
    return [v[1:] if v.startswith("'") and v[1:2].startswith(FORMULA_START) else v for v in values]


@pytest.fixture
def demo(seeded_demo):
    """The demo study, whose Day 1 CRS assessment belongs to a CRS adverse event (RELREC)."""
    from django.contrib.auth import get_user_model

    from tests.adverse_events.factories import record_ae
    from tests.exports.test_odm_export import seed_demo_study

    study, participant = seed_demo_study()
    coordinator = get_user_model().objects.get(username="coordinator")
    record_ae(coordinator, participant, term="cytokine_release_syndrome", grade=1)
    return study, participant


def test_each_xpt_file_read_back_with_pandas_equals_the_csv_of_the_same_domain(demo, tmp_path):
    study, _participant = demo
    counts = export(study, tmp_path)
    domains = [name.removesuffix(".xpt") for name in counts if name.endswith(".xpt")]
    assert set(domains) == set(sdtm.DOMAINS)
    assert {d for d in sdtm.DOMAINS if counts[f"{d}.xpt"] == 0} == set(), counts
    for domain in domains:
        from_csv = read_csv(tmp_path / f"{domain}.csv")
        if from_csv.empty:  # pandas' reader raises StopIteration on a transport file without rows
            empty, meta = pyreadstat.read_xport(str(tmp_path / f"{domain}.xpt"))
            assert empty.empty and list(meta.column_names) == list(from_csv.columns), domain
            continue
        from_xpt = pd.read_sas(tmp_path / f"{domain}.xpt", format="xport", encoding="utf-8")
        assert list(from_xpt.columns) == list(from_csv.columns), domain
        assert len(from_xpt) == len(from_csv) == counts[f"{domain}.csv"], domain
        types = {v.name: v.type for v in sdtm.DOMAINS[domain].variables}
        for column in from_csv.columns:
            if types[column] == "Num":
                expected = pd.to_numeric(from_csv[column].replace("", np.nan)).to_numpy(dtype=float)
                assert np.allclose(from_xpt[column].to_numpy(dtype=float), expected, equal_nan=True), (
                    domain,
                    column,
                )
            else:
                expected = unguarded(from_csv[column].tolist())
                assert from_xpt[column].fillna("").tolist() == expected, (domain, column)


def test_variable_names_fit_in_8_characters_and_labels_in_40(study, infused, tmp_path):
    counts = export(study, tmp_path)
    for name in (n for n in counts if n.endswith(".xpt")):
        _frame, meta = pyreadstat.read_xport(str(tmp_path / name), metadataonly=True)
        assert meta.table_name == name.removesuffix(".xpt")
        assert all(len(column) <= 8 and column.isupper() for column in meta.column_names), name
        assert all(len(label) <= 40 for label in meta.column_labels), name
    for domain in sdtm.DOMAINS.values():
        assert all(len(v.name) <= 8 and len(v.label) <= 40 for v in domain.variables)


def test_study_day_is_1_on_the_infusion_day_with_no_day_0(study, infused, tmp_path):
    """SDTMIG: RFSTDTC (the infusion, protocol Day 0) is study day 1; the day before it is -1."""
    export(study, tmp_path)
    rows = [
        r
        for r in csv.DictReader((tmp_path / "VS.csv").open(encoding="utf-8-sig"))
        if r["USUBJID"].endswith(infused.screening_number)
    ]
    assert rows and all(r["VSDY"] == "2" for r in rows)  # protocol day 1
    assert {r["VSDTC"] for r in rows} == {(infused.infusion_date + timedelta(days=1)).isoformat()}
    ex = {r["EXCAT"]: r for r in csv.DictReader((tmp_path / "EX.csv").open(encoding="utf-8-sig"))}
    assert ex["CAR-T"]["EXSTDY"] == "1"
    ds = {r["DSDECOD"]: r for r in csv.DictReader((tmp_path / "DS.csv").open(encoding="utf-8-sig"))}
    consent = (infused.consent_date - infused.infusion_date).days
    assert consent < 0 and ds["INFORMED CONSENT OBTAINED"]["DSSTDY"] == str(consent)
    dm = next(
        r
        for r in csv.DictReader((tmp_path / "DM.csv").open(encoding="utf-8-sig"))
        if r["USUBJID"].endswith(infused.screening_number)
    )
    assert dm["RFSTDTC"] == dm["RFXSTDTC"] == infused.infusion_date.isoformat()
    assert sdtm.sdtm_day(infused.infusion_date, infused.infusion_date - timedelta(days=1)) == -1


def test_deidentified_domains_hold_no_initials_and_shifted_dates(study, infused, tmp_path):
    export(study, tmp_path, deidentify=True)
    from exports.deid import offset_for

    offset = timedelta(days=offset_for(infused.pk))
    vs = list(csv.DictReader((tmp_path / "VS.csv").open(encoding="utf-8-sig")))
    assert {r["VSDTC"] for r in vs} == {(infused.infusion_date + timedelta(days=1) + offset).isoformat()}
    assert {r["VSDY"] for r in vs} == {"2"}
    dm = list(csv.DictReader((tmp_path / "DM.csv").open(encoding="utf-8-sig")))
    assert "BRTHDTC" not in dm[0] and dm[0]["AGE"] == str(infused.screening_date.year - 1985)
    assert dm[0]["RFSTDTC"] == (infused.infusion_date + offset).isoformat()
    ds = {
        r["DSDECOD"]: r["DSSTDTC"] for r in csv.DictReader((tmp_path / "DS.csv").open(encoding="utf-8-sig"))
    }
    assert ds["INFORMED CONSENT OBTAINED"] == (infused.consent_date + offset).isoformat()
    text = "".join(
        (tmp_path / name).read_text(encoding="utf-8-sig")
        for name in ("DM.csv", "DS.csv", "VS.csv", "MH.csv", "CM.csv")
    )
    assert "QX" not in text


def test_study_day_mode_keeps_study_days_and_no_dates(study, infused, tmp_path):
    export(study, tmp_path, deidentify=True, date_mode="study_day")
    vs = list(csv.DictReader((tmp_path / "VS.csv").open(encoding="utf-8-sig")))
    assert {r["VSDTC"] for r in vs} == {""} and {r["VSDY"] for r in vs} == {"2"}


def test_define_file_lists_every_variable_of_every_dataset(study, infused, tmp_path):
    counts = export(study, tmp_path)
    rows = list(csv.DictReader((tmp_path / "define.csv").open(encoding="utf-8-sig")))
    listed = {(r["DATASET"], r["VARIABLE"]) for r in rows if r["VARIABLE"]}
    for name in counts:
        if name.endswith(".csv") and name not in sdtm.LISTING_FILES:
            header = next(csv.reader((tmp_path / name).open(encoding="utf-8-sig")))
            assert {(name[:-4], h) for h in header} <= listed


def test_an_export_job_zips_the_odm_file_and_the_sdtm_domains(sponsor_admin, study, infused):
    from exports.models import ExportStatus
    from tests.exports.factories import read_zip, run

    job = run(sponsor_admin, study, formats=("odm", "sdtm"))
    assert job.status == ExportStatus.DONE, job.error
    names = set(read_zip(job))
    assert {"odm/odm.xml", "sdtm/DM.xpt", "sdtm/DM.csv", "sdtm/VS.xpt", "sdtm/define.csv"} <= names


def test_domains_are_read_with_the_same_number_of_queries_for_one_or_four_participants(
    study, coordinator, site_yc, tmp_path
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    today = today_at(site_yc)

    def add_infused(initials):
        make_participant(
            coordinator,
            site_yc,
            screened=today - timedelta(days=90),
            infused=today - timedelta(days=60),  # follow-up visits due (RS is read, without rows)
            initials=initials,
        )

    def queries(name):
        with CaptureQueriesContext(connection) as captured:
            counts = export(study, tmp_path / name)
        return len(captured), counts

    add_infused("QA")
    one, one_counts = queries("one")
    for initials in ("QB", "QC", "QD"):
        add_infused(initials)
    four, four_counts = queries("four")

    assert four_counts["DM.csv"] == 4 * one_counts["DM.csv"] == 4
    assert four_counts["SV.csv"] > one_counts["SV.csv"] > 0
    assert "RS.csv" not in four_counts  # no assessment happened: no placeholder rows, no empty dataset
    assert four == one

"""The analysis dataset ADEFF leaves only as a logged export job: CSV and XPT, equal, de-identifiable."""

import io

import numpy as np
import pandas as pd

from exports.models import DateShift, ExportStatus
from tests.exports.factories import manifest, read_zip, rows, run


def test_adeff_is_exported_as_csv_and_xpt_with_equal_rows_and_the_rule_versions(
    sponsor_admin, hand_participant
):
    job = run(sponsor_admin, hand_participant.site.study, formats=("adam",))
    assert job.status == ExportStatus.DONE, job.error
    files = read_zip(job)
    table = rows(files["adam/ADEFF.csv"])
    assert [r["AVISIT"] for r in table] == ["BL", "D28", "M3", "M6", "M9"]
    assert all(r["ASMRV"] for r in table) and any(r["SRI4RV"] for r in table)
    assert all(r["SLEDRV"] for r in table if r["SLEDAI"])
    counts = {f["name"]: f["rows"] for f in manifest(job)["files"]}
    assert counts["adam/ADEFF.csv"] == counts["adam/ADEFF.xpt"] == 5
    xpt = pd.read_sas(io.BytesIO(files["adam/ADEFF.xpt"]), format="xport", encoding="utf-8")
    assert list(xpt.columns)[:5] == ["STUDYID", "USUBJID", "SITEID", "DOSELVL", "AVISIT"]
    assert list(xpt["AVISIT"]) == [r["AVISIT"] for r in table]
    # pandas' reader turns an IBM zero (eight zero bytes, as written) into 5.4e-79: compare with a tolerance.
    expected = [float(r["SLEDAI"]) if r["SLEDAI"] else np.nan for r in table]
    assert np.allclose(xpt["SLEDAI"].to_numpy(dtype=float), expected, equal_nan=True)


def test_a_deidentified_adeff_shifts_the_analysis_dates_by_the_stored_offset(sponsor_admin, hand_participant):
    identifiable = rows(
        read_zip(run(sponsor_admin, hand_participant.site.study, formats=("adam",)))["adam/ADEFF.csv"]
    )
    job = run(sponsor_admin, hand_participant.site.study, formats=("adam",), deidentify=True)
    shifted = rows(read_zip(job)["adam/ADEFF.csv"])
    days = DateShift.objects.get(participant=hand_participant).days
    from datetime import date, timedelta

    for before, after in zip(identifiable, shifted, strict=True):
        assert date.fromisoformat(after["ADT"]) == date.fromisoformat(before["ADT"]) + timedelta(days=days)
        assert after["ADY"] == before["ADY"]

"""The whole export of the demo study plus 200 synthetic participants with their case report forms
(``trials.synthetic`` then ``efficacy.synthetic``): SDTMIG conformance across every domain, and a
de-identified export that leaks nothing.

The study is built, exported and dropped once per session (a copy of the demo database, then two
exports: the whole identifiable zip and the whole de-identified zip); the tests read the files. The
SDTM checks are those of ``test_sdtm_conformance``, imported and run here over this richer study
(their ``exported`` fixture is this module's, the SDTM folder of the identifiable zip).
"""

import csv
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from tests.exports.test_deidentified_leaks import _odm_dates_differ, csv_rows, dates_in
from tests.exports.test_sdtm_conformance import (  # noqa: F401 - collected and run on this study
    test_arm_variables_follow_sdtmig_for_screen_failures_and_the_untreated,
    test_coded_values_are_terms_of_their_cdisc_codelist,
    test_dates_and_times_are_the_sites_local_clock_without_an_offset,
    test_define_xml_is_valid_define_2_1_and_names_every_dataset_and_variable,
    test_epochs_agree_with_the_trial_design_and_the_dates,
    test_every_character_value_in_the_transport_files_is_ascii,
    test_every_domain_carries_its_required_variables_and_no_dataset_is_empty,
    test_keys_are_unique_and_sequence_numbers_count_per_subject,
    test_lab_and_exposure_and_ae_carry_the_standard_variables,
    test_study_days_are_never_0_and_day_1_is_the_infusion,
    test_trial_summary_holds_the_required_parameters,
)

pytestmark = [pytest.mark.xdist_group("synthetic-study"), pytest.mark.synthetic]

SYNTHETIC = 200
SEED = 17
MARKER = "QZMARK"
FORMATS = ("csv", "odm", "sdtm", "adam")
STAFF = {  # site code: (login, first name, last name): nothing else in the data contains them
    "YC": ("staffqyc", "Xiuqiong", "Dunhuangzi"),
    "CD": ("staffqcd", "Baoqiong", "Helanshanzi"),
}


@dataclass
class Study:
    """What the tests read: the SDTM folder and its counts, both zips, and facts from the database."""

    sdtm_directory: Path
    sdtm_counts: dict
    identifiable: dict[str, bytes]
    deidentified: dict[str, bytes]
    participants: list[dict] = field(default_factory=list)
    planted: set[str] = field(default_factory=set)
    seeded: dict = field(default_factory=dict)
    site_names: list[str] = field(default_factory=list)
    staff: list[tuple[str, str, str]] = field(default_factory=list)
    export_date: date | None = None


def _plant(participant_ids: set[int], planted: set[str]):
    """A marker in every free-text field of the rows of ``participant_ids``, except the coded ones the
    de-identification keeps on purpose (``exports.deid.CODED_TEXT``)."""
    from exports.deid import CODED_TEXT

    def plant(participant_id, label, name):
        if participant_id not in participant_ids or name in CODED_TEXT:
            return None
        planted.add(f"{label}.{name}")
        return f"{MARKER}{participant_id}"

    return plant


def _initials(pk: int) -> str:
    """Three letters starting with Q, J, X: no code of the export looks like them."""
    letters = "ABCDEFGHKLMNPRSTUVWY"
    return "QJX"[pk % 3] + letters[pk % 20] + letters[(pk // 20) % 20]


def _build(tmp: Path) -> Study:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from accounts.models import Role
    from accounts.services import create_user, grant_membership
    from efficacy.synthetic import free_text_fields, seed_synthetic_crfs
    from exports import services
    from exports.options import ExportOptions
    from trials.models import Participant
    from trials.models import Study as StudyModel
    from trials.synthetic import seed_synthetic
    from visits.models import Visit

    study = StudyModel.objects.get()
    with transaction.atomic():
        users = {}
        for site in study.sites.all():
            login, first, last = STAFF[site.code]
            user = create_user(
                username=login, password="synthetic-staff-pw-1", first_name=first, last_name=last
            )
            grant_membership(by=None, user=user, study=study, role=Role.COORDINATOR, site=site)
            users[site.pk] = user
        before = set(Participant.objects.values_list("pk", flat=True))
        seed_synthetic(participants=SYNTHETIC, append=True, seed=SEED)
        synthetic = Participant.objects.exclude(pk__in=before).order_by("pk")
        chosen = set(list(synthetic.values_list("pk", flat=True))[::4])  # a quarter carry the markers
        planted: set[str] = set()
        keys = {"study_id", "screening_number", "initials"}
        names = [f.name for f in free_text_fields(Participant) if f.name not in keys]
        for pk in sorted(chosen):  # distinctive initials; free text of the participant and its visits
            text = dict.fromkeys(names, f"{MARKER}{pk}")
            Participant.objects.filter(pk=pk).update(initials=_initials(pk), **text)
            Visit.objects.filter(participant_id=pk).exclude(status_reason="").update(
                status_reason=f"{MARKER}{pk}"
            )
        planted |= {f"trials.Participant.{name}" for name in names} | {"visits.Visit.status_reason"}
        seeded = seed_synthetic_crfs(study=study, seed=SEED, users=users, plant=_plant(chosen, planted))
        connection.run_on_commit.clear()  # no notification tasks for the broker: as in demo_template
    participants = list(
        Participant.objects.order_by("pk").values(
            "pk",
            "screening_number",
            "study_id",
            "initials",
            "year_of_birth",
            "infusion_date",
            "eligibility_met",
        )
    )
    for p in participants:
        p["planted"] = p["pk"] in chosen
    sponsor = get_user_model().objects.get(username="sponsoradmin")

    def run(**options):
        job = services.request_export(
            user=sponsor, options=ExportOptions(study_id=study.pk, formats=FORMATS, **options), enqueue=False
        )
        job = services.run_export(job_id=job.pk)
        with zipfile.ZipFile(job.zip_path) as archive:
            return {name: archive.read(name) for name in archive.namelist()}

    from edc.localtime import site_today

    identifiable = run()
    # The SDTM folder of the zip, with the rows the manifest counts, for test_sdtm_conformance's checks.
    counts = {}
    for entry in json.loads(identifiable["manifest.json"])["files"]:
        if entry["name"].startswith("sdtm/"):
            path = tmp / entry["name"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(identifiable[entry["name"]])
            counts[entry["name"].removeprefix("sdtm/")] = entry["rows"]
    return Study(
        sdtm_directory=tmp / "sdtm",
        sdtm_counts=counts,
        identifiable=identifiable,
        deidentified=run(deidentify=True),
        participants=participants,
        planted=planted,
        seeded=seeded,
        site_names=[s.name for s in study.sites.all()] + [s.city for s in study.sites.all() if s.city],
        staff=[(u.username, u.first_name, u.last_name) for u in get_user_model().objects.all()],
        export_date=max(site_today(s.timezone) for s in study.sites.all()),
    )


@pytest.fixture(scope="session")
def synthetic_study(demo_template, django_db_blocker, tmp_path_factory):
    """The demo study plus 200 synthetic participants with CRF data, exported; built once a session."""
    from django.test.utils import override_settings

    from edc.testing.databases import copy_database, drop_database, using_database

    name = f"{demo_template}_synthetic"
    tmp = tmp_path_factory.mktemp("synthetic-study")
    with django_db_blocker.unblock():
        copy_database(demo_template, name)
        try:
            with using_database(name), override_settings(DEMO_MODE=True, EXPORT_ROOT=tmp / "exports"):
                yield _build(tmp)
        finally:
            drop_database(name)


@pytest.fixture
def exported(synthetic_study):
    """``test_sdtm_conformance``'s fixture over this study: (folder, counts, frames of every dataset)."""
    directory = synthetic_study.sdtm_directory
    counts = synthetic_study.sdtm_counts
    frames = {
        name[:-4]: pd.read_csv(directory / name, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        for name in counts
        if name.endswith(".csv") and name != "define.csv"
    }
    return directory, counts, frames


# --- the data behind the checks ---------------------------------------------------------------------


def test_the_synthetic_participants_carry_case_report_forms_of_every_kind(synthetic_study, exported):
    seeded = synthetic_study.seeded
    for label in (
        "crfs.Demographics", "crfs.EligibilityChecklist", "crfs.VitalSigns", "crfs.Lymphodepletion",
        "crfs.Infusion", "labs.LabResult", "disease_activity.SledaiAssessment",
        "disease_activity.PhysicianGlobalAssessment", "medications.Medication", "adverse_events.AdverseEvent",
        "adverse_events.AdverseEventGrade", "adverse_events.SaeReport", "adverse_events.CrsAssessment",
        "adverse_events.IcansAssessment", "crfs.MissingValue",
    ):  # fmt: skip
        assert seeded.get(label, 0) > 0, label
    _directory, _counts, frames = exported
    dm = frames["DM"]
    assert len(dm) >= SYNTHETIC + 12
    assert {"SCREEN FAILURE", "ASSIGNED, NOT TREATED"} <= set(dm.ARMNRS)
    assert set(dm.SITEID) >= {"YC", "CD"}
    ae = frames["AE"]
    assert {"CYTOKINE RELEASE SYNDROME", "NEUTROPHIL COUNT DECREASED"} <= set(ae.AEDECOD.str.upper())
    assert (ae.AESER == "Y").any()
    lb = frames["LB"]
    assert {"3", "4"} <= set(lb.LBTOXGR) and (lb.LBSTAT == "NOT DONE").any()
    assert len(lb) > 10_000 and len(frames["VS"]) > 5_000
    cm = frames["CM"]
    assert cm.CMTRT.str.upper().str.contains("PREDNISONE").sum() > 100


def test_every_participant_keeps_the_usubjid_of_their_screening(synthetic_study, exported):
    """Screen failures, the not enrolled and the enrolled alike: USUBJID from the screening number,
    SUBJID the study number once enrolled."""
    _directory, _counts, frames = exported
    dm = frames["DM"].set_index("USUBJID")
    for p in synthetic_study.participants:
        usubjid = f"UDCAR-SLE-{p['screening_number']}"
        assert usubjid in dm.index, usubjid
        if p["study_id"]:
            assert dm.loc[usubjid, "SUBJID"] == p["study_id"]
    subjects = set(dm.index)
    for domain, frame in frames.items():
        if "USUBJID" in frame.columns and domain not in ("DM",):
            assert set(frame.USUBJID) <= subjects, domain


def test_define_xml_of_the_whole_export_names_every_sdtm_dataset(synthetic_study):
    files = synthetic_study.identifiable
    datasets = {Path(n).stem for n in files if n.startswith("sdtm/") and n.endswith(".xpt")}
    define = files["sdtm/define.xml"].decode()
    assert datasets
    for name in datasets:
        assert f'Name="{name}"' in define, name


# --- de-identification --------------------------------------------------------------------------------


def test_markers_were_planted_in_every_free_text_field_of_the_forms(synthetic_study):
    planted = synthetic_study.planted
    for label in (
        "trials.Participant.end_reason", "visits.Visit.status_reason", "adverse_events.AdverseEvent.verbatim",
        "adverse_events.AdverseEvent.treatment", "adverse_events.SaeReport.narrative",
        "crfs.PhysicalExam.skin_findings", "crfs.Demographics.ethnicity_other",
        "medications.Medication.agent",
        "medications.Medication.indication", "crfs.PriorTreatment.dose", "labs.LabPanel.laboratory",
        "adverse_events.AdverseEvent.infection_pathogen",
    ):  # fmt: skip
        assert label in planted, label
    real = b"".join(synthetic_study.identifiable.values())
    assert MARKER.encode() in real  # the identifiable export shows them: the search below can find them


def test_the_deidentified_export_holds_no_marker_initials_site_staff_or_screening_number(synthetic_study):
    files = synthetic_study.deidentified
    assert {name.split("/")[0] for name in files} >= {*FORMATS, "manifest.json"}
    forbidden = {"marker": MARKER.lower(), "year of birth": "born "}
    for n, name in enumerate(synthetic_study.site_names):
        forbidden[f"site {n}"] = name.lower()
    for login, first, last in synthetic_study.staff:
        if login in {s[0] for s in STAFF.values()}:
            forbidden |= {
                f"login {login}": login,
                f"name {login}": first.lower(),
                f"surname {login}": last.lower(),
            }
    numbers = {p["screening_number"] for p in synthetic_study.participants}
    initials = {p["initials"] for p in synthetic_study.participants if p["planted"]}
    as_word = re.compile(r"\b(?:" + "|".join(sorted(initials)) + r")\b")
    for name, content in files.items():
        text = content.decode("utf-8", errors="replace")
        lowered = text.lower()
        found = {what: value for what, value in forbidden.items() if value in lowered}
        assert not found, (name, found)
        leaked = {n for n in re.findall(r"[A-Z]{2}-S\d{3,}", text) if n in numbers}
        assert not leaked, (name, sorted(leaked)[:5])
        assert not as_word.search(text), (name, as_word.search(text))
        if name.endswith(".csv"):
            header = next(csv.reader(io.StringIO(content.decode("utf-8-sig"))), [])
            identifying = {"year_of_birth", "BRTHYR", "BRTHDTC", "initials", "screening_number"}
            assert not identifying & set(header), name


def test_every_date_of_the_deidentified_export_is_shifted_and_none_after_the_export_date(synthetic_study):
    real, shifted = synthetic_study.identifiable, synthetic_study.deidentified
    today = (synthetic_study.export_date + timedelta(days=1)).isoformat()  # the sites' today, UTC+8
    compared = 0
    for name, content in shifted.items():
        if not name.endswith(".csv") or name.endswith(("_long.csv", "define.csv", "data_dictionary.csv")):
            continue
        before, after = csv_rows(real[name]), csv_rows(content)
        if after and not {"study_id", "USUBJID"} & set(after[0]):
            continue  # study-level data (SDTM trial design: the protocol's dates)
        assert len(before) == len(after), name
        for old, new in zip(before, after, strict=True):
            for column, value in new.items():
                if dates_in(value) and dates_in(old.get(column, "")):
                    assert value != old[column], (name, column, value)
                    if old[column][:10] <= today:  # what happened stays in the past (planned dates aside)
                        assert value[:10] <= today, (name, column, value)
                    compared += 1
    assert compared > 10_000
    assert _odm_dates_differ(real["odm/odm.xml"], shifted["odm/odm.xml"]) > 1_000

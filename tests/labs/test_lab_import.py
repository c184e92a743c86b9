"""Laboratory results imported from a FHIR R4 bundle or a CSV (issue 18, point 2): the preview gives every
row its outcome, the import writes only the new and differing values through the lab services, a file
imported twice changes nothing, a failure leaves nothing half-saved, and two imports of one preview at
once (two tabs, a double click) write each value once."""

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connections
from django.utils import timezone

from accounts.models import Role
from edc.audit_trail import AuditFilters, audit_page
from edc.errors import DomainError
from labs import importing
from labs import services as lab_services
from labs.importing import PreviewChanged, choose_visit, commit_import, upload_file
from labs.models import ImportStatus, LabImport, LabImportMapping, LabPanel, LabResult, RowOutcome
from monitoring.locks import lock
from monitoring.models import Query
from tests.conftest import make_participant, today_at
from tests.labs.conftest import entry, save
from tests.labs.lab_files import MAPPING, bundle, csv_file, observation

HB, CREATININE, ANC, ALT, CD4 = "718-7", "2160-0", "751-8", "1742-6", "24467-3"


@pytest.fixture
def site_participants(coordinator, site_yc, ranges):
    """Two YC participants screened 40 days ago, at Baseline today: the screening window closed 29 days
    ago, so a sample of ten days ago falls outside every window."""
    today = today_at(site_yc)
    made = [
        make_participant(
            coordinator,
            site_yc,
            initials=initials,
            screened=today - timedelta(days=40),
            planned=today + timedelta(days=5),
        )
        for initials in ("AA", "BB")
    ]
    return made


@pytest.fixture
def first(site_participants):
    return site_participants[0]


@pytest.fixture
def second(site_participants):
    return site_participants[1]


def an_hour_ago():
    return timezone.now() - timedelta(hours=1)


def upload(user, site, content, *, name="results.json", file_format="fhir"):
    return upload_file(user=user, site=site, file_name=name, content=content, file_format=file_format)


def outcomes(lab_import) -> dict[str, str]:
    return {row.source_id: row.outcome for row in lab_import.rows.all()}


@pytest.fixture
def every_outcome(coordinator, data_manager, first, second):
    """Entered values and a lock such that a file can meet every outcome of the preview."""
    baseline = first.visits.get(code="BL")
    save(
        coordinator,
        baseline,
        [entry("hb", 120, "g/L"), entry("anc", 2.5, "10^9/L")],
        collected_at=an_hour_ago(),
    )
    lock(user=data_manager, scope="visit", target=second.visits.get(code="BL"), reason="Monitored")
    return baseline


def every_outcome_bundle(first, second) -> bytes:
    now = an_hour_ago()
    return bundle(
        observation("obs-new", first.screening_number, ALT, 30, "U/L", now, performer="Yancheng Central Lab"),
        observation("obs-same", first.study_id, HB, 12.0, "g/dL", now),  # 120 g/L entered
        observation("obs-differs", first.screening_number, ANC, 3.1, "10*9/L", now),  # 2.5 entered
        observation("obs-unmatched", "YC-S999", HB, 120, "g/L", now),
        observation("obs-unknown", first.screening_number, "99999-9", 1, "g/L", now),
        observation("obs-outside", first.screening_number, HB, 118, "g/L", now - timedelta(days=10)),
        observation("obs-locked", second.screening_number, HB, 121, "g/L", now),
    )


EXPECTED = {
    "obs-new": RowOutcome.NEW,
    "obs-same": RowOutcome.SAME,
    "obs-differs": RowOutcome.DIFFERS,
    "obs-unmatched": RowOutcome.UNMATCHED,
    "obs-unknown": RowOutcome.UNKNOWN_CODE,
    "obs-outside": RowOutcome.OUTSIDE_WINDOW,
    "obs-locked": RowOutcome.LOCKED,
}


def test_a_fhir_bundle_previews_every_outcome_and_writes_nothing(
    coordinator, site_yc, every_outcome, first, second
):
    before = LabResult.objects.count()
    lab_import = upload(coordinator, site_yc, every_outcome_bundle(first, second))
    assert outcomes(lab_import) == EXPECTED
    assert lab_import.status == ImportStatus.PREVIEWED
    assert LabResult.objects.count() == before
    assert lab_import.counts == {**dict.fromkeys(RowOutcome.values, 0), **dict.fromkeys(EXPECTED.values(), 1)}
    same = lab_import.rows.get(source_id="obs-differs")
    assert (same.entered, same.value, same.unit) == ("2.5 ×10⁹/L", Decimal("3.1"), "10^9/L")


def test_a_csv_with_the_sites_mapping_previews_every_outcome(
    coordinator, data_manager, site_yc, every_outcome, first, second
):
    importing.save_mapping(user=data_manager, site=site_yc, **MAPPING)
    when = an_hour_ago().astimezone(timezone.get_fixed_timezone(480))
    local = f"{when:%Y-%m-%d %H:%M}"  # the site's local time, no offset
    content = csv_file(
        ["A1", first.screening_number, ALT, "30", "U/L", local, "Central lab"],
        ["A2", first.study_id, HB, "12.0", "g/dL", local, ""],
        ["A3", first.screening_number, ANC, "3100", "cells/µL", local, ""],
        ["A4", "YC-S999", HB, "120", "g/L", local, ""],
        ["A5", first.screening_number, "99999-9", "1", "g/L", local, ""],
        ["A6", first.screening_number, HB, "118", "g/L", f"{when - timedelta(days=10):%Y-%m-%d %H:%M}", ""],
        ["A7", second.screening_number, HB, "121", "g/L", local, ""],
    )
    lab_import = upload(coordinator, site_yc, content, name="lis.csv", file_format="csv")
    assert outcomes(lab_import) == dict(
        zip(["A1", "A2", "A3", "A4", "A5", "A6", "A7"], EXPECTED.values(), strict=True)
    )
    assert lab_import.rows.get(source_id="A1").performer == "Central lab"


def test_the_import_writes_new_and_differing_values_through_the_lab_services(
    coordinator, site_yc, every_outcome, first, second
):
    lab_import = upload(coordinator, site_yc, every_outcome_bundle(first, second), name="march.json")
    lab_import = commit_import(user=coordinator, lab_import=lab_import)
    assert lab_import.status == ImportStatus.IMPORTED and lab_import.written == 2
    panel = (
        every_outcome.lab_panels.get(panel="haematology") if hasattr(every_outcome, "lab_panels") else None
    )
    results = {r.analyte: r for r in LabResult.objects.filter(panel__visit=every_outcome)}
    assert results["alt"].value == 30 and results["alt"].panel.laboratory == "Yancheng Central Lab"
    assert results["anc"].value == Decimal("3.1") and results["hb"].value == 120
    assert lab_import.rows.get(source_id="obs-new").result == results["alt"]
    assert not LabResult.objects.filter(panel__visit__participant=second).exists()
    assert panel is None or panel.pk
    reasons = {row.reason for row in audit_page(AuditFilters(text="imported from march.json")).rows}
    row_number = lab_import.rows.get(source_id="obs-differs").number
    assert f"imported from march.json, row {row_number}" in reasons


def test_reimporting_the_same_file_changes_nothing(coordinator, site_yc, every_outcome, first, second):
    content = every_outcome_bundle(first, second)
    commit_import(user=coordinator, lab_import=upload(coordinator, site_yc, content))
    stored = {r.pk: (r.value, r.updated_at) for r in LabResult.objects.all()}
    again = upload(coordinator, site_yc, content)
    assert again.sha256 == LabImport.objects.exclude(pk=again.pk).get().sha256
    found = outcomes(again)
    assert found["obs-new"] == found["obs-differs"] == found["obs-same"] == RowOutcome.SAME
    commit_import(user=coordinator, lab_import=again)
    assert {r.pk: (r.value, r.updated_at) for r in LabResult.objects.all()} == stored
    assert LabImport.objects.get(pk=again.pk).written == 0


def test_a_corrected_value_under_the_same_identifier_becomes_a_change(coordinator, site_yc, first):
    when = an_hour_ago()
    commit_import(
        user=coordinator,
        lab_import=upload(
            coordinator, site_yc, bundle(observation("o1", first.study_id, ALT, 30, "U/L", when))
        ),
    )
    corrected = upload(
        coordinator, site_yc, bundle(observation("o1", first.study_id, ALT, 33, "U/L", when)), name="fix.json"
    )
    assert outcomes(corrected) == {"o1": RowOutcome.DIFFERS}
    commit_import(user=coordinator, lab_import=corrected)
    assert LabResult.objects.get(analyte="alt").value == 33
    assert any(
        r.reason == "imported from fix.json, row 1" for r in audit_page(AuditFilters(text="fix.json")).rows
    )


def test_each_differing_value_keeps_the_reason_naming_its_own_row(coordinator, site_yc, first):
    """Each change of an import is audited with its own row: merged into the import's one audit
    context, every change showed the reason of the last row saved."""
    when = an_hour_ago()
    first_file = bundle(
        observation("o1", first.study_id, ALT, 30, "U/L", when),
        observation("o2", first.study_id, HB, 120, "g/L", when),
    )
    commit_import(user=coordinator, lab_import=upload(coordinator, site_yc, first_file))
    corrected = bundle(
        observation("o1", first.study_id, ALT, 33, "U/L", when),
        observation("o2", first.study_id, HB, 110, "g/L", when),
    )
    commit_import(user=coordinator, lab_import=upload(coordinator, site_yc, corrected, name="fix.json"))
    rows = audit_page(AuditFilters(text="fix.json")).rows
    changed = {row.reason: (old, new) for row in rows for label, old, new in row.changes if label == "value"}
    assert changed == {
        "imported from fix.json, row 1": (30, 33),  # ALT
        "imported from fix.json, row 2": (120, 110),  # haemoglobin
    }, changed
    # The import's own record (its status) keeps the import's reason: the file.
    status = [row for row in rows if any(label == "status" for label, _o, _n in row.changes)]
    assert status and all(row.reason == "fix.json" for row in status)


@pytest.mark.parametrize(
    ("loinc", "analyte", "entered", "imported", "same"),
    [
        # creatinine: µmol/L entered, mg/dL reported (and back)
        ("2160-0", "creatinine", ("88.4", "umol/L"), (1.0, "mg/dL"), True),
        ("2160-0", "creatinine", ("1.2", "mg/dL"), (106.08, "umol/L"), True),
        ("2160-0", "creatinine", ("88", "umol/L"), (1.2, "mg/dL"), False),
        # haemoglobin: g/L ↔ g/dL
        (HB, "hb", ("125", "g/L"), (12.5, "g/dL"), True),
        (HB, "hb", ("12.5", "g/dL"), (125, "g/L"), True),
        (HB, "hb", ("125", "g/L"), (12.0, "g/dL"), False),
        # cell counts: cells/µL ↔ 10⁹/L
        (ANC, "anc", ("1.5", "10^9/L"), (1500, "/uL"), True),
        (CD4, "cd4", ("200", "cells/uL"), (0.2, "10*9/L"), True),
    ],
)
def test_an_imported_value_is_compared_with_the_entered_one_across_units(
    coordinator, site_yc, first, loinc, analyte, entered, imported, same
):
    from labs.analytes import BY_CODE

    baseline = first.visits.get(code="BL")
    when = an_hour_ago()
    save(
        coordinator,
        baseline,
        [entry(analyte, entered[0], entered[1])],
        panel=BY_CODE[analyte].panel,
        collected_at=when,
    )
    lab_import = upload(
        coordinator, site_yc, bundle(observation("c1", first.study_id, loinc, imported[0], imported[1], when))
    )
    assert outcomes(lab_import) == {"c1": RowOutcome.SAME if same else RowOutcome.DIFFERS}


def test_a_unit_the_analyte_is_not_entered_in_is_converted_to_its_standard_unit(coordinator, site_yc, first):
    # CD4 counts are entered per µL or ×10⁹/L; a laboratory reporting ×10³/µL is converted to cells/µL.
    lab_import = upload(
        coordinator, site_yc, bundle(observation("u1", first.study_id, CD4, 0.35, "10*3/uL", an_hour_ago()))
    )
    row = lab_import.rows.get()
    assert (row.outcome, row.value, row.unit) == (RowOutcome.NEW, Decimal(350), "cells/uL")


def test_the_imported_value_is_graded_and_opens_its_automatic_query(coordinator, site_yc, first):
    # ANC 0.3 ×10⁹/L: CTCAE v5.0 neutrophil count decreased grade 4 (< 0.5), flagged L, and below half
    # the lower limit of normal (1.8), which opens the LAB-FAR-BELOW query.
    lab_import = upload(
        coordinator, site_yc, bundle(observation("g1", first.study_id, ANC, 300, "/uL", an_hour_ago()))
    )
    commit_import(user=coordinator, lab_import=lab_import)
    result = LabResult.objects.get(analyte="anc")
    assert (result.value, result.unit, result.standard_value) == (Decimal(300), "cells/uL", Decimal("0.3"))
    assert (result.flag, result.ctcae_grade) == ("L", 4)
    assert Query.objects.filter(object_id=result.pk, check_id="LAB-FAR-BELOW").exists()


def test_a_locked_form_is_reported_and_left_alone(coordinator, data_manager, site_yc, first):
    baseline = first.visits.get(code="BL")
    panel = save(coordinator, baseline, [entry("hb", 120, "g/L")], collected_at=an_hour_ago())
    lock(user=data_manager, scope="form", target=panel, reason="Verified")
    lab_import = upload(
        coordinator, site_yc, bundle(observation("l1", first.study_id, HB, 99, "g/L", an_hour_ago()))
    )
    assert outcomes(lab_import) == {"l1": RowOutcome.LOCKED}
    commit_import(user=coordinator, lab_import=lab_import)
    assert LabResult.objects.get(analyte="hb").value == 120


def test_a_row_outside_every_window_goes_to_the_visit_the_user_picks_and_stays_there(
    coordinator, site_yc, first
):
    content = bundle(observation("w1", first.study_id, HB, 118, "g/L", an_hour_ago() - timedelta(days=10)))
    lab_import = upload(coordinator, site_yc, content)
    assert outcomes(lab_import) == {"w1": RowOutcome.OUTSIDE_WINDOW}
    screening = first.visits.get(code="SCR")
    choose_visit(user=coordinator, lab_import=lab_import, number=1, visit_id=screening.pk)
    assert outcomes(lab_import) == {"w1": RowOutcome.NEW}
    commit_import(user=coordinator, lab_import=lab_import)
    assert LabResult.objects.get(analyte="hb").panel.visit == screening
    assert outcomes(upload(coordinator, site_yc, content)) == {"w1": RowOutcome.SAME}


def test_a_visit_of_another_participant_cannot_be_picked(coordinator, site_yc, first, second):
    content = bundle(observation("w1", first.study_id, HB, 118, "g/L", an_hour_ago() - timedelta(days=10)))
    lab_import = upload(coordinator, site_yc, content)
    with pytest.raises(DomainError, match="one of the participant's visits"):
        choose_visit(
            user=coordinator, lab_import=lab_import, number=1, visit_id=second.visits.get(code="SCR").pk
        )


def test_a_failure_while_writing_rolls_the_whole_import_back(
    coordinator, site_yc, first, second, monkeypatch
):
    when = an_hour_ago()
    content = bundle(
        observation("f1", first.study_id, HB, 120, "g/L", when),
        observation("f2", second.study_id, HB, 121, "g/L", when),
    )
    lab_import = upload(coordinator, site_yc, content)
    calls = []
    real = lab_services._create_panel

    def failing(user, item, *args):  # the second new panel of the file fails once the first is written
        calls.append(item.visit)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return real(user, item, *args)

    monkeypatch.setattr(lab_services, "_create_panel", failing)
    with pytest.raises(RuntimeError, match="database went away"):
        commit_import(user=coordinator, lab_import=lab_import)
    assert len(calls) == 2
    assert not LabResult.objects.exists()
    assert LabImport.objects.get(pk=lab_import.pk).status == ImportStatus.PREVIEWED


def test_a_value_entered_after_the_preview_stops_the_import_and_refreshes_the_preview(
    coordinator, site_yc, first
):
    when = an_hour_ago()
    lab_import = upload(coordinator, site_yc, bundle(observation("s1", first.study_id, HB, 120, "g/L", when)))
    save(coordinator, first.visits.get(code="BL"), [entry("hb", 110, "g/L")], collected_at=when)
    with pytest.raises(PreviewChanged, match="The data changed since this preview"):
        commit_import(user=coordinator, lab_import=lab_import)
    assert LabResult.objects.get(analyte="hb").value == 110
    assert outcomes(lab_import) == {"s1": RowOutcome.DIFFERS}


def test_an_impossible_or_future_value_is_unreadable_not_written(coordinator, site_yc, first):
    content = bundle(
        observation("i1", first.study_id, HB, 9000, "g/L", an_hour_ago()),
        observation("i2", first.study_id, ALT, 20, "U/L", timezone.now() + timedelta(days=2)),
        observation("i3", first.study_id, ALT, 20, "furlongs", an_hour_ago()),
        observation("i4", first.study_id, ALT, "twenty", "U/L", an_hour_ago()),
        observation("i4", first.study_id, ALT, 20, "U/L", an_hour_ago()),
        observation("i6", first.study_id, ALT, 20, "U/L", "2026-01-01"),
    )
    lab_import = upload(coordinator, site_yc, content)
    assert [r.outcome for r in lab_import.rows.order_by("number")] == [RowOutcome.INVALID] * 6
    messages = [r.message for r in lab_import.rows.order_by("number")]
    assert "not physiologically possible" in messages[0] and "future" in messages[1]
    assert "furlongs" in messages[2] and "same identifier" in messages[4]


# --- who may import where ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.COORDINATOR, True),
        (Role.INVESTIGATOR, True),
        (Role.DATA_MANAGER, False),  # data managers never change clinical values themselves
        (Role.MONITOR, False),
        (Role.SPONSOR_ADMIN, False),
        (Role.AUDITOR, False),
    ],
)
def test_site_staff_import_and_no_one_else(make_user, site_yc, first, role, allowed):
    user = make_user(role, site_yc if role in (Role.COORDINATOR, Role.INVESTIGATOR, Role.MONITOR) else None)
    content = bundle(observation("p1", first.study_id, ALT, 30, "U/L", an_hour_ago()))
    if not allowed:
        with pytest.raises(PermissionDenied, match="does not allow"):
            upload(user, site_yc, content)
        return
    commit_import(user=user, lab_import=upload(user, site_yc, content))
    assert LabResult.objects.get(analyte="alt").value == 30


def test_another_sites_staff_cannot_import_here(coordinator_cd, site_yc, first):
    with pytest.raises(PermissionDenied, match="does not allow"):
        upload(
            coordinator_cd, site_yc, bundle(observation("p1", first.study_id, ALT, 30, "U/L", an_hour_ago()))
        )


def test_a_file_uploaded_at_one_site_never_matches_another_sites_participant(coordinator_cd, site_cd, first):
    lab_import = upload(
        coordinator_cd, site_cd, bundle(observation("p1", first.study_id, ALT, 30, "U/L", an_hour_ago()))
    )
    assert outcomes(lab_import) == {"p1": RowOutcome.UNMATCHED}


def test_only_a_data_manager_saves_the_csv_mapping(coordinator, data_manager, site_yc):
    with pytest.raises(PermissionDenied, match="does not allow"):
        importing.save_mapping(user=coordinator, site=site_yc, **MAPPING)
    importing.save_mapping(user=data_manager, site=site_yc, **MAPPING)
    importing.save_mapping(user=data_manager, site=site_yc, **{**MAPPING, "performer": ""})
    assert LabImportMapping.objects.get(site=site_yc).performer == ""


def test_a_csv_needs_the_sites_mapping(coordinator, site_yc):
    with pytest.raises(DomainError, match="no CSV column mapping"):
        upload(coordinator, site_yc, csv_file(["A1"]), file_format="csv")


# --- hostile files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"Accession,Patient ID\x00,LOINC\n", "NUL"),
        (b'{"resourceType": "Patient"}', "not a FHIR Bundle"),
        (b"[1, 2", "not valid JSON"),
        (b"", "empty"),
    ],
)
def test_an_unreadable_file_is_refused_with_a_clear_message(
    coordinator, data_manager, site_yc, content, message
):
    importing.save_mapping(user=data_manager, site=site_yc, **MAPPING)
    file_format = "fhir" if content.startswith((b"{", b"[")) else "csv"
    with pytest.raises(DomainError, match=message):
        upload(coordinator, site_yc, content, file_format=file_format)
    assert not LabImport.objects.exists()


def test_hostile_csv_cells_are_kept_as_inert_text(coordinator, data_manager, site_yc, first):
    importing.save_mapping(user=data_manager, site=site_yc, **MAPPING)
    local = f"{an_hour_ago().astimezone(timezone.get_fixed_timezone(480)):%Y-%m-%d %H:%M}"
    content = csv_file(
        ['=HYPERLINK("http://evil")', first.study_id, ALT, "30", "U/L", local, "=cmd|' /C calc'!A0"],
        ["B2", "<script>alert(1)</script>", ALT, "30", "U/L", local, ""],
        ["B3", first.study_id, ALT, "+1+1", "U/L", local, ""],
        ["B4", first.study_id + "\u202e", HB, "1" * 500, "g/L", local, ""],
    )
    lab_import = upload(coordinator, site_yc, content, file_format="csv")
    rows = list(lab_import.rows.order_by("number"))
    assert rows[0].outcome == RowOutcome.NEW and rows[0].source_id.startswith("=HYPERLINK")
    assert rows[1].outcome == RowOutcome.UNMATCHED and rows[1].subject == "<script>alert(1)</script>"
    assert rows[2].outcome == RowOutcome.INVALID  # "+1+1" is not a number, never evaluated
    assert rows[3].outcome in (RowOutcome.UNMATCHED, RowOutcome.INVALID) and len(rows[3].value_text) <= 100
    assert "\u202e" not in rows[3].subject


def test_a_csv_without_a_mapped_column_names_it(coordinator, data_manager, site_yc):
    importing.save_mapping(user=data_manager, site=site_yc, **MAPPING)
    with pytest.raises(DomainError, match="“Units”"):
        upload(
            coordinator,
            site_yc,
            csv_file(["A1"], header=["Accession", "Patient ID", "LOINC", "Result", "Collected", "Lab"]),
            file_format="csv",
        )


@pytest.mark.django_db(transaction=True)
def test_two_imports_of_one_preview_at_once_write_each_value_once(
    coordinator, investigator, site_yc, first, second, monkeypatch
):
    when = an_hour_ago()
    content = bundle(
        observation("c1", first.study_id, HB, 120, "g/L", when),
        observation("c2", first.study_id, ALT, 30, "U/L", when),
        observation("c3", second.study_id, HB, 121, "g/L", when),
    )
    lab_import = upload(coordinator, site_yc, content)

    # Hold the writing a moment inside the transaction, so that the two imports surely overlap.
    write = importing._write

    def slow_write(*args, **kwargs):
        time.sleep(0.5)
        return write(*args, **kwargs)

    monkeypatch.setattr(importing, "_write", slow_write)
    start = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def run(index: int, user) -> None:
        try:
            start.wait(timeout=10)
            copy = LabImport.objects.get(pk=lab_import.pk)  # each tab read the preview itself
            commit_import(user=user, lab_import=copy)
            outcomes[index] = "imported"
        except DomainError as error:
            outcomes[index] = str(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, u)) for i, u in enumerate((coordinator, investigator))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes.values()) == ["This file was already imported.", "imported"], outcomes
    stored = LabImport.objects.get(pk=lab_import.pk)
    assert stored.status == ImportStatus.IMPORTED and stored.written == 3
    assert LabResult.objects.count() == 3
    assert sorted(stored.rows.values_list("result__analyte", flat=True)) == ["alt", "hb", "hb"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("entered_before", [None, 105], ids=["new-panel", "changed-panel"])
def test_a_panel_saved_by_hand_while_the_file_is_written_stops_the_import_and_refreshes_the_preview(
    coordinator, investigator, site_yc, first, monkeypatch, entered_before
):
    """The preview said "new" (or "differs" from 105); a colleague saves the panel by hand once the
    import checked it and before it writes: the import writes nothing over the colleague's value, and
    the refreshed preview shows it (never a database error, a second panel or a lost update)."""
    when = an_hour_ago()
    if entered_before is not None:
        save(
            coordinator, first.visits.get(code="BL"), [entry("hb", entered_before, "g/L")], collected_at=when
        )
    lab_import = upload(coordinator, site_yc, bundle(observation("h1", first.study_id, HB, 120, "g/L", when)))
    checked, entered = threading.Event(), threading.Event()
    write = importing._write

    def write_after_the_colleague(*args, **kwargs):
        checked.set()
        entered.wait(timeout=10)
        return write(*args, **kwargs)

    monkeypatch.setattr(importing, "_write", write_after_the_colleague)
    outcome: dict[str, str] = {}

    def run_import() -> None:
        try:
            commit_import(user=coordinator, lab_import=LabImport.objects.get(pk=lab_import.pk))
            outcome["import"] = "imported"
        except DomainError as error:
            outcome["import"] = str(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run_import)
    thread.start()
    assert checked.wait(timeout=30)
    visit = first.visits.get(code="BL")
    panel = LabPanel.objects.filter(visit=visit).first()
    save(investigator, visit, [entry("hb", 110, "g/L")], collected_at=when, instance=panel, reason="Typo")
    entered.set()
    thread.join(timeout=30)

    assert outcome["import"].startswith("The data changed since this preview"), outcome
    assert LabImport.objects.get(pk=lab_import.pk).status == ImportStatus.PREVIEWED
    assert list(LabResult.objects.values_list("analyte", "value")) == [("hb", Decimal("110"))]
    assert outcomes(lab_import) == {"h1": RowOutcome.DIFFERS}

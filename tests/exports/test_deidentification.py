"""De-identified exports: no initials or free text, ages, and dates shifted by a stored offset."""

from datetime import date, timedelta

import pytest

from exports import deid
from exports.models import DateShift
from tests.exports.factories import infused_participant, read_zip, rows, run
from trials.models import Participant


@pytest.fixture
def participant_with_text(coordinator, site_yc):
    p = infused_participant(coordinator, site_yc, initials="QX")
    Participant.objects.filter(pk=p.pk).update(end_reason="Moved to Urumqi with her sister Li Na")
    return Participant.objects.get(pk=p.pk)


def csv_files(job):
    return {name.removeprefix("csv/"): content for name, content in read_zip(job).items()}


def test_deidentified_export_has_no_initials_year_of_birth_or_free_text(
    sponsor_admin, study, participant_with_text
):
    files = csv_files(run(sponsor_admin, study, deidentify=True))
    everything = b"".join(files.values()).decode()
    assert "QX" not in everything
    assert "Li Na" not in everything
    participants = rows(files["participants_wide.csv"])
    assert "initials" not in participants[0] and "year_of_birth" not in participants[0]
    assert "end_reason" not in participants[0]
    assert participants[0]["age"] == str(participant_with_text.screening_date.year - 1985)


def test_identifiable_export_keeps_them(sponsor_admin, study, participant_with_text):
    participants = rows(csv_files(run(sponsor_admin, study))["participants_wide.csv"])
    assert (participants[0]["initials"], participants[0]["year_of_birth"]) == ("QX", "1985")
    assert participants[0]["end_reason"] == "Moved to Urumqi with her sister Li Na"


def test_dates_move_by_the_participants_stored_offset(sponsor_admin, study, participant_with_text):
    p = participant_with_text
    files = csv_files(run(sponsor_admin, study, deidentify=True))
    offset = DateShift.objects.get(participant=p).days
    assert offset != 0 and abs(offset) <= deid.MAX_SHIFT_DAYS
    row = rows(files["participants_wide.csv"])[0]
    assert date.fromisoformat(row["screening_date"]) == p.screening_date + timedelta(days=offset)
    assert date.fromisoformat(row["infusion_date"]) == p.infusion_date + timedelta(days=offset)
    vitals = rows(files["vital_signs_wide.csv"])[0]
    assert date.fromisoformat(vitals["assessed_on"]) == p.infusion_date + timedelta(days=1 + offset)
    assert vitals["study_day"] == "1"  # intervals are kept


def test_offset_is_the_same_in_every_export(sponsor_admin, study, participant_with_text):
    first = rows(csv_files(run(sponsor_admin, study, deidentify=True))["participants_wide.csv"])
    second = rows(csv_files(run(sponsor_admin, study, deidentify=True))["participants_wide.csv"])
    assert first[0]["screening_date"] == second[0]["screening_date"]
    assert DateShift.objects.count() == 1


def test_shift_uses_the_stored_offset(participant_with_text):
    p = participant_with_text
    moved = deid.shift(p.pk, date(2026, 1, 31))
    assert moved - date(2026, 1, 31) == timedelta(days=DateShift.objects.get(participant=p).days)
    assert deid.shift(p.pk, date(2026, 1, 31)) == moved


def test_study_day_mode_keeps_no_dates(sponsor_admin, study, participant_with_text):
    files = csv_files(run(sponsor_admin, study, deidentify=True, date_mode="study_day"))
    vitals = rows(files["vital_signs_wide.csv"])[0]
    assert "visit_date" not in vitals and "assessed_on" not in vitals
    assert vitals["assessed_on_study_day"] == "1"
    participants = rows(files["participants_wide.csv"])[0]
    assert participants["infusion_date_study_day"] == "0"
    dictionary = rows(files["data_dictionary.csv"])
    assert not any(d["type"] in ("date", "datetime") for d in dictionary)


def test_random_offsets_move_dates_back_never_by_zero():
    offsets = {deid.random_offset() for _ in range(2000)}
    assert 0 not in offsets
    assert min(offsets) == -deid.MAX_SHIFT_DAYS and max(offsets) == -1


def test_offsets_stored_forward_before_are_applied_backward():
    assert [deid.effective_days(d) for d in (-30, -1, 1, 30)] == [-30, -1, -60, -31]


def test_age_comes_from_the_year_only():
    assert deid.age_at(1985, date(2026, 1, 1)) == 41
    assert deid.age_at(None, date(2026, 1, 1)) is None

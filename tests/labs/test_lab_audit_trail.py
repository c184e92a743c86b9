"""The study audit trail finds lab-result changes by participant and changes by their reason
(issue 16, item 6)."""

from edc.audit_trail import AuditFilters, audit_page
from labs.models import LabResult
from tests.labs.conftest import entry, result, save


def test_lab_result_events_carry_their_participant_and_the_participant_filter_finds_them(
    coordinator, baseline
):
    panel = save(coordinator, baseline, [entry("hb", 120, "g/L")])
    save(coordinator, baseline, [entry("hb", 125, "g/L")], instance=panel, reason="Wrong report copied",
         expected_version=panel.version)  # fmt: skip
    study_id = baseline.participant.study_id
    rows = audit_page(AuditFilters(participant=study_id, kind="labs.LabResult")).rows
    assert len(rows) >= 2
    assert {row.participant for row in rows} == {study_id}
    assert any(("120" in str(old) and "125" in str(new)) for row in rows for _f, old, new in row.changes)
    assert result(panel, "hb").value == 125


def test_the_text_filter_searches_the_reason_of_a_change(coordinator, baseline):
    panel = save(coordinator, baseline, [entry("hb", 120, "g/L")])
    save(coordinator, baseline, [entry("hb", 125, "g/L")], instance=panel, reason="Wrong report copied",
         expected_version=panel.version)  # fmt: skip
    rows = audit_page(AuditFilters(text="wrong REPORT")).rows
    assert rows and all(row.reason == "Wrong report copied" for row in rows)
    assert str(LabResult._meta.verbose_name).capitalize() in {row.kind for row in rows}

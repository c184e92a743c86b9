"""Source-data verification: monitors verify whole forms or single fields, risk-based SDV verifies the
protocol-critical fields, a later change clears the verification and says so, progress per site,
participant and form."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pghistory.models import Events

from crfs.registry import FORMS
from crfs.services import mark_form_entered_in_error, save_form
from edc.errors import DomainError
from monitoring import selectors
from monitoring.models import SourceVerification
from monitoring.verification import clear_verifications, verify_critical_fields, verify_field, verify_form
from tests.conftest import make_participant
from trials.protocol import ProtocolError, checksum, parse

VITALS = {
    "temperature_c": Decimal("36.8"),
    "heart_rate": 72,
    "systolic_bp": 120,
    "diastolic_bp": 80,
    "weight_kg": Decimal("70.0"),
}


def complete_vitals(user, participant, code="BL"):
    visit = participant.visits.get(code=code)
    return save_form(
        user=user,
        spec=FORMS["vital_signs"],
        visit=visit,
        data={**VITALS, "assessed_on": visit.target_date},
        complete=True,
    )


def complete_pga(user, participant, code="BL", pga="1.0"):
    visit = participant.visits.get(code=code)
    return save_form(
        user=user,
        spec=FORMS["pga"],
        visit=visit,
        data={"assessed_on": visit.target_date, "pga": Decimal(pga)},
        complete=True,
    )


def change(user, form, code, reason="transcription error", **data):
    return save_form(
        user=user,
        spec=FORMS[code],
        visit=form.visit,
        instance=form,
        data=data,
        reason=reason,
        expected_version=form.version,
    )


@pytest.fixture
def vitals_complete(coordinator, participant):
    return complete_vitals(coordinator, participant)


@pytest.fixture
def pga(coordinator, participant):
    return complete_pga(coordinator, participant)


def live(record, field_name=None):
    rows = SourceVerification.objects.filter(object_id=record.pk, cleared_at=None)
    if field_name is not None:
        rows = rows.filter(field_name=field_name)
    return rows


def test_a_monitor_verifies_a_whole_form(monitor, vitals_complete):
    verification = verify_form(user=monitor, record=vitals_complete)
    assert verification.field_name == "" and verification.verified_by == monitor
    assert verification.record_version == vitals_complete.version
    assert len(verification.value) == 64  # a digest of every value verified


def test_a_monitor_verifies_a_single_field_with_its_value(monitor, vitals_complete):
    verification = verify_field(user=monitor, record=vitals_complete, field_name="weight_kg")
    assert verification.value == "70.0"


def test_a_field_is_not_verified_twice(monitor, vitals_complete):
    verify_field(user=monitor, record=vitals_complete, field_name="weight_kg")
    with pytest.raises(DomainError, match="already verified"):
        verify_field(user=monitor, record=vitals_complete, field_name="weight_kg")


def test_only_a_complete_form_can_be_verified(monitor, vitals):
    with pytest.raises(DomainError, match="complete"):
        verify_form(user=monitor, record=vitals)


def test_a_bookkeeping_column_is_not_a_verifiable_field(monitor, vitals_complete):
    with pytest.raises(DomainError, match="no field"):
        verify_field(user=monitor, record=vitals_complete, field_name="version")


def test_risk_based_sdv_verifies_the_protocol_critical_fields_only(monitor, pga):
    verified = verify_critical_fields(user=monitor, record=pga)
    assert sorted(v.field_name for v in verified) == ["assessed_on", "pga"]
    with pytest.raises(DomainError, match="already verified"):
        verify_critical_fields(user=monitor, record=pga)


def test_a_form_without_critical_fields_says_so(monitor, vitals_complete):
    with pytest.raises(DomainError, match="no field of this form as critical"):
        verify_critical_fields(user=monitor, record=vitals_complete)


def test_editing_a_verified_value_clears_its_verification_and_says_so_in_the_audit_trail(
    monitor, coordinator, pga
):
    verification = verify_field(user=monitor, record=pga, field_name="pga")
    change(coordinator, pga, "pga", pga=Decimal("2.0"), reason="Source says moderate")
    verification.refresh_from_db()
    assert verification.cleared_at is not None and verification.cleared_by == coordinator
    assert "PGA (0–3) changed from 1.0 to 2.0" in verification.cleared_reason
    assert "by coordinator: Source says moderate" in verification.cleared_reason
    event = Events.objects.tracks(verification).order_by("-pgh_id").first()
    assert event.pgh_context["username"] == "coordinator"
    assert event.pgh_context["reason"] == "Source says moderate"
    assert "PGA (0–3) changed from 1.0 to 2.0" in event.pgh_diff["cleared_reason"][1]


def test_editing_another_field_keeps_a_field_verification_but_clears_the_whole_form(
    monitor, coordinator, pga
):
    verify_field(user=monitor, record=pga, field_name="pga")
    verify_form(user=monitor, record=pga)
    change(coordinator, pga, "pga", assessed_on=pga.assessed_on - timedelta(days=1))
    assert live(pga, "pga").exists()
    assert not live(pga, "").exists()
    form_verification = SourceVerification.objects.get(object_id=pga.pk, field_name="")
    assert "The form changed (date of assessment)" in form_verification.cleared_reason


def test_a_save_that_changes_nothing_keeps_every_verification(monitor, coordinator, pga):
    verify_form(user=monitor, record=pga)
    change(coordinator, pga, "pga", pga=Decimal("1.0"))
    assert live(pga, "").exists()


def test_a_change_to_an_unverified_field_keeps_the_other_field_verifications(
    monitor, coordinator, vitals_complete
):
    verify_field(user=monitor, record=vitals_complete, field_name="heart_rate")
    change(coordinator, vitals_complete, "vital_signs", weight_kg=Decimal("72.0"))
    assert live(vitals_complete, "heart_rate").exists()


def test_entering_a_form_in_error_clears_its_verifications(monitor, coordinator, vitals_complete):
    verify_form(user=monitor, record=vitals_complete)
    mark_form_entered_in_error(
        user=coordinator, spec=FORMS["vital_signs"], instance=vitals_complete, reason="wrong participant"
    )
    assert not live(vitals_complete).exists()


def test_clearing_without_changes_clears_nothing(monitor, pga):
    verify_form(user=monitor, record=pga)
    assert clear_verifications(record=pga, changes={}) == 0


def test_a_verification_is_never_deleted(monitor, pga):
    from django.db import DatabaseError, transaction

    verification = verify_form(user=monitor, record=pga)
    with pytest.raises(DatabaseError, match="Cannot delete"), transaction.atomic():
        SourceVerification.objects.filter(pk=verification.pk).delete()


# Who may verify ---------------------------------------------------------------------------------------


def test_a_coordinator_cannot_verify(client, coordinator, vitals_complete):
    client.force_login(coordinator)
    response = client.post(reverse("sdv_verify_form", args=["vital_signs", vitals_complete.pk]))
    assert response.status_code == 403
    assert not live(vitals_complete).exists()


def test_a_monitor_cannot_verify_another_sites_form(client, monitor, coordinator_cd, other_site_participant):
    form = complete_vitals(coordinator_cd, other_site_participant)
    client.force_login(monitor)
    assert client.post(reverse("sdv_verify_form", args=["vital_signs", form.pk])).status_code == 404
    assert not live(form).exists()


def test_a_monitor_verifies_from_the_form_page(client, monitor, pga):
    client.force_login(monitor)
    page = reverse("form_entry_instance", args=[pga.visit_id, "pga", pga.pk])
    body = client.get(page).content.decode()
    assert "Verify form" in body and "Verify critical fields" in body
    response = client.post(reverse("sdv_verify_critical", args=["pga", pga.pk]))
    assert response.status_code == 302 and response.url == page
    response = client.post(reverse("sdv_verify_field", args=["pga", pga.pk]), {"field_name": "vas_mm"})
    assert live(pga).count() == 3
    body = client.get(page).content.decode()
    assert 'data-sdv-field="pga"' in body and "verified" in body


def test_a_refused_verification_is_a_message_not_an_error_page(client, monitor, vitals):
    client.force_login(monitor)
    response = client.post(reverse("sdv_verify_form", args=["vital_signs", vitals.pk]), follow=True)
    assert response.status_code == 200
    assert "Only a complete form can be verified." in response.content.decode()


def test_everybody_sees_that_a_verification_was_cleared(client, monitor, coordinator, pga):
    verify_field(user=monitor, record=pga, field_name="pga")
    change(coordinator, pga, "pga", pga=Decimal("2.0"), reason="Source says moderate")
    client.force_login(coordinator)
    body = client.get(reverse("form_entry_instance", args=[pga.visit_id, "pga", pga.pk])).content.decode()
    assert "verification cleared" in body and "Source says moderate" in body
    assert "Verify form" not in body


def test_a_monitor_still_cannot_edit_a_verified_form(client, monitor, pga):
    verify_form(user=monitor, record=pga)
    client.force_login(monitor)
    url = reverse("form_entry_instance", args=[pga.visit_id, "pga", pga.pk])
    assert client.post(url, {"pga": "3.0", "expected_version": pga.version}).status_code == 403


# Progress ---------------------------------------------------------------------------------------------


@pytest.fixture
def study_in_progress(
    coordinator, coordinator_cd, monitor, site_yc, site_cd, participant, other_site_participant
):
    """YC: 2 participants, CD: 1; complete vitals and PGA at baseline, some verified."""
    second = make_participant(coordinator, site_yc, initials="CD")
    forms = {
        "p1_vitals": complete_vitals(coordinator, participant),
        "p1_pga": complete_pga(coordinator, participant),
        "p2_vitals": complete_vitals(coordinator, second),
        "p2_pga": complete_pga(coordinator, second),
        "cd_pga": complete_pga(coordinator_cd, other_site_participant),
    }
    save_form(  # a draft: not counted
        user=coordinator,
        spec=FORMS["vital_signs"],
        visit=participant.visits.get(code="SCR"),
        data={"heart_rate": 70},
    )
    verify_form(user=monitor, record=forms["p1_vitals"])
    verify_form(user=monitor, record=forms["p1_pga"])  # its 2 critical fields with it
    verify_field(user=monitor, record=forms["p2_pga"], field_name="pga")  # 1 of 2 critical fields
    verify_field(user=monitor, record=forms["p2_vitals"], field_name="heart_rate")  # not critical
    return second, forms


def counts(row):
    return row.forms_verified, row.forms_total, row.critical_verified, row.critical_total


def test_progress_per_site_equals_a_hand_count(data_manager, study_in_progress, site_yc, site_cd):
    # Complete forms at YC: 2 participants × (demographics, eligibility at screening + vitals + PGA).
    rows = {row.key: row for row in selectors.sdv_progress(data_manager, by="site")}
    # Eligibility carries 4 critical fields, PGA 2: YC has 2 eligibility + 2 PGA forms = 12.
    assert counts(rows[site_yc.pk]) == (2, 8, 3, 12)
    assert counts(rows[site_cd.pk]) == (0, 3, 0, 6)


def test_progress_per_participant_and_per_form_equals_a_hand_count(
    data_manager, study_in_progress, participant
):
    second, _forms = study_in_progress
    by_participant = {row.key: row for row in selectors.sdv_progress(data_manager, by="participant")}
    assert counts(by_participant[participant.pk]) == (2, 4, 2, 6)
    assert counts(by_participant[second.pk]) == (0, 4, 1, 6)
    by_form = {row.key: row for row in selectors.sdv_progress(data_manager, by="form")}
    assert counts(by_form["pga"]) == (1, 3, 3, 6)
    assert counts(by_form["vital_signs"]) == (1, 2, 0, 0)
    assert counts(by_form["eligibility"]) == (0, 3, 0, 12)


def test_a_monitor_sees_the_progress_of_their_sites_only(monitor, study_in_progress, site_cd):
    assert site_cd.pk not in {row.key for row in selectors.sdv_progress(monitor, by="site")}


def test_forms_to_verify_lists_complete_forms_without_a_whole_form_verification(monitor, study_in_progress):
    _second, forms = study_in_progress
    listed = {(row.code, row.pk) for row in selectors.forms_to_verify(monitor)}
    assert ("vital_signs", forms["p1_vitals"].pk) not in listed
    assert ("pga", forms["p2_pga"].pk) in listed and ("vital_signs", forms["p2_vitals"].pk) in listed
    assert ("pga", forms["cd_pga"].pk) not in listed  # another site


def test_the_progress_page_costs_the_same_whatever_the_number_of_forms(
    client, data_manager, coordinator, monitor, site_yc, participant
):
    client.force_login(data_manager)
    complete_pga(coordinator, participant)

    def queries(by):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("sdv_progress"), {"by": by}).status_code == 200
        return len(captured)

    queries("site")  # the session and the content types are read once
    before = {by: queries(by) for by in ("site", "participant", "form")}
    for initials in ("EF", "GH", "IJ"):
        other = make_participant(coordinator, site_yc, initials=initials)
        verify_form(user=monitor, record=complete_pga(coordinator, other))
    assert {by: queries(by) for by in ("site", "participant", "form")} == before


def test_the_progress_page_is_for_monitors_and_data_managers(client, coordinator, monitor, study_in_progress):
    client.force_login(coordinator)
    assert client.get(reverse("sdv_progress")).status_code == 403
    client.force_login(monitor)
    assert "Source-data verification" in client.get(reverse("sdv_progress")).content.decode()


# Protocol ---------------------------------------------------------------------------------------------


def protocol_text():
    from tests.conftest import PROTOCOL

    return PROTOCOL.read_text()


def test_the_protocol_marks_the_critical_fields(study):
    critical = study.settings["critical_fields"]
    assert set(critical) >= {"eligibility", "lymphodepletion", "infusion", "crs", "icans", "sledai", "pga"}


def without_critical_fields(text):
    head, _sep, _tail = text.partition("  # Risk-based source-data verification")
    return head


def test_a_protocol_without_critical_fields_keeps_its_checksum(db):
    text = without_critical_fields(protocol_text())
    plain = parse(text, "p.yaml")
    assert "critical_fields" not in plain["settings"]
    given = parse(text + "  critical_fields:\n    pga: [pga]\n", "p.yaml")
    assert given["settings"]["critical_fields"] == {"pga": ["pga"]}
    assert checksum(given) != checksum(plain)


@pytest.mark.parametrize(
    ("critical", "path"),
    [
        ("    nonsense_form: [x]\n", "settings.critical_fields"),
        ("    pga: [pga, no_such_field]\n", "settings.critical_fields.pga[1]"),
        ("    pga: [version]\n", "settings.critical_fields.pga[0]"),
        ("    pga: []\n", "settings.critical_fields.pga"),
    ],
)
def test_an_unknown_critical_form_or_field_is_refused_naming_its_path(db, critical, path):
    text = without_critical_fields(protocol_text()) + "  critical_fields:\n" + critical
    with pytest.raises(ProtocolError) as refused:
        parse(text, "p.yaml")
    assert refused.value.path == path


def test_the_form_history_shows_the_verification_and_its_clearing(client, monitor, coordinator, pga):
    verify_field(user=monitor, record=pga, field_name="pga")
    change(coordinator, pga, "pga", pga=Decimal("2.0"), reason="Source says moderate")
    client.force_login(monitor)
    body = client.get(reverse("form_history", args=["pga", pga.pk])).content.decode()
    assert "sdv.verify_field" in body and "PGA (0–3) changed from 1.0 to 2.0" in body


def test_changing_a_lab_result_clears_the_panels_verification(coordinator, monitor, site_yc):
    from labs.analytes import analytes_of
    from labs.reference_data import DEFAULT_FILE, load_file
    from tests.conftest import today_at
    from tests.labs.conftest import entry, save

    load_file(DEFAULT_FILE)
    today = today_at(site_yc)
    someone = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=10), planned=today + timedelta(days=5)
    )
    visit = someone.visits.get(code="BL")
    not_done = [entry(a.code, not_done=True) for a in analytes_of("haematology") if a.code != "hb"]
    panel = save(coordinator, visit, [entry("hb", "120", "g/L"), *not_done], complete=True)
    verify_form(user=monitor, record=panel)
    save(
        coordinator,
        visit,
        [entry("hb", "110", "g/L")],
        instance=panel,
        reason="Re-read the laboratory report",
        expected_version=panel.version,
        collected_at=panel.collected_at,
    )
    cleared = SourceVerification.objects.get(object_id=panel.pk, field_name="")
    assert cleared.cleared_at is not None and "Re-read the laboratory report" in cleared.cleared_reason

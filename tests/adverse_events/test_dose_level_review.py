"""The dose-level review: treated, DLT-evaluable, DLTs, still in the window, and the 3+3 decision
(BOIN boundaries when the protocol chooses BOIN)."""

import pytest
from django.urls import reverse

from adverse_events import selectors, services
from edc.errors import DomainError
from tests.adverse_events.factories import DAY, dlt, infused, record_ae


@pytest.fixture
def dl1(study):
    return study.dose_levels.get(code="DL1")


def cohort(coordinator, investigator, site, level, *, treated, dlts, in_window=0):
    """``treated`` participants past their DLT window, ``dlts`` of them with an adjudicated DLT, plus
    ``in_window`` participants infused 10 days ago."""
    for i in range(treated):
        p = infused(coordinator, site, days_ago=40, initials="A" + "BCDEFGH"[i], dose_level=level)
        if i < dlts:
            event = record_ae(coordinator, p, term="cytokine_release_syndrome", grade=4)
            dlt(investigator, event)
    for i in range(in_window):
        infused(coordinator, site, days_ago=10, initials="W" + "BCDEFGH"[i], dose_level=level)


def review_of(user, level):
    ((_study, rows),) = selectors.dose_level_review(user)
    return next(row for row in rows if row.level == level)


@pytest.mark.parametrize(
    ("treated", "dlts", "decision"),
    [
        (3, 0, "escalate"),
        (3, 1, "expand_to_6"),
        (6, 1, "escalate"),
        (3, 2, "exceeds_mtd"),
        (6, 2, "exceeds_mtd"),
    ],
)
def test_the_3_plus_3_decision_for_each_dlt_pattern(
    coordinator, investigator, site_yc, dl1, treated, dlts, decision
):
    cohort(coordinator, investigator, site_yc, dl1, treated=treated, dlts=dlts)
    row = review_of(investigator, dl1)
    assert (row.n_treated, row.n_evaluable, row.n_dlt, row.n_in_window) == (treated, treated, dlts, 0)
    assert row.decision["decision"] == decision


def test_participants_inside_their_window_are_not_yet_evaluable(coordinator, investigator, site_yc, dl1):
    cohort(coordinator, investigator, site_yc, dl1, treated=2, dlts=0, in_window=1)
    row = review_of(investigator, dl1)
    assert (row.n_treated, row.n_evaluable, row.n_in_window) == (3, 2, 1)
    assert row.decision["decision"] == "continue_enrolling" and row.decision_note


def test_a_dlt_makes_a_participant_evaluable_before_the_window_ends(coordinator, investigator, site_yc, dl1):
    p = infused(coordinator, site_yc, days_ago=5, dose_level=dl1)
    dlt(investigator, record_ae(coordinator, p, term="icans", grade=4))
    row = review_of(investigator, dl1)
    assert (row.n_evaluable, row.n_dlt, row.n_in_window) == (1, 1, 0)


def test_grade_3_events_in_the_window_await_adjudication(coordinator, investigator, site_yc, dl1):
    p = infused(coordinator, site_yc, days_ago=20, dose_level=dl1)
    record_ae(coordinator, p, term="neutrophil_count_decreased", grade=3)
    record_ae(coordinator, p, term="headache", grade=1)
    assert review_of(investigator, dl1).n_pending == 1


def test_a_dlt_needs_a_protocol_criterion_and_a_date_inside_the_window(coordinator, investigator, site_yc):
    p = infused(coordinator, site_yc, days_ago=40)
    event = record_ae(coordinator, p, term="sepsis", grade=4)
    with pytest.raises(DomainError) as error:
        services.adjudicate_dlt(
            user=investigator, event=event, is_dlt=True, criterion="made up", dlt_date=event.onset_date
        )
    assert error.value.field == "criterion"
    criterion = services.dlt_criteria(p.site.study)[-1]
    with pytest.raises(DomainError) as error:
        services.adjudicate_dlt(
            user=investigator,
            event=event,
            is_dlt=True,
            criterion=criterion,
            dlt_date=p.infusion_date + 29 * DAY,
        )
    assert error.value.field == "dlt_date"


def test_a_revised_adjudication_needs_a_reason(coordinator, investigator, site_yc):
    p = infused(coordinator, site_yc, days_ago=40)
    event = record_ae(coordinator, p, term="sepsis", grade=4)
    services.adjudicate_dlt(user=investigator, event=event, is_dlt=False)
    with pytest.raises(DomainError, match="adjudicated before"):
        dlt(investigator, event)
    criterion = services.dlt_criteria(p.site.study)[0]
    adjudication = services.adjudicate_dlt(
        user=investigator,
        event=event,
        is_dlt=True,
        criterion=criterion,
        dlt_date=event.onset_date,
        reason="Review",
    )
    assert adjudication.is_dlt and adjudication.adjudicated_by == investigator


def test_only_investigators_adjudicate(coordinator, site_yc):
    from django.core.exceptions import PermissionDenied

    p = infused(coordinator, site_yc, days_ago=40)
    with pytest.raises(PermissionDenied, match="does not allow"):
        services.adjudicate_dlt(user=coordinator, event=record_ae(coordinator, p), is_dlt=False)


def test_boin_boundaries_are_shown_when_the_protocol_chooses_boin(
    study, coordinator, investigator, site_yc, dl1
):
    study.settings["dlt"] = {**study.settings["dlt"], "escalation_design": "boin", "target_dlt_rate": 0.3}
    study.save()
    cohort(coordinator, investigator, site_yc, dl1, treated=3, dlts=1)
    row = review_of(investigator, dl1)
    # Liu and Yuan's table, which truncates: 0.236 and 0.358
    assert int(row.boin["lambda_e"] * 1000) == 236 and int(row.boin["lambda_d"] * 1000) == 358
    assert row.boin["decision"] == "stay"  # 1/3 = 0.33: between the boundaries


def test_the_review_page_shows_the_decision_with_the_data_behind_it(
    client, coordinator, investigator, site_yc, dl1
):
    cohort(coordinator, investigator, site_yc, dl1, treated=3, dlts=1)
    client.force_login(investigator)
    body = client.get(reverse("dose_level_review")).content.decode()
    assert 'data-decision="expand_to_6"' in body and "Expand the cohort to 6" in body
    assert "Grade 4 CRS" in body  # the criterion behind the DLT


def test_the_protocol_file_may_set_boin_and_its_target_rate():
    from tests.conftest import PROTOCOL
    from trials.protocol import ProtocolError, parse

    boin = "escalation_design: boin\n  target_dlt_rate: 0.25"
    text = PROTOCOL.read_text().replace('escalation_design: "3+3"', boin)
    dlt = parse(text, "test")["dlt"]
    assert (dlt["escalation_design"], dlt["target_dlt_rate"]) == ("boin", 0.25)
    assert "target_dlt_rate" not in parse(PROTOCOL.read_text(), "test")["dlt"]  # unchanged checksum
    with pytest.raises(ProtocolError, match="target_dlt_rate"):
        parse(text.replace("0.25", "1.5"), "test")

"""The signing rule over plain values (signatures.rules)."""

from signatures import rules

SINGLE = {"vital_signs", "physical_exam"}


def gaps(done=True, expected=(), instances=()):
    return rules.visit_gaps(done=done, expected=expected, instances=instances, single_instance=SINGLE)


def test_a_visit_not_done_cannot_be_signed():
    assert gaps(done=False, instances=[("vital_signs", "complete")]) == [("", rules.VISIT_NOT_DONE)]


def test_every_expected_single_form_must_be_entered():
    assert gaps(expected=["vital_signs"], instances=[]) == [("vital_signs", rules.NOT_STARTED)]


def test_a_repeating_form_may_be_absent():
    assert gaps(expected=["labs", "vital_signs"], instances=[("vital_signs", "complete")]) == []


def test_every_form_entered_must_be_complete():
    instances = [("vital_signs", "complete"), ("labs", "complete"), ("labs", "in_progress")]
    assert gaps(expected=["vital_signs"], instances=instances) == [("labs", rules.IN_PROGRESS)]


def test_a_visit_with_nothing_entered_cannot_be_signed():
    assert gaps(expected=["labs"], instances=[]) == [("", rules.NOTHING_ENTERED)]


def test_a_casebook_needs_every_done_visit_complete_and_none_overdue():
    assert rules.casebook_gaps([("v1", "done", []), ("v2", "upcoming", []), ("v3", "missed", [])]) == []
    assert rules.casebook_gaps([("v1", "done", [("pga", rules.NOT_STARTED)])]) == [
        ("v1", "pga", rules.NOT_STARTED)
    ]
    assert rules.casebook_gaps([("v1", "done", []), ("v2", "overdue", [])]) == [
        ("v2", "", rules.VISIT_OVERDUE)
    ]


def test_a_casebook_without_any_visit_done_cannot_be_signed():
    assert rules.casebook_gaps([("v1", "open", [])]) == [(None, "", rules.NO_VISIT)]

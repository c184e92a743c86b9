"""The investigator's worklist of visits and casebooks ready to sign, and the rows exports read."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from crfs.registry import FORMS
from crfs.services import save_form
from signatures import selectors, services
from tests.conftest import PASSWORD, make_participant
from tests.signatures.conftest import only_unscheduled_visits, ready_visit


def test_a_complete_unsigned_visit_awaits_signature(investigator, visit):
    assert list(selectors.awaiting_signature(investigator).visits) == [visit]


def test_a_signed_visit_no_longer_awaits(investigator, signed_visit):
    assert not selectors.awaiting_signature(investigator).visits.exists()


def test_a_visit_with_a_form_in_progress_does_not_await(investigator, coordinator, visit):
    save_form(user=coordinator, spec=FORMS["physical_exam"], visit=visit, data={})
    assert not selectors.awaiting_signature(investigator).visits.exists()


def test_a_scheduled_visit_missing_an_expected_form_does_not_await(investigator, participant):
    awaiting = selectors.awaiting_signature(investigator).visits
    assert not awaiting.filter(participant=participant, unscheduled=False).exists()


def test_only_the_investigators_sites_are_listed(make_user, site_cd, visit):
    assert not selectors.awaiting_signature(make_user(Role.INVESTIGATOR, site_cd)).visits.exists()


def test_a_coordinator_has_nothing_to_sign(coordinator, visit):
    assert not selectors.awaiting_signature(coordinator).visits.exists()


def test_a_complete_casebook_awaits_signature(investigator, casebook_participant, participant):
    assert list(selectors.awaiting_signature(investigator).casebooks) == [casebook_participant]


def test_an_incomplete_casebook_does_not_await(investigator, participant, visit):
    assert not selectors.awaiting_signature(investigator).casebooks.exists()  # screening incomplete


def test_a_signed_casebook_no_longer_awaits(investigator, casebook_participant, signing_request):
    services.sign_casebook(
        user=investigator, participant=casebook_participant, password=PASSWORD, request=signing_request
    )
    assert not selectors.awaiting_signature(investigator).casebooks.exists()


def test_the_worklist_agrees_with_the_signing_rule(investigator, coordinator, site_yc, participant):
    ready = ready_visit(coordinator, participant)
    in_progress = ready_visit(coordinator, participant, days_ago=2)
    save_form(user=coordinator, spec=FORMS["physical_exam"], visit=in_progress, data={})
    awaiting = set(selectors.awaiting_signature(investigator).visits)
    for visit in participant.visits.all():
        signable = not selectors.unsigned_reasons(participant, scope="visit", visit=visit)
        assert (visit in awaiting) == signable, visit
    assert ready in awaiting and in_progress not in awaiting


def count_queries(user):
    with CaptureQueriesContext(connection) as queries:
        awaiting = selectors.awaiting_signature(user)
        list(awaiting.visits[:50])
        list(awaiting.casebooks[:50])
    return len(queries)


def test_the_worklist_costs_the_same_for_2_and_10_participants(investigator, coordinator, site_yc):
    def add(n):
        for i in range(n):
            p = make_participant(coordinator, site_yc, initials="Q" + "ABCDEFGHIJ"[i])
            only_unscheduled_visits(p)
            ready_visit(coordinator, p)

    count_queries(investigator)  # the user's memberships are read once per request
    add(2)
    few = count_queries(investigator)
    add(8)
    assert count_queries(investigator) == few
    assert selectors.awaiting_signature(investigator).casebooks.count() == 10


def test_manifestations_give_exports_one_row_per_signature(signed_visit, participant, other_site_participant):
    rows = selectors.manifestations([participant.pk, other_site_participant.pk])
    assert rows[other_site_participant.pk] == []
    (row,) = rows[participant.pk]
    assert row["scope"] == "visit" and row["visit_code"] == "UNS1"
    assert row["printed_name"] == signed_visit.printed_name and row["status"] == "valid"
    assert row["content_hash"] == signed_visit.content_hash and row["signed_at"] == signed_visit.signed_at
    assert row["meaning_text"] == "I approve the data of this visit"
    assert row["manifestation"] == signed_visit.manifestation


def test_manifestations_cost_one_query(signed_visit, participant, django_assert_num_queries):
    with django_assert_num_queries(1):
        selectors.manifestations([participant.pk])

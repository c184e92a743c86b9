"""The casebook page runs a constant number of queries however many visits and forms are filled."""

from datetime import timedelta

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crfs.registry import FORMS
from crfs.services import save_form
from edc.errors import DomainError
from tests.conftest import make_participant
from visits.services import add_unscheduled_visit, record_visit


def casebook_queries(client, participant) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("casebook", args=[participant.pk]))
    assert response.status_code == 200
    return len(ctx)


def fill_every_visit_and_form(user, participant) -> int:
    """Record every visit and save a draft of every form it expects; returns the forms saved."""
    saved = 0
    for visit in participant.visits.select_related("definition").order_by("sequence"):
        if visit.visit_date is None:
            record_visit(user=user, visit=visit, visit_date=visit.target_date)
        codes = visit.definition.forms if visit.definition else ["vital_signs", "physical_exam", "death"]
        for code in codes:
            spec = FORMS.get(code)
            if spec is None:
                continue
            try:
                with transaction.atomic():
                    save_form(user=user, spec=spec, visit=visit, data={})
                saved += 1
            except DomainError:
                continue  # a form whose empty draft its own rules refuse still counts as not started
    return saved


def test_the_casebook_of_a_fully_filled_participant_runs_the_same_queries(
    client, coordinator, site_yc, today, django_assert_max_num_queries
):
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=830), infused=today - timedelta(days=800)
    )
    client.force_login(coordinator)
    empty = casebook_queries(client, p)
    for days in range(1, 6):
        add_unscheduled_visit(
            user=coordinator, participant=p, visit_date=today - timedelta(days=days), reason="flare"
        )
    saved = fill_every_visit_and_form(coordinator, p)
    assert saved >= p.visits.count()  # at least one form per visit on average
    with django_assert_max_num_queries(empty):
        body = client.get(reverse("casebook", args=[p.pk])).content.decode()
    assert body.count("in progress") >= saved - 1  # each filled cell is shown (the legend counts once)

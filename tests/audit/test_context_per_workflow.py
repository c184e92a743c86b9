"""Two workflows in one request (the middleware's context around both, each its own transaction) keep
their own who/why: the second never rewrites the first's context, which the database would refuse."""

import pghistory
from pghistory.models import Events

from edc.audit import audited
from tests.conftest import make_participant
from trials.models import Participant


def test_each_audited_transaction_of_a_request_keeps_its_own_action_and_reason(
    transactional_db, coordinator, site_yc
):
    p = make_participant(coordinator, site_yc, stage="screening", initials="AB")
    with pghistory.context(url="/participants/1/"):  # what pghistory's HistoryMiddleware does
        with audited(user=coordinator, action="first", reason="one"):
            Participant.objects.filter(pk=p.pk).update(initials="AC")
        with audited(user=coordinator, action="second", reason="two"):
            Participant.objects.filter(pk=p.pk).update(initials="AD")
    first, second = list(Events.objects.tracks(p).order_by("pgh_id"))[-2:]
    assert (first.pgh_context["action"], first.pgh_context["reason"]) == ("first", "one")
    assert (second.pgh_context["action"], second.pgh_context["reason"]) == ("second", "two")
    assert first.pgh_context["url"] == second.pgh_context["url"] == "/participants/1/"
    assert first.pgh_context_id != second.pgh_context_id


def test_a_separate_nested_step_keeps_its_reason_and_leaves_the_enclosing_ones(db, coordinator, site_yc):
    """``audited(separate=True)`` inside another workflow: the step's events carry its own reason; the
    events before and after it keep the enclosing workflow's, which a merged step would overwrite."""
    p = make_participant(coordinator, site_yc, stage="screening", initials="AB")
    with audited(user=coordinator, action="import", reason="file.json"):
        Participant.objects.filter(pk=p.pk).update(initials="AC")
        with audited(user=coordinator, action="import", reason="file.json, row 1", separate=True):
            Participant.objects.filter(pk=p.pk).update(initials="AD")
            with audited(user=coordinator, action="save", reason="file.json, row 1"):  # a service inside
                Participant.objects.filter(pk=p.pk).update(initials="AE")
        Participant.objects.filter(pk=p.pk).update(initials="AF")
    events = list(Events.objects.tracks(p).order_by("pgh_id"))[-4:]
    assert [(e.pgh_context["action"], e.pgh_context["reason"]) for e in events] == [
        ("import", "file.json"),
        ("save", "file.json, row 1"),
        ("save", "file.json, row 1"),
        ("import", "file.json"),
    ]
    assert events[0].pgh_context_id == events[3].pgh_context_id != events[1].pgh_context_id
    assert events[1].pgh_context_id == events[2].pgh_context_id

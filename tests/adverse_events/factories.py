"""Builders for the safety tests: infused participants, adverse events, graded CRFs, DLTs."""

from datetime import date, timedelta

from adverse_events import services
from crfs.registry import FORMS
from crfs.services import save_form
from tests.conftest import make_participant, today_at

DAY = timedelta(days=1)


def infused(user, site, *, days_ago: int = 40, initials="AB", dose_level=None):
    """A participant infused ``days_ago`` days before today (site date), at ``dose_level`` (default DL1)."""
    today = today_at(site)
    p = make_participant(
        user, site, screened=today - timedelta(days=days_ago + 10), infused=today - timedelta(days=days_ago),
        initials=initials,
    )  # fmt: skip
    if dose_level is not None:
        from trials.models import Participant

        Participant.objects.filter(pk=p.pk).update(dose_level=dose_level)
        p.refresh_from_db()
    return p


def ae_data(participant, *, term="fever", onset: date | None = None, related="possible", **overrides):
    data = {
        "term": term,
        "term_other": "",
        "verbatim": overrides.pop("verbatim", term.replace("_", " ")),
        "onset_date": onset or participant.infusion_date + DAY,
        "relationship_car_t": related,
        "relationship_lymphodepletion": "unlikely",
        "action_taken": "none",
        "outcome": "recovering",
    }
    return {**data, **overrides}


def record_ae(user, participant, *, grade=1, awareness_at=None, **data):
    return services.record_adverse_event(
        user=user,
        participant=participant,
        data=ae_data(participant, **data),
        grade=grade,
        awareness_at=awareness_at,
    )


def dlt(investigator, event, *, criterion_index=0, on: date | None = None):
    criteria = services.dlt_criteria(event.participant.site.study)
    return services.adjudicate_dlt(
        user=investigator, event=event, is_dlt=True, criterion=criteria[criterion_index],
        dlt_date=on or event.onset_date,
    )  # fmt: skip


def save_crf(user, participant, code, visit_code, data, **kwargs):
    visit = participant.visits.get(code=visit_code)
    return save_form(user=user, spec=FORMS[code], visit=visit, data=data, **kwargs)

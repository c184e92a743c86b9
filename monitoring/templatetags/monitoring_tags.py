from django import template

from accounts.permissions import Action, can
from monitoring import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def live_query_count(context, participant) -> int:
    """Live queries of ``participant`` that the requesting user may see (one query)."""
    return selectors.live_count_for_participant(context["request"].user, participant)


@register.inclusion_tag("monitoring/_review.html", takes_context=True)
def review_panel(context, record, code, visit=None):
    """The lock banner and source-data verification of one form (or of its visit before it exists)."""
    return {
        "review": selectors.record_review(context["request"].user, record, code=code, visit=visit),
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag(takes_context=True)
def locks_of(context, participant):
    """Active locks over ``participant`` for their page (one query)."""
    return selectors.participant_locks(context["request"].user, participant)


@register.filter
def visit_lock(locks, visit_id):
    """The active lock of one visit from ``locks_of``, or None."""
    return locks.visits.get(visit_id) if locks else None


@register.inclusion_tag("monitoring/_field_marks.html", takes_context=True)
def field_marks(context, record, code):
    """Per field of a form: its live queries, its verification (or "critical" while not verified) and,
    for monitors, a link to raise a query; placed beside each field's label by static/edc/field-marks.js."""
    user = context["request"].user
    if record is None or record.pk is None:
        return {"marks": []}
    by_field = selectors.live_by_field(user, record)
    review = selectors.record_review(user, record, code=code)
    can_query = can(user, Action.QUERY, record.participant.site)
    marks = []
    for f in review.fields:
        queries = by_field.get(f.name, [])
        verified = bool(f.verification or review.form_verification)
        if queries or verified or f.critical or can_query:
            marks.append({"name": f.name, "queries": queries, "verified": verified, "critical": f.critical})
    return {"marks": marks, "code": code, "record": record, "can_query": can_query}

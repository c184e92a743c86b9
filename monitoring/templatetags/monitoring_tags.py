from django import template

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

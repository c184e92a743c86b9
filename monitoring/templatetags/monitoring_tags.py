from django import template

from monitoring import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def live_query_count(context, participant) -> int:
    """Live queries of ``participant`` that the requesting user may see (one query)."""
    return selectors.live_count_for_participant(context["request"].user, participant)
